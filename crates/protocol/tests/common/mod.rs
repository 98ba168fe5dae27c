//! Shared helpers for the protocol tests: every advertised (api, version), a
//! populated request body for each, and client-side frame encoding with
//! `kafka-protocol`'s `client` feature.

#![allow(dead_code, reason = "each test binary uses a different part")]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a failed unwrap is a failed test")]

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::create_partitions_request::{CreatePartitionsAssignment, CreatePartitionsTopic};
use kafka_protocol::messages::create_topics_request::{
    CreatableReplicaAssignment, CreatableTopic, CreatableTopicConfig,
};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Encodable, StrBytes};
use strom_protocol::versions::SUPPORTED_APIS;
use uuid::Uuid;

/// Every (api key, version) Strom advertises.
pub fn advertised() -> Vec<(ApiKey, i16)> {
    SUPPORTED_APIS
        .iter()
        .flat_map(|a| (a.min_version..=a.max_version).map(move |v| (a.api_key, v)))
        .collect()
}

fn s(text: &'static str) -> StrBytes {
    StrBytes::from_static_str(text)
}

fn topic(name: &'static str) -> TopicName {
    TopicName(s(name))
}

/// An unknown tagged field, which a flexible body may carry (KIP-482).
fn tags() -> std::collections::BTreeMap<i32, Bytes> {
    [(90, Bytes::from_static(b"future"))].into_iter().collect()
}

/// Whether `version` of `api_key` is a flexible version (header v2).
pub fn is_flexible(api_key: ApiKey, version: i16) -> bool {
    api_key.request_header_version(version) >= 2
}

/// A request body of `api_key` at `version` with every field that version has
/// set, most to non-default values. Panics for an API Strom does not serve.
pub fn sample_request(api_key: ApiKey, v: i16) -> RequestKind {
    let flexible = is_flexible(api_key, v);
    let extra = if flexible { tags() } else { Default::default() };
    match api_key {
        ApiKey::Metadata => RequestKind::Metadata(metadata(v).with_unknown_tagged_fields(extra)),
        ApiKey::ApiVersions => {
            let mut body = ApiVersionsRequest::default();
            if v >= 3 {
                body = body
                    .with_client_software_name(s("strom-test"))
                    .with_client_software_version(s("1.0.0"))
                    .with_unknown_tagged_fields(extra);
            }
            RequestKind::ApiVersions(body)
        }
        ApiKey::CreateTopics => RequestKind::CreateTopics(create_topics().with_unknown_tagged_fields(extra)),
        ApiKey::DeleteTopics => RequestKind::DeleteTopics(delete_topics(v).with_unknown_tagged_fields(extra)),
        ApiKey::DescribeConfigs => {
            RequestKind::DescribeConfigs(describe_configs(v).with_unknown_tagged_fields(extra))
        }
        ApiKey::CreatePartitions => {
            RequestKind::CreatePartitions(create_partitions().with_unknown_tagged_fields(extra))
        }
        ApiKey::DescribeCluster => {
            let mut body = DescribeClusterRequest::default().with_include_cluster_authorized_operations(true);
            if v >= 1 {
                body = body.with_endpoint_type(2);
            }
            if v >= 2 {
                body = body.with_include_fenced_brokers(true);
            }
            RequestKind::DescribeCluster(body.with_unknown_tagged_fields(extra))
        }
        ApiKey::Produce => RequestKind::Produce(produce(v).with_unknown_tagged_fields(extra)),
        ApiKey::Fetch => RequestKind::Fetch(fetch(v).with_unknown_tagged_fields(extra)),
        ApiKey::ListOffsets => RequestKind::ListOffsets(list_offsets(v).with_unknown_tagged_fields(extra)),
        ApiKey::IncrementalAlterConfigs => {
            use kafka_protocol::messages::incremental_alter_configs_request::{AlterConfigsResource, AlterableConfig};
            let c = AlterableConfig::default().with_name(s("retention.ms")).with_config_operation(0).with_value(Some(s("1000")));
            let r = AlterConfigsResource::default().with_resource_type(2).with_resource_name(s("orders")).with_configs(vec![c]);
            RequestKind::IncrementalAlterConfigs(
                IncrementalAlterConfigsRequest::default().with_resources(vec![r]).with_unknown_tagged_fields(extra),
            )
        }
        ApiKey::AlterConfigs => {
            use kafka_protocol::messages::alter_configs_request::{AlterConfigsResource, AlterableConfig};
            let c = AlterableConfig::default().with_name(s("retention.ms")).with_value(Some(s("1000")));
            let r = AlterConfigsResource::default().with_resource_type(2).with_resource_name(s("orders")).with_configs(vec![c]);
            RequestKind::AlterConfigs(AlterConfigsRequest::default().with_resources(vec![r]).with_unknown_tagged_fields(extra))
        }
        ApiKey::DeleteRecords => {
            use kafka_protocol::messages::delete_records_request::{DeleteRecordsPartition, DeleteRecordsTopic};
            let p = DeleteRecordsPartition::default().with_partition_index(0).with_offset(42);
            let t = DeleteRecordsTopic::default().with_name(topic("orders")).with_partitions(vec![p]);
            RequestKind::DeleteRecords(
                DeleteRecordsRequest::default().with_topics(vec![t]).with_timeout_ms(30_000).with_unknown_tagged_fields(extra),
            )
        }
        ApiKey::InitProducerId => {
            let mut body = InitProducerIdRequest::default().with_transaction_timeout_ms(60_000);
            if v >= 3 {
                body = body.with_producer_id(ProducerId(7)).with_producer_epoch(2);
            }
            RequestKind::InitProducerId(body.with_unknown_tagged_fields(extra))
        }
        ApiKey::FindCoordinator
        | ApiKey::JoinGroup
        | ApiKey::SyncGroup
        | ApiKey::Heartbeat
        | ApiKey::LeaveGroup
        | ApiKey::OffsetCommit
        | ApiKey::OffsetFetch
        | ApiKey::OffsetDelete
        | ApiKey::ListGroups
        | ApiKey::DescribeGroups
        | ApiKey::DeleteGroups => groups::sample_request(api_key, v, extra),
        ApiKey::AddPartitionsToTxn
        | ApiKey::AddOffsetsToTxn
        | ApiKey::EndTxn
        | ApiKey::TxnOffsetCommit
        | ApiKey::DescribeProducers
        | ApiKey::DescribeTransactions
        | ApiKey::ListTransactions => txn::sample_request(api_key, v, extra),

        ApiKey::SaslHandshake
        | ApiKey::SaslAuthenticate
        | ApiKey::DescribeUserScramCredentials
        | ApiKey::AlterUserScramCredentials
        | ApiKey::DescribeAcls
        | ApiKey::CreateAcls
        | ApiKey::DeleteAcls => security::sample_request(api_key, extra),
        other => panic!("no sample request for {other:?}"),
    }
}

