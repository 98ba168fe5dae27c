//! Topic-level configs: the names Kafka knows (`LogConfig` in Apache Kafka),
//! their types, defaults and valid values. Used to validate CreateTopics /
//! AlterConfigs requests and to answer DescribeConfigs for topics.
//!
//! Strom accepts and stores every config Kafka accepts, so existing tooling
//! works; the storage layer reads the ones it implements (retention, segments,
//! flush, max.message.bytes, cleanup.policy, ...).

use std::collections::BTreeMap;

/// The type of a config, numbered as DescribeConfigs v3+ reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigType {
    Boolean = 1,
    String = 2,
    Int = 3,
    Long = 5,
    Double = 6,
    List = 7,
}

/// Where a described value comes from, numbered as DescribeConfigs reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    /// Set on the topic (Kafka's DYNAMIC_TOPIC_CONFIG).
    TopicOverride = 1,
    /// Set in the broker's static configuration.
    StaticBroker = 4,
    /// The built-in default.
    Default = 5,
}

/// What values a config accepts beyond its type.
#[derive(Debug, Clone, Copy)]
enum Valid {
    Any,
    AtLeast(i64),
    Between(i64, i64),
    RatioBetweenZeroAndOne,
    OneOf(&'static [&'static str]),
    ListOf(&'static [&'static str]),
}

/// One known topic config.
#[derive(Debug)]
pub struct ConfigDef {
    pub name: &'static str,
    pub config_type: ConfigType,
    pub default: &'static str,
    valid: Valid,
    pub doc: &'static str,
}

const fn def(name: &'static str, config_type: ConfigType, default: &'static str, valid: Valid, doc: &'static str) -> ConfigDef {
    ConfigDef { name, config_type, default, valid, doc }
}

const LONG_MAX: &str = "9223372036854775807";
const COMPRESSION_TYPES: &[&str] = &["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"];

use ConfigType::{Boolean, Double, Int, List, Long, String as Str};
use Valid::{AtLeast, Any, Between, ListOf, OneOf, RatioBetweenZeroAndOne};

