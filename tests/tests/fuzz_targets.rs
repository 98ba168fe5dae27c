//! The `cargo fuzz` targets (fuzz/, libFuzzer on nightly) on stable, in every
//! test run: each target gets its seeds (a valid request for every supported
//! API and version; valid record batches of every codec), every committed
//! regression input under `fuzz/regressions/<target>/` (crashes a fuzzing
//! run found, kept once fixed), and random mutations of the seeds for a
//! bounded count. A panic anywhere fails the test with the input's hex.
//!
//! `STROM_FUZZ_WRITE_CORPUS=DIR` writes the seeds to `DIR/<target>/` instead,
//! as the starting corpus of a `cargo fuzz` run (see `make fuzz-targets`).

// A failed expectation is how a test fails.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use strom_protocol::versions::SUPPORTED_APIS;
use strom_tests::bodies::seed_bodies;
use strom_tests::fuzz_targets::{frame_decoder, record_batch, request_decoder, request_input};

/// Mutations fed to each target per run.
const MUTATIONS: usize = 300_000;

type Target = fn(&[u8]);

fn request_seeds() -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for api in SUPPORTED_APIS {
        for version in api.min_version..=api.max_version {
            for body in seed_bodies(api.api_key as i16, version, 2) {
                seeds.push(request_input(api.api_key as i16, version, &body).unwrap());
            }
        }
    }
    seeds
}

fn frame_seeds() -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for api in SUPPORTED_APIS {
        for version in [api.min_version, api.max_version] {
            for body in seed_bodies(api.api_key as i16, version, 1) {
                let mut frame = strom_tests::client::request_header(api.api_key as i16, version, 9).unwrap();
                frame.extend_from_slice(&body);
                // First byte: the piece size the bytes arrive in.
                let mut seed = vec![7];
                seed.extend(strom_tests::client::size_prefixed(&frame));
                seeds.push(seed);
            }
        }
    }
    seeds
}

/// Valid produced batches, plain and in every codec (compressed by the
/// cleaner's own compressors, which write Kafka's framings), without and with
/// a producer id, with a repeated key and a tombstone so that compaction
/// rewrites them; each behind the flags byte that keeps length and CRC fixed.
fn batch_seeds() -> Vec<Vec<u8>> {
    use bytes::{Bytes, BytesMut};
    use kafka_protocol::records::{Compression as Kp, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType};
    use strom_storage::batch::{Compression, HEADER_BYTES, LOG_OVERHEAD};
    use strom_storage::cleaner::codec;
    use strom_tests::fuzz_targets::{FIX_CRC, FIX_LENGTH};
    let mut seeds = Vec::new();
    for (producer_id, sequence) in [(-1, -1), (5, 0)] {
        let records: Vec<Record> = (0..4)
            .map(|i| Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: -1,
                producer_id,
                producer_epoch: if producer_id < 0 { -1 } else { 0 },
                timestamp_type: TimestampType::Creation,
                offset: i,
                // The encoder starts a new batch where offset - sequence changes.
                sequence: sequence + i as i32,
                timestamp: 1_700_000_000_000 + i,
                key: Some(Bytes::from(format!("key-{}", i % 3))),
                value: (i != 2).then(|| Bytes::from(vec![b'v'; 40])),
                headers: Default::default(),
            })
            .collect();
        let mut buf = BytesMut::new();
        RecordBatchEncoder::encode(&mut buf, &records, &RecordEncodeOptions { version: 2, compression: Kp::None }).unwrap();
        let plain = buf.to_vec();
        for (id, codec) in [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd].into_iter().enumerate() {
            let mut batch = plain[..HEADER_BYTES].to_vec();
            batch.extend(codec::compress(codec, &plain[HEADER_BYTES..]).unwrap());
            batch[22] = (batch[22] & !0x07) | id as u8; // attributes, low byte: the codec
            let length = i32::try_from(batch.len() - LOG_OVERHEAD).unwrap();
            batch[8..12].copy_from_slice(&length.to_be_bytes());
            strom_storage::batch::update_crc(&mut batch);
            for flags in [0, FIX_LENGTH | FIX_CRC] {
                let mut seed = vec![flags];
                seed.extend_from_slice(&batch);
                seeds.push(seed);
            }
        }
    }
    seeds
}

fn targets() -> Vec<(&'static str, Target, Vec<Vec<u8>>)> {
    vec![
        ("frame_decoder", frame_decoder as Target, frame_seeds()),
        ("request_decoder", request_decoder as Target, request_seeds()),
        ("record_batch", record_batch as Target, batch_seeds()),
    ]
}

fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

fn feed(name: &str, target: Target, input: &[u8]) {
    if std::panic::catch_unwind(|| target(input)).is_err() {
        panic!("fuzz target {name} panicked on input {}", hex(input));
    }
}

