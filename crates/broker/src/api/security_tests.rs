//! Handler tests for the security APIs: SASL outside an exchange, SCRAM
//! credentials, ACLs and the authorization checks of the other handlers.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_user_scram_credentials_request::{ScramCredentialDeletion, ScramCredentialUpsertion};
use kafka_protocol::messages::describe_user_scram_credentials_request::UserName;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use super::test_support::broker;
use super::tests::ctx;
use super::*;
use crate::auth::scram::ScramMechanism;

pub(super) fn is_security_api(key: ApiKey) -> bool {
    matches!(
        key,
        ApiKey::SaslHandshake
            | ApiKey::SaslAuthenticate
            | ApiKey::DescribeUserScramCredentials
            | ApiKey::AlterUserScramCredentials
            | ApiKey::DescribeAcls
            | ApiKey::CreateAcls
            | ApiKey::DeleteAcls
    )
}

/// A request of each security API that every advertised version can carry.
pub(super) fn request_for(key: ApiKey) -> RequestKind {
    match key {
        ApiKey::SaslHandshake => RequestKind::SaslHandshake(SaslHandshakeRequest::default().with_mechanism(name("PLAIN"))),
        ApiKey::SaslAuthenticate => RequestKind::SaslAuthenticate(SaslAuthenticateRequest::default()),
        ApiKey::DescribeUserScramCredentials => RequestKind::DescribeUserScramCredentials(DescribeUserScramCredentialsRequest::default()),
        ApiKey::AlterUserScramCredentials => RequestKind::AlterUserScramCredentials(AlterUserScramCredentialsRequest::default()),
        ApiKey::DescribeAcls => RequestKind::DescribeAcls(DescribeAclsRequest::default().with_resource_type_filter(1).with_pattern_type_filter(1).with_operation(1).with_permission_type(1)),
        ApiKey::CreateAcls => RequestKind::CreateAcls(CreateAclsRequest::default()),
        ApiKey::DeleteAcls => RequestKind::DeleteAcls(DeleteAclsRequest::default()),
        other => panic!("{other:?} is not a security API"),
    }
}

fn name(s: &'static str) -> StrBytes {
    StrBytes::from_static_str(s)
}

fn call(broker: &Broker, version: i16, request: RequestKind) -> ResponseKind {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    rt.block_on(handle(&ctx(broker, version), request)).unwrap().unwrap()
}

#[test]
fn sasl_requests_outside_an_exchange_get_illegal_sasl_state() {
    let b = broker();
    let ResponseKind::SaslHandshake(r) = call(&b.broker, 1, request_for(ApiKey::SaslHandshake)) else { panic!() };
    assert_eq!(r.error_code, ResponseError::IllegalSaslState.code());
    let ResponseKind::SaslAuthenticate(r) = call(&b.broker, 2, request_for(ApiKey::SaslAuthenticate)) else { panic!() };
    assert_eq!(r.error_code, ResponseError::IllegalSaslState.code());
}

fn upsert(user: &'static str, mechanism: i8, iterations: i32) -> ScramCredentialUpsertion {
    ScramCredentialUpsertion::default()
        .with_name(name(user))
        .with_mechanism(mechanism)
        .with_iterations(iterations)
        .with_salt(bytes::Bytes::from_static(b"salt"))
        .with_salted_password(bytes::Bytes::from_static(&[7; 32]))
}

fn delete(user: &'static str, mechanism: i8) -> ScramCredentialDeletion {
    ScramCredentialDeletion::default().with_name(name(user)).with_mechanism(mechanism)
}

fn alter(broker: &Broker, deletions: Vec<ScramCredentialDeletion>, upsertions: Vec<ScramCredentialUpsertion>) -> Vec<(String, i16, Option<String>)> {
    let req = AlterUserScramCredentialsRequest::default().with_deletions(deletions).with_upsertions(upsertions);
    let ResponseKind::AlterUserScramCredentials(r) = call(broker, 0, RequestKind::AlterUserScramCredentials(req)) else { panic!() };
    r.results.into_iter().map(|r| (r.user.to_string(), r.error_code, r.error_message.map(|m| m.to_string()))).collect()
}

/// User, error code, (mechanism, iterations) per credential.
type Described = Vec<(String, i16, Vec<(i8, i32)>)>;

