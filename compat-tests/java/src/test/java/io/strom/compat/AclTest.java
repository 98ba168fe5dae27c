package io.strom.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialDeletion;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AccessControlEntryFilter;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.ClusterAuthorizationException;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourcePatternFilter;
import org.apache.kafka.common.resource.ResourceType;
import org.junit.jupiter.api.Test;

/**
 * ACLs with the Java clients: a principal without ACLs is refused each
 * operation, then allowed it once Admin.createAcls grants it; and Kafka's
 * kafka-acls command manages strom's ACLs. alice has no ACLs in the harness
 * (compat-tests/lib/security.py); strom, a super user, manages hers. Every ACL
 * names this test's own topics and group, so the tests may share alice.
 */
class AclTest {
    private static AclBinding allow(ResourceType type, String name, String principal, AclOperation op) {
        return new AclBinding(new ResourcePattern(type, name, PatternType.LITERAL),
            new AccessControlEntry(principal, "*", op, AclPermissionType.ALLOW));
    }

    private static Admin superUser() {
        return Admin.create(Secured.user("SASL_SSL", "SCRAM-SHA-512", "strom"));
    }

    private static void grant(AclBinding... bindings) throws Exception {
        try (Admin admin = superUser()) {
            admin.createAcls(List.of(bindings)).all().get();
            awaitAcls(admin, List.of(bindings), true);
        }
    }

    /**
     * Kafka's broker applies ACL changes from the metadata log shortly after
     * CreateAcls or DeleteAcls returns; DescribeAcls answers from the same
     * authorizer, so this waits until it lists each binding (or none).
     */
    static void awaitAcls(Admin admin, Collection<AclBinding> bindings, boolean present) throws Exception {
        for (AclBinding binding : bindings) {
            assertTrue(Strom.eventually(() -> {
                try {
                    return admin.describeAcls(binding.toFilter()).values().get().contains(binding) == present;
                } catch (InterruptedException | ExecutionException e) {
                    return false;
                }
            }), () -> binding + (present ? " not listed" : " still listed"));
        }
    }

    /** The exception the action fails with, unwrapped from an ExecutionException. */
    private static Throwable failure(org.junit.jupiter.api.function.Executable action) {
        Throwable e = assertThrows(Exception.class, action);
        return e instanceof ExecutionException ? e.getCause() : e;
    }

    /** The topic's two records, read without a group. */
    private static List<String> fetch(Properties props, String topic) {
        return Secured.read(props, topic, 2);
    }

    /** The topic's two records, read as a member of group and committed. */
    private static List<String> groupConsume(Properties props, String topic, String group) {
        try (KafkaConsumer<String, String> consumer = Secured.consumer(props, group)) {
            consumer.subscribe(List.of(topic));
            List<String> values = Secured.poll(consumer, 2);
            consumer.commitSync();
            return values;
        }
    }

    /** The group's committed offset of the topic's partition 0, as its consumer sees it. */
    private static Object committed(Properties props, String topic, String group) {
        try (KafkaConsumer<String, String> consumer = Secured.consumer(props, group)) {
            return consumer.committed(Set.of(new TopicPartition(topic, 0)));
        }
    }

