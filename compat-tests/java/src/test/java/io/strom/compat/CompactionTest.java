package io.strom.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ExecutionException;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.InvalidConfigurationException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/**
 * Compacted topics (cleanup.policy=compact): after the broker's cleaner ran, a consumer from the
 * beginning sees the latest value per key at its original offset and no expired tombstone. The
 * harness runs strom with log.cleaner.backoff.ms = 500 (compat-tests/lib/strom.py).
 */
class CompactionTest {
    private static final Duration COMPACTED_WITHIN = Duration.ofSeconds(40);
    private static final String SENTINEL = "sentinel";

    private static KafkaProducer<String, String> producer() {
        Properties props = Strom.clientProperties();
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "zstd");
        props.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        return new KafkaProducer<>(props); // idempotent by default
    }

    /** Every record from the beginning to the high watermark. */
    private static List<ConsumerRecord<String, String>> readAll(TopicPartition tp) {
        Properties props = Strom.clientProperties();
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
            consumer.assign(List.of(tp));
            long end = consumer.endOffsets(List.of(tp)).get(tp);
            assertEquals(0L, consumer.beginningOffsets(List.of(tp)).get(tp), "compaction leaves the log start offset");
            consumer.seekToBeginning(List.of(tp));
            List<ConsumerRecord<String, String>> records = new ArrayList<>();
            long deadline = System.nanoTime() + Strom.TIMEOUT.toNanos();
            while (consumer.position(tp) < end && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
            }
            assertEquals(end, consumer.position(tp), "read to the high watermark");
            return records;
        }
    }

    private static AlterConfigOp set(String name, String value) {
        return new AlterConfigOp(new ConfigEntry(name, value), AlterConfigOp.OpType.SET);
    }

    private static String describe(Admin admin, ConfigResource resource, String name) throws Exception {
        Config config = admin.describeConfigs(List.of(resource)).all().get().get(resource);
        return config.get(name).value();
    }

    @Test
    void compactionConfigsHaveKafkasDefaultsAndAreValidated() throws Exception {
        String topic = Strom.uniqueTopic("java-compact-configs");
        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        try (Admin admin = Strom.admin()) {
            admin.createTopics(List.of(new NewTopic(topic, Optional.of(1), Optional.empty()))).all().get();
            assertEquals("86400000", describe(admin, resource, "delete.retention.ms"));
            assertEquals("0.5", describe(admin, resource, "min.cleanable.dirty.ratio"));
            assertEquals("0", describe(admin, resource, "min.compaction.lag.ms"));
            assertEquals("9223372036854775807", describe(admin, resource, "max.compaction.lag.ms"));
            List<List<AlterConfigOp>> invalid = List.of(
                    List.of(set("min.cleanable.dirty.ratio", "1.5")),
                    List.of(set("delete.retention.ms", "-1")),
                    List.of(set("max.compaction.lag.ms", "0")),
                    List.of(set("min.compaction.lag.ms", "5000"), set("max.compaction.lag.ms", "1000")));
            for (List<AlterConfigOp> ops : invalid) {
                ExecutionException e = assertThrows(ExecutionException.class,
                        () -> admin.incrementalAlterConfigs(Map.of(resource, ops)).all().get(), ops.toString());
                assertInstanceOf(InvalidConfigurationException.class, e.getCause(), ops.toString());
            }
            admin.incrementalAlterConfigs(Map.of(resource, List.of(set("min.compaction.lag.ms", "1000"),
                    set("max.compaction.lag.ms", "1000"), set("cleanup.policy", "compact,delete")))).all().get();
            assertEquals("compact,delete", describe(admin, resource, "cleanup.policy"));
        }
    }

    @Test
    void aCompactedTopicKeepsTheLatestValuePerKeyAndDropsTombstones() throws Exception {
        String topic = Strom.uniqueTopic("java-compacted");
        TopicPartition tp = new TopicPartition(topic, 0);
        try (Admin admin = Strom.admin(); KafkaProducer<String, String> producer = producer()) {
            NewTopic newTopic = new NewTopic(topic, Optional.of(1), Optional.empty()).configs(Map.of(
                    "cleanup.policy", "compact", "segment.ms", "100", "min.cleanable.dirty.ratio", "0.01",
                    "delete.retention.ms", "0"));
            admin.createTopics(List.of(newTopic)).all().get();
            List<String> expected = new ArrayList<>();
            for (int round = 0; round < 10; round++) {
                for (int k = 0; k < 5; k++) {
                    long offset = producer.send(new ProducerRecord<>(topic, 0, "k" + k, "k" + k + "-" + round)).get().offset();
                    if (round == 9 && k < 4) {
                        expected.add(offset + ":k" + k + "=k" + k + "-9");
                    }
                }
                Thread.sleep(120); // past segment.ms: the next batch starts a new segment
            }
            producer.send(new ProducerRecord<>(topic, 0, "k4", null)).get();

            long deadline = System.nanoTime() + COMPACTED_WITHIN.toNanos();
            List<String> data;
            int rounds = 0;
            while (true) {
                // The active segment is never compacted: each record rolls the last one out of it.
                Thread.sleep(300);
                producer.send(new ProducerRecord<>(topic, 0, SENTINEL, Integer.toString(rounds++))).get();
                data = new ArrayList<>();
                for (ConsumerRecord<String, String> r : readAll(tp)) {
                    if (!r.key().equals(SENTINEL)) {
                        data.add(r.offset() + ":" + r.key() + "=" + r.value());
                    }
                }
                if (data.equals(expected) || System.nanoTime() > deadline) {
                    break;
                }
            }
            assertEquals(expected, data, "compacted within " + COMPACTED_WITHIN);
            assertTrue(rounds > 0);
        }
    }
}
