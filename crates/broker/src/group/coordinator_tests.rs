//! The coordinator's transitions with a controllable clock: every answer a
//! client gets, when it gets it, and what is persisted.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use super::*;

const SESSION: i32 = 10_000;
const REBALANCE: i32 = 30_000;
const NONE: i16 = 0;

fn s(text: &str) -> StrBytes {
    StrBytes::from_string(text.to_string())
}

fn code(error: ResponseError) -> i16 {
    error.code()
}

/// A consumer-protocol subscription (version 0) to `topics`.
fn subscription(topics: &[&str]) -> Bytes {
    let mut out = vec![0, 0];
    out.extend_from_slice(&(topics.len() as i32).to_be_bytes());
    for t in topics {
        out.extend_from_slice(&(t.len() as i16).to_be_bytes());
        out.extend_from_slice(t.as_bytes());
    }
    out.extend_from_slice(&(-1i32).to_be_bytes());
    Bytes::from(out)
}

/// A client-side view of the coordinator: sends requests, keeps the answers.
struct Harness {
    c: GroupCoordinator,
    now: i64,
    next_token: Token,
    joins: HashMap<Token, JoinGroupResponse>,
    syncs: HashMap<Token, SyncGroupResponse>,
    appended: Vec<OffsetsRecord>,
}

struct Join<'a> {
    group: &'a str,
    member: &'a str,
    instance: Option<&'a str>,
    protocols: Vec<(&'a str, Bytes)>,
    version: i16,
    session_ms: i32,
}