/// One mutation of `seed`: flipped, set, inserted, removed or duplicated bytes, or a cut.
fn mutate(rng: &mut StdRng, seed: &[u8]) -> Vec<u8> {
    let mut data = seed.to_vec();
    for _ in 0..rng.random_range(1..6) {
        let at = if data.is_empty() { 0 } else { rng.random_range(0..data.len()) };
        match rng.random_range(0..6) {
            0 if !data.is_empty() => data[at] ^= 1 << rng.random_range(0..8),
            1 if !data.is_empty() => data[at] = [0, 0xff, 0x7f, 0x80, 1][rng.random_range(0..5)],
            2 => data.insert(at, rng.random()),
            3 if !data.is_empty() => {
                data.remove(at);
            }
            4 => data.truncate(at),
            _ => {
                let end = (at + rng.random_range(1..16)).min(data.len());
                let copy = data[at..end].to_vec();
                data.splice(at..at, copy);
            }
        }
    }
    data
}

#[test]
fn fuzz_targets_survive_their_seeds_regressions_and_mutations() {
    let root = strom_tests::process::workspace_root();
    if let Ok(dir) = std::env::var("STROM_FUZZ_WRITE_CORPUS") {
        for (name, _, seeds) in targets() {
            let dir = Path::new(&dir).join(name);
            std::fs::create_dir_all(&dir).unwrap();
            for (i, seed) in seeds.iter().enumerate() {
                std::fs::write(dir.join(format!("seed-{i:05}")), seed).unwrap();
            }
        }
        return;
    }
    let seed = std::env::var("STROM_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random::<u64>);
    eprintln!("STROM_FUZZ_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    for (name, target, seeds) in targets() {
        assert!(!seeds.is_empty(), "{name} has seeds");
        for input in &seeds {
            feed(name, target, input);
        }
        let regressions = root.join("fuzz/regressions").join(name);
        let mut replayed = 0;
        for entry in std::fs::read_dir(&regressions).into_iter().flatten().flatten().filter(|e| !e.file_name().to_string_lossy().starts_with('.')) {
            feed(name, target, &std::fs::read(entry.path()).unwrap());
            replayed += 1;
        }
        for _ in 0..MUTATIONS {
            let pick = rng.random_range(0..seeds.len());
            let input = mutate(&mut rng, &seeds[pick]);
            feed(name, target, &input);
        }
        eprintln!("{name}: {} seeds, {replayed} regressions, {MUTATIONS} mutations", seeds.len());
    }
}

/// The batch seeds reach the deep paths: each validates on a compacted topic
/// (records decompressed and walked) and compaction rewrites it (a repeated key).
#[test]
fn batch_seeds_validate_in_every_codec_and_compaction_rewrites_them() {
    use std::collections::HashMap;
    use strom_storage::batch::BatchHeader;
    use strom_storage::cleaner::filter::{self, FilterContext, Filtered};
    use strom_storage::cleaner::offset_map::OffsetMap;
    use strom_storage::validator::{self, ValidationConfig};
    let mut codecs = std::collections::BTreeSet::new();
    for seed in batch_seeds() {
        let batch = &seed[1..];
        let cfg = ValidationConfig { compacted: true, ..ValidationConfig::default() };
        let validated = validator::validate_and_assign(batch, 0, 0, 1_700_000_000_000, &cfg)
            .unwrap_or_else(|e| panic!("{e:?}: {:?} of {} bytes", BatchHeader::parse(batch), batch.len()));
        codecs.insert(validated.compression.name());
        let header = BatchHeader::parse(batch).unwrap();
        let mut map = OffsetMap::new(16);
        let limit = strom_storage::validator::MAX_DECOMPRESSED_BYTES;
        assert!(filter::map_batch(batch, &header, &mut map, (0, i64::MAX), limit).unwrap());
        let producers = HashMap::new();
        let ctx = FilterContext {
            map: &map,
            now_ms: 0,
            delete_retention_ms: 0,
            last_data_offsets: &producers,
            upper_bound_offset: 4,
            max_decompressed_bytes: limit,
        };
        let (fate, counts) = filter::filter_batch(batch, &header, &ctx).unwrap();
        assert!(matches!(fate, Filtered::Rewrite(_)), "{} batch is rewritten", validated.compression.name());
        assert_eq!((counts.read, counts.retained), (4, 3));
    }
    assert_eq!(codecs.len(), 5, "seeds in every codec: {codecs:?}");
}

/// Every request seed is a request the broker decodes, so the fuzzer starts
/// from inside every decoder rather than from its first refusal.
#[test]
fn request_seeds_decode() {
    use strom_protocol::request::{decode_request, Decoded};
    use strom_tests::fuzz_targets::chosen_api;
    let mut apis = std::collections::BTreeSet::new();
    for seed in request_seeds() {
        let (api_key, version) = chosen_api(&seed).unwrap();
        let mut frame = strom_tests::client::request_header(api_key, version, 1).unwrap();
        frame.extend_from_slice(&seed[2..]);
        match decode_request(bytes::Bytes::from(frame)) {
            Ok(Decoded::Request(_)) => apis.insert((api_key, version)),
            other => panic!("seed for api {api_key} v{version}: {other:?}"),
        };
    }
    let supported: usize = SUPPORTED_APIS.iter().map(|a| usize::try_from(a.max_version - a.min_version + 1).unwrap()).sum();
    assert_eq!(apis.len(), supported, "a seed for every supported API and version");
}
