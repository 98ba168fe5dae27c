//! Valid request bodies for any API key and version: the starting points that
//! the fuzz test mutates.
//!
//! Two sources: the guard's `strom_protocol::guard::sample_body` (populated
//! requests, behind the `guard-sample-bodies` feature until the guard exports
//! it), and here, every request type's `Default` value encoded by
//! `kafka-protocol` (empty arrays and strings: mutations of those mostly hit
//! the element counts, which is where the allocation bugs live).

use bytes::BytesMut;
use kafka_protocol::messages::{ApiKey, RequestKind};

/// Seed bodies for `api_key` at `version`: the guard's samples for seeds
/// `0..guard_samples` (when that feature is on) and the encoded default
/// request. Empty when neither source knows the API.
pub fn seed_bodies(api_key: i16, version: i16, guard_samples: u64) -> Vec<Vec<u8>> {
    let mut bodies = Vec::new();
    #[cfg(feature = "guard-sample-bodies")]
    for seed in 0..guard_samples {
        if let Some(body) = strom_protocol::guard::sample_body(api_key, version, seed) {
            bodies.push(body);
        }
    }
    #[cfg(not(feature = "guard-sample-bodies"))]
    let _ = guard_samples;
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
