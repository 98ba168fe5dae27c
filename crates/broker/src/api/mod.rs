//! One module per Kafka API. Each opens with the API key and versions it
//! handles; handlers check the request, delegate, and map errors to Kafka
//! error codes. Dispatch is driven by `strom_protocol::versions::SUPPORTED_APIS`:
//! the protocol crate only yields requests of APIs in that table.

use kafka_protocol::messages::{RequestKind, ResponseKind};
use kafka_protocol::protocol::StrBytes;

use crate::auth::acl::{AclOperation, ResourceType, CLUSTER_NAME};
use crate::auth::Principal;
use crate::broker::Broker;

mod add_offsets_to_txn;
mod add_partitions_to_txn;
mod alter_configs;
mod alter_user_scram_credentials;
mod api_versions;
mod create_acls;
mod create_partitions;
mod create_topics;
mod delete_acls;
mod delete_groups;
mod delete_records;
mod delete_topics;
mod describe_acls;
mod describe_cluster;
mod describe_configs;
mod describe_groups;
mod describe_producers;
mod describe_transactions;
mod end_txn;

mod describe_user_scram_credentials;
pub mod fetch;
mod find_coordinator;
mod heartbeat;
mod init_producer_id;
mod join_group;
mod leave_group;
mod list_groups;
mod list_offsets;
mod list_transactions;
mod metadata;
mod offset_commit;
mod offset_delete;
mod offset_fetch;
mod produce;
mod sasl;
mod sync_group;
mod txn_offset_commit;

/// What a handler knows about the request it answers.
pub struct RequestContext<'a> {
    pub broker: &'a Broker,
    /// Name of the listener the client connected to.
    pub listener: &'a str,
    pub api_version: i16,
    pub client_id: &'a str,
    /// The client's address as Kafka shows it in group descriptions ("/127.0.0.1").
    pub client_host: &'a str,
    /// Who the client authenticated as (User:ANONYMOUS without authentication).
    pub principal: &'a Principal,
}

impl RequestContext<'_> {
    /// The client's IP address, as ACL hosts name it ("127.0.0.1").
    pub fn client_ip(&self) -> &str {
        self.client_host.trim_start_matches('/')
    }

    /// Whether the principal may do `operation` on the named resource.
    pub fn authorized(&self, operation: AclOperation, resource_type: ResourceType, name: &str) -> bool {
        let authorizer = &self.broker.authorizer;
        !authorizer.enabled()
            || authorizer.authorize(&self.broker.metadata.image(), self.principal, self.client_ip(), operation, resource_type, name)
    }

    /// Kafka's authorized-operations bit set of a resource: which of `operations`
    /// the principal may do (all of them without an authorizer).
    pub fn authorized_operations(&self, resource_type: ResourceType, name: &str, operations: &[AclOperation]) -> i32 {
        operations
            .iter()
            .filter(|op| self.authorized(**op, resource_type, name))
            .fold(0, |bits, op| bits | (1 << op.code()))
    }

    /// Whether the principal may do `operation` on at least one resource of
    /// the type (Kafka's `authorizeByResourceType`).
    pub fn authorized_any(&self, operation: AclOperation, resource_type: ResourceType) -> bool {
        let image = self.broker.metadata.image();
        self.broker.authorizer.authorize_any(&image, self.principal, self.client_ip(), operation, resource_type)
    }

    /// Whether the principal may do `operation` on the cluster.
    pub fn cluster_authorized(&self, operation: AclOperation) -> bool {
        self.authorized(operation, ResourceType::Cluster, CLUSTER_NAME)
    }
}

/// A request the broker has no handler for: a bug (the version table and the
/// handlers disagree). The connection is closed.
#[derive(Debug, thiserror::Error)]
#[error("no handler for {0}")]
pub struct NoHandler(String);

/// What answering a request gives.
#[allow(clippy::large_enum_variant, reason = "returned once per request, never stored")]
pub enum Handled {
    /// The response, or `None` when none is sent (acks=0 Produce).
    Now(Option<ResponseKind>),
    /// A Produce response, once the fsyncs it waits for are done: the
    /// connection may handle the Produce requests that follow meanwhile.
    Durable(produce::Flushing),
    /// A Fetch response whose larger records are still in their files.
    Fetched(fetch::Fetched),
}

