package io.strom.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.DescribeTopicsOptions;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.InvalidConfigurationException;
import org.apache.kafka.common.errors.InvalidPartitionsException;
import org.apache.kafka.common.errors.InvalidReplicationFactorException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** AdminClient against strom; every expectation is what a single-node Apache Kafka (node 1) answers. */
class AdminClientTest {
    private static final String ONE_HOUR_MS = "3600000";
    private static Admin admin;

    @BeforeAll
    static void connect() {
        admin = Strom.admin();
    }

    @AfterAll
    static void close() {
        admin.close();
    }

    /**
     * Creates the topic and waits until metadata shows it: Kafka answers
     * CreateTopics before every broker's metadata cache has the topic, so an
     * immediate describe could see UNKNOWN_TOPIC_OR_PARTITION.
     */
    private static void create(NewTopic topic) throws Exception {
        admin.createTopics(List.of(topic)).all().get(Strom.TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        assertTrue(Strom.eventually(() -> topicNames().contains(topic.name())), topic.name() + " not listed");
    }

    private static TopicDescription describe(String topic) throws Exception {
        return admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
    }

    private static Set<String> topicNames() {
        try {
            return admin.listTopics().names().get();
        } catch (InterruptedException | ExecutionException e) {
            throw new AssertionError("listTopics failed", e);
        }
    }

    /** The cause of a failed admin future, which Kafka's error code maps to. */
    private static Throwable failureOf(org.junit.jupiter.api.function.Executable call) {
        ExecutionException e = assertThrows(ExecutionException.class, call);
        return e.getCause();
    }

    @Test
    void describeCluster() throws Exception {
        DescribeClusterResult cluster = admin.describeCluster();
        List<Node> nodes = List.copyOf(cluster.nodes().get());
        assertEquals(1, nodes.size());
        assertEquals(1, nodes.get(0).id());
        String[] hostPort = Strom.bootstrap().split(":");
        assertEquals(hostPort[0], nodes.get(0).host());
        assertEquals(Integer.parseInt(hostPort[1]), nodes.get(0).port());
        assertEquals(1, cluster.controller().get().id());
        String clusterId = cluster.clusterId().get();
        assertTrue(clusterId != null && !clusterId.isEmpty(), "cluster id: " + clusterId);
    }

    /**
     * Without an authorizer Kafka reports every operation that applies to the
     * resource type when asked (include_*_authorized_operations), not "omitted".
     */
    @Test
    void authorizedOperationsWithoutAuthorizer() throws Exception {
        String topic = Strom.uniqueTopic("authorized-ops");
        create(new NewTopic(topic, 1, (short) 1));
        TopicDescription description = admin.describeTopics(List.of(topic),
            new DescribeTopicsOptions().includeAuthorizedOperations(true)).allTopicNames().get().get(topic);
        assertEquals(Set.of(AclOperation.READ, AclOperation.WRITE, AclOperation.CREATE, AclOperation.DELETE,
                AclOperation.ALTER, AclOperation.DESCRIBE, AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS),
            description.authorizedOperations());
        Set<AclOperation> clusterOperations = admin.describeCluster(
            new DescribeClusterOptions().includeAuthorizedOperations(true)).authorizedOperations().get();
        assertEquals(Set.of(AclOperation.CREATE, AclOperation.ALTER, AclOperation.DESCRIBE, AclOperation.CLUSTER_ACTION,
                AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS, AclOperation.IDEMPOTENT_WRITE),
            clusterOperations);
    }

    @Test
    void createTopicWithPartitionsAndConfig() throws Exception {
        String topic = Strom.uniqueTopic("create");
        create(new NewTopic(topic, 3, (short) 1).configs(Map.of("retention.ms", ONE_HOUR_MS)));
        assertTrue(Strom.eventually(() -> topicNames().contains(topic)));

        TopicDescription description = describe(topic);
        assertEquals(topic, description.name());
        assertFalse(description.isInternal());
        assertNotEquals(Uuid.ZERO_UUID, description.topicId());
        assertEquals(3, description.partitions().size());
        for (int i = 0; i < 3; i++) {
            TopicPartitionInfo partition = description.partitions().get(i);
            assertEquals(i, partition.partition());
            assertEquals(1, partition.leader().id());
            assertEquals(List.of(1), partition.replicas().stream().map(Node::id).toList());
            assertEquals(List.of(1), partition.isr().stream().map(Node::id).toList());
        }
    }

    @Test
    void createTopicsReturnsPartitionsAndConfigs() throws Exception {
        String topic = Strom.uniqueTopic("create-result");
        var result = admin.createTopics(List.of(new NewTopic(topic, 2, (short) 1)));
        result.all().get();
        assertTrue(Strom.eventually(() -> topicNames().contains(topic)));
        assertEquals(2, result.numPartitions(topic).get());
        assertEquals(1, result.replicationFactor(topic).get());
        assertEquals(describe(topic).topicId(), result.topicId(topic).get());
        Config config = result.config(topic).get();
        assertEquals("delete", config.get("cleanup.policy").value());
    }

    @Test
    void createTopicValidateOnlyCreatesNothing() throws Exception {
        String topic = Strom.uniqueTopic("validate-only");
        admin.createTopics(List.of(new NewTopic(topic, 2, (short) 1)), new CreateTopicsOptions().validateOnly(true))
            .all().get();
        assertFalse(topicNames().contains(topic));
    }

    @Test
    void createExistingTopicFails() throws Exception {
        String topic = Strom.uniqueTopic("exists");
        create(new NewTopic(topic, 1, (short) 1));
        assertInstanceOf(TopicExistsException.class, failureOf(() -> create(new NewTopic(topic, 2, (short) 1))));
        assertEquals(1, describe(topic).partitions().size());
    }

    @Test
    void createTopicWithInvalidArgumentsFails() {
        assertInstanceOf(InvalidReplicationFactorException.class,
            failureOf(() -> create(new NewTopic(Strom.uniqueTopic("rf"), 1, (short) 3))));
        assertInstanceOf(InvalidPartitionsException.class,
            failureOf(() -> create(new NewTopic(Strom.uniqueTopic("partitions"), 0, (short) 1))));
        assertInstanceOf(InvalidConfigurationException.class,
            failureOf(() -> create(new NewTopic(Strom.uniqueTopic("config"), 1, (short) 1)
                .configs(Map.of("no.such.config", "1")))));
    }

    @Test
    void listTopicsHidesNothingAndListsNew() throws Exception {
        String topic = Strom.uniqueTopic("list");
        assertFalse(topicNames().contains(topic));
        create(new NewTopic(topic, 1, (short) 1));
        assertTrue(Strom.eventually(() -> topicNames().contains(topic)));
        var listing = admin.listTopics().namesToListings().get().get(topic);
        assertFalse(listing.isInternal());
        assertEquals(describe(topic).topicId(), listing.topicId());
    }

    @Test
    void deleteTopic() throws Exception {
        String topic = Strom.uniqueTopic("delete");
        create(new NewTopic(topic, 2, (short) 1));
        admin.deleteTopics(List.of(topic)).all().get();
        assertTrue(Strom.eventually(() -> !topicNames().contains(topic)));
        assertInstanceOf(UnknownTopicOrPartitionException.class, failureOf(() -> describe(topic)));
        assertInstanceOf(UnknownTopicOrPartitionException.class,
            failureOf(() -> admin.deleteTopics(List.of(topic)).all().get()));
    }

    @Test
    void createPartitions() throws Exception {
        String topic = Strom.uniqueTopic("grow");
        create(new NewTopic(topic, 1, (short) 1));
        admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(4))).all().get();
        assertTrue(Strom.eventually(() -> {
            try {
                return describe(topic).partitions().size() == 4;
            } catch (Exception e) {
                return false;
            }
        }));
        assertEquals(List.of(1, 1, 1, 1), describe(topic).partitions().stream().map(p -> p.leader().id()).toList());
        assertInstanceOf(InvalidPartitionsException.class,
            failureOf(() -> admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(2))).all().get()));
    }

    @Test
    void describeTopicConfigs() throws Exception {
        String topic = Strom.uniqueTopic("configs");
        create(new NewTopic(topic, 1, (short) 1).configs(Map.of("retention.ms", ONE_HOUR_MS)));
        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        Config config = admin.describeConfigs(List.of(resource)).all().get().get(resource);
        ConfigEntry retention = config.get("retention.ms");
        assertEquals(ONE_HOUR_MS, retention.value());
        assertEquals(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, retention.source());
        assertFalse(retention.isDefault());
        ConfigEntry cleanup = config.get("cleanup.policy");
        assertEquals("delete", cleanup.value());
        assertEquals(ConfigEntry.ConfigSource.DEFAULT_CONFIG, cleanup.source());
        assertTrue(cleanup.isDefault());
    }

    @Test
    void describeBrokerConfigs() throws Exception {
        ConfigResource resource = new ConfigResource(ConfigResource.Type.BROKER, "1");
        Config config = admin.describeConfigs(List.of(resource)).all().get().get(resource);
        assertEquals("1", config.get("num.partitions").value());
        assertEquals("true", config.get("auto.create.topics.enable").value());
    }

    @Test
    void autoCreateTopicThroughProducerMetadata() throws Exception {
        String topic = Strom.uniqueTopic("auto");
        var props = Strom.clientProperties();
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, (int) Strom.TIMEOUT.toMillis());
        // Only metadata here; idempotence (InitProducerId) belongs to the produce scenarios.
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false);
        props.remove("default.api.timeout.ms");
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
            List<PartitionInfo> partitions = producer.partitionsFor(topic);
            assertEquals(1, partitions.size());
            assertEquals(0, partitions.get(0).partition());
            assertEquals(1, partitions.get(0).leader().id());
        }
        assertTrue(topicNames().contains(topic));
        assertEquals(1, describe(topic).partitions().size());
    }
}
