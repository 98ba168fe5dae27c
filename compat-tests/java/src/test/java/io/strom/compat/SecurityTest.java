package io.strom.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutionException;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.SslAuthenticationException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The Java clients on the harness broker's SSL, SASL_PLAINTEXT and SASL_SSL
 * listeners (compat-tests/lib/security.py): produce and consume with every
 * mechanism and with and without a client certificate, and the refusals of bad
 * credentials and of a server certificate the client does not trust.
 *
 * The JDK's key manager presents a client certificate only when its issuer is
 * among the CAs the server asks for, so an untrusted client certificate is
 * never sent: the client connects without one (User:ANONYMOUS here, as with
 * Kafka's ssl.client.auth=requested). That refusal is proven with kafka-python,
 * franz-go and kafkajs, whose TLS stacks send what they are given.
 */
class SecurityTest {
    private static Properties client(String protocol, String mechanism) {
        if (mechanism.equals("client-certificate")) {
            return Secured.ssl("CLIENT");
        }
        if (mechanism.equals("none")) {
            return Secured.listener(protocol, "STROM_CA_FILE");
        }
        return Secured.user(protocol, mechanism, "strom");
    }

    // SSL without a certificate is User:ANONYMOUS, with the trusted one its
    // subject; both are super users in the harness, as is strom.
    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"SSL,none", "SSL,client-certificate",
        "SASL_PLAINTEXT,PLAIN", "SASL_PLAINTEXT,SCRAM-SHA-256", "SASL_PLAINTEXT,SCRAM-SHA-512",
        "SASL_SSL,PLAIN", "SASL_SSL,SCRAM-SHA-256", "SASL_SSL,SCRAM-SHA-512"})
    void produceAndConsume(String protocol, String mechanism) throws Exception {
        String topic = Strom.uniqueTopic("secured");
        Properties props = client(protocol, mechanism);
        assertEquals(0, Secured.send(props, topic, "over " + protocol));
        assertEquals(List.of("over " + protocol), Secured.read(props, topic, 1));
    }

    /** What listing topics fails with. */
    private static Throwable refusal(Properties props) {
        try (Admin admin = Admin.create(props)) {
            return assertThrows(ExecutionException.class, () -> admin.listTopics().names().get()).getCause();
        }
    }

    // Kafka's PLAIN server says what failed; every SCRAM failure gets one
    // message that does not tell an unknown user from a wrong password.
    @ParameterizedTest(name = "{2} over {0} with {1}")
    @CsvSource({"SASL_SSL,PLAIN,alice,not-her-password,Authentication failed: Invalid username or password",
        "SASL_PLAINTEXT,PLAIN,mallory,whatever,Authentication failed: Invalid username or password",
        "SASL_SSL,SCRAM-SHA-256,alice,not-her-password,",
        "SASL_PLAINTEXT,SCRAM-SHA-256,mallory,whatever,",
        "SASL_SSL,SCRAM-SHA-512,alice,not-her-password,",
        "SASL_PLAINTEXT,SCRAM-SHA-512,mallory,whatever,"})
    void badCredentialsAreRefused(String protocol, String mechanism, String user, String password, String message) {
        Throwable e = refusal(Secured.sasl(protocol, mechanism, user, password));
        assertInstanceOf(SaslAuthenticationException.class, e);
        String expected = message != null ? message
            : "Authentication failed during authentication due to invalid credentials with SASL mechanism " + mechanism;
        assertEquals(expected, e.getMessage());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"SSL,none", "SASL_SSL,SCRAM-SHA-256"})
    void clientRefusesAServerItDoesNotTrust(String protocol, String mechanism) {
        Properties props = client(protocol, mechanism);
        props.putAll(Secured.listener(protocol, "STROM_UNTRUSTED_CA_FILE"));
        Throwable e = refusal(props);
        assertInstanceOf(SslAuthenticationException.class, e);
        assertEquals("SSL handshake failed", e.getMessage());
    }
}
