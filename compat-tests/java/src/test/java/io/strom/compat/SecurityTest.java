package io.strom.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutionException;

import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.config.SslConfigs;
import org.apache.kafka.common.errors.ClusterAuthorizationException;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.Exit;
import org.junit.jupiter.api.Test;

/**
 * SASL_SSL, SASL_PLAINTEXT and ACLs with the Java clients. The harness's broker
 * (compat-tests/lib/security.py) has users strom (super user), alice and bob (no
 * ACLs), and treats PLAINTEXT clients as a super user, which is how these tests
 * create ACLs.
 */
class SecurityTest {
    private static String env(String name) {
        String value = System.getenv(name);
        assumeTrue(value != null && !value.isBlank(), "broker without secured listeners (" + name + ")");
        return value;
    }

    private static Properties sasl(String protocol, String mechanism, String user, String password) {
        Properties props = Strom.clientProperties();
        props.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, env("STROM_" + protocol + "_BOOTSTRAP"));
        props.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, protocol);
        props.put(SaslConfigs.SASL_MECHANISM, mechanism);
        String module = mechanism.equals("PLAIN") ? "org.apache.kafka.common.security.plain.PlainLoginModule"
            : "org.apache.kafka.common.security.scram.ScramLoginModule";
        props.put(SaslConfigs.SASL_JAAS_CONFIG, module + " required username=\"" + user + "\" password=\"" + password + "\";");
        if (protocol.endsWith("SSL")) {
            props.put(SslConfigs.SSL_TRUSTSTORE_TYPE_CONFIG, "PEM");
            props.put(SslConfigs.SSL_TRUSTSTORE_LOCATION_CONFIG, env("STROM_CA_FILE"));
        }
        return props;
    }

    private static Properties user(String protocol, String mechanism, String name) {
        return sasl(protocol, mechanism, name, env("STROM_SASL_" + name.toUpperCase() + "_PASSWORD"));
    }

    private static long send(Properties props, String topic, String value) throws Exception {
        Properties p = (Properties) props.clone();
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, (int) Strom.TIMEOUT.toMillis());
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) Strom.TIMEOUT.toMillis() + 1000);
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
            return producer.send(new ProducerRecord<>(topic, 0, null, value)).get().offset();
        }
    }

    private static List<String> read(Properties props, String topic, int count) {
        Properties p = (Properties) props.clone();
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        List<String> values = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p)) {
            consumer.assign(List.of(new TopicPartition(topic, 0)));
            long deadline = System.nanoTime() + Strom.TIMEOUT.toNanos();
            while (values.size() < count && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    values.add(r.value());
                }
            }
        }
        return values;
    }

    @Test
    void saslSslScramSha512ProduceAndConsume() throws Exception {
        String topic = Strom.uniqueTopic("sasl-ssl");
        Properties props = user("SASL_SSL", "SCRAM-SHA-512", "strom");
        assertEquals(0, send(props, topic, "over-tls"));
        assertEquals(List.of("over-tls"), read(props, topic, 1));
    }

    @Test
    void wrongPasswordIsRefused() {
        Properties props = sasl("SASL_SSL", "SCRAM-SHA-512", "alice", "not-her-password");
        try (Admin admin = Admin.create(props)) {
            ExecutionException e = assertThrows(ExecutionException.class, () -> admin.listTopics().names().get());
            assertInstanceOf(SaslAuthenticationException.class, e.getCause());
            assertEquals("Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512",
                e.getCause().getMessage());
        }
    }

    private static AclBinding allow(ResourceType type, String name, String principal, AclOperation op) {
        return new AclBinding(new ResourcePattern(type, name, PatternType.LITERAL),
            new AccessControlEntry(principal, "*", op, AclPermissionType.ALLOW));
    }

    @Test
    void aliceIsRefusedWhatHerAclsLackAndAllowedWhatTheyGrant() throws Exception {
        String topic = Strom.uniqueTopic("acl");
        try (Admin admin = Strom.admin()) {
            admin.createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic(topic, 1, (short) 1))).all().get();
        }
        Properties alice = user("SASL_PLAINTEXT", "SCRAM-SHA-256", "alice");
        // No ACLs: the producer's metadata request for the topic is refused, and
        // describing the topic fails too.
        ExecutionException e = assertThrows(ExecutionException.class, () -> send(alice, topic, "x"));
        assertInstanceOf(TopicAuthorizationException.class, e.getCause());
        try (Admin asAlice = Admin.create(alice)) {
            e = assertThrows(ExecutionException.class, () -> asAlice.describeTopics(List.of(topic)).allTopicNames().get());
            assertInstanceOf(TopicAuthorizationException.class, e.getCause());
            assertTrue(asAlice.listTopics().names().get().isEmpty(), "alice sees no topic");
        }

        try (Admin admin = Strom.admin()) {
            admin.createAcls(List.of(allow(ResourceType.TOPIC, topic, "User:alice", AclOperation.WRITE),
                allow(ResourceType.TOPIC, topic, "User:alice", AclOperation.READ))).all().get();
            Collection<AclBinding> listed = admin.describeAcls(new AclBindingFilter(
                new ResourcePattern(ResourceType.TOPIC, topic, PatternType.LITERAL).toFilter(),
                org.apache.kafka.common.acl.AccessControlEntryFilter.ANY)).values().get();
            assertEquals(2, listed.size(), listed::toString);
        }
        assertEquals(0, send(alice, topic, "granted"));
        assertEquals(List.of("granted"), read(alice, topic, 1));
        try (Admin asAlice = Admin.create(alice)) {
            assertEquals(java.util.Set.of(topic), asAlice.listTopics().names().get());
            // alice may not manage ACLs.
            e = assertThrows(ExecutionException.class,
                () -> asAlice.createAcls(List.of(allow(ResourceType.TOPIC, "*", "User:alice", AclOperation.ALL))).all().get());
            assertInstanceOf(ClusterAuthorizationException.class, e.getCause());
        }
        try (Admin admin = Strom.admin()) {
            admin.deleteAcls(List.of(new AclBindingFilter(
                new ResourcePattern(ResourceType.TOPIC, topic, PatternType.LITERAL).toFilter(),
                org.apache.kafka.common.acl.AccessControlEntryFilter.ANY))).all().get();
        }
    }

    /** Kafka's kafka-acls command (AclCommand, in kafka-tools from Kafka 4.0 on), in-process. */
    private static String kafkaAcls(String... args) throws Exception {
        Class<?> command;
        try {
            command = Class.forName("org.apache.kafka.tools.AclCommand");
        } catch (ClassNotFoundException e) {
            assumeTrue(false, "this Kafka release has no AclCommand in kafka-tools");
            return "";
        }
        List<String> argv = new ArrayList<>(List.of("--bootstrap-server", Strom.bootstrap()));
        argv.addAll(List.of(args));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream saved = System.out;
        Exit.setExitProcedure((status, message) -> {
            throw new IllegalStateException("kafka-acls exited with " + status + ": " + message + "\n" + out);
        });
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            Method main = command.getMethod("main", String[].class);
            main.invoke(null, (Object) argv.toArray(new String[0]));
        } finally {
            System.setOut(saved);
            Exit.resetExitProcedure();
        }
        String printed = out.toString(StandardCharsets.UTF_8);
        saved.println("kafka-acls " + String.join(" ", args) + " ->\n" + printed);
        return printed;
    }

    @Test
    void kafkaAclsAddsListsAndRemoves() throws Exception {
        String topic = Strom.uniqueTopic("kafka-acls");
        kafkaAcls("--add", "--allow-principal", "User:bob", "--operation", "Read", "--topic", topic);
        String listed = kafkaAcls("--list", "--topic", topic);
        assertTrue(listed.contains("Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=" + topic
            + ", patternType=LITERAL)`:"), listed);
        assertTrue(listed.contains("(principal=User:bob, host=*, operation=READ, permissionType=ALLOW)"), listed);
        kafkaAcls("--remove", "--force", "--allow-principal", "User:bob", "--operation", "Read", "--topic", topic);
        String after = kafkaAcls("--list", "--topic", topic);
        assertTrue(!after.contains("User:bob"), after);
    }
}
