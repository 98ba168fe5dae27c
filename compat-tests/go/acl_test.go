package compat

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// alice has no ACLs in the harness broker (compat-tests/lib/security.py); the
// super user strom grants hers through kadm. Every ACL names this test's own
// topics and group.

var alice = listener{protocol: "SASL_PLAINTEXT", mechanism: "SCRAM-SHA-256", user: "alice"}

// asAlice runs body with a client of alice's and closes it before returning:
// a refused group member left running would rejoin in the background once
// ACLs allow it, and take the partitions from the next one.
func asAlice(t *testing.T, opts []kgo.Opt, body func(context.Context, *kgo.Client) error) error {
	t.Helper()
	cl, err := kgo.NewClient(append(append([]kgo.Opt{kgo.ClientID("strom-compat-go")}, alice.opts(t)...), opts...)...)
	if err != nil {
		t.Fatalf("kgo.NewClient: %v", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return body(ctx, cl)
}

// aliceProduce sends one record to partition 0 of topic and returns its error.
func aliceProduce(t *testing.T, topic string, opts ...kgo.Opt) error {
	return asAlice(t, append([]kgo.Opt{kgo.RecordPartitioner(kgo.ManualPartitioner())}, opts...), func(ctx context.Context, cl *kgo.Client) error {
		return cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Partition: 0, Value: []byte("from alice")}).FirstErr()
	})
}

// aliceConsume polls with opts until two values arrived and returns them, or the first error.
func aliceConsume(t *testing.T, commit bool, opts ...kgo.Opt) (values []string, err error) {
	err = asAlice(t, opts, func(ctx context.Context, cl *kgo.Client) error {
		for len(values) < 2 {
			fetches := cl.PollRecords(ctx, 2-len(values))
			if err := fetches.Err0(); err != nil {
				return err
			}
			for _, r := range fetches.Records() {
				values = append(values, string(r.Value))
			}
		}
		if commit {
			return cl.CommitUncommittedOffsets(ctx)
		}
		return nil
	})
	return values, err
}

func aliceFetch(t *testing.T, topic string) ([]string, error) {
	return aliceConsume(t, false, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
}

func aliceGroupConsume(t *testing.T, topic, group string) ([]string, error) {
	return aliceConsume(t, true, kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic), kgo.DisableAutoCommit())
}

func aliceCreateTopic(t *testing.T, topic string) error {
	return asAlice(t, nil, func(ctx context.Context, cl *kgo.Client) error {
		resp, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, topic)
		if err != nil {
			return err
		}
		return resp.Err
	})
}

// revokeOnFailure deletes principal's ACLs on the resources if the test
// fails before it does: a WRITE left on any topic would let the principal's
// idempotent producers through InitProducerId in later tests (KIP-679).
func revokeOnFailure(t *testing.T, adm *kadm.Client, acls *kadm.ACLBuilder) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		_, _ = adm.DeleteACLs(ctx, acls)
	})
}

// grant allows principal the builder's literal resources and operations, and
// waits until the broker applies them.
func grant(t *testing.T, ctx context.Context, adm *kadm.Client, principal string, acls *kadm.ACLBuilder) {
	t.Helper()
	acls = acls.Allow(principal).ResourcePatternType(kadm.ACLPatternLiteral)
	results, err := adm.CreateACLs(ctx, acls)
	if err != nil {
		t.Fatalf("CreateACLs: %v", err)
	}
	for _, r := range results {
		if r.Err != nil {
			t.Fatalf("CreateACLs %s %s: %v", r.Name, r.Operation, r.Err)
		}
	}
	// Kafka's broker applies ACLs from the metadata log shortly after
	// CreateAcls returns; DescribeAcls answers from the same authorizer.
	if !eventually(func() bool { return describedACLs(ctx, adm, acls.AllowHosts()) == len(results) }) {
		t.Fatalf("%d ACLs created but not described", len(results))
	}
}

