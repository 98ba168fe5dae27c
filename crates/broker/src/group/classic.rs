//! One classic consumer group and its members, after Kafka's `ClassicGroup`
//! and `ClassicGroupMember`: membership, static instance ids, protocol
//! selection, and the bookkeeping of who is waiting for a JoinGroup or
//! SyncGroup answer. The flows that move a group between states live in
//! [`super::coordinator`].

use std::collections::{BTreeMap, HashMap, HashSet};

use bytes::Bytes;

use super::snapshot::{CommittedOffset, GroupSnapshot, MemberSnapshot};

/// A deferred answer's address: the service maps it to the waiting request.
pub type Token = u64;

/// Kafka's `ClassicGroupState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
}

impl GroupState {
    /// The name Kafka reports (DescribeGroups, ListGroups).
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }
}

/// A JoinGroup request waiting for the rebalance to complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinWaiter {
    pub token: Token,
    /// JoinGroup version, for the few answers that differ by version.
    pub version: i16,
}

/// One protocol a member supports (an assignor, for consumers), in its order of preference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protocol {
    pub name: String,
    pub metadata: Bytes,
}

#[derive(Debug, Clone)]
pub struct Member {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout_ms: i32,
    pub session_timeout_ms: i32,
    pub protocol_type: String,
    pub protocols: Vec<Protocol>,
    pub assignment: Bytes,
    pub awaiting_join: Option<JoinWaiter>,
    pub awaiting_sync: Option<Token>,
    /// Joined but has not completed a rebalance yet (KIP-394): its session
    /// does not protect it.
    pub is_new: bool,
}

impl Member {
    /// The member's metadata for `protocol` (empty if it does not support it).
    pub fn metadata(&self, protocol: Option<&str>) -> Bytes {
        self.protocols.iter().find(|p| Some(p.name.as_str()) == protocol).map(|p| p.metadata.clone()).unwrap_or_default()
    }

    /// Kafka's `hasSatisfiedHeartbeat`: members waiting in a rebalance are alive.
    pub fn has_satisfied_heartbeat(&self) -> bool {
        !self.is_new && (self.awaiting_join.is_some() || self.awaiting_sync.is_some())
    }

    /// The member's most preferred protocol among `candidates`.
    fn vote<'a>(&'a self, candidates: &HashSet<&str>) -> Option<&'a str> {
        self.protocols.iter().map(|p| p.name.as_str()).find(|name| candidates.contains(name))
    }
}

pub struct ClassicGroup {
    pub group_id: String,
    pub state: GroupState,
    pub previous_state: GroupState,
    pub state_timestamp_ms: i64,
    /// None for groups that only commit offsets ("simple" groups).
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub generation_id: i32,
    pub leader_id: Option<String>,
    pub members: BTreeMap<String, Member>,
    /// group.instance.id -> member id.
    pub static_members: HashMap<String, String>,
    /// Member ids handed out with MEMBER_ID_REQUIRED that have not joined yet.
    pub pending_join_members: HashSet<String>,
    /// Members that got their JoinGroup answer but have not synced yet.
    pub pending_sync_members: HashSet<String>,
    /// A member joined during the initial rebalance delay: extend it.
    pub new_member_added: bool,
    pub offsets: BTreeMap<(String, i32), CommittedOffset>,
}

impl ClassicGroup {
    pub fn new(group_id: &str, now_ms: i64) -> Self {
        Self {
            group_id: group_id.to_string(),
            state: GroupState::Empty,
            previous_state: GroupState::Empty,
            state_timestamp_ms: now_ms,
            protocol_type: None,
            protocol_name: None,
            generation_id: 0,
            leader_id: None,
            members: BTreeMap::new(),
            static_members: HashMap::new(),
            pending_join_members: HashSet::new(),
            pending_sync_members: HashSet::new(),
            new_member_added: false,
            offsets: BTreeMap::new(),
        }
    }

    pub fn transition_to(&mut self, state: GroupState, now_ms: i64) {
        self.previous_state = self.state;
        self.state = state;
        self.state_timestamp_ms = now_ms;
    }

    pub fn is(&self, state: GroupState) -> bool {
        self.state == state
    }

    /// Kafka's `canRebalance`: PreparingRebalance may follow these states.
    pub fn can_rebalance(&self) -> bool {
        matches!(self.state, GroupState::Stable | GroupState::CompletingRebalance | GroupState::Empty)
    }

    pub fn is_leader(&self, member_id: &str) -> bool {
        self.leader_id.as_deref() == Some(member_id)
    }

    pub fn static_member_id(&self, instance_id: &str) -> Option<&str> {
        self.static_members.get(instance_id).map(String::as_str)
    }

