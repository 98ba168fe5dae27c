//! One module per Kafka API. Each opens with the API key and versions it
//! handles; handlers check the request, delegate, and map errors to Kafka
//! error codes. Dispatch is driven by `strom_protocol::versions::SUPPORTED_APIS`:
//! the protocol crate only yields requests of APIs in that table.

use kafka_protocol::messages::{RequestKind, ResponseKind};
use kafka_protocol::protocol::StrBytes;

use crate::broker::Broker;

mod add_offsets_to_txn;
mod add_partitions_to_txn;
mod alter_configs;
mod api_versions;
mod create_partitions;
mod create_topics;
mod delete_groups;
mod delete_records;
mod delete_topics;
mod describe_cluster;
mod describe_configs;
mod describe_groups;
mod describe_producers;
mod describe_transactions;
mod end_txn;
mod fetch;
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
}

/// A request the broker has no handler for: a bug (the version table and the
/// handlers disagree). The connection is closed.
#[derive(Debug, thiserror::Error)]
#[error("no handler for {0}")]
pub struct NoHandler(String);

/// Answers one request. `None` means no response is sent (acks=0 Produce).
pub async fn handle(ctx: &RequestContext<'_>, body: RequestKind) -> Result<Option<ResponseKind>, NoHandler> {
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
        RequestKind::Produce(req) => match produce::handle(ctx, req).await {
            Some(response) => ResponseKind::Produce(response),
            None => return Ok(None),
        },
        RequestKind::Fetch(req) => ResponseKind::Fetch(fetch::handle(ctx, req).await),
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
        other => return Err(NoHandler(format!("{other:?}").chars().take(60).collect())),
    };
    Ok(Some(response))
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

/// ACL operation codes (Kafka's `AclOperation`), as bit positions.
const READ: i32 = 3;
const WRITE: i32 = 4;
const CREATE: i32 = 5;
const DELETE: i32 = 6;
const ALTER: i32 = 7;
const DESCRIBE: i32 = 8;
const CLUSTER_ACTION: i32 = 9;
const DESCRIBE_CONFIGS: i32 = 10;
const ALTER_CONFIGS: i32 = 11;
const IDEMPOTENT_WRITE: i32 = 12;

const fn bits(ops: &[i32]) -> i32 {
    let mut mask = 0;
    let mut i = 0;
    while i < ops.len() {
        mask |= 1 << ops[i];
        i += 1;
    }
    mask
}

/// What a client may do with a topic when asked (Metadata v8+): with no
/// authorizer, Kafka reports every operation a topic supports.
pub const TOPIC_AUTHORIZED_OPERATIONS: i32 = bits(&[READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS]);
/// The same for the cluster (Metadata v8-10, DescribeCluster).
pub const CLUSTER_AUTHORIZED_OPERATIONS: i32 =
    bits(&[CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE]);

pub fn str_bytes(s: impl Into<String>) -> StrBytes {
    StrBytes::from_string(s.into())
}

#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
mod group_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod txn_tests;
