use super::*;
use crate::metadata::image::Endpoint;

fn registration(node_id: i32, port: i32) -> BrokerRegistration {
    BrokerRegistration {
        node_id,
        endpoints: vec![Endpoint { listener: "PLAINTEXT".into(), host: "localhost".into(), port }],
        rack: None,
    }
}

const DEFAULTS: TopicDefaults = TopicDefaults { num_partitions: 1, replication_factor: 1 };

fn open(dir: &Path) -> MetadataStore {
    MetadataStore::open(dir, DEFAULTS, registration(1, 9092)).unwrap()
}

fn topic(name: &str, partitions: i32) -> NewTopic {
    NewTopic { num_partitions: partitions, ..NewTopic::with_defaults(name) }
}

#[test]
fn a_new_store_has_a_cluster_id_and_this_broker_as_controller() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let image = store.image();
    assert_eq!(image.cluster_id.len(), 22);
    assert_eq!(image.controller_id, 1);
    assert_eq!(image.brokers.len(), 1);
}

#[test]
fn topics_survive_a_reopen_with_ids_partitions_and_configs() {
    let dir = tempfile::tempdir().unwrap();
    let (cluster_id, created) = {
        let store = open(dir.path());
        let mut t = topic("orders", 3);
        t.configs.insert("retention.ms".into(), Some("1000".into()));
        t.configs.insert("ignored".into(), None);
        let created = store.create_topic(t, false).unwrap();
        store.create_topic(topic("gone", 1), false).unwrap();
        store.delete_topic("gone").unwrap();
        store.create_partitions("orders", 5, false).unwrap();
        (store.image().cluster_id.clone(), created)
    };
    let store = open(dir.path());
    let image = store.image();
    assert_eq!(image.cluster_id, cluster_id);
    let orders = image.topic("orders").unwrap();
    assert_eq!(orders.id, created.id);
    assert_eq!(orders.partitions.len(), 5);
    assert_eq!(orders.configs.get("retention.ms").map(String::as_str), Some("1000"));
    assert!(image.topic("gone").is_none());
    assert_eq!(image.topics.len(), 1);
}

#[test]
fn reopening_with_the_same_registration_appends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path()));
    let path = dir.path().join(crate::metadata::log::METADATA_DIR).join(crate::metadata::log::LOG_FILE);
    let size = std::fs::metadata(&path).unwrap().len();
    drop(open(dir.path()));
    assert_eq!(std::fs::metadata(&path).unwrap().len(), size);
    drop(MetadataStore::open(dir.path(), DEFAULTS, registration(1, 9093)).unwrap());
    assert!(std::fs::metadata(&path).unwrap().len() > size, "a changed endpoint is recorded");
}

#[test]
fn validate_only_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let planned = store.create_topic(topic("t", 4), true).unwrap();
    assert_eq!(planned.partitions.len(), 4);
    assert!(store.image().topics.is_empty());
    store.create_topic(topic("t", 1), false).unwrap();
    store.create_partitions("t", 3, true).unwrap();
    assert_eq!(store.image().topic("t").unwrap().partitions.len(), 1);
}

#[test]
fn defaults_apply_to_minus_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = MetadataStore::open(dir.path(), TopicDefaults { num_partitions: 3, replication_factor: 1 }, registration(1, 9092)).unwrap();
    let created = store.create_topic(NewTopic::with_defaults("auto"), false).unwrap();
    assert_eq!(created.partitions.len(), 3);
    let p = &created.partitions[2];
    assert_eq!((p.partition, p.leader, p.leader_epoch, p.replicas.clone(), p.isr.clone()), (2, 1, 0, vec![1], vec![1]));
}

#[test]
fn rejected_topics_carry_kafkas_error_codes() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.create_topic(topic("a.b", 1), false).unwrap();
    let cases: Vec<(NewTopic, ResponseError)> = vec![
        (topic("a.b", 1), ResponseError::TopicAlreadyExists),
        (topic("a_b", 1), ResponseError::InvalidTopicException),
        (topic("bad name", 1), ResponseError::InvalidTopicException),
        (topic("", 1), ResponseError::InvalidTopicException),
        (topic("..", 1), ResponseError::InvalidTopicException),
        (topic(&"x".repeat(250), 1), ResponseError::InvalidTopicException),
        (topic(METADATA_TOPIC, 1), ResponseError::InvalidTopicException),
        (topic("zero", 0), ResponseError::InvalidPartitions),
        (topic("negative", -5), ResponseError::InvalidPartitions),
        (NewTopic { replication_factor: 3, ..topic("rf3", 1) }, ResponseError::InvalidReplicationFactor),
        (NewTopic { replication_factor: 0, ..topic("rf0", 1) }, ResponseError::InvalidReplicationFactor),
        (
            NewTopic { configs: BTreeMap::from([("retention.ms".into(), Some("x".into()))]), ..topic("cfg", 1) },
            ResponseError::InvalidConfig,
        ),
        (
            NewTopic { configs: BTreeMap::from([("no.such".into(), Some("1".into()))]), ..topic("cfg2", 1) },
            ResponseError::InvalidConfig,
        ),
    ];
    for (new_topic, expected) in cases {
        let name = new_topic.name.clone();
        let err = store.create_topic(new_topic, false).unwrap_err();
        assert_eq!(err.error, expected, "{name}: {}", err.message);
    }
    assert!(store.create_topic(topic(&"x".repeat(249), 1), false).is_ok());
    let rf = store.create_topic(NewTopic { replication_factor: 3, ..topic("rf", 1) }, false).unwrap_err();
    assert_eq!(
        rf.message,
        "Unable to replicate the partition 3 time(s): The target replication factor of 3 cannot be reached because only 1 broker(s) are registered."
    );
}

#[test]
fn deletes_and_partition_changes_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    assert_eq!(store.delete_topic("nope").unwrap_err().error, ResponseError::UnknownTopicOrPartition);
    assert_eq!(store.delete_topic_by_id(Uuid::from_u128(5)).unwrap_err().error, ResponseError::UnknownTopicId);
    let t = store.create_topic(topic("t", 2), false).unwrap();
    assert_eq!(store.create_partitions("t", 2, false).unwrap_err().error, ResponseError::InvalidPartitions);
    assert_eq!(store.create_partitions("t", 1, false).unwrap_err().error, ResponseError::InvalidPartitions);
    assert_eq!(store.create_partitions("nope", 3, false).unwrap_err().error, ResponseError::UnknownTopicOrPartition);
    assert_eq!(store.delete_topic_by_id(t.id).unwrap(), "t");
    assert!(store.image().topics.is_empty());
}

#[test]
fn publishers_see_every_change_in_order() {
    use std::sync::Mutex as StdMutex;
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.create_topic(topic("before", 1), false).unwrap();
    let seen = Arc::new(StdMutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    store.add_publisher(Box::new(move |image| sink.lock().unwrap().push(image.topics.keys().cloned().collect::<Vec<_>>())));
    store.create_topic(topic("after", 1), false).unwrap();
    store.create_topic(topic("dry", 1), true).unwrap();
    store.delete_topic("before").unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        vec![vec!["before".to_string()], vec!["after".into(), "before".into()], vec!["after".to_string()]]
    );
}

#[test]
fn producer_id_blocks_never_overlap_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let first = open(dir.path()).allocate_producer_ids(1, 1000).unwrap();
    let store = open(dir.path());
    let second = store.allocate_producer_ids(1, 1000).unwrap();
    assert_eq!((first.clone(), second.clone()), (0..1000, 1000..2000));
    assert_eq!(store.image().next_producer_id, 2000);
}
