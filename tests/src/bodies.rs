//! Valid request bodies for any API key and version: the starting points that
//! the fuzz test mutates.
//!
//! Three sources: the guard's `strom_protocol::guard::sample_body`; populated
//! requests built here for the APIs the broker serves (arrays with elements,
//! strings, nested structures: mutations reach deep into the decoder); and
//! every request type's `Default` value encoded by `kafka-protocol` (empty
//! arrays: mutations mostly hit element counts, where the allocation bugs live).

use bytes::BytesMut;
use kafka_protocol::messages::create_partitions_request::{
    CreatePartitionsAssignment, CreatePartitionsTopic,
};
use kafka_protocol::messages::create_topics_request::{
    CreatableReplicaAssignment, CreatableTopic, CreatableTopicConfig,
};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, BrokerId, CreatePartitionsRequest, CreateTopicsRequest,
    DeleteTopicsRequest, DescribeClusterRequest, DescribeConfigsRequest, MetadataRequest,
    RequestKind, TopicName,
};
use kafka_protocol::protocol::StrBytes;

/// Seed bodies for `api_key` at `version`: the guard's samples for seeds
/// `0..guard_samples`, a populated request and the
/// encoded default request. Empty when no source knows the API.
pub fn seed_bodies(api_key: i16, version: i16, guard_samples: u64) -> Vec<Vec<u8>> {
    let mut bodies = Vec::new();
    for seed in 0..guard_samples {
        if let Some(body) = strom_protocol::guard::sample_body(api_key, version, seed) {
            bodies.push(body);
        }
    }
    if let Some(body) = populated_body(api_key, version) {
        bodies.push(body);
    }
    if let Some(body) = default_body(api_key, version) {
        bodies.push(body);
    }
    bodies
}

/// The default request of `api_key` encoded at `version`, if
/// `kafka-protocol` knows that API and version.
pub fn default_body(api_key: i16, version: i16) -> Option<Vec<u8>> {
    let key = ApiKey::try_from(api_key).ok()?;
    let range = key.valid_versions();
    if version < range.min || version > range.max {
        return None;
    }
    let request = default_request(key);
    let mut body = BytesMut::new();
    request.encode(&mut body, version).ok()?;
    Some(body.to_vec())
}

/// A request of `api_key` with every array and string filled in, encoded at
/// `version`, for the APIs the broker serves; `None` for the others. Fields
/// that `version` lacks keep their defaults (the encoder refuses anything else).
pub fn populated_body(api_key: i16, version: i16) -> Option<Vec<u8>> {
    let key = ApiKey::try_from(api_key).ok()?;
    let range = key.valid_versions();
    if version < range.min || version > range.max {
        return None;
    }
    let request = populated_request(key, version)?;
    let mut body = BytesMut::new();
    request.encode(&mut body, version).ok()?;
    Some(body.to_vec())
}

fn text(s: &'static str) -> StrBytes {
    StrBytes::from_static_str(s)
}

fn topic(s: &'static str) -> TopicName {
    TopicName(text(s))
}

fn populated_request(key: ApiKey, version: i16) -> Option<RequestKind> {
    let request = match key {
        ApiKey::ApiVersions => {
            let mut r = ApiVersionsRequest::default();
            if version >= 3 {
                r = r
                    .with_client_software_name(text("fuzz-client"))
                    .with_client_software_version(text("1.0.0"));
            }
            RequestKind::ApiVersions(r)
        }
        ApiKey::Metadata => {
            let topics = ["fuzz-a", "fuzz-b"]
                .map(|n| MetadataRequestTopic::default().with_name(Some(topic(n))));
            let mut r = MetadataRequest::default().with_topics(Some(topics.to_vec()));
            if version >= 4 {
                r.allow_auto_topic_creation = false;
            }
            RequestKind::Metadata(r)
        }
        ApiKey::CreateTopics => {
            let configs =
                [("cleanup.policy", "delete"), ("retention.ms", "60000")].map(|(n, v)| {
                    CreatableTopicConfig::default()
                        .with_name(text(n))
                        .with_value(Some(text(v)))
                });
            let assignments = (0..2)
                .map(|p| {
                    CreatableReplicaAssignment::default()
                        .with_partition_index(p)
                        .with_broker_ids(vec![BrokerId(1)])
                })
                .collect();
            let topics = vec![
                CreatableTopic::default()
                    .with_name(topic("fuzz-topic"))
                    .with_num_partitions(3)
                    .with_replication_factor(1)
                    .with_configs(configs.to_vec()),
                CreatableTopic::default()
                    .with_name(topic("fuzz-assigned"))
                    .with_num_partitions(-1)
                    .with_replication_factor(-1)
                    .with_assignments(assignments),
            ];
            RequestKind::CreateTopics(
                CreateTopicsRequest::default()
                    .with_topics(topics)
                    .with_timeout_ms(1000)
                    .with_validate_only(true),
            )
        }
        ApiKey::DeleteTopics => {
            let mut r = DeleteTopicsRequest::default().with_timeout_ms(1000);
            if version >= 6 {
                r.topics = ["fuzz-gone", "fuzz-gone-too"]
                    .map(|n| DeleteTopicState::default().with_name(Some(topic(n))))
                    .to_vec();
            } else {
                r.topic_names = vec![topic("fuzz-gone"), topic("fuzz-gone-too")];
            }
            RequestKind::DeleteTopics(r)
        }
        ApiKey::CreatePartitions => {
            let assignment =
                CreatePartitionsAssignment::default().with_broker_ids(vec![BrokerId(1)]);
            let topics = vec![CreatePartitionsTopic::default()
                .with_name(topic("fuzz-topic"))
                .with_count(4)
                .with_assignments(Some(vec![assignment]))];
            RequestKind::CreatePartitions(
                CreatePartitionsRequest::default()
                    .with_topics(topics)
                    .with_timeout_ms(1000)
                    .with_validate_only(true),
            )
        }
        ApiKey::DescribeConfigs => {
            let resources = vec![
                DescribeConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(text("fuzz-topic"))
                    .with_configuration_keys(Some(vec![
                        text("retention.ms"),
                        text("cleanup.policy"),
                    ])),
                DescribeConfigsResource::default()
                    .with_resource_type(4)
                    .with_resource_name(text("1")),
            ];
            let mut r = DescribeConfigsRequest::default().with_resources(resources);
            if version >= 1 {
                r.include_synonyms = true;
            }
            if version >= 3 {
                r.include_documentation = true;
            }
            RequestKind::DescribeConfigs(r)
        }
        ApiKey::DescribeCluster => RequestKind::DescribeCluster(
            DescribeClusterRequest::default().with_include_cluster_authorized_operations(true),
        ),
        _ => return None,
    };
    Some(request)
}