fn describe(broker: &Broker, users: Option<Vec<&'static str>>) -> Described {
    let users = users.map(|u| u.into_iter().map(|n| UserName::default().with_name(name(n))).collect());
    let req = DescribeUserScramCredentialsRequest::default().with_users(users);
    let ResponseKind::DescribeUserScramCredentials(r) = call(broker, 0, RequestKind::DescribeUserScramCredentials(req)) else { panic!() };
    assert_eq!(r.error_code, 0);
    r.results
        .into_iter()
        .map(|r| (r.user.to_string(), r.error_code, r.credential_infos.iter().map(|c| (c.mechanism, c.iterations)).collect()))
        .collect()
}

#[test]
fn scram_credentials_are_upserted_described_and_deleted() {
    let b = broker();
    assert_eq!(alter(&b.broker, vec![], vec![upsert("alice", 1, 4096), upsert("bob", 2, 8192)]), [
        ("alice".into(), 0, None),
        ("bob".into(), 0, None)
    ]);
    assert_eq!(describe(&b.broker, None), [("alice".into(), 0, vec![(1, 4096)]), ("bob".into(), 0, vec![(2, 8192)])]);
    let image = b.broker.metadata.image();
    let stored = &image.scram_credentials["alice"][&ScramMechanism::Sha256];
    assert_eq!(stored.salt, b"salt", "the salt is kept, the salted password is not");
    assert_eq!(alter(&b.broker, vec![delete("alice", 1)], vec![]), [("alice".into(), 0, None)]);
    let not_found = ResponseError::ResourceNotFound.code();
    assert_eq!(describe(&b.broker, Some(vec!["alice", "bob"])), [
        ("alice".into(), not_found, vec![]),
        ("bob".into(), 0, vec![(2, 8192)])
    ]);
    let duplicate = ResponseError::DuplicateResource.code();
    assert_eq!(describe(&b.broker, Some(vec!["bob", "bob"])), [("bob".into(), duplicate, vec![])]);
}

#[test]
fn bad_scram_alterations_get_kafkas_errors() {
    let b = broker();
    let unacceptable = ResponseError::UnacceptableCredential.code();
    let results = alter(
        &b.broker,
        vec![delete("ghost", 1), delete("", 1)],
        vec![upsert("few", 1, 4095), upsert("many", 2, 16385), upsert("odd", 3, 4096), upsert("twice", 1, 4096), upsert("twice", 2, 4096)],
    );
    let expected: Vec<(String, i16, Option<String>)> = vec![
        ("ghost".into(), ResponseError::ResourceNotFound.code(), Some("Attempt to delete a user credential that does not exist".into())),
        ("".into(), unacceptable, Some("Username must not be empty".into())),
        ("few".into(), unacceptable, Some("Too few iterations".into())),
        ("many".into(), unacceptable, Some("Too many iterations".into())),
        ("odd".into(), ResponseError::UnsupportedSaslMechanism.code(), Some("Unknown SCRAM mechanism".into())),
        ("twice".into(), ResponseError::DuplicateResource.code(), Some("A user credential cannot be altered twice in the same request".into())),
    ];
    assert_eq!(results, expected);
    assert!(b.broker.metadata.image().scram_credentials.is_empty());
}

fn acl_broker() -> super::test_support::TestBroker {
    super::test_support::broker_with(crate::config::Overrides {
        authorizer: Some("standard".into()),
        super_users: Some("User:admin".into()),
        ..Default::default()
    })
}

fn call_as(broker: &Broker, user: &str, version: i16, request: RequestKind) -> ResponseKind {
    let principal = crate::auth::Principal::user(user);
    let ctx = RequestContext { principal: &principal, ..ctx(broker, version) };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    rt.block_on(handle(&ctx, request)).unwrap().unwrap()
}

fn creation(rt: i8, name: &'static str, pattern: i8, principal: &'static str, op: i8, perm: i8) -> create_acls_request::AclCreation {
    create_acls_request::AclCreation::default()
        .with_resource_type(rt)
        .with_resource_name(StrBytes::from_static_str(name))
        .with_resource_pattern_type(pattern)
        .with_principal(StrBytes::from_static_str(principal))
        .with_host(StrBytes::from_static_str("*"))
        .with_operation(op)
        .with_permission_type(perm)
}

const TOPIC: i8 = 2;
const GROUP: i8 = 3;
const LITERAL: i8 = 3;
const PREFIXED: i8 = 4;
const READ: i8 = 3;
const WRITE: i8 = 4;
const ALLOW: i8 = 3;
const DENY: i8 = 2;