/// Answers one request, waiting for durability too. `None` means no response
/// is sent (acks=0 Produce).
#[cfg(test)]
pub async fn handle(ctx: &RequestContext<'_>, body: RequestKind) -> Result<Option<ResponseKind>, NoHandler> {
    Ok(match begin(ctx, body).await? {
        Handled::Now(response) => response,
        Handled::Durable(flushing) => Some(ResponseKind::Produce(flushing.durable(ctx.broker).await)),
        Handled::Fetched(fetched) => Some(ResponseKind::Fetch(fetched.read_in().map_err(|e| NoHandler(format!("reading fetched records: {e}")))?)),
    })
}

/// Answers one request; a Produce request waiting for fsyncs returns once
/// its data is appended.
pub async fn begin(ctx: &RequestContext<'_>, body: RequestKind) -> Result<Handled, NoHandler> {
    let response = match body {
        RequestKind::ApiVersions(req) => ResponseKind::ApiVersions(api_versions::handle(ctx, req)),
        RequestKind::Metadata(req) => ResponseKind::Metadata(metadata::handle(ctx, req)),
        // Metadata writes fsync the metadata log and create or delete
        // partition directories: blocking work, kept off the async workers
        // so one large admin request cannot stall every other connection.
        RequestKind::CreateTopics(req) => ResponseKind::CreateTopics(blocking(|| create_topics::handle(ctx, req))),
        RequestKind::DeleteTopics(req) => ResponseKind::DeleteTopics(blocking(|| delete_topics::handle(ctx, req))),
        RequestKind::CreatePartitions(req) => ResponseKind::CreatePartitions(blocking(|| create_partitions::handle(ctx, req))),
        RequestKind::DescribeConfigs(req) => ResponseKind::DescribeConfigs(describe_configs::handle(ctx, req)),
        RequestKind::DescribeCluster(req) => ResponseKind::DescribeCluster(describe_cluster::handle(ctx, req)),
        RequestKind::Produce(req) => match produce::append(ctx, req) {
            produce::Appended::Done(response) => return Ok(Handled::Now(response.map(ResponseKind::Produce))),
            produce::Appended::Flushing(flushing) => return Ok(Handled::Durable(flushing)),
        },
        RequestKind::Fetch(req) => return Ok(Handled::Fetched(fetch::handle(ctx, req).await)),
        RequestKind::ListOffsets(req) => ResponseKind::ListOffsets(list_offsets::handle(ctx, req)),
        RequestKind::InitProducerId(req) => ResponseKind::InitProducerId(init_producer_id::handle(ctx, req).await),
        RequestKind::IncrementalAlterConfigs(req) => {
            ResponseKind::IncrementalAlterConfigs(blocking(|| alter_configs::handle_incremental(ctx, req)))
        }
        RequestKind::AlterConfigs(req) => ResponseKind::AlterConfigs(blocking(|| alter_configs::handle_full(ctx, req))),
        // Deleting segments is file I/O.
        RequestKind::DeleteRecords(req) => ResponseKind::DeleteRecords(blocking(|| delete_records::handle(ctx, req))),
        // Creating __consumer_offsets on first use writes metadata.
        RequestKind::FindCoordinator(req) => ResponseKind::FindCoordinator(blocking(|| find_coordinator::handle(ctx, req))),
        RequestKind::JoinGroup(req) => ResponseKind::JoinGroup(join_group::handle(ctx, req).await),
        RequestKind::SyncGroup(req) => ResponseKind::SyncGroup(sync_group::handle(ctx, req).await),
        RequestKind::Heartbeat(req) => ResponseKind::Heartbeat(heartbeat::handle(ctx, req)),
        RequestKind::LeaveGroup(req) => ResponseKind::LeaveGroup(leave_group::handle(ctx, req)),
        RequestKind::OffsetCommit(req) => ResponseKind::OffsetCommit(offset_commit::handle(ctx, req).await),
        RequestKind::OffsetFetch(req) => ResponseKind::OffsetFetch(offset_fetch::handle(ctx, req)),
        RequestKind::OffsetDelete(req) => ResponseKind::OffsetDelete(offset_delete::handle(ctx, req)),
        RequestKind::ListGroups(req) => ResponseKind::ListGroups(list_groups::handle(ctx, req)),
        RequestKind::DescribeGroups(req) => ResponseKind::DescribeGroups(describe_groups::handle(ctx, req)),
        RequestKind::DeleteGroups(req) => ResponseKind::DeleteGroups(delete_groups::handle(ctx, req)),
        RequestKind::AddPartitionsToTxn(req) => ResponseKind::AddPartitionsToTxn(add_partitions_to_txn::handle(ctx, req).await),
        RequestKind::AddOffsetsToTxn(req) => ResponseKind::AddOffsetsToTxn(add_offsets_to_txn::handle(ctx, req).await),
        RequestKind::EndTxn(req) => ResponseKind::EndTxn(end_txn::handle(ctx, req).await),
        RequestKind::TxnOffsetCommit(req) => ResponseKind::TxnOffsetCommit(txn_offset_commit::handle(ctx, req).await),
        RequestKind::DescribeTransactions(req) => ResponseKind::DescribeTransactions(describe_transactions::handle(ctx, req)),
        RequestKind::ListTransactions(req) => ResponseKind::ListTransactions(list_transactions::handle(ctx, req)),
        RequestKind::DescribeProducers(req) => ResponseKind::DescribeProducers(describe_producers::handle(ctx, req)),

        // Reached only outside a SASL exchange (the session serves those).
        RequestKind::SaslHandshake(req) => ResponseKind::SaslHandshake(sasl::handshake(ctx, req)),
        RequestKind::SaslAuthenticate(req) => ResponseKind::SaslAuthenticate(sasl::authenticate(ctx, req)),
        RequestKind::DescribeAcls(req) => ResponseKind::DescribeAcls(describe_acls::handle(ctx, req)),
        RequestKind::CreateAcls(req) => ResponseKind::CreateAcls(blocking(|| create_acls::handle(ctx, req))),
        RequestKind::DeleteAcls(req) => ResponseKind::DeleteAcls(blocking(|| delete_acls::handle(ctx, req))),
        RequestKind::DescribeUserScramCredentials(req) => {
            ResponseKind::DescribeUserScramCredentials(describe_user_scram_credentials::handle(ctx, req))
        }
        // Salting nothing here (clients send salted passwords), but the append fsyncs.
        RequestKind::AlterUserScramCredentials(req) => {
            ResponseKind::AlterUserScramCredentials(blocking(|| alter_user_scram_credentials::handle(ctx, req)))
        }
        other => return Err(NoHandler(format!("{other:?}").chars().take(60).collect())),
    };
    Ok(Handled::Now(Some(response)))
}

