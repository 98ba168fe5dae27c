//! Placeholder with the agreed interface; the real state machine replaces it.
#![allow(dead_code, unused_variables, clippy::all)]
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::*;
use super::snapshot::*;
pub type Token = u64;
pub enum Output { Join(Token, JoinGroupResponse), Sync(Token, SyncGroupResponse), StoreGroup(GroupSnapshot) }
#[derive(Debug, Clone)]
pub struct GroupConfig { pub initial_rebalance_delay_ms: i64, pub min_session_timeout_ms: i32, pub max_session_timeout_ms: i32, pub max_size: usize }
impl Default for GroupConfig { fn default() -> Self { Self { initial_rebalance_delay_ms: 3000, min_session_timeout_ms: 6000, max_session_timeout_ms: 1_800_000, max_size: usize::MAX } } }
pub struct GroupCoordinator;
impl GroupCoordinator {
    pub fn new(config: GroupConfig) -> Self { Self }
    pub fn join(&mut self, req: JoinGroupRequest, version: i16, client_id: &str, client_host: &str, token: Token, now_ms: i64) -> Vec<Output> { vec![] }
    pub fn sync(&mut self, req: SyncGroupRequest, version: i16, token: Token, now_ms: i64) -> Vec<Output> { vec![] }
    pub fn heartbeat(&mut self, req: &HeartbeatRequest, version: i16, now_ms: i64) -> (HeartbeatResponse, Vec<Output>) { (Default::default(), vec![]) }
    pub fn leave(&mut self, req: &LeaveGroupRequest, version: i16, now_ms: i64) -> (LeaveGroupResponse, Vec<Output>) { (Default::default(), vec![]) }
    pub fn tick(&mut self, now_ms: i64) -> Vec<Output> { vec![] }
    pub fn next_deadline(&self) -> Option<i64> { None }
    pub fn forget(&mut self, token: Token) {}
    pub fn validate_offset_commit(&mut self, group_id: &str, member_id: &str, generation_id: i32, group_instance_id: Option<&str>, version: i16, now_ms: i64) -> Result<(), ResponseError> { Ok(()) }
    pub fn apply_offset_commit(&mut self, group_id: &str, offsets: Vec<(String, i32, CommittedOffset)>, now_ms: i64) {}
    pub fn committed(&self, group_id: &str, topic: &str, partition: i32) -> Option<&CommittedOffset> { None }
    pub fn committed_all(&self, group_id: &str) -> Vec<(String, i32, CommittedOffset)> { vec![] }
    pub fn validate_offset_fetch(&self, group_id: &str, member_id: Option<&str>, member_epoch: i32) -> Result<(), ResponseError> { Ok(()) }
    pub fn delete_offsets(&mut self, group_id: &str, partitions: &[(String, i32)]) -> Result<Vec<(String, i32, Result<(), ResponseError>)>, ResponseError> { Ok(vec![]) }
    pub fn list_groups(&self, states_filter: &[String], types_filter: &[String]) -> Vec<list_groups_response::ListedGroup> { vec![] }
    pub fn describe_group(&self, group_id: &str, include_authorized_ops: bool) -> describe_groups_response::DescribedGroup { Default::default() }
    pub fn delete_group(&mut self, group_id: &str) -> Result<(), ResponseError> { Ok(()) }
    pub fn snapshot(&self, group_id: &str) -> Option<GroupSnapshot> { None }
    pub fn load_group(&mut self, snapshot: GroupSnapshot, now_ms: i64) {}
    pub fn load_offset(&mut self, group_id: &str, topic: &str, partition: i32, offset: Option<CommittedOffset>) {}
    pub fn remove_group(&mut self, group_id: &str) {}
}