/// Every topic config, sorted by name (DescribeConfigs lists them in this order).
pub const TOPIC_CONFIGS: &[ConfigDef] = &[
    def("cleanup.policy", List, "delete", ListOf(&["compact", "delete"]), "Whether old segments are deleted, compacted to the latest value per key, or both."),
    def("compression.gzip.level", Int, "-1", Between(-1, 9), "Compression level when compression.type is gzip."),
    def("compression.lz4.level", Int, "9", Between(1, 17), "Compression level when compression.type is lz4."),
    def("compression.type", Str, "producer", OneOf(COMPRESSION_TYPES), "Final compression of the topic's data; 'producer' keeps what the producer sent."),
    def("compression.zstd.level", Int, "3", Between(-131072, 22), "Compression level when compression.type is zstd."),
    def("delete.retention.ms", Long, "86400000", AtLeast(0), "How long tombstones are kept on compacted topics."),
    def("file.delete.delay.ms", Long, "60000", AtLeast(0), "Delay before a deleted segment's files are removed from disk."),
    def("flush.messages", Long, LONG_MAX, AtLeast(1), "Force an fsync after this many messages."),
    def("flush.ms", Long, LONG_MAX, AtLeast(0), "Force an fsync when this much time has passed since the last one."),
    def("follower.replication.throttled.replicas", List, "", Any, "Replicas whose follower replication is throttled."),
    def("index.interval.bytes", Int, "4096", AtLeast(0), "Bytes of log between two offset index entries."),
    def("leader.replication.throttled.replicas", List, "", Any, "Replicas whose leader replication is throttled."),
    def("local.retention.bytes", Long, "-2", AtLeast(-2), "Local retention size with tiered storage; -2 means retention.bytes."),
    def("local.retention.ms", Long, "-2", AtLeast(-2), "Local retention time with tiered storage; -2 means retention.ms."),
    def("max.compaction.lag.ms", Long, LONG_MAX, AtLeast(1), "Longest time a message stays ineligible for compaction."),
    def("max.message.bytes", Int, "1048588", AtLeast(0), "Largest record batch the topic accepts."),
    def("message.timestamp.after.max.ms", Long, "3600000", AtLeast(0), "How far in the future a message timestamp may be."),
    def("message.timestamp.before.max.ms", Long, LONG_MAX, AtLeast(0), "How far in the past a message timestamp may be."),
    def("message.timestamp.type", Str, "CreateTime", OneOf(&["CreateTime", "LogAppendTime"]), "Whether timestamps are the producer's or the broker's append time."),
    def("min.cleanable.dirty.ratio", Double, "0.5", RatioBetweenZeroAndOne, "Share of uncompacted log that triggers compaction."),
    def("min.compaction.lag.ms", Long, "0", AtLeast(0), "Shortest time a message stays uncompacted."),
    def("min.insync.replicas", Int, "1", AtLeast(1), "Replicas that must acknowledge an acks=all write."),
    def("preallocate", Boolean, "false", Any, "Preallocate segment files."),
    def("remote.log.copy.disable", Boolean, "false", Any, "Stop copying segments to tiered storage."),
    def("remote.log.delete.on.disable", Boolean, "false", Any, "Delete tiered data when tiered storage is disabled."),
    def("remote.storage.enable", Boolean, "false", Any, "Tiered storage for this topic."),
    def("retention.bytes", Long, "-1", Any, "Largest size a partition grows to before old segments are deleted; -1 means no limit."),
    def("retention.ms", Long, "604800000", AtLeast(-1), "How long data is kept before old segments are deleted; -1 means forever."),
    def("segment.bytes", Int, "1073741824", AtLeast(1024 * 1024), "Size at which a new segment file is rolled."),
    def("segment.index.bytes", Int, "10485760", AtLeast(4), "Size of a segment's offset index file."),
    def("segment.jitter.ms", Long, "0", AtLeast(0), "Random jitter subtracted from segment.ms."),
    def("segment.ms", Long, "604800000", AtLeast(1), "Age at which a new segment is rolled."),
    def("unclean.leader.election.enable", Boolean, "false", Any, "Allow an out-of-sync replica to become leader."),
];

/// Looks up a known topic config.
pub fn find(name: &str) -> Option<&'static ConfigDef> {
    TOPIC_CONFIGS.iter().find(|d| d.name == name)
}

