//! Handler tests: real requests through `handle` against a broker on a temp dir.

use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use strom_protocol::versions::SUPPORTED_APIS;

use super::test_support::broker;
use super::*;

pub(super) fn ctx<'a>(broker: &'a Broker, api_version: i16) -> RequestContext<'a> {
    static ANONYMOUS: std::sync::LazyLock<crate::auth::Principal> = std::sync::LazyLock::new(crate::auth::Principal::anonymous);
    RequestContext { broker, listener: "PLAINTEXT", api_version, client_id: "test", client_host: "/127.0.0.1", principal: &ANONYMOUS }
}

/// Handlers run on a multi-thread runtime, as in the broker (blocking
/// sections need one).
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_time().build().unwrap()
}

pub(super) fn call(broker: &Broker, version: i16, request: RequestKind) -> ResponseKind {
    let ctx = ctx(broker, version);
    runtime().block_on(handle(&ctx, request)).unwrap().unwrap()
}

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.into()))
}

fn create(broker: &Broker, version: i16, topics: Vec<CreatableTopic>, validate_only: bool) -> CreateTopicsResponse {
    let req = CreateTopicsRequest::default().with_topics(topics).with_validate_only(validate_only);
    match call(broker, version, RequestKind::CreateTopics(req)) {
        ResponseKind::CreateTopics(r) => r,
        other => panic!("{other:?}"),
    }
}

fn topic(n: &str, partitions: i32) -> CreatableTopic {
    CreatableTopic::default().with_name(name(n)).with_num_partitions(partitions).with_replication_factor(-1)
}