mod groups;
mod txn;

mod security;

fn produce(v: i16) -> ProduceRequest {
    use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    let data = PartitionProduceData::default().with_index(0).with_records(Some(Bytes::from_static(&[0u8; 70])));
    let mut t = TopicProduceData::default().with_partition_data(vec![data]);
    t = if v >= 13 { t.with_topic_id(Uuid::from_u128(9)) } else { t.with_name(topic("orders")) };
    ProduceRequest::default().with_acks(-1).with_timeout_ms(30_000).with_topic_data(vec![t])
}

fn fetch(v: i16) -> FetchRequest {
    use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
    let p = FetchPartition::default().with_partition(0).with_fetch_offset(5).with_partition_max_bytes(1 << 20);
    let mut t = FetchTopic::default().with_partitions(vec![p]);
    t = if v >= 13 { t.with_topic_id(Uuid::from_u128(9)) } else { t.with_topic(topic("orders")) };
    FetchRequest::default().with_max_wait_ms(500).with_min_bytes(1).with_max_bytes(1 << 20).with_topics(vec![t])
}

fn list_offsets(v: i16) -> ListOffsetsRequest {
    use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
    let p = ListOffsetsPartition::default().with_partition_index(0).with_timestamp(-1);
    let t = ListOffsetsTopic::default().with_name(topic("orders")).with_partitions(vec![p]);
    let body = ListOffsetsRequest::default().with_topics(vec![t]);
    if v >= 2 { body.with_isolation_level(1) } else { body }
}

fn metadata(v: i16) -> MetadataRequest {
    let named = |name| {
        let t = MetadataRequestTopic::default().with_name(Some(topic(name)));
        if v >= 10 { t.with_topic_id(Uuid::from_u128(0x1234_5678)) } else { t }
    };
    let mut body = MetadataRequest::default().with_topics(Some(vec![named("orders"), named("payments")]));
    if v >= 4 {
        body = body.with_allow_auto_topic_creation(false);
    }
    if (8..=10).contains(&v) {
        body = body.with_include_cluster_authorized_operations(true);
    }
    if v >= 8 {
        body = body.with_include_topic_authorized_operations(true);
    }
    body
}