impl<'a> Join<'a> {
    fn new(group: &'a str, member: &'a str) -> Self {
        Join { group, member, instance: None, protocols: vec![("range", subscription(&["t"]))], version: 5, session_ms: SESSION }
    }
    fn instance(mut self, instance: &'a str) -> Self {
        self.instance = Some(instance);
        self
    }
    fn version(mut self, version: i16) -> Self {
        self.version = version;
        self
    }
    fn protocols(mut self, protocols: &[(&'a str, &[&str])]) -> Self {
        self.protocols = protocols.iter().map(|(name, topics)| (*name, subscription(topics))).collect();
        self
    }
}

impl Harness {
    fn new(initial_delay_ms: i64) -> Self {
        let config = GroupConfig { initial_rebalance_delay_ms: initial_delay_ms, ..GroupConfig::default() };
        Harness { c: GroupCoordinator::new(config), now: 1_000_000, next_token: 1, joins: HashMap::new(), syncs: HashMap::new(), appended: Vec::new() }
    }

    fn absorb(&mut self, outputs: Vec<Output>) {
        for output in outputs {
            match output {
                Output::Join(token, r) => assert!(self.joins.insert(token, r).is_none(), "token {token} answered twice"),
                Output::Sync(token, r) => assert!(self.syncs.insert(token, r).is_none(), "token {token} answered twice"),
                Output::Append { records, .. } => self.appended.extend(records),
            }
        }
    }

    fn token(&mut self) -> Token {
        self.next_token += 1;
        self.next_token
    }

    fn join(&mut self, j: Join<'_>) -> Token {
        let token = self.token();
        let protocols =
            j.protocols.iter().map(|(name, meta)| JoinGroupRequestProtocol::default().with_name(s(name)).with_metadata(meta.clone())).collect();
        let req = JoinGroupRequest::default()
            .with_group_id(GroupId(s(j.group)))
            .with_session_timeout_ms(j.session_ms)
            .with_rebalance_timeout_ms(REBALANCE)
            .with_member_id(s(j.member))
            .with_group_instance_id(j.instance.map(s))
            .with_protocol_type(s("consumer"))
            .with_protocols(protocols);
        let out = self.c.join(req, j.version, "client", "/127.0.0.1", token, self.now);
        self.absorb(out);
        token
    }

    /// Joins a v4+ dynamic member: MEMBER_ID_REQUIRED, then the real join. Returns (member id, token).
    fn join_new(&mut self, group: &str) -> (String, Token) {
        let first = self.join(Join::new(group, ""));
        let r = self.joins.remove(&first).expect("MEMBER_ID_REQUIRED at once");
        assert_eq!(r.error_code, code(ResponseError::MemberIdRequired));
        let member = r.member_id.to_string();
        assert!(member.starts_with("client-"), "{member}");
        let token = self.join(Join::new(group, &member));
        (member, token)
    }

    fn sync(&mut self, group: &str, member: &str, generation: i32, assignments: &[(&str, &[u8])]) -> Token {
        let token = self.token();
        let assignments = assignments
            .iter()
            .map(|(m, a)| SyncGroupRequestAssignment::default().with_member_id(s(m)).with_assignment(Bytes::copy_from_slice(a)))
            .collect();
        let req = SyncGroupRequest::default()
            .with_group_id(GroupId(s(group)))
            .with_generation_id(generation)
            .with_member_id(s(member))
            .with_assignments(assignments);
        let out = self.c.sync(req, 5, token, self.now);
        self.absorb(out);
        token
    }

    fn heartbeat(&mut self, group: &str, member: &str, generation: i32) -> i16 {
        let req = HeartbeatRequest::default().with_group_id(GroupId(s(group))).with_member_id(s(member)).with_generation_id(generation);
        let (r, out) = self.c.heartbeat(&req, 4, self.now);
        self.absorb(out);
        r.error_code
    }

    fn leave(&mut self, group: &str, members: &[(&str, Option<&str>)]) -> LeaveGroupResponse {
        let members = members.iter().map(|(m, i)| MemberIdentity::default().with_member_id(s(m)).with_group_instance_id(i.map(s))).collect();
        let req = LeaveGroupRequest::default().with_group_id(GroupId(s(group))).with_members(members);
        let (r, out) = self.c.leave(&req, 5, self.now);
        self.absorb(out);
        r
    }

    fn advance(&mut self, ms: i64) {
        self.now += ms;
        let out = self.c.tick(self.now);
        self.absorb(out);
    }

    fn state(&self, group: &str) -> String {
        self.c.describe_group(group, false, 5).group_state.to_string()
    }

    fn joined(&mut self, token: Token) -> JoinGroupResponse {
        self.joins.remove(&token).unwrap_or_else(|| panic!("JoinGroup {token} not answered"))
    }

    fn synced(&mut self, token: Token) -> SyncGroupResponse {
        self.syncs.remove(&token).unwrap_or_else(|| panic!("SyncGroup {token} not answered"))
    }

    /// A Stable group of one dynamic member; returns its id and generation.
    fn stable_single(&mut self, group: &str) -> (String, i32) {
        let (member, token) = self.join_new(group);
        self.advance(0);
        let r = self.joined(token);
        let sync = self.sync(group, &member, r.generation_id, &[(&member, b"a")]);
        assert_eq!(self.synced(sync).error_code, NONE);
        (member, r.generation_id)
    }

    /// A second member joins a Stable one-member group and both rejoin: the
    /// group is CompletingRebalance with (leader, follower, generation).
    fn completing_pair(&mut self, group: &str) -> (String, String, i32) {
        let (a, _) = self.stable_single(group);
        let (b, tb) = self.join_new(group);
        let ta = self.join(Join::new(group, &a));
        let generation = self.joined(ta).generation_id;
        self.joined(tb);
        (a, b, generation)
    }

    fn stored_groups(&self) -> Vec<&GroupSnapshot> {
        self.appended.iter().filter_map(|r| match r {
            OffsetsRecord::Group { value: Some(g), .. } => Some(g),
            _ => None,
        }).collect()
    }
}

#[test]
fn a_new_member_gets_an_id_then_the_initial_delay_then_leads() {
    let mut h = Harness::new(3000);
    let (member, token) = h.join_new("g");
    assert_eq!(h.state("g"), "PreparingRebalance");
    h.advance(2999);
    assert!(!h.joins.contains_key(&token), "answered before the initial delay");
    h.advance(1);
    let r = h.joined(token);
    assert_eq!((r.error_code, r.generation_id, r.leader.as_str(), r.member_id.as_str()), (NONE, 1, member.as_str(), member.as_str()));
    assert_eq!(r.protocol_name.as_deref(), Some("range"));
    assert_eq!(r.protocol_type.as_deref(), Some("consumer"));
    assert_eq!(r.members.len(), 1);
    assert_eq!(r.members[0].metadata, subscription(&["t"]));
    assert_eq!(h.state("g"), "CompletingRebalance");

    let sync = h.sync("g", &member, 1, &[(&member, b"assignment")]);
    let r = h.synced(sync);
    assert_eq!((r.error_code, r.assignment.as_ref()), (NONE, &b"assignment"[..]));
    assert_eq!(r.protocol_name.as_deref(), Some("range"));
    assert_eq!(h.state("g"), "Stable");
    let stored = h.stored_groups();
    let last = stored.last().unwrap();
    assert_eq!((last.generation_id, last.leader.as_deref(), last.members[0].assignment.as_ref()), (1, Some(member.as_str()), &b"assignment"[..]));
    assert_eq!(h.heartbeat("g", &member, 1), NONE);
}

#[test]
fn the_initial_delay_grows_while_members_keep_joining() {
    let mut h = Harness::new(3000);
    let (a, ta) = h.join_new("g");
    h.advance(2000);
    let (b, tb) = h.join_new("g");
    h.advance(1000); // t=3000: b joined during the delay, so it is extended
    assert!(h.joins.is_empty());
    h.advance(2999);
    assert!(h.joins.is_empty());
    h.advance(1);
    let (ra, rb) = (h.joined(ta), h.joined(tb));
    assert_eq!((ra.generation_id, rb.generation_id), (1, 1));
    assert_eq!((ra.leader.as_str(), rb.leader.as_str()), (a.as_str(), a.as_str()));
    assert_eq!((ra.members.len(), rb.members.len()), (2, 0));
    assert_ne!(a, b);
}

#[test]
fn old_versions_join_without_member_id_required() {
    let mut h = Harness::new(0);
    let token = h.join(Join::new("g", "").version(3));
    h.advance(0);
    let r = h.joined(token);
    assert_eq!((r.error_code, r.generation_id), (NONE, 1));
    assert!(!r.member_id.is_empty());
}

#[test]
fn a_second_member_rebalances_a_stable_group() {
    let mut h = Harness::new(0);
    let (a, generation) = h.stable_single("g");
    let (b, tb) = h.join_new("g");
    assert_eq!(h.state("g"), "PreparingRebalance");
    assert_eq!(h.heartbeat("g", &a, generation), code(ResponseError::RebalanceInProgress));
    // The join completes as soon as every known member has rejoined.
    let ta = h.join(Join::new("g", &a));
    let (ra, rb) = (h.joined(ta), h.joined(tb));
    assert_eq!((ra.generation_id, rb.generation_id), (2, 2));
    assert_eq!(ra.members.len(), 2);
    assert!(rb.members.is_empty());
    // The follower's SyncGroup waits for the leader's.
    let sb = h.sync("g", &b, 2, &[]);
    assert!(!h.syncs.contains_key(&sb));
    assert_eq!(h.heartbeat("g", &b, 2), NONE, "heartbeats are fine while completing");
    let sa = h.sync("g", &a, 2, &[(&a, b"pa"), (&b, b"pb")]);
    assert_eq!(h.synced(sa).assignment.as_ref(), b"pa");
    assert_eq!(h.synced(sb).assignment.as_ref(), b"pb");
    assert_eq!(h.state("g"), "Stable");
    // A follower rejoining with unchanged metadata gets the current generation back.
    let again = h.join(Join::new("g", &b));
    let r = h.joined(again);
    assert_eq!((r.generation_id, r.members.len(), r.leader.as_str()), (2, 0, a.as_str()));
    assert_eq!(h.state("g"), "Stable");
}

#[test]
fn an_expired_session_removes_the_member_and_rebalances() {
    let mut h = Harness::new(0);
    let (a, b, generation) = h.completing_pair("g");
    let sa = h.sync("g", &a, generation, &[(&a, b"pa"), (&b, b"pb")]);
    let sb = h.sync("g", &b, generation, &[]);
    h.synced(sa);
    h.synced(sb);
    // a keeps heartbeating, b goes silent.
    for _ in 0..2 {
        h.advance(4000);
        assert_eq!(h.heartbeat("g", &a, generation), NONE);
    }
    assert_eq!(h.state("g"), "Stable");
    h.advance(2000);
    assert_eq!(h.state("g"), "PreparingRebalance", "b's 10 s session ran out");
    assert_eq!(h.heartbeat("g", &b, generation), code(ResponseError::UnknownMemberId));
    assert_eq!(h.heartbeat("g", &a, generation), code(ResponseError::RebalanceInProgress));
    let ta = h.join(Join::new("g", &a));
    let r = h.joined(ta);
    assert_eq!((r.generation_id, r.members.len()), (generation + 1, 1));
}

#[test]
fn members_that_do_not_rejoin_in_the_rebalance_timeout_are_dropped() {
    let mut h = Harness::new(0);
    let (a, b, generation) = h.completing_pair("g");
    let sa = h.sync("g", &a, generation, &[]);
    let sb = h.sync("g", &b, generation, &[]);
    h.synced(sa);
    h.synced(sb);
    // The leader rejoins (as Java does on metadata changes): a rebalance; b only heartbeats.
    let ta = h.join(Join::new("g", &a));
    for _ in 0..7 {
        h.advance(4000);
        assert_eq!(h.heartbeat("g", &b, generation), code(ResponseError::RebalanceInProgress));
    }
    h.advance(2000); // 30 s rebalance timeout
    let r = h.joined(ta);
    assert_eq!((r.generation_id, r.members.len()), (generation + 1, 1));
    assert_eq!(h.heartbeat("g", &b, generation + 1), code(ResponseError::UnknownMemberId));
}

#[test]
fn leaving_rebalances_and_the_last_leave_empties_the_group() {
    let mut h = Harness::new(0);
    let (a, b, generation) = h.completing_pair("g");
    let r = h.leave("g", &[(&b, None), ("stranger", None)]);
    assert_eq!(r.members.iter().map(|m| m.error_code).collect::<Vec<_>>(), vec![NONE, code(ResponseError::UnknownMemberId)]);
    assert_eq!(h.state("g"), "PreparingRebalance");
    let ta = h.join(Join::new("g", &a));
    let r = h.joined(ta);
    assert_eq!((r.generation_id, r.members.len()), (generation + 1, 1));
    // v0-2 carry one member and answer with a top-level error.
    let req = LeaveGroupRequest::default().with_group_id(GroupId(s("g"))).with_member_id(s(&a));
    let (r, out) = h.c.leave(&req, 1, h.now);
    h.absorb(out);
    assert_eq!(r.error_code, NONE);
    assert_eq!(h.state("g"), "Empty");
    let stored = h.stored_groups();
    let last = stored.last().unwrap();
    assert_eq!((last.generation_id, last.members.len(), last.protocol_name.as_deref()), (generation + 2, 0, None));
    let (r, _) = h.c.leave(&req, 1, h.now);
    assert_eq!(r.error_code, code(ResponseError::UnknownMemberId));
}

#[test]
fn requests_that_do_not_fit_the_group_get_kafkas_errors() {
    let mut h = Harness::new(0);
    let (a, generation) = h.stable_single("g");
    assert_eq!(h.heartbeat("nope", &a, generation), code(ResponseError::UnknownMemberId));
    assert_eq!(h.heartbeat("g", &a, generation + 1), code(ResponseError::IllegalGeneration));
    assert_eq!(h.heartbeat("g", "stranger", generation), code(ResponseError::UnknownMemberId));
    assert_eq!(h.heartbeat("", &a, generation), code(ResponseError::InvalidGroupId));
    let t = h.sync("g", &a, generation + 1, &[]);
    assert_eq!(h.synced(t).error_code, code(ResponseError::IllegalGeneration));
    let t = h.sync("nope", &a, 1, &[]);
    assert_eq!(h.synced(t).error_code, code(ResponseError::UnknownMemberId));
    let t = h.join(Join::new("unknown-group", "some-member"));
    assert_eq!(h.joined(t).error_code, code(ResponseError::UnknownMemberId));
    let t = h.join(Join::new("", ""));
    assert_eq!(h.joined(t).error_code, code(ResponseError::InvalidGroupId));
    let mut short = Join::new("g", "");
    short.session_ms = 100;
    let t = h.join(short);
    assert_eq!(h.joined(t).error_code, code(ResponseError::InvalidSessionTimeout));
    // A protocol the group's members do not share.
    let t = h.join(Join::new("g", "").protocols(&[("roundrobin", &["t"])]));
    assert_eq!(h.joined(t).error_code, code(ResponseError::InconsistentGroupProtocol));
    let t = h.join(Join::new("g2", "").protocols(&[]));
    assert_eq!(h.joined(t).error_code, code(ResponseError::InconsistentGroupProtocol));
    assert_eq!(h.state("g"), "Stable", "refused joins leave the group alone");
}

#[test]
fn a_restarted_static_member_gets_its_assignment_back_without_a_rebalance() {
    let mut h = Harness::new(0);
    let t = h.join(Join::new("g", "").instance("i1"));
    h.advance(0);
    let r = h.joined(t);
    let old = r.member_id.to_string();
    assert!(old.starts_with("i1-"), "static member ids start with the instance id: {old}");
    let t = h.sync("g", &old, r.generation_id, &[(&old, b"mine")]);
    h.synced(t);
    let generation = r.generation_id;
    // Restart: same instance id, no member id (v5 < 9: the old leader id is named).
    let t = h.join(Join::new("g", "").instance("i1"));
    let r = h.joined(t);
    let new = r.member_id.to_string();
    assert_ne!(new, old);
    assert_eq!((r.error_code, r.generation_id, r.leader.as_str(), r.members.len()), (NONE, generation, old.as_str(), 0));
    assert_eq!(h.state("g"), "Stable");
    let t = h.sync("g", &new, generation, &[]);
    assert_eq!(h.synced(t).assignment.as_ref(), b"mine");
    // The old incarnation is fenced.
    let req = HeartbeatRequest::default().with_group_id(GroupId(s("g"))).with_member_id(s(&old)).with_generation_id(generation).with_group_instance_id(Some(s("i1")));
    assert_eq!(h.c.heartbeat(&req, 4, h.now).0.error_code, code(ResponseError::FencedInstanceId));
    // v9 (KIP-814): the rejoining leader learns the members and is told to skip the assignment.
    let t = h.join(Join::new("g", "").instance("i1").version(9));
    let r = h.joined(t);
    assert_eq!((r.generation_id, r.skip_assignment, r.members.len()), (generation, true, 1));
    assert_eq!(r.leader, r.member_id);
    assert_eq!(h.stored_groups().last().unwrap().members[0].member_id, r.member_id.to_string());
}

#[test]
fn static_members_survive_a_missed_rebalance_and_leave_by_instance_id() {
    let mut h = Harness::new(0);
    let t = h.join(Join::new("g", "").instance("i1"));
    h.advance(0);
    let r = h.joined(t);
    let s1 = r.member_id.to_string();
    let t = h.sync("g", &s1, r.generation_id, &[]);
    h.synced(t);
    let (d, td) = h.join_new("g");
    // The static member keeps its session but misses the rebalance.
    for _ in 0..10 {
        h.advance(REBALANCE as i64 / 10);
        h.heartbeat("g", &s1, r.generation_id);
    }
    // It did not rejoin but stays; the dynamic one got through.
    let rd = h.joined(td);
    assert_eq!(rd.generation_id, r.generation_id + 1);
    assert_eq!(h.c.describe_group("g", false, 5).members.len(), 2);
    let r = h.leave("g", &[("", Some("i1")), ("", Some("nobody"))]);
    assert_eq!(r.members.iter().map(|m| m.error_code).collect::<Vec<_>>(), vec![NONE, code(ResponseError::UnknownMemberId)]);
    let members = h.c.describe_group("g", false, 5).members;
    assert_eq!(members.iter().map(|m| m.member_id.to_string()).collect::<Vec<_>>(), vec![d]);
}

#[test]
fn members_that_never_sync_are_removed_after_the_rebalance_timeout() {
    let mut h = Harness::new(0);
    let (a, b, generation) = h.completing_pair("g");
    let sa = h.sync("g", &a, generation, &[(&a, b"x")]);
    h.synced(sa);
    assert_eq!(h.state("g"), "Stable");
    for _ in 0..10 {
        h.advance(3000);
        h.heartbeat("g", &a, generation);
        h.heartbeat("g", &b, generation);
    }
    assert_eq!(h.state("g"), "PreparingRebalance", "b never synced");
    assert_eq!(h.heartbeat("g", &b, generation), code(ResponseError::UnknownMemberId));
}

#[test]
fn a_rejoin_during_completing_rebalance_fails_parked_syncs() {
    let mut h = Harness::new(0);
    let (a, b, generation) = h.completing_pair("g");
    let sb = h.sync("g", &b, generation, &[]);
    // b rejoins with new metadata before the leader synced.
    let tb2 = h.join(Join::new("g", &b).protocols(&[("range", &["t", "u"])]));
    assert_eq!(h.synced(sb).error_code, code(ResponseError::RebalanceInProgress));
    let ta = h.join(Join::new("g", &a));
    assert_eq!(h.joined(ta).generation_id, generation + 1);
    assert_eq!(h.joined(tb2).generation_id, generation + 1);
}

#[test]
fn offset_commits_are_checked_against_the_group() {
    let mut h = Harness::new(0);
    let now = h.now;
    // Simple groups: generation -1 and no member.
    assert_eq!(h.c.validate_offset_commit("simple", "", -1, None, 8, now), Ok(()));
    assert_eq!(h.state("simple"), "Empty");
    assert_eq!(h.c.validate_offset_commit("missing", "m", 3, None, 9, now), Err(ResponseError::GroupIdNotFound));
    assert_eq!(h.c.validate_offset_commit("missing", "m", 3, None, 8, now), Err(ResponseError::IllegalGeneration));
    let (a, generation) = h.stable_single("g");
    assert_eq!(h.c.validate_offset_commit("g", &a, generation, None, 8, now), Ok(()));
    assert_eq!(h.c.validate_offset_commit("g", &a, generation + 1, None, 8, now), Err(ResponseError::IllegalGeneration));
    assert_eq!(h.c.validate_offset_commit("g", "x", generation, None, 8, now), Err(ResponseError::UnknownMemberId));
    assert_eq!(h.c.validate_offset_commit("g", "", -1, None, 8, now), Err(ResponseError::UnknownMemberId));
    let (_, tb) = h.join_new("g");
    let ta = h.join(Join::new("g", &a));
    h.joined(tb);
    let generation = h.joined(ta).generation_id;
    assert_eq!(h.c.validate_offset_commit("g", &a, generation, None, 8, now), Err(ResponseError::RebalanceInProgress));

    let offset = |o: i64| CommittedOffset { offset: o, leader_epoch: 0, metadata: String::new(), commit_timestamp_ms: now, expire_timestamp_ms: None };
    h.c.apply_offset_commit("g", vec![("t".into(), 1, offset(5)), ("a".into(), 0, offset(7))], now);
    assert_eq!(h.c.committed("g", "t", 1).map(|o| o.offset), Some(5));
    let all: Vec<_> = h.c.committed_all("g").into_iter().map(|(t, p, o)| (t, p, o.offset)).collect();
    assert_eq!(all, vec![("a".to_string(), 0, 7), ("t".to_string(), 1, 5)]);
}

#[test]
fn offsets_of_an_active_consumer_group_are_deleted_only_for_unsubscribed_topics() {
    let mut h = Harness::new(0);
    let (_, _) = h.stable_single("g"); // subscribed to "t"
    let offset = CommittedOffset { offset: 1, leader_epoch: -1, metadata: String::new(), commit_timestamp_ms: h.now, expire_timestamp_ms: None };
    h.c.apply_offset_commit("g", vec![("t".into(), 0, offset.clone()), ("old".into(), 0, offset.clone())], h.now);
    let (results, tombstones) = h.c.delete_offsets("g", &[("t".into(), 0), ("old".into(), 0)]).unwrap();
    assert_eq!(results[0].2, Err(ResponseError::GroupSubscribedToTopic));
    assert_eq!(results[1].2, Ok(()));
    assert_eq!(tombstones.len(), 1);
    assert_eq!(h.c.delete_offsets("missing", &[]).unwrap_err(), ResponseError::GroupIdNotFound);
}

#[test]
fn groups_are_listed_described_and_deleted_as_kafka_does() {
    let mut h = Harness::new(0);
    let (a, _) = h.stable_single("g");
    h.c.validate_offset_commit("simple", "", -1, None, 8, h.now).unwrap();
    let names = |groups: Vec<ListedGroup>| groups.into_iter().map(|g| (g.group_id.0.to_string(), g.group_state.to_string())).collect::<Vec<_>>();
    assert_eq!(names(h.c.list_groups(&[], &[])), vec![("g".into(), "Stable".into()), ("simple".into(), "Empty".into())]);
    assert_eq!(names(h.c.list_groups(&["stable".into()], &[])), vec![("g".into(), "Stable".into())]);
    assert_eq!(names(h.c.list_groups(&[], &["Consumer".into()])), vec![]);
    assert_eq!(h.c.list_groups(&[], &["classic".into()]).len(), 2);

    let d = h.c.describe_group("g", true, 5);
    assert_eq!((d.group_state.as_str(), d.protocol_type.as_str(), d.protocol_data.as_str()), ("Stable", "consumer", "range"));
    assert_eq!(d.authorized_operations, GROUP_AUTHORIZED_OPERATIONS);
    assert_eq!(d.members[0].member_id.as_str(), a);
    assert_eq!(d.members[0].member_metadata, subscription(&["t"]));
    let missing = h.c.describe_group("missing", false, 5);
    assert_eq!((missing.error_code, missing.group_state.as_str()), (NONE, "Dead"));
    assert_eq!(missing.authorized_operations, i32::MIN);
    assert_eq!(h.c.describe_group("missing", false, 6).error_code, code(ResponseError::GroupIdNotFound));

    assert_eq!(h.c.delete_group("g"), Err(ResponseError::NonEmptyGroup));
    assert_eq!(h.c.delete_group("missing"), Err(ResponseError::GroupIdNotFound));
    let offset = CommittedOffset { offset: 1, leader_epoch: -1, metadata: String::new(), commit_timestamp_ms: h.now, expire_timestamp_ms: None };
    h.c.apply_offset_commit("simple", vec![("t".into(), 0, offset)], h.now);
    let records = h.c.delete_group("simple").unwrap();
    assert_eq!(records.len(), 2, "an offset tombstone and the group tombstone");
    assert_eq!(h.c.list_groups(&[], &[]).len(), 1);
}

#[test]
fn offsets_of_empty_groups_expire_after_the_retention_and_the_group_goes() {
    let mut h = Harness::new(0);
    let (a, _) = h.stable_single("g");
    let offset = CommittedOffset { offset: 1, leader_epoch: -1, metadata: String::new(), commit_timestamp_ms: h.now, expire_timestamp_ms: None };
    h.c.apply_offset_commit("g", vec![("t".into(), 0, offset)], h.now);
    h.leave("g", &[(&a, None)]);
    assert_eq!(h.state("g"), "Empty");
    h.appended.clear();
    let retention = GroupConfig::default().offsets_retention_ms;
    h.advance(retention - 1);
    h.advance(GroupConfig::default().offsets_retention_check_interval_ms);
    assert_eq!(h.state("g"), "Dead");
    assert!(h.appended.contains(&OffsetsRecord::Offset { group_id: "g".into(), topic: "t".into(), partition: 0, value: None }));
    assert!(h.appended.contains(&OffsetsRecord::Group { group_id: "g".into(), value: None }));
}

#[test]
fn a_loaded_group_keeps_its_members_only_while_they_heartbeat() {
    let mut h = Harness::new(0);
    let (a, generation) = h.stable_single("g");
    let snapshot = h.stored_groups().last().cloned().cloned().unwrap();
    // A restarted coordinator replays the stored group.
    let mut h2 = Harness::new(0);
    h2.now = h.now;
    h2.c.load_group(snapshot, h2.now);
    assert_eq!(h2.state("g"), "Stable");
    h2.advance(5000);
    assert_eq!(h2.heartbeat("g", &a, generation), NONE);
    let t = h2.sync("g", &a, generation, &[]);
    assert_eq!(h2.synced(t).assignment.as_ref(), b"a");
    h2.advance(SESSION as i64 + 1);
    assert_eq!(h2.state("g"), "Empty", "the member stopped heartbeating: removed, group emptied");
}

#[test]
fn group_max_size_refuses_extra_members() {
    let config = GroupConfig { initial_rebalance_delay_ms: 0, max_size: 1, ..GroupConfig::default() };
    let mut h = Harness::new(0);
    h.c = GroupCoordinator::new(config);
    h.stable_single("g");
    // Kafka refuses before handing out a member id.
    let t = h.join(Join::new("g", ""));
    assert_eq!(h.joined(t).error_code, code(ResponseError::GroupMaxSizeReached));
}

#[test]
fn a_pending_member_that_never_rejoins_expires() {
    let mut h = Harness::new(0);
    let (a, generation) = h.stable_single("g");
    let t = h.join(Join::new("g", ""));
    assert_eq!(h.joined(t).error_code, code(ResponseError::MemberIdRequired));
    h.advance(SESSION as i64 / 2);
    assert_eq!(h.heartbeat("g", &a, generation), NONE);
    h.advance(SESSION as i64 / 2 + 1);
    assert_eq!(h.heartbeat("g", &a, generation), NONE, "a pending member does not disturb the group");
    assert_eq!(h.state("g"), "Stable");
}
