// Package compat runs franz-go (kgo + kadm) against a strom broker whose address
// is in STROM_BOOTSTRAP (compat-tests/run.sh starts a fresh one and sets it).
// Every expectation is what a single-node Apache Kafka (node id 1) answers.
package compat

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// timeout bounds every test: generous for a local broker, short enough that a
// hang fails quickly.
const timeout = 15 * time.Second

// bootstrap is the broker under test.
func bootstrap(t *testing.T) string {
	t.Helper()
	addr := os.Getenv("STROM_BOOTSTRAP")
	if addr == "" {
		t.Fatal("STROM_BOOTSTRAP is not set: run these tests through compat-tests/run.sh")
	}
	return addr
}

// clients returns a kgo client with extra options, its kadm admin, and a
// context bounded by timeout; all are closed when the test ends.
func clients(t *testing.T, opts ...kgo.Opt) (*kgo.Client, *kadm.Client, context.Context) {
	t.Helper()
	opts = append([]kgo.Opt{
		kgo.SeedBrokers(bootstrap(t)),
		kgo.ClientID("strom-compat-go"),
		// kadm answers topic lookups from a metadata cache kept for MetadataMinAge
		// (default 5s); a short age lets a test see a topic it just created.
		kgo.MetadataMinAge(100 * time.Millisecond),
	}, opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatalf("kgo.NewClient: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(func() {
		cancel()
		cl.Close()
	})
	return cl, kadm.NewClient(cl), ctx
}

// uniqueTopic returns a topic name no other test uses.
func uniqueTopic(t *testing.T) string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	// Subtest names hold '/', which topic names may not.
	return strings.ReplaceAll(t.Name(), "/", ".") + "-" + hex.EncodeToString(b[:])
}

// eventually polls cond for up to 10 seconds: Kafka propagates topic changes to
// its metadata cache asynchronously.
func eventually(cond func() bool) bool {
	deadline := time.Now().Add(10 * time.Second)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// createTopic creates one topic, waits until it is listed and fails the test on any error.
func createTopic(t *testing.T, ctx context.Context, adm *kadm.Client, partitions int32, configs map[string]*string, topic string) kadm.CreateTopicResponse {
	t.Helper()
	resp, err := adm.CreateTopic(ctx, partitions, 1, configs, topic)
	if err != nil {
		t.Fatalf("CreateTopic %s: %v", topic, err)
	}
	// kadm looks topics up in metadata first for some requests (CreatePartitions);
	// Kafka shows a new topic there only shortly after CreateTopics returns.
	if !eventually(func() bool { return listed(ctx, adm, topic) }) {
		t.Fatalf("%s not listed after creation", topic)
	}
	return resp
}

// listed reports whether ListTopics shows the topic.
func listed(ctx context.Context, adm *kadm.Client, topic string) bool {
	topics, err := adm.ListTopics(ctx)
	return err == nil && topics.Has(topic)
}