/// Checks a value for a topic config; the error is the message Kafka's
/// INVALID_CONFIG carries.
pub fn validate(name: &str, value: &str) -> Result<(), String> {
    let def = find(name).ok_or_else(|| format!("Unknown topic config name: {name}"))?;
    let invalid = |why: &str| format!("Invalid value {value} for configuration {name}: {why}");
    match def.config_type {
        Boolean => {
            if !value.eq_ignore_ascii_case("true") && !value.eq_ignore_ascii_case("false") {
                return Err(invalid("Expected value to be either true or false"));
            }
        }
        Int | Long => {
            let n: i64 = value.trim().parse().map_err(|_| invalid("Not a number of type LONG"))?;
            if def.config_type == Int && i32::try_from(n).is_err() {
                return Err(invalid("Not a number of type INT"));
            }
            match def.valid {
                AtLeast(min) if n < min => return Err(invalid(&format!("Value must be at least {min}"))),
                Between(lo, hi) if n < lo || n > hi => {
                    return Err(invalid(&format!("Value must be no less than {lo} and no more than {hi}")))
                }
                _ => {}
            }
        }
        Double => {
            let x: f64 = value.trim().parse().map_err(|_| invalid("Not a number of type DOUBLE"))?;
            if matches!(def.valid, RatioBetweenZeroAndOne) && !(0.0..=1.0).contains(&x) {
                return Err(invalid("Value must be no less than 0 and no more than 1"));
            }
        }
        Str => {
            if let OneOf(allowed) = def.valid {
                if !allowed.contains(&value) {
                    return Err(invalid(&format!("String must be one of: {}", allowed.join(", "))));
                }
            }
        }
        List => {
            if let ListOf(allowed) = def.valid {
                for item in value.split(',').map(str::trim) {
                    if !allowed.contains(&item) {
                        return Err(invalid(&format!("Invalid value {item} for configuration {name}: String must be one of: {}", allowed.join(", "))));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Checks that a topic's configs agree with each other, as Kafka's
/// `LogConfig.validateValues` does; the error is INVALID_CONFIG's message.
pub fn validate_set(overrides: &BTreeMap<String, String>) -> Result<(), String> {
    let long = |name: &str| -> i64 {
        let value = overrides.get(name).map(String::as_str).or_else(|| find(name).map(|d| d.default));
        value.and_then(|v| v.trim().parse().ok()).unwrap_or(0)
    };
    let (min_lag, max_lag) = (long("min.compaction.lag.ms"), long("max.compaction.lag.ms"));
    if min_lag > max_lag {
        return Err(format!("conflict topic config setting min.compaction.lag.ms ({min_lag}) > max.compaction.lag.ms ({max_lag})"));
    }
    Ok(())
}

/// One row of a DescribeConfigs answer for a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedConfig {
    pub name: &'static str,
    pub value: String,
    pub source: ConfigSource,
    pub config_type: ConfigType,
    pub doc: &'static str,
}

/// Every topic config with its effective value for a topic with `overrides`.
pub fn describe(overrides: &BTreeMap<String, String>) -> Vec<DescribedConfig> {
    TOPIC_CONFIGS
        .iter()
        .map(|def| {
            let (value, source) = match overrides.get(def.name) {
                Some(v) => (v.clone(), ConfigSource::TopicOverride),
                None => (def.default.to_string(), ConfigSource::Default),
            };
            DescribedConfig { name: def.name, value, source, config_type: def.config_type, doc: def.doc }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_unique_and_defaults_are_valid() {
        for pair in TOPIC_CONFIGS.windows(2) {
            assert!(pair[0].name < pair[1].name, "{} before {}", pair[0].name, pair[1].name);
        }
        for def in TOPIC_CONFIGS {
            assert_eq!(validate(def.name, def.default), Ok(()), "default of {}", def.name);
        }
    }

    #[test]
    fn values_are_checked_by_type_and_range() {
        assert!(validate("retention.ms", "-1").is_ok());
        assert!(validate("retention.ms", "-2").is_err());
        assert!(validate("retention.ms", "soon").is_err());
        assert!(validate("segment.bytes", "1000").is_err());
        assert!(validate("segment.bytes", "99999999999").is_err(), "INT overflow");
        assert!(validate("cleanup.policy", "compact,delete").is_ok());
        assert!(validate("cleanup.policy", "compact,shred").is_err());
        assert!(validate("compression.type", "brotli").is_err());
        assert!(validate("min.cleanable.dirty.ratio", "1.5").is_err());
        assert!(validate("preallocate", "TRUE").is_ok());
        assert!(validate("preallocate", "yes").is_err());
        assert_eq!(validate("no.such.config", "1"), Err("Unknown topic config name: no.such.config".into()));
    }

    #[test]
    fn compaction_lags_must_be_in_order() {
        let set = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>();
        assert!(validate_set(&set(&[("min.compaction.lag.ms", "1000")])).is_ok());
        assert!(validate_set(&set(&[("min.compaction.lag.ms", "1000"), ("max.compaction.lag.ms", "1000")])).is_ok());
        assert_eq!(
            validate_set(&set(&[("min.compaction.lag.ms", "1001"), ("max.compaction.lag.ms", "1000")])),
            Err("conflict topic config setting min.compaction.lag.ms (1001) > max.compaction.lag.ms (1000)".into())
        );
    }

    #[test]
    fn describe_marks_overrides() {
        let overrides = BTreeMap::from([("retention.ms".to_string(), "1000".to_string())]);
        let described = describe(&overrides);
        assert_eq!(described.len(), TOPIC_CONFIGS.len());
        let retention = described.iter().find(|c| c.name == "retention.ms").unwrap();
        assert_eq!((retention.value.as_str(), retention.source), ("1000", ConfigSource::TopicOverride));
        let segment = described.iter().find(|c| c.name == "segment.ms").unwrap();
        assert_eq!(segment.source, ConfigSource::Default);
    }
}
