package io.strom.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.stream.IntStream;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/**
 * Transactions with the Java producer and consumer: a commit makes every
 * record of the transaction visible at once, an abort hides them from
 * read_committed consumers (read_uncommitted ones see them), a second producer
 * with the same transactional id fences the first, and a
 * consume-transform-produce application delivers each input exactly once
 * across a kill -9 of itself in the middle of a transaction.
 */
class TransactionTest {
    private static final Duration WAIT = Duration.ofSeconds(40);

    static void createTopic(String name, int partitions) throws Exception {
        try (Admin admin = Strom.admin()) {
            admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1))).all().get();
        }
    }

    static KafkaProducer<String, String> txnProducer(String transactionalId) {
        Properties props = Strom.clientProperties();
        props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        props.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, 10_000);
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        return new KafkaProducer<>(props);
    }

    /**
     * Every value in {@code topics} from the start: until {@code expect} values
     * are read (then a second more, to catch extras), or (expect &lt; 0) until
     * nothing arrived for a second.
     */
    static List<String> readAll(List<String> topics, String isolationLevel, int expect) {
        Properties props = Strom.clientProperties();
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolationLevel);
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        List<String> values = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
            List<TopicPartition> partitions = new ArrayList<>();
            for (String topic : topics) {
                consumer.partitionsFor(topic).forEach(p -> partitions.add(new TopicPartition(topic, p.partition())));
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            long deadline = System.nanoTime() + WAIT.toNanos();
            long last = System.nanoTime();
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(100))) {
                    values.add(r.value());
                    last = System.nanoTime();
                }
                boolean quiet = System.nanoTime() - last > Duration.ofSeconds(1).toNanos();
                if (quiet && values.size() >= Math.max(expect, 0)) {
                    break;
                }
            }
        }
        return values;
    }

    static List<String> sorted(List<String> values) {
        return values.stream().sorted().toList();
    }

    @Test
    void aCommitMakesEveryRecordVisibleAtOnce() throws Exception {
        String a = Strom.uniqueTopic("txn-a");
        String b = Strom.uniqueTopic("txn-b");
        createTopic(a, 2);
        createTopic(b, 1);
        List<String> expected = new ArrayList<>();
        try (KafkaProducer<String, String> producer = txnProducer(Strom.uniqueTopic("txn"))) {
            producer.initTransactions();
            producer.beginTransaction();
            for (int i = 0; i < 6; i++) {
                producer.send(new ProducerRecord<>(a, i % 2, null, "a" + i));
                producer.send(new ProducerRecord<>(b, "b" + i));
                expected.add("a" + i);
                expected.add("b" + i);
            }
            producer.flush();
            assertEquals(List.of(), readAll(List.of(a, b), "read_committed", -1), "nothing before the commit");
            assertEquals(12, readAll(List.of(a, b), "read_uncommitted", 12).size());
            producer.commitTransaction();
        }
        assertEquals(sorted(expected), sorted(readAll(List.of(a, b), "read_committed", 12)));
    }

    @Test
    void anAbortHidesTheRecordsFromReadCommittedOnly() throws Exception {
        String topic = Strom.uniqueTopic("txn-abort");
        createTopic(topic, 1);
        try (KafkaProducer<String, String> producer = txnProducer(Strom.uniqueTopic("txn"))) {
            producer.initTransactions();
            producer.beginTransaction();
            producer.send(new ProducerRecord<>(topic, "aborted-1"));
            producer.send(new ProducerRecord<>(topic, "aborted-2"));
            producer.flush();
            producer.abortTransaction();
            producer.beginTransaction();
            producer.send(new ProducerRecord<>(topic, "committed"));
            producer.commitTransaction();
        }
        assertEquals(List.of("committed"), readAll(List.of(topic), "read_committed", 1));
        assertEquals(List.of("aborted-1", "aborted-2", "committed"), readAll(List.of(topic), "read_uncommitted", 3));
    }

    @Test
    void aSecondProducerWithTheSameTransactionalIdFencesTheFirst() throws Exception {
        String topic = Strom.uniqueTopic("txn-fence");
        createTopic(topic, 1);
        String transactionalId = Strom.uniqueTopic("txn");
        try (KafkaProducer<String, String> first = txnProducer(transactionalId);
             KafkaProducer<String, String> second = txnProducer(transactionalId)) {
            first.initTransactions();
            first.beginTransaction();
            first.send(new ProducerRecord<>(topic, "zombie"));
            first.flush();
            second.initTransactions(); // aborts the first one's transaction
            assertThrows(ProducerFencedException.class, first::commitTransaction);
            second.beginTransaction();
            second.send(new ProducerRecord<>(topic, "winner"));
            second.commitTransaction();
        }
        assertEquals(List.of("winner"), readAll(List.of(topic), "read_committed", 1));
    }

    @Test
    void consumeTransformProduceIsExactlyOnceAcrossAKill() throws Exception {
        String input = Strom.uniqueTopic("txn-in");
        String output = Strom.uniqueTopic("txn-out");
        createTopic(input, 2);
        createTopic(output, 2);
        List<String> inputs = IntStream.range(0, 120).mapToObj(i -> String.format("record-%03d", i)).toList();
        Properties props = Strom.clientProperties();
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
            for (int i = 0; i < inputs.size(); i++) {
                producer.send(new ProducerRecord<>(input, i % 2, null, inputs.get(i)));
            }
        }
        String group = Strom.uniqueTopic("txn-g");
        String transactionalId = Strom.uniqueTopic("txn-app");
        // Killed in its 5th transaction, after 4 committed ones, with that one's records written.
        Process app = app(input, output, group, transactionalId, "5");
        try {
            List<String> lines = linesUntil(app, "open 5");
            app.destroyForcibly().waitFor();
            assertEquals(List.of("txn 1", "txn 2", "txn 3", "txn 4"), lines.stream().filter(l -> l.startsWith("txn ")).toList());
            app = app(input, output, group, transactionalId);
            drain(app);
            List<String> values = readAll(List.of(output), "read_committed", inputs.size());
            assertEquals(sorted(inputs.stream().map(String::toUpperCase).toList()), sorted(values), "each input exactly once");
            int everything = readAll(List.of(output), "read_uncommitted", inputs.size() + 1).size();
            assertTrue(everything > inputs.size(), "the killed transaction's records are in the log, aborted: " + everything);
        } finally {
            app.destroyForcibly().waitFor();
        }
    }

    /** A JVM running {@link TxnApp}. */
    private static Process app(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(
            System.getProperty("java.home") + File.separator + "bin" + File.separator + "java",
            "-cp", System.getProperty("java.class.path"), TxnApp.class.getName()));
        command.addAll(List.of(args));
        return new ProcessBuilder(command).redirectErrorStream(true).start();
    }

    /** The child's output lines up to and including {@code last}. */
    private static List<String> linesUntil(Process process, String last) throws Exception {
        BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        List<String> seen = new ArrayList<>();
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            String line = out.readLine();
            if (line == null) {
                throw new AssertionError("the application exited: " + seen);
            }
            seen.add(line);
            if (line.equals(last)) {
                return seen;
            }
        }
        throw new AssertionError("never saw '" + last + "': " + seen);
    }

    /** Reads the child's output on a thread, so it never blocks on a full pipe. */
    private static void drain(Process process) {
        Thread drain = new Thread(() -> {
            try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                while (out.readLine() != null) {
                    // discard
                }
            } catch (Exception ignored) {
                // the child was killed
            }
        });
        drain.setDaemon(true);
        drain.start();
    }
}
