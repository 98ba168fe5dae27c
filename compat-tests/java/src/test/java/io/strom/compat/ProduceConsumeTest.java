package io.strom.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Future;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DeletedRecords;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** The Java producer and consumer against strom: every codec, acks setting and idempotence, read back by assign/seek. */
class ProduceConsumeTest {
    private static KafkaProducer<String, String> producer(Map<String, Object> extra) {
        Properties props = Strom.clientProperties();
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) Strom.TIMEOUT.toMillis() * 2);
        props.putAll(extra);
        return new KafkaProducer<>(props);
    }

    private static KafkaConsumer<String, String> consumer() {
        Properties props = Strom.clientProperties();
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        return new KafkaConsumer<>(props);
    }

    private static List<ConsumerRecord<String, String>> readFrom(TopicPartition tp, long offset, int count) {
        List<ConsumerRecord<String, String>> records = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = consumer()) {
            consumer.assign(List.of(tp));
            consumer.seek(tp, offset);
            long deadline = System.nanoTime() + Strom.TIMEOUT.toNanos();
            while (records.size() < count && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
            }
        }
        return records;
    }

    @ParameterizedTest
    @CsvSource({"none,1,false", "gzip,all,false", "snappy,all,true", "lz4,1,false", "zstd,all,true", "none,0,false"})
    void producedRecordsComeBackInOrder(String codec, String acks, boolean idempotent) throws Exception {
        String topic = Strom.uniqueTopic("java-" + codec);
        TopicPartition tp = new TopicPartition(topic, 0);
        List<Future<RecordMetadata>> sent = new ArrayList<>();
        try (KafkaProducer<String, String> producer = producer(Map.of(
                ProducerConfig.COMPRESSION_TYPE_CONFIG, codec,
                ProducerConfig.ACKS_CONFIG, acks,
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, idempotent))) {
            for (int i = 0; i < 300; i++) {
                sent.add(producer.send(new ProducerRecord<>(topic, 0, "key-" + i, "value-" + i)));
            }
            producer.flush();
            for (int i = 0; i < sent.size(); i++) {
                long offset = sent.get(i).get().offset();
                assertEquals(acks.equals("0") ? -1 : i, offset, "offset of record " + i);
            }
        }
        List<ConsumerRecord<String, String>> records = readFrom(tp, 0, 300);
        assertEquals(300, records.size());
        for (int i = 0; i < 300; i++) {
            assertEquals(i, records.get(i).offset());
            assertEquals("key-" + i, records.get(i).key());
            assertEquals("value-" + i, records.get(i).value());
        }
    }

    @Test
    void offsetsForTimesAndEndOffsets() throws Exception {
        String topic = Strom.uniqueTopic("java-times");
        TopicPartition tp = new TopicPartition(topic, 0);
        long base = 1_700_000_000_000L;
        try (KafkaProducer<String, String> producer = producer(Map.of(ProducerConfig.LINGER_MS_CONFIG, 0))) {
            for (int i = 0; i < 5; i++) {
                producer.send(new ProducerRecord<>(topic, 0, base + i * 1000L, null, "t" + i)).get();
            }
        }
        try (KafkaConsumer<String, String> consumer = consumer()) {
            assertEquals(Map.of(tp, 5L), consumer.endOffsets(List.of(tp)));
            assertEquals(Map.of(tp, 0L), consumer.beginningOffsets(List.of(tp)));
            Map<TopicPartition, OffsetAndTimestamp> found = consumer.offsetsForTimes(Map.of(tp, base + 2500));
            assertEquals(3L, found.get(tp).offset());
            assertEquals(base + 3000, found.get(tp).timestamp());
            assertNull(consumer.offsetsForTimes(Map.of(tp, base + 99_000)).get(tp));
        }
        assertEquals(List.of("t3", "t4"), readFrom(tp, 3, 2).stream().map(ConsumerRecord::value).toList());
    }

    @Test
    void deleteRecordsMovesTheLogStartOffset() throws Exception {
        String topic = Strom.uniqueTopic("java-delete-records");
        TopicPartition tp = new TopicPartition(topic, 0);
        try (KafkaProducer<String, String> producer = producer(Map.of(ProducerConfig.LINGER_MS_CONFIG, 0))) {
            for (int i = 0; i < 5; i++) {
                producer.send(new ProducerRecord<>(topic, 0, null, "d" + i)).get();
            }
        }
        try (Admin admin = Strom.admin()) {
            DeletedRecords deleted = admin.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(3))).lowWatermarks().get(tp).get();
            assertEquals(3L, deleted.lowWatermark());
        }
        try (KafkaConsumer<String, String> consumer = consumer()) {
            assertEquals(Map.of(tp, 3L), consumer.beginningOffsets(List.of(tp)));
        }
        assertEquals(List.of("d3", "d4"), readFrom(tp, 3, 2).stream().map(ConsumerRecord::value).toList());
    }

    @Test
    void aConsumerAtTheEndSeesOnlyNewRecords() throws Exception {
        TopicPartition tp = new TopicPartition(Strom.uniqueTopic("latest"), 0);
        try (KafkaProducer<String, String> producer = producer(Map.of())) {
            producer.send(new ProducerRecord<>(tp.topic(), 0, null, "old-0")).get();
            producer.send(new ProducerRecord<>(tp.topic(), 0, null, "old-1")).get();
            try (KafkaConsumer<String, String> consumer = consumer()) {
                consumer.assign(List.of(tp));
                consumer.seekToEnd(List.of(tp));
                assertEquals(2, consumer.position(tp), "the end offset");
                producer.send(new ProducerRecord<>(tp.topic(), 0, null, "new-0")).get();
                List<ConsumerRecord<String, String>> got = new ArrayList<>();
                long deadline = System.nanoTime() + Strom.TIMEOUT.toNanos();
                while (got.isEmpty() && System.nanoTime() < deadline) {
                    consumer.poll(Duration.ofMillis(200)).forEach(got::add);
                }
                assertEquals(1, got.size());
                assertEquals(2, got.get(0).offset());
                assertEquals("new-0", got.get(0).value());
            }
        }
    }
}