fn metadata(broker: &Broker, version: i16, topics: Option<Vec<&str>>, auto: bool) -> MetadataResponse {
    let topics = topics.map(|t| t.into_iter().map(|n| MetadataRequestTopic::default().with_name(Some(name(n)))).collect());
    let req = MetadataRequest::default().with_topics(topics).with_allow_auto_topic_creation(auto);
    match call(broker, version, RequestKind::Metadata(req)) {
        ResponseKind::Metadata(r) => r,
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_supported_api_has_a_handler() {
    let b = broker();
    for api in SUPPORTED_APIS {
        let request = match api.api_key {
            ApiKey::ApiVersions => RequestKind::ApiVersions(ApiVersionsRequest::default()),
            ApiKey::Metadata => RequestKind::Metadata(MetadataRequest::default()),
            ApiKey::CreateTopics => RequestKind::CreateTopics(CreateTopicsRequest::default()),
            ApiKey::DeleteTopics => RequestKind::DeleteTopics(DeleteTopicsRequest::default()),
            ApiKey::CreatePartitions => RequestKind::CreatePartitions(CreatePartitionsRequest::default()),
            ApiKey::DescribeConfigs => RequestKind::DescribeConfigs(DescribeConfigsRequest::default()),
            ApiKey::DescribeCluster => RequestKind::DescribeCluster(DescribeClusterRequest::default().with_endpoint_type(1)),
            ApiKey::Produce => RequestKind::Produce(ProduceRequest::default().with_acks(1)),
            ApiKey::Fetch => RequestKind::Fetch(FetchRequest::default()),
            ApiKey::ListOffsets => RequestKind::ListOffsets(ListOffsetsRequest::default()),
            ApiKey::InitProducerId => RequestKind::InitProducerId(InitProducerIdRequest::default()),
            ApiKey::DeleteRecords => RequestKind::DeleteRecords(DeleteRecordsRequest::default()),
            ApiKey::AlterConfigs => RequestKind::AlterConfigs(AlterConfigsRequest::default()),
            ApiKey::IncrementalAlterConfigs => RequestKind::IncrementalAlterConfigs(IncrementalAlterConfigsRequest::default()),
            // Empty group ids: answered at once (INVALID_GROUP_ID where Kafka checks it).
            ApiKey::FindCoordinator => RequestKind::FindCoordinator(FindCoordinatorRequest::default()),
            ApiKey::JoinGroup => RequestKind::JoinGroup(JoinGroupRequest::default()),
            ApiKey::SyncGroup => RequestKind::SyncGroup(SyncGroupRequest::default()),
            ApiKey::Heartbeat => RequestKind::Heartbeat(HeartbeatRequest::default()),
            ApiKey::LeaveGroup => RequestKind::LeaveGroup(LeaveGroupRequest::default()),
            ApiKey::OffsetCommit => RequestKind::OffsetCommit(OffsetCommitRequest::default()),
            ApiKey::OffsetFetch => RequestKind::OffsetFetch(OffsetFetchRequest::default()),
            ApiKey::OffsetDelete => RequestKind::OffsetDelete(OffsetDeleteRequest::default()),
            ApiKey::ListGroups => RequestKind::ListGroups(ListGroupsRequest::default()),
            ApiKey::DescribeGroups => RequestKind::DescribeGroups(DescribeGroupsRequest::default()),
            ApiKey::DeleteGroups => RequestKind::DeleteGroups(DeleteGroupsRequest::default()),
            key if super::txn_tests::is_txn_api(key) => super::txn_tests::request_for(key, api.max_version),

            key if super::security_tests::is_security_api(key) => super::security_tests::request_for(key),
            other => panic!("{other:?} is advertised but this test does not know it"),
        };
        let ctx = ctx(&b.broker, api.max_version);
        let rt = runtime();
        assert!(rt.block_on(handle(&ctx, request)).unwrap().is_some(), "{:?}", api.api_key);
    }
}

#[test]
fn metadata_auto_creates_only_when_allowed() {
    let b = broker();
    let r = metadata(&b.broker, 12, Some(vec!["fresh"]), false);
    assert_eq!(r.topics[0].error_code, ResponseError::UnknownTopicOrPartition.code());
    let r = metadata(&b.broker, 12, Some(vec!["fresh"]), true);
    assert_eq!(r.topics[0].error_code, 0);
    assert_eq!(r.topics[0].partitions.len(), 1);
    assert!(!r.topics[0].topic_id.is_nil());
    assert_eq!((r.controller_id.0, r.brokers.len(), r.brokers[0].port), (1, 1, 9092));
    // Below v4 auto-creation is implied.
    assert_eq!(metadata(&b.broker, 3, Some(vec!["old-client"]), false).topics[0].error_code, 0);
    assert_eq!(metadata(&b.broker, 12, Some(vec!["bad name"]), true).topics[0].error_code, ResponseError::InvalidTopicException.code());
    // v1+: null lists all topics, empty lists none; v0: empty lists all.
    assert_eq!(metadata(&b.broker, 12, None, false).topics.len(), 2);
    assert_eq!(metadata(&b.broker, 12, Some(vec![]), false).topics.len(), 0);
    assert_eq!(metadata(&b.broker, 0, Some(vec![]), false).topics.len(), 2);
}

#[test]
fn create_topics_validates_reports_and_persists() {
    let b = broker();
    let with_config = topic("configured", 3).with_configs(vec![CreatableTopicConfig::default()
        .with_name(StrBytes::from_static_str("retention.ms"))
        .with_value(Some(StrBytes::from_static_str("1000")))]);
    let r = create(&b.broker, 7, vec![with_config, topic("dup", 1), topic("dup", 1)], false);
    assert_eq!(r.topics[0].error_code, 0);
    assert_eq!((r.topics[0].num_partitions, r.topics[0].replication_factor), (3, 1));
    let configs = r.topics[0].configs.as_ref().unwrap();
    let retention = configs.iter().find(|c| c.name.as_str() == "retention.ms").unwrap();
    assert_eq!((retention.value.as_deref(), retention.config_source), (Some("1000"), 1));
    assert_eq!(r.topics[1].error_code, ResponseError::InvalidRequest.code());
    assert_eq!(r.topics[2].error_code, ResponseError::InvalidRequest.code());
    let again = create(&b.broker, 7, vec![topic("configured", 1)], false);
    assert_eq!(again.topics[0].error_code, ResponseError::TopicAlreadyExists.code());
    let dry = create(&b.broker, 7, vec![topic("dry", 2)], true);
    assert_eq!((dry.topics[0].error_code, dry.topics[0].num_partitions), (0, 2));
    assert!(b.broker.metadata.image().topic("dry").is_none());
    let rf = create(&b.broker, 7, vec![topic("rf", 1).with_replication_factor(3)], false);
    assert_eq!(rf.topics[0].error_code, ResponseError::InvalidReplicationFactor.code());
    assert!(rf.topics[0].error_message.as_deref().unwrap().contains("only 1 broker(s) are registered"));
}

#[test]
fn delete_topics_by_name_and_by_id() {
    let b = broker();
    let created = create(&b.broker, 7, vec![topic("a", 1), topic("b", 1)], false);
    let req = DeleteTopicsRequest::default().with_topic_names(vec![name("a"), name("missing")]);
    let ResponseKind::DeleteTopics(r) = call(&b.broker, 5, RequestKind::DeleteTopics(req)) else { panic!() };
    assert_eq!(r.responses[0].error_code, 0);
    assert_eq!(r.responses[1].error_code, ResponseError::UnknownTopicOrPartition.code());
    let by_id = DeleteTopicState::default().with_topic_id(created.topics[1].topic_id);
    let req = DeleteTopicsRequest::default().with_topics(vec![by_id]);
    let ResponseKind::DeleteTopics(r) = call(&b.broker, 6, RequestKind::DeleteTopics(req)) else { panic!() };
    assert_eq!((r.responses[0].error_code, r.responses[0].name.as_ref().map(|n| n.0.as_str())), (0, Some("b")));
    assert!(b.broker.metadata.image().topics.is_empty());
}

#[test]
fn describe_configs_for_topics_and_the_broker() {
    let b = broker();
    create(&b.broker, 7, vec![topic("t", 1)], false);
    let resources = vec![
        DescribeConfigsResource::default().with_resource_type(2).with_resource_name(StrBytes::from_static_str("t")),
        DescribeConfigsResource::default()
            .with_resource_type(4)
            .with_resource_name(StrBytes::from_static_str("1"))
            .with_configuration_keys(Some(vec![StrBytes::from_static_str("num.partitions")])),
        DescribeConfigsResource::default().with_resource_type(2).with_resource_name(StrBytes::from_static_str("nope")),
        DescribeConfigsResource::default().with_resource_type(4).with_resource_name(StrBytes::from_static_str("7")),
    ];
    let req = DescribeConfigsRequest::default().with_resources(resources).with_include_documentation(true);
    let ResponseKind::DescribeConfigs(r) = call(&b.broker, 4, RequestKind::DescribeConfigs(req)) else { panic!() };
    assert!(r.results[0].configs.iter().any(|c| c.name.as_str() == "cleanup.policy" && c.value.as_deref() == Some("delete")));
    assert_eq!(r.results[1].configs.len(), 1);
    assert_eq!(r.results[1].configs[0].value.as_deref(), Some("1"));
    assert_eq!(r.results[2].error_code, ResponseError::UnknownTopicOrPartition.code());
    assert_eq!(r.results[3].error_code, ResponseError::InvalidRequest.code());
}

#[test]
fn describe_cluster_and_create_partitions() {
    let b = broker();
    let req = DescribeClusterRequest::default().with_endpoint_type(1);
    let ResponseKind::DescribeCluster(r) = call(&b.broker, 1, RequestKind::DescribeCluster(req)) else { panic!() };
    assert_eq!((r.error_code, r.controller_id.0, r.brokers.len()), (0, 1, 1));
    assert_eq!(r.cluster_id.len(), 22);
    let req = DescribeClusterRequest::default().with_endpoint_type(2);
    let ResponseKind::DescribeCluster(r) = call(&b.broker, 1, RequestKind::DescribeCluster(req)) else { panic!() };
    assert_eq!(r.error_code, ResponseError::MismatchedEndpointType.code());

    create(&b.broker, 7, vec![topic("grow", 1)], false);
    let t = create_partitions_request::CreatePartitionsTopic::default().with_name(name("grow")).with_count(4);
    let req = CreatePartitionsRequest::default().with_topics(vec![t.clone(), t.with_name(name("none"))]);
    let ResponseKind::CreatePartitions(r) = call(&b.broker, 3, RequestKind::CreatePartitions(req)) else { panic!() };
    assert_eq!(r.results[0].error_code, 0);
    assert_eq!(r.results[1].error_code, ResponseError::UnknownTopicOrPartition.code());
    assert_eq!(b.broker.metadata.image().topic("grow").unwrap().partitions.len(), 4);
    assert!(b.broker.partitions.log("grow", 3).is_some());
}

use kafka_protocol::error::ResponseError;

/// Every handler's answer, at every advertised version, must encode: a field
/// set that a version lacks fails encoding and would close the connection.
#[test]
fn every_response_encodes_at_every_advertised_version() {
    use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
    use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
    use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    let b = broker();
    let created = create(&b.broker, 7, vec![topic("t", 1)], false);
    let id = created.topics[0].topic_id;
    let rt = runtime();
    rt.spawn(std::sync::Arc::clone(&b.broker.groups).run_timers());
    let member = super::group_tests::join_and_sync(&rt, &b.broker, "g");
    for api in SUPPORTED_APIS {
        for version in api.min_version..=api.max_version {
            let request = match api.api_key {
                ApiKey::ApiVersions => RequestKind::ApiVersions(ApiVersionsRequest::default()),
                ApiKey::Metadata => RequestKind::Metadata(MetadataRequest::default().with_topics(None)),
                ApiKey::CreateTopics => RequestKind::CreateTopics(
                    CreateTopicsRequest::default().with_topics(vec![topic(&format!("new-{version}"), 1), topic("t", 1)]),
                ),
                ApiKey::DeleteTopics => RequestKind::DeleteTopics(
                    DeleteTopicsRequest::default()
                        .with_topic_names(vec![name("missing")])
                        .with_topics(vec![DeleteTopicState::default().with_name(Some(name("missing")))]),
                ),
                ApiKey::CreatePartitions => RequestKind::CreatePartitions(CreatePartitionsRequest::default().with_topics(vec![
                    create_partitions_request::CreatePartitionsTopic::default().with_name(name("t")).with_count(1),
                ])),
                ApiKey::DescribeConfigs => RequestKind::DescribeConfigs(
                    DescribeConfigsRequest::default()
                        .with_resources(vec![DescribeConfigsResource::default().with_resource_type(2).with_resource_name(StrBytes::from_static_str("t"))])
                        .with_include_synonyms(version >= 1)
                        .with_include_documentation(version >= 3),
                ),
                ApiKey::DescribeCluster => RequestKind::DescribeCluster(DescribeClusterRequest::default().with_endpoint_type(1)),
                ApiKey::Produce => {
                    let data = PartitionProduceData::default().with_index(0).with_records(Some(bytes::Bytes::from_static(&[1; 80])));
                    let t = TopicProduceData::default().with_name(name("t")).with_topic_id(id).with_partition_data(vec![data]);
                    RequestKind::Produce(ProduceRequest::default().with_acks(1).with_topic_data(vec![t]))
                }
                ApiKey::Fetch => {
                    let p = FetchPartition::default().with_partition(0).with_partition_max_bytes(1000);
                    let t = FetchTopic::default().with_topic(name("t")).with_topic_id(id).with_partitions(vec![p]);
                    RequestKind::Fetch(FetchRequest::default().with_max_bytes(1000).with_topics(vec![t]))
                }
                ApiKey::ListOffsets => {
                    let p = ListOffsetsPartition::default().with_partition_index(0).with_timestamp(-1);
                    let t = ListOffsetsTopic::default().with_name(name("t")).with_partitions(vec![p]);
                    RequestKind::ListOffsets(ListOffsetsRequest::default().with_topics(vec![t]))
                }
                ApiKey::InitProducerId => RequestKind::InitProducerId(InitProducerIdRequest::default()),
                ApiKey::DeleteRecords => {
                    use kafka_protocol::messages::delete_records_request::{DeleteRecordsPartition, DeleteRecordsTopic};
                    let p = DeleteRecordsPartition::default().with_partition_index(0).with_offset(-1);
                    let t = DeleteRecordsTopic::default().with_name(name("t")).with_partitions(vec![p]);
                    RequestKind::DeleteRecords(DeleteRecordsRequest::default().with_topics(vec![t]))
                }
                ApiKey::AlterConfigs => RequestKind::AlterConfigs(AlterConfigsRequest::default().with_resources(vec![
                    alter_configs_request::AlterConfigsResource::default().with_resource_type(2).with_resource_name(StrBytes::from_static_str("t")),
                    alter_configs_request::AlterConfigsResource::default().with_resource_type(4).with_resource_name(StrBytes::from_static_str("1")),
                ])),
                ApiKey::IncrementalAlterConfigs => RequestKind::IncrementalAlterConfigs(incremental("t", "retention.ms", 0, Some("1000"))),
                key if super::group_tests::is_group_api(key) => super::group_tests::request_for(key, version, &member),
                key if super::txn_tests::is_txn_api(key) => super::txn_tests::request_for(key, version),

                key if super::security_tests::is_security_api(key) => super::security_tests::request_for(key),
                other => panic!("{other:?} is advertised but this test does not know it"),
            };
            let ctx = ctx(&b.broker, version);
            let response = rt.block_on(handle(&ctx, request)).unwrap().unwrap();
            let encoded = strom_protocol::response::encode_response(api.api_key, version, 1, &response);
            assert!(encoded.is_ok(), "{:?} v{version}: {}", api.api_key, encoded.unwrap_err());
        }
    }
}

#[test]
fn authorized_operations_are_reported_only_when_asked() {
    let b = broker();
    create(&b.broker, 7, vec![topic("t", 1)], false);
    let ask = |include: bool| {
        let req = MetadataRequest::default()
            .with_topics(None)
            .with_include_topic_authorized_operations(include)
            .with_include_cluster_authorized_operations(include);
        match call(&b.broker, 9, RequestKind::Metadata(req)) {
            ResponseKind::Metadata(r) => (r.topics[0].topic_authorized_operations, r.cluster_authorized_operations),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(ask(false), (i32::MIN, i32::MIN));
    // Kafka with no authorizer: READ..ALTER_CONFIGS for topics (bits 3-8, 10, 11).
    assert_eq!(ask(true), (0b1101_1111_1000, 0b1_1111_1010_0000));
}

#[test]
fn requests_for_too_many_partitions_fail_whole_as_in_kafka() {
    let b = broker();
    let r = create(&b.broker, 7, vec![topic("a", 5000), topic("b", 5001), topic("c", 1)], false);
    assert!(r.topics.iter().all(|t| t.error_code == ResponseError::PolicyViolation.code()));
    assert!(b.broker.metadata.image().topics.is_empty());
    create(&b.broker, 7, vec![topic("grow", 1)], false);
    let t = create_partitions_request::CreatePartitionsTopic::default().with_name(name("grow")).with_count(20_000);
    let ResponseKind::CreatePartitions(r) =
        call(&b.broker, 3, RequestKind::CreatePartitions(CreatePartitionsRequest::default().with_topics(vec![t])))
    else {
        panic!()
    };
    assert_eq!(r.results[0].error_code, ResponseError::PolicyViolation.code());
}

#[test]
fn fetches_with_errors_or_nothing_to_wait_for_answer_at_once() {
    use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
    let b = broker();
    create(&b.broker, 7, vec![topic("t", 1)], false);
    let fetch = |topic: &str| {
        let p = FetchPartition::default().with_partition(0).with_partition_max_bytes(1000);
        let t = FetchTopic::default().with_topic(name(topic)).with_partitions(vec![p]);
        RequestKind::Fetch(FetchRequest::default().with_max_wait_ms(5000).with_min_bytes(1).with_max_bytes(1000).with_topics(vec![t]))
    };
    let started = std::time::Instant::now();
    call(&b.broker, 12, fetch("missing"));
    call(&b.broker, 12, RequestKind::Fetch(FetchRequest::default().with_max_wait_ms(5000).with_min_bytes(1)));
    assert!(started.elapsed() < std::time::Duration::from_secs(1), "answered at once");
    let started = std::time::Instant::now();
    call(&b.broker, 12, {
        let RequestKind::Fetch(req) = fetch("t") else { unreachable!() };
        RequestKind::Fetch(req.with_max_wait_ms(300))
    });
    assert!(started.elapsed() >= std::time::Duration::from_millis(290), "an empty partition waits max_wait_ms");
}

fn incremental(topic: &str, config: &str, op: i8, value: Option<&str>) -> IncrementalAlterConfigsRequest {
    use incremental_alter_configs_request::{AlterConfigsResource, AlterableConfig};
    let c = AlterableConfig::default()
        .with_name(StrBytes::from_string(config.into()))
        .with_config_operation(op)
        .with_value(value.map(|v| StrBytes::from_string(v.into())));
    let r = AlterConfigsResource::default()
        .with_resource_type(2)
        .with_resource_name(StrBytes::from_string(topic.into()))
        .with_configs(vec![c]);
    IncrementalAlterConfigsRequest::default().with_resources(vec![r])
}

#[test]
fn incremental_alter_configs_sets_deletes_appends_and_reaches_the_log() {
    let b = broker();
    create(&b.broker, 7, vec![topic("t", 1)], false);
    let alter = |req: IncrementalAlterConfigsRequest| match call(&b.broker, 1, RequestKind::IncrementalAlterConfigs(req)) {
        ResponseKind::IncrementalAlterConfigs(r) => r.responses[0].error_code,
        other => panic!("{other:?}"),
    };
    assert_eq!(alter(incremental("t", "retention.ms", 0, Some("1234"))), 0);
    assert_eq!(b.broker.partitions.log("t", 0).unwrap().config().retention_ms, 1234);
    assert_eq!(alter(incremental("t", "cleanup.policy", 2, Some("compact"))), 0);
    let configs = b.broker.metadata.image().topic("t").unwrap().configs.clone();
    assert_eq!(configs.get("cleanup.policy").map(String::as_str), Some("delete,compact"));
    assert_eq!(alter(incremental("t", "retention.ms", 1, None)), 0);
    assert!(!b.broker.metadata.image().topic("t").unwrap().configs.contains_key("retention.ms"));
    assert_eq!(alter(incremental("t", "retention.ms", 0, Some("soon"))), ResponseError::InvalidConfig.code());
    assert_eq!(alter(incremental("t", "retention.ms", 2, Some("1"))), ResponseError::InvalidConfig.code());
    assert_eq!(alter(incremental("missing", "retention.ms", 0, Some("1"))), ResponseError::UnknownTopicOrPartition.code());
}
