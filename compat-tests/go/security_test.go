package compat

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// secured returns options for the SASL_SSL listener of the harness's broker
// (compat-tests/lib/security.py), logging in as user with password.
func secured(t *testing.T, user, password string) []kgo.Opt {
	t.Helper()
	addr := os.Getenv("STROM_SASL_SSL_BOOTSTRAP")
	if addr == "" {
		t.Skip("broker without secured listeners")
	}
	pem, err := os.ReadFile(os.Getenv("STROM_CA_FILE"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		t.Fatal("no CA certificate in STROM_CA_FILE")
	}
	dialer := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: &tls.Config{RootCAs: roots}}
	return []kgo.Opt{
		kgo.SeedBrokers(addr),
		kgo.Dialer(dialer.DialContext),
		kgo.SASL(scram.Auth{User: user, Pass: password}.AsSha512Mechanism()),
	}
}

func TestSaslSslScramSha512ProduceConsume(t *testing.T) {
	topic := uniqueTopic(t)
	opts := append(secured(t, "strom", os.Getenv("STROM_SASL_STROM_PASSWORD")), kgo.ConsumeTopics(topic), kgo.AllowAutoTopicCreation())
	cl, _, ctx := clients(t, opts...)
	res := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("over-tls")})
	if err := res.FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	fetches := cl.PollFetches(ctx)
	if errs := fetches.Errors(); len(errs) > 0 {
		t.Fatalf("fetch: %v", errs)
	}
	records := fetches.Records()
	if len(records) != 1 || string(records[0].Value) != "over-tls" {
		t.Fatalf("consumed %v", records)
	}
}

func TestWrongPasswordIsRefused(t *testing.T) {
	cl, _, ctx := clients(t, secured(t, "alice", "not-her-password")...)
	err := cl.Ping(ctx)
	if !errors.Is(err, kerr.SaslAuthenticationFailed) {
		t.Fatalf("ping: %v, want SASL_AUTHENTICATION_FAILED", err)
	}
	want := "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512"
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q lacks Kafka's message %q", err, want)
	}
}
