package compat

import (
	"context"
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
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// The harness broker's secured listeners (compat-tests/lib/security.py):
// users strom (a super user), alice and bob (no ACLs), a CA, a trusted client
// certificate (a super user) and an untrusted one. SSL clients without a
// certificate are User:ANONYMOUS, a super user too.

// refusalTimeout bounds a connection that should be refused: a refusal takes
// milliseconds, so this only matters if the broker wrongly lets it through.
const refusalTimeout = 5 * time.Second

func securityEnv(t *testing.T, name string) string {
	t.Helper()
	value := os.Getenv(name)
	if value == "" {
		t.Skip("broker without secured listeners")
	}
	return value
}

// tlsConfig trusts the CA in the environment variable ca; cert, if set, names
// the client certificate to present (CLIENT or UNTRUSTED). The certificate is
// presented whatever CAs the server asks for: Go would otherwise withhold one
// the server does not trust.
func tlsConfig(t *testing.T, ca, cert string) *tls.Config {
	t.Helper()
	pem, err := os.ReadFile(securityEnv(t, ca))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		t.Fatalf("no CA certificate in %s", ca)
	}
	config := &tls.Config{RootCAs: roots}
	if cert != "" {
		pair, err := tls.LoadX509KeyPair(securityEnv(t, "STROM_"+cert+"_CERT_FILE"), securityEnv(t, "STROM_"+cert+"_KEY_FILE"))
		if err != nil {
			t.Fatal(err)
		}
		config.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &pair, nil }
	}
	return config
}

func mechanism(t *testing.T, name, user, password string) sasl.Mechanism {
	t.Helper()
	switch name {
	case "PLAIN":
		return plain.Auth{User: user, Pass: password}.AsMechanism()
	case "SCRAM-SHA-256":
		return scram.Auth{User: user, Pass: password}.AsSha256Mechanism()
	case "SCRAM-SHA-512":
		return scram.Auth{User: user, Pass: password}.AsSha512Mechanism()
	}
	t.Fatalf("unknown mechanism %s", name)
	return nil
}

// listener holds what a client needs for one secured listener.
type listener struct {
	protocol  string // SSL, SASL_PLAINTEXT or SASL_SSL
	mechanism string // SASL mechanism, or "" on SSL
	user      string
	password  string
	ca        string // environment variable naming the CA file to trust
	cert      string // client certificate to present: "", CLIENT or UNTRUSTED
}

func (l listener) opts(t *testing.T) []kgo.Opt {
	t.Helper()
	opts := []kgo.Opt{kgo.SeedBrokers(securityEnv(t, "STROM_"+l.protocol+"_BOOTSTRAP"))}
	if strings.HasSuffix(l.protocol, "SSL") {
		ca := l.ca
		if ca == "" {
			ca = "STROM_CA_FILE"
		}
		dialer := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: tlsConfig(t, ca, l.cert)}
		opts = append(opts, kgo.Dialer(dialer.DialContext))
	}
	if l.mechanism != "" {
		password := l.password
		if password == "" {
			password = securityEnv(t, "STROM_SASL_"+strings.ToUpper(l.user)+"_PASSWORD")
		}
		opts = append(opts, kgo.SASL(mechanism(t, l.mechanism, l.user, password)))
	}
	return opts
}

// name is the protocol, mechanism and client certificate that are set, e.g. "SSL-CLIENT".
func (l listener) name() string {
	var parts []string
	for _, p := range []string{l.protocol, l.mechanism, l.cert} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, "-")
}

func strom(protocol, mech string) listener {
	return listener{protocol: protocol, mechanism: mech, user: "strom"}
}

func TestSecuredProduceConsume(t *testing.T) {
	for _, l := range []listener{
		{protocol: "SSL"}, {protocol: "SSL", cert: "CLIENT"},
		strom("SASL_PLAINTEXT", "PLAIN"), strom("SASL_PLAINTEXT", "SCRAM-SHA-256"), strom("SASL_PLAINTEXT", "SCRAM-SHA-512"),
		strom("SASL_SSL", "PLAIN"), strom("SASL_SSL", "SCRAM-SHA-256"), strom("SASL_SSL", "SCRAM-SHA-512"),
	} {
		t.Run(l.name(), func(t *testing.T) {
			topic := uniqueTopic(t)
			cl, _, ctx := clients(t, append(l.opts(t), kgo.ConsumeTopics(topic), kgo.AllowAutoTopicCreation())...)
			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("over " + l.protocol)}).FirstErr(); err != nil {
				t.Fatalf("produce: %v", err)
			}
			fetches := cl.PollFetches(ctx)
			if errs := fetches.Errors(); len(errs) > 0 {
				t.Fatalf("fetch: %v", errs)
			}
			if records := fetches.Records(); len(records) != 1 || string(records[0].Value) != "over "+l.protocol {
				t.Fatalf("consumed %v", records)
			}
		})
	}
}

// ping connects once with a short timeout and returns why it failed.
func ping(t *testing.T, l listener) error {
	t.Helper()
	cl, err := kgo.NewClient(l.opts(t)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), refusalTimeout)
	defer cancel()
	err = cl.Ping(ctx)
	if err == nil {
		t.Fatal("the connection was not refused")
	}
	return err
}

func TestBadCredentialsAreRefused(t *testing.T) {
	for _, mech := range []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"} {
		// Kafka's PLAIN server says what failed; every SCRAM failure gets one
		// message that does not tell an unknown user from a wrong password.
		want := "Authentication failed during authentication due to invalid credentials with SASL mechanism " + mech
		if mech == "PLAIN" {
			want = "Authentication failed: Invalid username or password"
		}
		for _, l := range []listener{
			{protocol: "SASL_SSL", mechanism: mech, user: "alice", password: "not-her-password"},
			{protocol: "SASL_PLAINTEXT", mechanism: mech, user: "mallory", password: "whatever"},
		} {
			t.Run(mech+"-"+l.user, func(t *testing.T) {
				err := ping(t, l)
				if !errors.Is(err, kerr.SaslAuthenticationFailed) || !strings.Contains(err.Error(), want) {
					t.Fatalf("ping: %v, want SASL_AUTHENTICATION_FAILED with %q", err, want)
				}
			})
		}
	}
}

func TestClientRefusesAServerItDoesNotTrust(t *testing.T) {
	for _, l := range []listener{
		{protocol: "SSL", ca: "STROM_UNTRUSTED_CA_FILE"},
		{protocol: "SASL_SSL", mechanism: "SCRAM-SHA-256", user: "strom", ca: "STROM_UNTRUSTED_CA_FILE"},
	} {
		t.Run(l.protocol, func(t *testing.T) {
			var unknown x509.UnknownAuthorityError
			if err := ping(t, l); !errors.As(err, &unknown) {
				t.Fatalf("ping: %v, want x509.UnknownAuthorityError", err)
			}
		})
	}
}

func TestUntrustedClientCertificateIsRefused(t *testing.T) {
	// Kafka's TLS stack (the JDK's) rejects it with a certificate_unknown
	// alert, which Go reports as a "remote error".
	var remote *net.OpError
	err := ping(t, listener{protocol: "SSL", cert: "UNTRUSTED"})
	if !errors.As(err, &remote) || remote.Op != "remote error" || remote.Err.Error() != "tls: unknown certificate" {
		t.Fatalf("ping: %v, want the alert certificate_unknown", err)
	}
}
