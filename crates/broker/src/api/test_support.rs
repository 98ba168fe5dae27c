//! A broker on a temp dir for handler tests.

use std::sync::Arc;

use crate::broker::Broker;
use crate::config::{Config, Layers, Overrides};
use crate::metadata::{BrokerRegistration, Endpoint, MetadataStore, TopicDefaults};
use crate::partitions::Partitions;

pub struct TestBroker {
    pub broker: Broker,
    _dir: tempfile::TempDir,
}

pub fn broker() -> TestBroker {
    broker_with(Overrides::default())
}

/// A broker with these settings on top of the test defaults.
pub fn broker_with(settings: Overrides) -> TestBroker {
    broker_in(&strom_storage::fs::os(), settings)
}

/// A broker whose partition logs use the file system `fs`.
pub fn broker_on(fs: &strom_storage::fs::Fs) -> TestBroker {
    broker_in(fs, Overrides::default())
}

fn broker_in(fs: &strom_storage::fs::Fs, settings: Overrides) -> TestBroker {
    let dir = tempfile::tempdir().unwrap();
    // New groups rebalance at once; few offsets partitions keep tests quick.
    let flags = Overrides {
        data_dir: Some(dir.path().to_path_buf()),
        group_initial_rebalance_delay_ms: Some(0),
        offsets_topic_num_partitions: Some(3),
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
    TestBroker { broker: Broker::new(config, metadata, partitions), _dir: dir }
}