fn create_topics() -> CreateTopicsRequest {
    let plain = CreatableTopic::default()
        .with_name(topic("orders"))
        .with_num_partitions(3)
        .with_replication_factor(1)
        .with_configs(vec![
            CreatableTopicConfig::default().with_name(s("cleanup.policy")).with_value(Some(s("compact"))),
            CreatableTopicConfig::default().with_name(s("retention.ms")).with_value(None),
        ]);
    let assigned = CreatableTopic::default()
        .with_name(topic("payments"))
        .with_num_partitions(-1)
        .with_replication_factor(-1)
        .with_assignments(vec![CreatableReplicaAssignment::default()
            .with_partition_index(0)
            .with_broker_ids(vec![BrokerId(1), BrokerId(2)])]);
    CreateTopicsRequest::default().with_topics(vec![plain, assigned]).with_timeout_ms(30_000).with_validate_only(true)
}

fn delete_topics(v: i16) -> DeleteTopicsRequest {
    let body = DeleteTopicsRequest::default().with_timeout_ms(15_000);
    if v >= 6 {
        body.with_topics(vec![
            DeleteTopicState::default().with_name(Some(topic("orders"))),
            DeleteTopicState::default().with_name(None).with_topic_id(Uuid::from_u128(42)),
        ])
    } else {
        body.with_topic_names(vec![topic("orders"), topic("payments")])
    }
}

fn describe_configs(v: i16) -> DescribeConfigsRequest {
    let resources = vec![
        DescribeConfigsResource::default().with_resource_type(2).with_resource_name(s("orders")),
        DescribeConfigsResource::default()
            .with_resource_type(4)
            .with_resource_name(s("1"))
            .with_configuration_keys(Some(vec![s("log.retention.ms")])),
    ];
    let body = DescribeConfigsRequest::default().with_resources(resources).with_include_synonyms(true);
    if v >= 3 { body.with_include_documentation(true) } else { body }
}

fn create_partitions() -> CreatePartitionsRequest {
    let topics = vec![
        CreatePartitionsTopic::default().with_name(topic("orders")).with_count(6).with_assignments(None),
        CreatePartitionsTopic::default()
            .with_name(topic("payments"))
            .with_count(2)
            .with_assignments(Some(vec![CreatePartitionsAssignment::default().with_broker_ids(vec![BrokerId(1)])])),
    ];
    CreatePartitionsRequest::default().with_topics(topics).with_timeout_ms(30_000)
}

/// The request header a client sends; header v2 also carries a tagged field.
pub fn request_header(api_key: ApiKey, version: i16, correlation_id: i32) -> RequestHeader {
    let header = RequestHeader::default()
        .with_request_api_key(api_key as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(s("strom-test")));
    if is_flexible(api_key, version) { header.with_unknown_tagged_fields(tags()) } else { header }
}

/// A request frame (without the size prefix) as a client encodes it.
pub fn encode_request(header: &RequestHeader, body: &RequestKind) -> Bytes {
    let api_key = ApiKey::try_from(header.request_api_key).unwrap();
    let version = header.request_api_version;
    let mut buf = BytesMut::new();
    header.encode(&mut buf, api_key.request_header_version(version)).unwrap();
    body.encode(&mut buf, version).unwrap();
    buf.freeze()
}

/// The populated sample request of `api_key` v`version`, encoded.
pub fn sample_frame(api_key: ApiKey, version: i16, correlation_id: i32) -> (RequestHeader, RequestKind, Bytes) {
    let header = request_header(api_key, version, correlation_id);
    let body = sample_request(api_key, version);
    let frame = encode_request(&header, &body);
    (header, body, frame)
}

/// Bytes of the encoded request header, i.e. where the body starts.
pub fn header_len(header: &RequestHeader) -> usize {
    let api_key = ApiKey::try_from(header.request_api_key).unwrap();
    let mut buf = BytesMut::new();
    header.encode(&mut buf, api_key.request_header_version(header.request_api_version)).unwrap();
    buf.len()
}

/// `frame` with its 4-byte size prefix.
pub fn with_size_prefix(frame: &[u8]) -> BytesMut {
    let mut buf = BytesMut::with_capacity(frame.len() + 4);
    buf.put_i32(i32::try_from(frame.len()).unwrap());
    buf.put_slice(frame);
    buf
}