    /// The largest rebalance timeout of the members.
    pub fn rebalance_timeout_ms(&self) -> i32 {
        self.members.values().map(|m| m.rebalance_timeout_ms).max().unwrap_or(0)
    }

    pub fn awaiting_join_count(&self) -> usize {
        self.members.values().filter(|m| m.awaiting_join.is_some()).count()
    }

    pub fn has_all_members_joined(&self) -> bool {
        self.members.len() == self.awaiting_join_count() && self.pending_join_members.is_empty()
    }

    /// Protocols every member supports.
    fn candidate_protocols(&self) -> HashSet<&str> {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for member in self.members.values() {
            for protocol in &member.protocols {
                *counts.entry(protocol.name.as_str()).or_default() += 1;
            }
        }
        counts.into_iter().filter(|&(_, n)| n == self.members.len()).map(|(name, _)| name).collect()
    }

    /// Kafka's `supportsProtocols`: an empty group takes any non-empty
    /// protocol type and list; otherwise the type must match and one of the
    /// protocols must be supported by every member.
    pub fn supports_protocols(&self, protocol_type: &str, protocols: &[Protocol]) -> bool {
        if self.is(GroupState::Empty) {
            return !protocol_type.is_empty() && !protocols.is_empty();
        }
        if self.protocol_type.as_deref() != Some(protocol_type) {
            return false;
        }
        let candidates = self.candidate_protocols();
        protocols.iter().any(|p| candidates.contains(p.name.as_str()))
    }

    /// Kafka's `selectProtocol`: each member votes for its most preferred
    /// protocol among those all support; most votes wins (ties: the name
    /// that sorts first, so the choice is deterministic).
    pub fn select_protocol(&self) -> Option<String> {
        let candidates = self.candidate_protocols();
        let mut votes: BTreeMap<&str, usize> = BTreeMap::new();
        for member in self.members.values() {
            if let Some(name) = member.vote(&candidates) {
                *votes.entry(name).or_default() += 1;
            }
        }
        let best = votes.values().copied().max()?;
        votes.into_iter().find(|&(_, n)| n == best).map(|(name, _)| name.to_string())
    }

    /// Adds a member; the first one sets the group's protocol type and becomes leader.
    pub fn add(&mut self, member: Member) {
        if let Some(instance) = &member.group_instance_id {
            self.static_members.insert(instance.clone(), member.member_id.clone());
        }
        if self.members.is_empty() {
            self.protocol_type = Some(member.protocol_type.clone());
        }
        if self.leader_id.is_none() {
            self.leader_id = Some(member.member_id.clone());
        }
        self.pending_join_members.remove(&member.member_id);
        self.members.insert(member.member_id.clone(), member);
    }

    /// Removes a member (or pending member); a removed leader is replaced by the first remaining member.
    pub fn remove(&mut self, member_id: &str) -> Option<Member> {
        let removed = self.members.remove(member_id);
        if let Some(instance) = removed.as_ref().and_then(|m| m.group_instance_id.as_ref()) {
            self.static_members.remove(instance);
        }
        if self.is_leader(member_id) {
            self.leader_id = self.members.keys().next().cloned();
        }
        self.pending_join_members.remove(member_id);
        self.pending_sync_members.remove(member_id);
        removed
    }

    /// Kafka's `maybeElectNewJoinedLeader`: keeps the leader if it rejoined,
    /// else picks a member that did. False when nobody rejoined.
    pub fn maybe_elect_new_joined_leader(&mut self) -> bool {
        let Some(leader) = self.leader_id.as_ref() else { return false };
        if self.members.get(leader).is_some_and(|m| m.awaiting_join.is_some()) {
            return true;
        }
        match self.members.values().find(|m| m.awaiting_join.is_some()) {
            Some(joined) => {
                self.leader_id = Some(joined.member_id.clone());
                true
            }
            None => false,
        }
    }

    /// Kafka's `validateMember`: the instance id, if given, must map to this
    /// member id (else FENCED_INSTANCE_ID), and the member must exist.
    pub fn validate_member(&self, member_id: &str, instance_id: Option<&str>) -> Result<(), kafka_protocol::error::ResponseError> {
        use kafka_protocol::error::ResponseError;
        if let Some(instance) = instance_id {
            match self.static_member_id(instance) {
                None => return Err(ResponseError::UnknownMemberId),
                Some(existing) if existing != member_id => return Err(ResponseError::FencedInstanceId),
                Some(_) => {}
            }
        }
        if !self.members.contains_key(member_id) {
            return Err(ResponseError::UnknownMemberId);
        }
        Ok(())
    }