/// `RequestKind::X(Default::default())` for every API key.
macro_rules! default_requests {
    ($key:expr; $($name:ident),* $(,)?) => {
        match $key {
            $(ApiKey::$name => RequestKind::$name(Default::default()),)*
        }
    };
}

fn default_request(key: ApiKey) -> RequestKind {
    default_requests!(key;
        Produce, Fetch, ListOffsets, Metadata, OffsetCommit, OffsetFetch, FindCoordinator,
        JoinGroup, Heartbeat, LeaveGroup, SyncGroup, DescribeGroups, ListGroups, SaslHandshake,
        ApiVersions, CreateTopics, DeleteTopics, DeleteRecords, InitProducerId, OffsetForLeaderEpoch,
        AddPartitionsToTxn, AddOffsetsToTxn, EndTxn, WriteTxnMarkers, TxnOffsetCommit, DescribeAcls,
        CreateAcls, DeleteAcls, DescribeConfigs, AlterConfigs, AlterReplicaLogDirs, DescribeLogDirs,
        SaslAuthenticate, CreatePartitions, CreateDelegationToken, RenewDelegationToken,
        ExpireDelegationToken, DescribeDelegationToken, DeleteGroups, ElectLeaders,
        IncrementalAlterConfigs, AlterPartitionReassignments, ListPartitionReassignments,
        OffsetDelete, DescribeClientQuotas, AlterClientQuotas, DescribeUserScramCredentials,
        AlterUserScramCredentials, Vote, BeginQuorumEpoch, EndQuorumEpoch, DescribeQuorum,
        AlterPartition, UpdateFeatures, Envelope, FetchSnapshot, DescribeCluster, DescribeProducers,
        BrokerRegistration, BrokerHeartbeat, UnregisterBroker, DescribeTransactions, ListTransactions,
        AllocateProducerIds, ConsumerGroupHeartbeat, ConsumerGroupDescribe, ControllerRegistration,
        GetTelemetrySubscriptions, PushTelemetry, AssignReplicasToDirs, ListConfigResources,
        DescribeTopicPartitions, ShareGroupHeartbeat, ShareGroupDescribe, ShareFetch,
        ShareAcknowledge, AddRaftVoter, RemoveRaftVoter, UpdateRaftVoter, InitializeShareGroupState,
        ReadShareGroupState, WriteShareGroupState, DeleteShareGroupState, ReadShareGroupStateSummary,
        DescribeShareGroupOffsets, AlterShareGroupOffsets, DeleteShareGroupOffsets,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The APIs the broker serves, with Kafka 4.1's ranges.
    const SERVED: [(ApiKey, i16, i16); 7] = [
        (ApiKey::Metadata, 0, 13),
        (ApiKey::ApiVersions, 0, 4),
        (ApiKey::CreateTopics, 2, 7),
        (ApiKey::DeleteTopics, 1, 6),
        (ApiKey::DescribeConfigs, 1, 4),
        (ApiKey::CreatePartitions, 0, 3),
        (ApiKey::DescribeCluster, 0, 2),
    ];

    #[test]
    fn populated_bodies_encode_at_every_served_version() {
        for (key, min, max) in SERVED {
            for version in min..=max {
                let populated = populated_body(key as i16, version);
                let default = default_body(key as i16, version);
                assert!(
                    populated.is_some(),
                    "{key:?} v{version}: populated body does not encode"
                );
                assert!(
                    populated.unwrap_or_default().len() >= default.unwrap_or_default().len(),
                    "{key:?} v{version}"
                );
            }
        }
    }

    #[test]
    fn default_bodies_encode_for_every_known_version() {
        let mut missing = Vec::new();
        for key in ApiKey::iter() {
            let range = key.valid_versions();
            for version in range.min..=range.max {
                if default_body(key as i16, version).is_none() {
                    missing.push(format!("{key:?} v{version}"));
                }
            }
        }
        // kafka-protocol 0.18 refuses to encode these defaults (a field's default
        // is not valid at that version); the fuzz test sends random bodies there.
        assert_eq!(
            missing,
            ["OffsetCommit v10", "OffsetFetch v10", "InitProducerId v6"],
            "no default body"
        );
    }

    #[test]
    fn unknown_versions_have_no_body() {
        assert_eq!(default_body(ApiKey::ApiVersions as i16, 127), None);
        assert_eq!(populated_body(ApiKey::Metadata as i16, -1), None);
        assert_eq!(default_body(999, 0), None);
    }
}