/// Runs blocking work on this worker after handing its other tasks to the
/// rest of the runtime.
fn blocking<T>(work: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(work)
}

/// Most partitions one CreateTopics or CreatePartitions request may create
/// (Kafka's `MAX_PARTITIONS_PER_BATCH`); above it the whole request fails with
/// POLICY_VIOLATION. It also bounds the work one request can cause.
pub const MAX_PARTITIONS_PER_REQUEST: i64 = 10_000;
pub const TOO_MANY_PARTITIONS: &str = "Excessively large number of partitions per request.";

/// Kafka's "authorized operations not requested" marker (i32::MIN).
pub const AUTHORIZED_OPERATIONS_OMITTED: i32 = i32::MIN;

/// The operations Kafka reports in a topic's authorized operations.
pub const TOPIC_OPERATIONS: &[AclOperation] = &[
    AclOperation::Read,
    AclOperation::Write,
    AclOperation::Create,
    AclOperation::Delete,
    AclOperation::Alter,
    AclOperation::Describe,
    AclOperation::DescribeConfigs,
    AclOperation::AlterConfigs,
];
/// The same for the cluster (Metadata v8-10, DescribeCluster).
pub const CLUSTER_OPERATIONS: &[AclOperation] = &[
    AclOperation::Create,
    AclOperation::Alter,
    AclOperation::Describe,
    AclOperation::ClusterAction,
    AclOperation::DescribeConfigs,
    AclOperation::AlterConfigs,
    AclOperation::IdempotentWrite,
];
/// The same for a group (DescribeGroups v3+).
pub const GROUP_OPERATIONS: &[AclOperation] = &[AclOperation::Read, AclOperation::Describe, AclOperation::Delete];

pub fn str_bytes(s: impl Into<String>) -> StrBytes {
    StrBytes::from_string(s.into())
}

#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
mod fetch_tests;
#[cfg(test)]
mod group_tests;
#[cfg(test)]
mod security_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod txn_tests;
#[cfg(test)]
mod storage_fault_tests;