    private static void createTopic(Properties props, String topic) throws Exception {
        try (Admin admin = Admin.create(props)) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();
        }
    }

    @Test
    void alicesOperationsAreRefusedUntilHerAclsAllowThem() throws Exception {
        String topic = Strom.uniqueTopic("acl");
        String created = Strom.uniqueTopic("acl-created");
        String group = Strom.uniqueTopic("acl-group");
        Properties strom = Secured.user("SASL_SSL", "SCRAM-SHA-512", "strom");
        createTopic(strom, topic);
        assertEquals(0, Secured.send(strom, topic, "first"));
        Properties alice = Secured.user("SASL_PLAINTEXT", "SCRAM-SHA-256", "alice");

        // No ACLs: Metadata hides the topic, FindCoordinator refuses the group,
        // CreateTopics refuses the topic. (A subscribed consumer would race its
        // topic's and its group's refusals: the group is asked about alone.)
        assertEquals(Set.of(topic), assertInstanceOf(TopicAuthorizationException.class,
            failure(() -> Secured.send(alice, topic, "x"))).unauthorizedTopics());
        assertEquals(Set.of(topic), assertInstanceOf(TopicAuthorizationException.class,
            failure(() -> fetch(alice, topic))).unauthorizedTopics());
        assertEquals(group, assertInstanceOf(GroupAuthorizationException.class,
            failure(() -> committed(alice, topic, group))).groupId());
        assertInstanceOf(TopicAuthorizationException.class, failure(() -> createTopic(alice, created)));
        try (Admin asAlice = Admin.create(alice)) {
            assertInstanceOf(TopicAuthorizationException.class,
                failure(() -> asAlice.describeTopics(List.of(topic)).allTopicNames().get()));
            assertFalse(asAlice.listTopics().names().get().contains(topic), "alice does not see the topic");
        }

        // DESCRIBE only: Produce, Fetch and JoinGroup themselves refuse. An
        // idempotent producer (the default) is refused its producer id first:
        // that needs IDEMPOTENT_WRITE on the cluster or WRITE on some topic (KIP-679).
        grant(allow(ResourceType.TOPIC, topic, "User:alice", AclOperation.DESCRIBE),
            allow(ResourceType.GROUP, group, "User:alice", AclOperation.DESCRIBE));
        assertInstanceOf(ClusterAuthorizationException.class, failure(() -> Secured.send(alice, topic, "x")));
        Properties notIdempotent = (Properties) alice.clone();
        notIdempotent.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false);
        assertEquals(Set.of(topic), assertInstanceOf(TopicAuthorizationException.class,
            failure(() -> Secured.send(notIdempotent, topic, "x"))).unauthorizedTopics());
        assertEquals(Set.of(topic), assertInstanceOf(TopicAuthorizationException.class,
            failure(() -> fetch(alice, topic))).unauthorizedTopics());
        assertEquals(group, assertInstanceOf(GroupAuthorizationException.class,
            failure(() -> groupConsume(alice, topic, group))).groupId());

        grant(allow(ResourceType.TOPIC, topic, "User:alice", AclOperation.WRITE),
            allow(ResourceType.TOPIC, topic, "User:alice", AclOperation.READ),
            allow(ResourceType.GROUP, group, "User:alice", AclOperation.READ),
            allow(ResourceType.TOPIC, created, "User:alice", AclOperation.CREATE));
        assertEquals(1, Secured.send(alice, topic, "granted"));
        assertEquals(List.of("first", "granted"), fetch(alice, topic));
        assertEquals(List.of("first", "granted"), groupConsume(alice, topic, group));
        createTopic(alice, created);
        try (Admin asAlice = Admin.create(alice); Admin admin = superUser()) {
            assertEquals(2, asAlice.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get()
                .get(new TopicPartition(topic, 0)).offset());
            // CREATE does not imply DESCRIBE: the topic she created stays hidden.
            Set<String> visible = asAlice.listTopics().names().get();
            assertTrue(visible.contains(topic) && !visible.contains(created), visible::toString);
            // alice may not manage ACLs.
            assertInstanceOf(ClusterAuthorizationException.class, failure(() -> asAlice.createAcls(
                List.of(allow(ResourceType.TOPIC, "*", "User:alice", AclOperation.ALL))).all().get()));

            AclBindingFilter hers = new AclBindingFilter(ResourcePatternFilter.ANY,
                new AccessControlEntryFilter("User:alice", null, AclOperation.ANY, AclPermissionType.ANY));
            Collection<AclBinding> listed = admin.describeAcls(hers).values().get();
            assertTrue(listed.stream().anyMatch(b -> b.pattern().name().equals(created)), listed::toString);
            Collection<AclBinding> deleted = List.of();
            for (String name : List.of(topic, created, group)) {
                ResourceType type = name.equals(group) ? ResourceType.GROUP : ResourceType.TOPIC;
                AclBindingFilter filter = new AclBindingFilter(
                    new ResourcePattern(type, name, PatternType.LITERAL).toFilter(), AccessControlEntryFilter.ANY);
                deleted = concat(deleted, admin.deleteAcls(List.of(filter)).all().get());
            }
            assertEquals(6, deleted.size(), deleted::toString);
            awaitAcls(admin, deleted, false);
        }
        assertInstanceOf(TopicAuthorizationException.class, failure(() -> Secured.send(alice, topic, "revoked")));
    }

    /** What each cluster operation gives the user: "ok" or the simple name of the exception. */
    private static List<String> clusterOperations(Admin admin, String user, String topic) {
        List<org.junit.jupiter.api.function.ThrowingSupplier<?>> operations = List.of(
            () -> admin.describeAcls(new AclBindingFilter(ResourcePatternFilter.ANY, new AccessControlEntryFilter(
                "User:" + user, null, AclOperation.ANY, AclPermissionType.ANY))).values().get(),
            () -> admin.describeUserScramCredentials(List.of(user)).all().get(),
            () -> admin.describeConfigs(List.of(new ConfigResource(ConfigResource.Type.BROKER, "1"))).all().get(),
            () -> admin.createAcls(List.of(allow(ResourceType.TOPIC, topic, "User:" + user, AclOperation.READ))).all().get(),
            () -> admin.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion(user,
                new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), user))).all().get());
        List<String> outcomes = new ArrayList<>();
        for (var operation : operations) {
            try {
                operation.get();
                outcomes.add("ok");
            } catch (Throwable e) {
                outcomes.add((e instanceof ExecutionException ? e.getCause() : e).getClass().getSimpleName());
            }
        }
        return outcomes;
    }

    private static boolean logsIn(Properties props) {
        try (Admin admin = Admin.create(props)) {
            admin.describeCluster().clusterId().get();
            return true;
        } catch (InterruptedException | ExecutionException e) {
            return false;
        }
    }

    @Test
    void clusterOperationsAreRefusedUntilClusterAclsAllowThem() throws Exception {
        // A user of this test's own, created through AlterUserScramCredentials.
        String user = Strom.uniqueTopic("carol");
        String topic = Strom.uniqueTopic("carol-topic");
        try (Admin admin = superUser()) {
            admin.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion(user,
                new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096), "carol-secret"))).all().get();
        }
        Properties carol = Secured.sasl("SASL_PLAINTEXT", "SCRAM-SHA-256", user, "carol-secret");
        // Kafka's broker learns a new credential from the metadata log shortly after.
        assertTrue(Strom.eventually(() -> logsIn(carol)), "the new user cannot log in");
        String denied = "ClusterAuthorizationException";
        try (Admin asCarol = Admin.create(carol)) {
            assertEquals(List.of(denied, denied, denied, denied, denied), clusterOperations(asCarol, user, topic));

            // DESCRIBE on the cluster: implied by ALTER, it implies no DESCRIBE_CONFIGS.
            grant(allow(ResourceType.CLUSTER, "kafka-cluster", "User:" + user, AclOperation.DESCRIBE));
            assertEquals(List.of("ok", "ok", denied, denied, denied), clusterOperations(asCarol, user, topic));
            var described = asCarol.describeUserScramCredentials(List.of(user)).all().get().get(user);
            assertEquals(List.of(new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096)), described.credentialInfos());

            grant(allow(ResourceType.CLUSTER, "kafka-cluster", "User:" + user, AclOperation.ALTER),
                allow(ResourceType.CLUSTER, "kafka-cluster", "User:" + user, AclOperation.DESCRIBE_CONFIGS));
            assertEquals(List.of("ok", "ok", "ok", "ok", "ok"), clusterOperations(asCarol, user, topic));
        }
        // The SCRAM-SHA-512 credential she gave herself (her name is the password) logs her in.
        assertTrue(Strom.eventually(() -> logsIn(Secured.sasl("SASL_SSL", "SCRAM-SHA-512", user, user))));

        try (Admin admin = superUser()) {
            AclBindingFilter hers = new AclBindingFilter(ResourcePatternFilter.ANY,
                new AccessControlEntryFilter("User:" + user, null, AclOperation.ANY, AclPermissionType.ANY));
            Collection<AclBinding> deleted = admin.deleteAcls(List.of(hers)).all().get();
            assertEquals(4, deleted.size(), deleted::toString); // DESCRIBE, ALTER, DESCRIBE_CONFIGS, her READ
            // One alteration per user and request.
            for (ScramMechanism mechanism : List.of(ScramMechanism.SCRAM_SHA_256, ScramMechanism.SCRAM_SHA_512)) {
                admin.alterUserScramCredentials(List.of(new UserScramCredentialDeletion(user, mechanism))).all().get();
            }
        }
    }

    private static Collection<AclBinding> concat(Collection<AclBinding> a, Collection<AclBinding> b) {
        List<AclBinding> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    /** Kafka's kafka-acls (AclCommand, in kafka-tools from Kafka 4.0 on; 3.9 has it in the Scala core jar only). */
    private static KafkaTool.Run kafkaAcls(String... args) {
        Method main;
        try {
            main = Class.forName("org.apache.kafka.tools.AclCommand").getMethod("main", String[].class);
        } catch (ReflectiveOperationException e) {
            assumeTrue(false, "this Kafka release has no AclCommand in kafka-tools");
            return null;
        }
        return KafkaTool.run("kafka-acls", argv -> {
            try {
                main.invoke(null, (Object) argv);
            } catch (InvocationTargetException e) {
                throw e.getCause() instanceof Exception cause ? cause : e;
            }
        }, args);
    }

    @Test
    void kafkaAclsGrantsListsAndRevokes() throws Exception {
        String topic = Strom.uniqueTopic("kafka-acls");
        Properties strom = Secured.user("SASL_SSL", "SCRAM-SHA-512", "strom");
        createTopic(strom, topic);
        Properties bob = Secured.user("SASL_SSL", "PLAIN", "bob");
        assertInstanceOf(TopicAuthorizationException.class, failure(() -> Secured.send(bob, topic, "x")));

        // --producer: WRITE, DESCRIBE and CREATE on the topic.
        List<AclBinding> producer = List.of(allow(ResourceType.TOPIC, topic, "User:bob", AclOperation.WRITE),
            allow(ResourceType.TOPIC, topic, "User:bob", AclOperation.DESCRIBE),
            allow(ResourceType.TOPIC, topic, "User:bob", AclOperation.CREATE));
        KafkaTool.Run add = kafkaAcls("--add", "--allow-principal", "User:bob", "--producer", "--topic", topic);
        assertEquals(0, add.exitCode(), add::toString);
        try (Admin admin = superUser()) {
            awaitAcls(admin, producer, true);
        }
        KafkaTool.Run list = kafkaAcls("--list", "--topic", topic);
        assertEquals(0, list.exitCode(), list::toString);
        assertTrue(list.out().contains("Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=" + topic
            + ", patternType=LITERAL)`:"), list::toString);
        for (String op : List.of("WRITE", "DESCRIBE", "CREATE")) {
            assertTrue(list.out().contains("(principal=User:bob, host=*, operation=" + op + ", permissionType=ALLOW)"),
                list::toString);
        }
        assertEquals(0, Secured.send(bob, topic, "granted"));

        KafkaTool.Run remove = kafkaAcls("--remove", "--force", "--allow-principal", "User:bob", "--producer", "--topic", topic);
        assertEquals(0, remove.exitCode(), remove::toString);
        try (Admin admin = superUser()) {
            awaitAcls(admin, producer, false);
        }
        KafkaTool.Run after = kafkaAcls("--list", "--topic", topic);
        assertFalse(after.out().contains("User:bob"), after::toString);
        assertInstanceOf(TopicAuthorizationException.class, failure(() -> Secured.send(bob, topic, "revoked")));
    }
}