// describedACLs counts the ACLs that DescribeAcls lists for the builder's filters.
func describedACLs(ctx context.Context, adm *kadm.Client, acls *kadm.ACLBuilder) int {
	described, err := adm.DescribeACLs(ctx, acls)
	if err != nil {
		return -1
	}
	count := 0
	for _, d := range described {
		if d.Err != nil {
			return -1
		}
		count += len(d.Described)
	}
	return count
}

func expect(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: %v, want %v", what, err, want)
	}
}

func TestAclsRefuseAndThenAllowEachOperation(t *testing.T) {
	topic, created, group := uniqueTopic(t), uniqueTopic(t)+"-created", uniqueTopic(t)+"-group"
	_, adm, ctx := clients(t, strom("SASL_SSL", "SCRAM-SHA-512").opts(t)...)
	createTopic(t, ctx, adm, 1, nil, topic)
	revokeOnFailure(t, adm, kadm.NewACLs().Topics(topic, created).Groups(group).Allow("User:alice").AllowHosts().
		Operations(kadm.OpAny).ResourcePatternType(kadm.ACLPatternLiteral))
	owner, _, _ := clients(t, strom("SASL_SSL", "SCRAM-SHA-512").opts(t)...)
	if err := owner.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("first")}).FirstErr(); err != nil {
		t.Fatalf("produce as strom: %v", err)
	}

	// No ACLs: Metadata hides the topic, FindCoordinator refuses the group,
	// CreateTopics refuses the topic. (A group consumer would race its topic's
	// and its group's refusals: the group is asked about alone.)
	expect(t, "produce", aliceProduce(t, topic), kerr.TopicAuthorizationFailed)
	_, err := aliceFetch(t, topic)
	expect(t, "fetch", err, kerr.TopicAuthorizationFailed)
	_, aliceAdm, _ := clients(t, alice.opts(t)...)
	_, err = aliceAdm.ListTopics(ctx, topic)
	expect(t, "describe topic", err, kerr.TopicAuthorizationFailed)
	_, err = aliceAdm.FetchOffsets(ctx, group)
	expect(t, "fetch offsets", err, kerr.GroupAuthorizationFailed)
	expect(t, "create topic", aliceCreateTopic(t, created), kerr.TopicAuthorizationFailed)

	// DESCRIBE only: Produce, Fetch and JoinGroup themselves refuse. The
	// idempotent producer (the default) is refused its producer id first: that
	// needs IDEMPOTENT_WRITE on the cluster or WRITE on some topic (KIP-679).
	grant(t, ctx, adm, "User:alice", kadm.NewACLs().Topics(topic).Groups(group).Operations(kadm.OpDescribe))
	expect(t, "idempotent produce", aliceProduce(t, topic), kerr.ClusterAuthorizationFailed)
	expect(t, "produce", aliceProduce(t, topic, kgo.DisableIdempotentWrite()), kerr.TopicAuthorizationFailed)
	_, err = aliceFetch(t, topic)
	expect(t, "fetch", err, kerr.TopicAuthorizationFailed)
	_, err = aliceGroupConsume(t, topic, group)
	expect(t, "group consume", err, kerr.GroupAuthorizationFailed)

	grant(t, ctx, adm, "User:alice", kadm.NewACLs().Topics(topic).Operations(kadm.OpWrite, kadm.OpRead))
	grant(t, ctx, adm, "User:alice", kadm.NewACLs().Groups(group).Operations(kadm.OpRead))
	grant(t, ctx, adm, "User:alice", kadm.NewACLs().Topics(created).Operations(kadm.OpCreate))
	if err := aliceProduce(t, topic); err != nil {
		t.Fatalf("produce with WRITE: %v", err)
	}
	for what, consume := range map[string]func() ([]string, error){
		"fetch":         func() ([]string, error) { return aliceFetch(t, topic) },
		"group consume": func() ([]string, error) { return aliceGroupConsume(t, topic, group) },
	} {
		if values, err := consume(); err != nil || len(values) != 2 || values[0] != "first" || values[1] != "from alice" {
			t.Fatalf("%s with READ: %v, %v", what, values, err)
		}
	}
	offsets, err := adm.FetchOffsets(ctx, group)
	if o, ok := offsets.Lookup(topic, 0); err != nil || !ok || o.At != 2 {
		t.Fatalf("committed offset: %+v %v", o, err)
	}
	if err := aliceCreateTopic(t, created); err != nil {
		t.Fatalf("create topic with CREATE: %v", err)
	}

	// alice may not manage ACLs; strom removes hers.
	results, err := aliceAdm.CreateACLs(ctx, kadm.NewACLs().Allow("User:alice").Topics("*").Operations(kadm.OpAll).ResourcePatternType(kadm.ACLPatternLiteral))
	if err == nil && len(results) > 0 {
		err = results[0].Err
	}
	expect(t, "CreateACLs as alice", err, kerr.ClusterAuthorizationFailed)
	deleted, err := adm.DeleteACLs(ctx, kadm.NewACLs().Allow("User:alice").AllowHosts("*").Topics(topic, created).Groups(group).
		Operations(kadm.OpAny).ResourcePatternType(kadm.ACLPatternLiteral))
	count := 0
	for _, d := range deleted {
		count += len(d.Deleted)
	}
	if err != nil || count != 6 {
		t.Fatalf("DeleteACLs: %d deleted, %v", count, err)
	}
}

