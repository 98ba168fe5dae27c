package io.strom.compat;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * A consume-transform-produce application in a JVM of its own, so a test can
 * kill it with SIGKILL: {@code TxnApp INPUT OUTPUT GROUP TRANSACTIONAL_ID [STALL_AT]}
 * (STROM_BOOTSTRAP from the environment). Reads INPUT as a static member of
 * GROUP (read_committed), writes each value upper-cased to OUTPUT and sends the
 * consumed offsets to the same transaction with the consumer's group metadata
 * (KIP-447), a few records per transaction. Prints {@code txn N} after each
 * commit; transaction STALL_AT, once its records are written, prints
 * {@code open N} and stalls. Runs until killed.
 */
public final class TxnApp {
    private TxnApp() {
    }

    public static void main(String[] args) throws Exception {
        String input = args[0];
        String output = args[1];
        String group = args[2];
        int stallAt = args.length > 4 ? Integer.parseInt(args[4]) : -1;
        Properties producerProps = Strom.clientProperties();
        producerProps.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, args[3]);
        producerProps.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        producerProps.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        producerProps.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, 10_000);
        Map<String, Object> consumerExtra = Map.of(
            ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, "txn-app",
            ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
            ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5);
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(producerProps);
             KafkaConsumer<String, String> consumer = new KafkaConsumer<>(GroupMember.properties(group, consumerExtra))) {
            // First: fences an earlier instance and aborts its open transaction.
            producer.initTransactions();
            consumer.subscribe(List.of(input));
            int committed = 0;
            while (true) {
                ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(200));
                if (records.isEmpty()) {
                    continue;
                }
                producer.beginTransaction();
                Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
                for (ConsumerRecord<String, String> r : records) {
                    producer.send(new ProducerRecord<>(output, r.key(), r.value().toUpperCase()));
                    offsets.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
                }
                producer.flush();
                if (committed + 1 == stallAt) {
                    System.out.println("open " + stallAt);
                    System.out.flush();
                    Thread.sleep(60_000);
                }
                producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
                producer.commitTransaction();
                committed++;
                System.out.println("txn " + committed);
                System.out.flush();
            }
        }
    }
}