fn create_acls(broker: &Broker, user: &str, creations: Vec<create_acls_request::AclCreation>) -> Vec<i16> {
    let ResponseKind::CreateAcls(r) = call_as(broker, user, 3, RequestKind::CreateAcls(CreateAclsRequest::default().with_creations(creations)))
    else {
        panic!()
    };
    r.results.iter().map(|r| r.error_code).collect()
}

#[test]
fn acl_apis_need_an_authorizer_and_alter_on_the_cluster() {
    let b = broker();
    assert_eq!(create_acls(&b.broker, "admin", vec![creation(TOPIC, "t", LITERAL, "User:a", READ, ALLOW)]), [ResponseError::SecurityDisabled.code()]);
    let b = acl_broker();
    assert_eq!(create_acls(&b.broker, "alice", vec![creation(TOPIC, "t", LITERAL, "User:a", READ, ALLOW)]), [
        ResponseError::ClusterAuthorizationFailed.code()
    ]);
    assert!(b.broker.metadata.image().acls.is_empty());
}

#[test]
fn acls_are_created_described_and_deleted() {
    let b = acl_broker();
    let results = create_acls(&b.broker, "admin", vec![
        creation(TOPIC, "orders", LITERAL, "User:alice", READ, ALLOW),
        creation(TOPIC, "logs-", PREFIXED, "User:alice", WRITE, ALLOW),
        creation(GROUP, "g", LITERAL, "User:alice", READ, ALLOW),
        creation(TOPIC, "bad", 1, "User:alice", READ, ALLOW),
    ]);
    assert_eq!(results, [0, 0, 0, ResponseError::InvalidRequest.code()]);
    let describe = |rt: i8, name: Option<&'static str>, pattern: i8| {
        let req = DescribeAclsRequest::default()
            .with_resource_type_filter(rt)
            .with_resource_name_filter(name.map(StrBytes::from_static_str))
            .with_pattern_type_filter(pattern)
            .with_principal_filter(None)
            .with_host_filter(None)
            .with_operation(1)
            .with_permission_type(1);
        let ResponseKind::DescribeAcls(r) = call_as(&b.broker, "admin", 3, RequestKind::DescribeAcls(req)) else { panic!() };
        assert_eq!(r.error_code, 0);
        r.resources.iter().map(|r| (r.resource_type, r.resource_name.to_string(), r.pattern_type, r.acls.len())).collect::<Vec<_>>()
    };
    assert_eq!(describe(1, None, 1).len(), 3);
    // MATCH finds every ACL that applies to the topic logs-app.
    assert_eq!(describe(TOPIC, Some("logs-app"), 2), [(TOPIC, "logs-".to_string(), PREFIXED, 1)]);
    let filter = delete_acls_request::DeleteAclsFilter::default()
        .with_resource_type_filter(TOPIC)
        .with_resource_name_filter(None)
        .with_pattern_type_filter(1)
        .with_principal_filter(None)
        .with_host_filter(None)
        .with_operation(1)
        .with_permission_type(1);
    let ResponseKind::DeleteAcls(r) = call_as(&b.broker, "admin", 3, RequestKind::DeleteAcls(DeleteAclsRequest::default().with_filters(vec![filter])))
    else {
        panic!()
    };
    assert_eq!(r.filter_results[0].matching_acls.len(), 2);
    assert_eq!(describe(1, None, 1), [(GROUP, "g".to_string(), LITERAL, 1)]);
}