// clusterRefusals is what a principal gets for cluster operations: nil
// where allowed, CLUSTER_AUTHORIZATION_FAILED where not.
type clusterRefusals struct{ describeAcls, describeScram, describeConfigs, createAcls, alterScram error }

func (r clusterRefusals) String() string {
	return fmt.Sprintf("DescribeAcls %v, DescribeUserScramCredentials %v, DescribeConfigs %v, CreateAcls %v, AlterUserScramCredentials %v",
		r.describeAcls, r.describeScram, r.describeConfigs, r.createAcls, r.alterScram)
}

// is reports whether each operation failed with the matching error (nil: allowed).
func (r clusterRefusals) is(want clusterRefusals) bool {
	same := func(got, want error) bool {
		return (got == nil && want == nil) || (want != nil && errors.Is(got, want))
	}
	return same(r.describeAcls, want.describeAcls) && same(r.describeScram, want.describeScram) &&
		same(r.describeConfigs, want.describeConfigs) && same(r.createAcls, want.createAcls) && same(r.alterScram, want.alterScram)
}

func clusterOperations(t *testing.T, ctx context.Context, adm *kadm.Client, user, topic string) clusterRefusals {
	t.Helper()
	var r clusterRefusals
	described, err := adm.DescribeACLs(ctx, kadm.NewACLs().Clusters().Allow("User:"+user).AllowHosts().
		Operations(kadm.OpAny).ResourcePatternType(kadm.ACLPatternLiteral))
	if r.describeAcls = err; err == nil {
		r.describeAcls = described[0].Err
	}
	_, r.describeScram = adm.DescribeUserSCRAMs(ctx, user)
	configs, err := adm.DescribeBrokerConfigs(ctx, 1)
	if r.describeConfigs = err; err == nil {
		r.describeConfigs = configs[0].Err
	}
	created, err := adm.CreateACLs(ctx, kadm.NewACLs().Topics(topic).Allow("User:"+user).Operations(kadm.OpRead).
		ResourcePatternType(kadm.ACLPatternLiteral))
	if r.createAcls = err; err == nil {
		r.createAcls = created[0].Err
	}
	altered, err := adm.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{User: user, Mechanism: kadm.ScramSha512, Password: user}})
	if r.alterScram = err; err == nil {
		r.alterScram = altered[user].Err
	}
	return r
}

