//! A broker on a temp dir for handler tests.

use std::sync::Arc;

use bytes::Bytes;

use crate::broker::Broker;
use crate::config::{Config, Layers, Overrides};
use crate::metadata::{BrokerRegistration, Endpoint, MetadataStore, TopicDefaults};
use crate::partitions::Partitions;

pub struct TestBroker {
    pub broker: Broker,
    dir: tempfile::TempDir,
}

pub fn broker() -> TestBroker {
    broker_with(Overrides::default())
}

/// A broker with these settings on top of the test defaults.
pub fn broker_with(settings: Overrides) -> TestBroker {
    open(&strom_storage::fs::os(), tempfile::tempdir().unwrap(), settings)
}

/// A broker whose partition logs use the file system `fs`.
pub fn broker_on(fs: &strom_storage::fs::Fs) -> TestBroker {
    open(fs, tempfile::tempdir().unwrap(), Overrides::default())
}

fn open(fs: &strom_storage::fs::Fs, dir: tempfile::TempDir, settings: Overrides) -> TestBroker {
    // New groups rebalance at once; few internal partitions keep tests quick.
    let flags = Overrides {
        data_dir: Some(dir.path().to_path_buf()),
        group_initial_rebalance_delay_ms: Some(0),
        offsets_topic_num_partitions: Some(3),
        transaction_state_log_num_partitions: Some(3),
        ..Overrides::default()
    }
    .then(settings);
    let config = Config::resolve(Layers { file: None, env: Overrides::default(), flags }).unwrap();
    let registration = BrokerRegistration {
        node_id: 1,
        endpoints: vec![Endpoint { listener: "PLAINTEXT".into(), host: "localhost".into(), port: 9092 }],
        rack: None,
    };
    let defaults = TopicDefaults { num_partitions: 1, replication_factor: 1 };
    let metadata = Arc::new(MetadataStore::open(dir.path(), defaults, registration).unwrap());
    let partitions = Arc::new(Partitions::open_in(fs, dir.path(), 1).unwrap().with_max_decompressed_bytes(config.max_decompressed_batch_bytes));
    let publisher = Arc::clone(&partitions);
    metadata.add_publisher(Box::new(move |image| publisher.publish(image)));
    TestBroker { broker: Broker::new(config, metadata, partitions), dir }
}

impl TestBroker {
    /// The broker as after a crash: nothing flushed or closed, everything
    /// reopened and reloaded from the same directory (inside `rt`, where the
    /// reload starts the markers of decided transactions).
    pub fn crash_and_restart(self, rt: &tokio::runtime::Runtime) -> TestBroker {
        let TestBroker { broker, dir } = self;
        drop(broker);
        let restarted = open(&strom_storage::fs::os(), dir, Overrides::default());
        let _inside = rt.enter();
        restarted.broker.groups.load().unwrap();
        restarted.broker.txns.load().unwrap();
        restarted
    }
}

/// The producer fields of a test batch: id, epoch, first sequence (-1, -1, -1: none).
pub struct Producer {
    pub id: i64,
    pub epoch: i16,
    pub sequence: i32,
}

impl Producer {
    pub const NONE: Producer = Producer { id: -1, epoch: -1, sequence: -1 };
}

/// A v2 record batch of one record whose value is the byte `value`, at
/// `timestamp`, with `attributes` (0x10: transactional), CRC set.
pub fn one_record_batch(timestamp: i64, producer: Producer, attributes: i16, value: u8) -> Bytes {
    let record = [0x0e, 0, 0, 0, 0x01, 0x02, value, 0];
    let mut b = Vec::new();
    b.extend_from_slice(&0i64.to_be_bytes());
    b.extend_from_slice(&((49 + record.len()) as i32).to_be_bytes());
    b.extend_from_slice(&(-1i32).to_be_bytes());
    b.push(2);
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&attributes.to_be_bytes());
    b.extend_from_slice(&0i32.to_be_bytes());
    b.extend_from_slice(&timestamp.to_be_bytes());
    b.extend_from_slice(&timestamp.to_be_bytes());
    b.extend_from_slice(&producer.id.to_be_bytes());
    b.extend_from_slice(&producer.epoch.to_be_bytes());
    b.extend_from_slice(&producer.sequence.to_be_bytes());
    b.extend_from_slice(&1i32.to_be_bytes());
    b.extend_from_slice(&record);
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    Bytes::from(b)
}