#[test]
fn handlers_refuse_what_the_acls_do_not_allow() {
    let b = acl_broker();
    for name in ["orders", "secret"] {
        let req = CreateTopicsRequest::default()
            .with_topics(vec![create_topics_request::CreatableTopic::default().with_name(TopicName(StrBytes::from_static_str(name))).with_num_partitions(1).with_replication_factor(1)]);
        let ResponseKind::CreateTopics(r) = call_as(&b.broker, "admin", 7, RequestKind::CreateTopics(req)) else { panic!() };
        assert_eq!(r.topics[0].error_code, 0);
    }
    create_acls(&b.broker, "admin", vec![
        creation(TOPIC, "orders", LITERAL, "User:alice", READ, ALLOW),
        creation(TOPIC, "*", LITERAL, "User:alice", WRITE, DENY),
    ]);
    // Metadata of all topics lists only those alice may describe (READ implies DESCRIBE).
    let ResponseKind::Metadata(r) = call_as(&b.broker, "alice", 12, RequestKind::Metadata(MetadataRequest::default().with_topics(None))) else { panic!() };
    let names: Vec<String> = r.topics.iter().map(|t| t.name.as_ref().unwrap().0.to_string()).collect();
    assert_eq!(names, ["orders"]);
    let wanted = |n: &'static str| metadata_request::MetadataRequestTopic::default().with_name(Some(TopicName(StrBytes::from_static_str(n))));
    let req = MetadataRequest::default().with_topics(Some(vec![wanted("secret"), wanted("new-one")])).with_allow_auto_topic_creation(true);
    let ResponseKind::Metadata(r) = call_as(&b.broker, "alice", 12, RequestKind::Metadata(req)) else { panic!() };
    let denied = ResponseError::TopicAuthorizationFailed.code();
    assert_eq!(r.topics.iter().map(|t| t.error_code).collect::<Vec<_>>(), [denied, denied]);
    assert!(b.broker.metadata.image().topic("new-one").is_none(), "no auto-creation without CREATE");
    // Produce: the DENY on every topic beats nothing; WRITE is refused.
    let data = produce_request::TopicProduceData::default()
        .with_name(TopicName(StrBytes::from_static_str("orders")))
        .with_partition_data(vec![produce_request::PartitionProduceData::default().with_index(0)]);
    let req = ProduceRequest::default().with_acks(1).with_topic_data(vec![data]);
    let ResponseKind::Produce(r) = call_as(&b.broker, "alice", 9, RequestKind::Produce(req)) else { panic!() };
    assert_eq!(r.responses[0].partition_responses[0].error_code, denied);
    // Groups: no ACL on the group, so JoinGroup and DescribeGroups are refused.
    let ResponseKind::DescribeGroups(r) =
        call_as(&b.broker, "alice", 5, RequestKind::DescribeGroups(DescribeGroupsRequest::default().with_groups(vec![GroupId(StrBytes::from_static_str("g"))])))
    else {
        panic!()
    };
    assert_eq!(r.groups[0].error_code, ResponseError::GroupAuthorizationFailed.code());
    // An idempotent producer needs IDEMPOTENT_WRITE or WRITE somewhere: alice has neither.
    let ResponseKind::InitProducerId(r) = call_as(&b.broker, "alice", 4, RequestKind::InitProducerId(InitProducerIdRequest::default().with_transactional_id(None))) else { panic!() };
    assert_eq!(r.error_code, ResponseError::ClusterAuthorizationFailed.code());
    let ResponseKind::InitProducerId(r) = call_as(&b.broker, "admin", 4, RequestKind::InitProducerId(InitProducerIdRequest::default().with_transactional_id(None))) else { panic!() };
    assert_eq!(r.error_code, 0);
}

const TRANSACTIONAL_ID: i8 = 5;