    /// Topics the members subscribe to, when every member uses the consumer
    /// protocol and its subscription can be read (Kafka's `subscribedTopics`).
    pub fn subscribed_topics(&self) -> Option<HashSet<String>> {
        if self.protocol_type.as_deref() != Some(CONSUMER_PROTOCOL_TYPE) {
            return None;
        }
        let mut topics = HashSet::new();
        for member in self.members.values() {
            topics.extend(subscription_topics(&member.metadata(self.protocol_name.as_deref()))?);
        }
        Some(topics)
    }

    /// The group as stored in `__consumer_offsets` (Kafka's GroupMetadataValue).
    pub fn snapshot(&self) -> GroupSnapshot {
        GroupSnapshot {
            group_id: self.group_id.clone(),
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            generation_id: self.generation_id,
            protocol_name: self.protocol_name.clone(),
            leader: self.leader_id.clone(),
            state_timestamp_ms: self.state_timestamp_ms,
            members: self
                .members
                .values()
                .map(|m| MemberSnapshot {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    rebalance_timeout_ms: m.rebalance_timeout_ms,
                    session_timeout_ms: m.session_timeout_ms,
                    subscription: m.metadata(self.protocol_name.as_deref()),
                    assignment: m.assignment.clone(),
                })
                .collect(),
        }
    }
}

/// The protocol type of Kafka's consumers.
pub const CONSUMER_PROTOCOL_TYPE: &str = "consumer";

/// The topics of a consumer protocol subscription (Kafka's
/// `ConsumerProtocolSubscription`: version, then an array of topic names,
/// in every version). None if it cannot be read.
pub fn subscription_topics(metadata: &[u8]) -> Option<Vec<String>> {
    let mut at = 2usize; // version
    let count = i32::from_be_bytes(metadata.get(at..at + 4)?.try_into().ok()?);
    at += 4;
    if count < 0 || count as usize > metadata.len() / 2 {
        return None;
    }
    let mut topics = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let len = usize::try_from(i16::from_be_bytes(metadata.get(at..at + 2)?.try_into().ok()?)).ok()?;
        at += 2;
        topics.push(String::from_utf8(metadata.get(at..at + len)?.to_vec()).ok()?);
        at += len;
    }
    Some(topics)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn member(id: &str, protocols: &[&str]) -> Member {
        Member {
            member_id: id.into(),
            group_instance_id: None,
            client_id: "c".into(),
            client_host: "/127.0.0.1".into(),
            rebalance_timeout_ms: 1000,
            session_timeout_ms: 1000,
            protocol_type: "consumer".into(),
            protocols: protocols.iter().map(|p| Protocol { name: (*p).into(), metadata: Bytes::from(p.to_string()) }).collect(),
            assignment: Bytes::new(),
            awaiting_join: None,
            awaiting_sync: None,
            is_new: false,
        }
    }

    #[test]
    fn protocol_selection_takes_the_most_voted_common_protocol() {
        let mut group = ClassicGroup::new("g", 0);
        group.add(member("a", &["range", "roundrobin"]));
        group.add(member("b", &["roundrobin", "range"]));
        group.add(member("c", &["roundrobin", "sticky"]));
        group.state = GroupState::Stable;
        assert_eq!(group.select_protocol().as_deref(), Some("roundrobin"));
        assert!(group.supports_protocols("consumer", &[Protocol { name: "roundrobin".into(), metadata: Bytes::new() }]));
        assert!(!group.supports_protocols("consumer", &[Protocol { name: "range".into(), metadata: Bytes::new() }]));
        assert!(!group.supports_protocols("connect", &[Protocol { name: "roundrobin".into(), metadata: Bytes::new() }]));
    }

    #[test]
    fn removing_the_leader_promotes_the_first_member() {
        let mut group = ClassicGroup::new("g", 0);
        group.add(member("b", &["range"]));
        group.add(member("a", &["range"]));
        assert!(group.is_leader("b"));
        group.remove("b");
        assert!(group.is_leader("a"));
        group.remove("a");
        assert_eq!(group.leader_id, None);
    }

    #[test]
    fn consumer_subscriptions_are_read() {
        // version 1, topics ["t1", "orders"], then user data and owned partitions we ignore.
        let mut m = vec![0, 1, 0, 0, 0, 2, 0, 2, b't', b'1', 0, 6];
        m.extend_from_slice(b"orders");
        m.extend_from_slice(&[255, 255, 255, 255, 0, 0, 0, 0]);
        assert_eq!(subscription_topics(&m), Some(vec!["t1".to_string(), "orders".to_string()]));
        for len in 0..12 {
            assert_eq!(subscription_topics(&m[..len]), None, "{len}");
        }
        assert_eq!(subscription_topics(&[0, 0, 127, 255, 255, 255]), None);
    }
}