func TestClusterAclsRefuseAndThenAllowEachOperation(t *testing.T) {
	// A user of this test's own, created through AlterUserScramCredentials.
	user, topic := "carol-"+uniqueTopic(t), uniqueTopic(t)
	_, adm, ctx := clients(t, strom("SASL_SSL", "SCRAM-SHA-512").opts(t)...)
	altered, err := adm.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{User: user, Mechanism: kadm.ScramSha256, Password: "carol-secret"}})
	if err != nil || altered.Error() != nil {
		t.Fatalf("AlterUserScramCredentials: %v %v", err, altered.Error())
	}
	revokeOnFailure(t, adm, kadm.NewACLs().Clusters().Topics(topic).Allow("User:"+user).AllowHosts().
		Operations(kadm.OpAny).ResourcePatternType(kadm.ACLPatternLiteral))
	carol := listener{protocol: "SASL_PLAINTEXT", mechanism: "SCRAM-SHA-256", user: user, password: "carol-secret"}
	carolCl, carolAdm, _ := clients(t, carol.opts(t)...)
	// Kafka's broker learns a new credential from the metadata log shortly after.
	if !eventually(func() bool { return carolCl.Ping(ctx) == nil }) {
		t.Fatal("the new user cannot log in")
	}

	denied := kerr.ClusterAuthorizationFailed
	if got, want := clusterOperations(t, ctx, carolAdm, user, topic), (clusterRefusals{denied, denied, denied, denied, denied}); !got.is(want) {
		t.Fatalf("without ACLs: %v\nwant %v", got, want)
	}

	// DESCRIBE on the cluster: implied by ALTER, it implies no DESCRIBE_CONFIGS.
	grant(t, ctx, adm, "User:"+user, kadm.NewACLs().Clusters().Operations(kadm.OpDescribe))
	if got, want := clusterOperations(t, ctx, carolAdm, user, topic), (clusterRefusals{nil, nil, denied, denied, denied}); !got.is(want) {
		t.Fatalf("with DESCRIBE: %v\nwant %v", got, want)
	}
	scram, err := carolAdm.DescribeUserSCRAMs(ctx, user)
	if err != nil || len(scram[user].CredInfos) != 1 || scram[user].CredInfos[0] != (kadm.CredInfo{Mechanism: kadm.ScramSha256, Iterations: 4096}) {
		t.Fatalf("DescribeUserScramCredentials: %+v %v", scram, err)
	}

	grant(t, ctx, adm, "User:"+user, kadm.NewACLs().Clusters().Operations(kadm.OpAlter, kadm.OpDescribeConfigs))
	if got := clusterOperations(t, ctx, carolAdm, user, topic); !got.is(clusterRefusals{}) {
		t.Fatalf("with ALTER and DESCRIBE_CONFIGS: %v", got)
	}
	// Her own SCRAM-SHA-512 credential (the password is her name) works.
	sha512 := listener{protocol: "SASL_SSL", mechanism: "SCRAM-SHA-512", user: user, password: user}
	cl512, _, _ := clients(t, sha512.opts(t)...)
	if !eventually(func() bool { return cl512.Ping(ctx) == nil }) {
		t.Fatal("the credential carol added does not log her in")
	}

	mine := kadm.NewACLs().Clusters().Topics(topic).Allow("User:" + user).AllowHosts("*").Operations(kadm.OpAny).
		ResourcePatternType(kadm.ACLPatternLiteral)
	deleted, err := adm.DeleteACLs(ctx, mine)
	count := 0
	for _, d := range deleted {
		count += len(d.Deleted)
	}
	if err != nil || count != 4 {
		t.Fatalf("DeleteACLs: %d deleted (DESCRIBE, ALTER, DESCRIBE_CONFIGS, her READ), %v", count, err)
	}
	// One alteration per user and request.
	for _, mechanism := range []kadm.ScramMechanism{kadm.ScramSha256, kadm.ScramSha512} {
		deleted, err := adm.AlterUserSCRAMs(ctx, []kadm.DeleteSCRAM{{User: user, Mechanism: mechanism}}, nil)
		if err != nil || deleted.Error() != nil {
			t.Fatalf("deleting %s: %v %v", mechanism, err, deleted.Error())
		}
	}
}