fn topics(names: &[&'static str]) -> Vec<add_partitions_to_txn_request::AddPartitionsToTxnTopic> {
    names
        .iter()
        .map(|n| add_partitions_to_txn_request::AddPartitionsToTxnTopic::default().with_name(TopicName(StrBytes::from_static_str(n))).with_partitions(vec![0]))
        .collect()
}

fn init_txn(broker: &Broker, user: &str, id: &'static str) -> (i16, i64, i16) {
    let req = InitProducerIdRequest::default().with_transactional_id(Some(TransactionalId(name(id)))).with_transaction_timeout_ms(60_000);
    let ResponseKind::InitProducerId(r) = call_as(broker, user, 4, RequestKind::InitProducerId(req)) else { panic!() };
    (r.error_code, r.producer_id.0, r.producer_epoch)
}

#[test]
fn transaction_apis_check_the_transactional_id_the_group_and_the_topics() {
    let b = acl_broker();
    for topic in ["orders", "secret"] {
        let req = CreateTopicsRequest::default().with_topics(vec![create_topics_request::CreatableTopic::default()
            .with_name(TopicName(StrBytes::from_static_str(topic)))
            .with_num_partitions(1)
            .with_replication_factor(1)]);
        call_as(&b.broker, "admin", 7, RequestKind::CreateTopics(req));
    }
    create_acls(&b.broker, "admin", vec![
        creation(TRANSACTIONAL_ID, "tx-ok", LITERAL, "User:alice", WRITE, ALLOW),
        creation(TOPIC, "orders", LITERAL, "User:alice", WRITE, ALLOW),
        creation(TOPIC, "orders", LITERAL, "User:alice", READ, ALLOW),
        creation(GROUP, "g", LITERAL, "User:alice", READ, ALLOW),
    ]);
    let txn_denied = ResponseError::TransactionalIdAuthorizationFailed.code();
    let topic_denied = ResponseError::TopicAuthorizationFailed.code();
    assert_eq!(init_txn(&b.broker, "alice", "tx-denied").0, txn_denied);
    assert_eq!(init_txn(&b.broker, "admin", "tx-admin").0, 0);
    let (error, pid, epoch) = init_txn(&b.broker, "alice", "tx-ok");
    assert_eq!(error, 0);

    // AddPartitionsToTxn from a client (v3): the id first, then each topic;
    // one refused partition leaves the others OPERATION_NOT_ATTEMPTED.
    let add = |id: &'static str, names: &[&'static str]| {
        let req = AddPartitionsToTxnRequest::default()
            .with_v3_and_below_transactional_id(TransactionalId(name(id)))
            .with_v3_and_below_producer_id(ProducerId(pid))
            .with_v3_and_below_producer_epoch(epoch)
            .with_v3_and_below_topics(topics(names));
        let ResponseKind::AddPartitionsToTxn(r) = call_as(&b.broker, "alice", 3, RequestKind::AddPartitionsToTxn(req)) else { panic!() };
        r.results_by_topic_v3_and_below.iter().map(|t| (t.name.0.to_string(), t.results_by_partition[0].partition_error_code)).collect::<Vec<_>>()
    };
    assert_eq!(add("tx-denied", &["orders"]), [("orders".to_string(), txn_denied)]);
    assert_eq!(add("tx-ok", &["orders", "secret"]), [
        ("orders".to_string(), ResponseError::OperationNotAttempted.code()),
        ("secret".to_string(), topic_denied)
    ]);
    assert_eq!(add("tx-ok", &["orders"]), [("orders".to_string(), 0)]);
    // The broker-to-broker form (v4+) needs CLUSTER_ACTION.
    let ResponseKind::AddPartitionsToTxn(r) = call_as(&b.broker, "alice", 4, RequestKind::AddPartitionsToTxn(AddPartitionsToTxnRequest::default()))
    else {
        panic!()
    };
    assert_eq!(r.error_code, ResponseError::ClusterAuthorizationFailed.code());

    // AddOffsetsToTxn: READ on the group.
    let add_offsets = |group: &'static str| {
        let req = AddOffsetsToTxnRequest::default()
            .with_transactional_id(TransactionalId(name("tx-ok")))
            .with_producer_id(ProducerId(pid))
            .with_producer_epoch(epoch)
            .with_group_id(GroupId(name(group)));
        let ResponseKind::AddOffsetsToTxn(r) = call_as(&b.broker, "alice", 3, RequestKind::AddOffsetsToTxn(req)) else { panic!() };
        r.error_code
    };
    assert_eq!(add_offsets("other"), ResponseError::GroupAuthorizationFailed.code());
    assert_eq!(add_offsets("g"), 0);
    // TxnOffsetCommit: READ on each topic.
    let partition = |index| txn_offset_commit_request::TxnOffsetCommitRequestPartition::default().with_partition_index(index).with_committed_offset(1);
    let commit_topic = |n: &'static str| {
        txn_offset_commit_request::TxnOffsetCommitRequestTopic::default().with_name(TopicName(StrBytes::from_static_str(n))).with_partitions(vec![partition(0)])
    };
    let req = TxnOffsetCommitRequest::default()
        .with_transactional_id(TransactionalId(name("tx-ok")))
        .with_group_id(GroupId(name("g")))
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(epoch)
        .with_topics(vec![commit_topic("secret")]);
    let ResponseKind::TxnOffsetCommit(r) = call_as(&b.broker, "alice", 3, RequestKind::TxnOffsetCommit(req)) else { panic!() };
    assert_eq!(r.topics[0].partitions[0].error_code, topic_denied);

    // EndTxn: WRITE on the id.
    let end = |id: &'static str| {
        let req = EndTxnRequest::default().with_transactional_id(TransactionalId(name(id))).with_producer_id(ProducerId(pid)).with_producer_epoch(epoch).with_committed(false);
        let ResponseKind::EndTxn(r) = call_as(&b.broker, "alice", 3, RequestKind::EndTxn(req)) else { panic!() };
        r.error_code
    };
    assert_eq!(end("tx-denied"), txn_denied);
    assert_eq!(end("tx-ok"), 0);

    // The admin APIs show alice only what she may describe.
    let req = DescribeTransactionsRequest::default().with_transactional_ids(vec![TransactionalId(name("tx-ok")), TransactionalId(name("tx-admin"))]);
    let ResponseKind::DescribeTransactions(r) = call_as(&b.broker, "alice", 0, RequestKind::DescribeTransactions(req)) else { panic!() };
    assert_eq!(r.transaction_states.iter().map(|s| s.error_code).collect::<Vec<_>>(), [0, txn_denied]);
    let listed = |user: &str| {
        let ResponseKind::ListTransactions(r) = call_as(&b.broker, user, 1, RequestKind::ListTransactions(ListTransactionsRequest::default())) else { panic!() };
        r.transaction_states.iter().map(|s| s.transactional_id.0.to_string()).collect::<Vec<_>>()
    };
    assert_eq!(listed("alice"), ["tx-ok"]);
    assert_eq!(listed("admin"), ["tx-admin", "tx-ok"]);
    let req = DescribeProducersRequest::default().with_topics(vec![describe_producers_request::TopicRequest::default()
        .with_name(TopicName(StrBytes::from_static_str("secret")))
        .with_partition_indexes(vec![0])]);
    let ResponseKind::DescribeProducers(r) = call_as(&b.broker, "alice", 0, RequestKind::DescribeProducers(req)) else { panic!() };
    assert_eq!(r.topics[0].partitions[0].error_code, topic_denied);
}

