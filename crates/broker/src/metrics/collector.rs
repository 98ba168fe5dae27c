//! Metrics read from the broker's state at scrape time: partition offsets and
//! sizes, and consumer group lag. Nothing is kept between scrapes, so there is
//! no series to forget when a topic or group goes away.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;

use crate::group::service::GroupService;
use crate::partitions::Partitions;

/// Reads partitions and groups on each scrape.
#[derive(Clone)]
pub struct StateCollector {
    pub partitions: Arc<Partitions>,
    pub groups: Arc<GroupService>,
}

impl std::fmt::Debug for StateCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateCollector")
    }
}

type Labels = Vec<(&'static str, String)>;

/// One gauge family: `(labels, value)` per series.
fn gauges(encoder: &mut DescriptorEncoder, name: &str, help: &str, series: &[(Labels, i64)]) -> Result<(), std::fmt::Error> {
    let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (labels, value) in series {
        ConstGauge::new(*value).encode(metric.encode_family(labels)?)?;
    }
    Ok(())
}

impl Collector for StateCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut logs = self.partitions.manager().logs();
        logs.sort_by(|a, b| a.0.cmp(&b.0));
        let (mut start, mut end, mut size, mut offline) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut high_watermarks = std::collections::HashMap::new();
        for ((topic, partition), log) in &logs {
            let labels: Labels = vec![("topic", topic.clone()), ("partition", partition.to_string())];
            let leo = log.log_end_offset();
            high_watermarks.insert((topic.clone(), *partition), leo);
            start.push((labels.clone(), log.log_start_offset()));
            end.push((labels.clone(), leo));
            size.push((labels.clone(), i64::try_from(log.size_bytes()).unwrap_or(i64::MAX)));
            offline.push((labels, i64::from(log.offline().is_some())));
        }
        gauges(&mut encoder, "partition_log_start_offset", "First offset of the partition log (Kafka: LogStartOffset)", &start)?;
        gauges(&mut encoder, "partition_log_end_offset", "Offset the next record gets (Kafka: LogEndOffset)", &end)?;
        // One replica: the high watermark is the log end offset.
        gauges(&mut encoder, "partition_high_watermark", "Offset below which records are readable (Kafka: HighWatermark)", &end)?;
        gauges(&mut encoder, "partition_size_bytes", "Bytes of the partition's segments (Kafka: Log Size)", &size)?;
        gauges(&mut encoder, "partition_offline", "1 when the log went offline after a disk error (Kafka: OfflinePartitionsCount)", &offline)?;
        let mut lag = Vec::new();
        for group in self.groups.list_groups(&[], &[]) {
            let group_id = group.group_id.0.to_string();
            // Pending transactional offsets do not count until committed (require_stable off).
            for (topic, partition, committed) in self.groups.fetch_offsets(&group_id, None, false) {
                let (Ok(Some(committed)), Some(&hw)) = (committed, high_watermarks.get(&(topic.clone(), partition))) else { continue };
                let labels: Labels = vec![("group", group_id.clone()), ("topic", topic), ("partition", partition.to_string())];
                lag.push((labels, (hw - committed.offset).max(0)));
            }
        }
        gauges(&mut encoder, "consumer_group_lag", "High watermark minus the group's committed offset (Kafka: records-lag, from kafka-consumer-groups)", &lag)
    }
}
