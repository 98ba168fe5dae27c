//! ListTransactions (key 66), versions 0-2 (KIP-664): the transactional ids
//! this coordinator knows, filtered by state (unknown state names are echoed
//! in `unknown_state_filters`), producer id, running longer than
//! `duration_filter` ms (v1+), and a regular expression the whole id must
//! match (v2+, KIP-1152; Kafka uses RE2/J, whose syntax the `regex` crate
//! shares); an invalid one is INVALID_REGULAR_EXPRESSION. Empty filters match
//! everything. Ids are sorted (Kafka's order is its hash map's). Only ids the
//! principal may DESCRIBE are listed, as in Kafka.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{ListTransactionsRequest, ListTransactionsResponse};

use super::{str_bytes, RequestContext};
use crate::auth::acl::{AclOperation, ResourceType};
use crate::txn::coordinator::ListFilter;

/// Longest transactional id pattern compiled: a bound on the work one request causes.
const MAX_PATTERN_BYTES: usize = 4096;

pub fn handle(ctx: &RequestContext<'_>, req: ListTransactionsRequest) -> ListTransactionsResponse {
    let pattern = req.transactional_id_pattern.as_deref().filter(|p| ctx.api_version >= 2 && !p.is_empty());
    let compiled = match pattern.map(compile) {
        None => None,
        Some(Ok(regex)) => Some(regex),
        Some(Err(())) => return ListTransactionsResponse::default().with_error_code(ResponseError::InvalidRegularExpression.code()),
    };
    let matches = |id: &str| compiled.as_ref().is_some_and(|r| r.is_match(id));
    let states: Vec<String> = req.state_filters.iter().map(|s| s.to_string()).collect();
    let producer_ids: Vec<i64> = req.producer_id_filters.iter().map(|p| p.0).collect();
    let filter = ListFilter {
        states: &states,
        producer_ids: &producer_ids,
        min_duration_ms: if ctx.api_version >= 1 { req.duration_filter } else { -1 },
        transactional_id: compiled.is_some().then_some(&matches as &dyn Fn(&str) -> bool),
    };
    let (mut listed, unknown) = ctx.broker.txns.list(&filter);
    listed.retain(|t| ctx.authorized(AclOperation::Describe, ResourceType::TransactionalId, &t.transactional_id));
    ListTransactionsResponse::default().with_transaction_states(listed).with_unknown_state_filters(unknown.into_iter().map(str_bytes).collect())
}

/// The pattern anchored at both ends: RE2/J's `matches()` is a whole-string match.
fn compile(pattern: &str) -> Result<regex::Regex, ()> {
    if pattern.len() > MAX_PATTERN_BYTES {
        return Err(());
    }
    regex::RegexBuilder::new(&format!("^(?:{pattern})$")).size_limit(1 << 20).build().map_err(|_| ())
}