#[test]
fn offset_fetch_hides_topics_the_principal_may_not_describe() {
    let b = acl_broker();
    for topic in ["orders", "secret"] {
        let req = CreateTopicsRequest::default().with_topics(vec![create_topics_request::CreatableTopic::default()
            .with_name(TopicName(StrBytes::from_static_str(topic)))
            .with_num_partitions(1)
            .with_replication_factor(1)]);
        call_as(&b.broker, "admin", 7, RequestKind::CreateTopics(req));
    }
    let commit_topic = |n: &'static str| {
        offset_commit_request::OffsetCommitRequestTopic::default()
            .with_name(TopicName(StrBytes::from_static_str(n)))
            .with_partitions(vec![offset_commit_request::OffsetCommitRequestPartition::default().with_partition_index(0).with_committed_offset(7)])
    };
    let req = OffsetCommitRequest::default()
        .with_group_id(GroupId(name("g")))
        .with_generation_id_or_member_epoch(-1)
        .with_topics(vec![commit_topic("orders"), commit_topic("secret")]);
    let ResponseKind::OffsetCommit(r) = call_as(&b.broker, "admin", 8, RequestKind::OffsetCommit(req)) else { panic!() };
    assert!(r.topics.iter().all(|t| t.partitions[0].error_code == 0));
    const DESCRIBE: i8 = 8;
    create_acls(&b.broker, "admin", vec![
        creation(GROUP, "g", LITERAL, "User:alice", DESCRIBE, ALLOW),
        creation(TOPIC, "orders", LITERAL, "User:alice", DESCRIBE, ALLOW),
    ]);
    let fetch = |topics: Option<Vec<&'static str>>| {
        let topics = topics.map(|names| {
            names
                .into_iter()
                .map(|n| offset_fetch_request::OffsetFetchRequestTopics::default().with_name(TopicName(StrBytes::from_static_str(n))).with_partition_indexes(vec![0]))
                .collect()
        });
        let group = offset_fetch_request::OffsetFetchRequestGroup::default().with_group_id(GroupId(name("g"))).with_topics(topics);
        let req = OffsetFetchRequest::default().with_groups(vec![group]);
        let ResponseKind::OffsetFetch(r) = call_as(&b.broker, "alice", 8, RequestKind::OffsetFetch(req)) else { panic!() };
        let group = &r.groups[0];
        assert_eq!(group.error_code, 0);
        group.topics.iter().map(|t| (t.name.0.to_string(), t.partitions[0].committed_offset, t.partitions[0].error_code)).collect::<Vec<_>>()
    };
    assert_eq!(fetch(Some(vec!["secret", "orders"])), [
        ("secret".to_string(), -1, ResponseError::TopicAuthorizationFailed.code()),
        ("orders".to_string(), 7, 0)
    ]);
    assert_eq!(fetch(None), [("orders".to_string(), 7, 0)]);
}
