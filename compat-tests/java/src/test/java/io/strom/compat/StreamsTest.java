package io.strom.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.stream.Stream;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/**
 * Kafka Streams with exactly_once_v2 ({@link WordCountApp}): killed with
 * SIGKILL after part of its input and restarted, it still counts every word
 * exactly once. With caching off every occurrence emits the word's new
 * count, so a read_committed reader of the output must see each word's
 * counts as exactly 1, 2, ..., n: a duplicate or a lost update shows.
 */
class StreamsTest {
    private static final Duration WAIT = Duration.ofSeconds(50);
    private static final List<String> WORDS = List.of("cart", "checkout", "smartphone", "laptop", "view");

    @Test
    void aWordCountWithExactlyOnceV2CountsRightAcrossAKill() throws Exception {
        String app = Strom.uniqueTopic("wordcount");
        String input = app + "-input";
        String output = app + "-counts";
        TransactionTest.createTopic(input, 2);
        TransactionTest.createTopic(output, 1);
        Path stateDir = Files.createTempDirectory("strom-streams-");
        Map<String, Long> expected = new TreeMap<>();
        Process streams = start(app, input, output, stateDir);
        try (KafkaProducer<String, String> producer = producer()) {
            awaitLine(streams, "running");
            sentences(producer, input, 0, 40, expected);
            // Midway: some counts are committed, then SIGKILL (likely inside a transaction).
            awaitCounts(output, 20);
            streams.destroyForcibly().waitFor();
            sentences(producer, input, 40, 80, expected);
            streams = start(app, input, output, stateDir);
            awaitLine(streams, "running");
            Map<String, List<Long>> counts = awaitFinalCounts(output, expected);
            for (Map.Entry<String, List<Long>> e : counts.entrySet()) {
                List<Long> oneToN = Stream.iterate(1L, n -> n + 1).limit(expected.get(e.getKey())).toList();
                assertEquals(oneToN, e.getValue(), "every count of '" + e.getKey() + "' exactly once");
            }
        } finally {
            streams.destroyForcibly().waitFor();
            try (Stream<Path> files = Files.walk(stateDir)) {
                files.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
            }
        }
    }

    private static KafkaProducer<String, String> producer() {
        Properties props = Strom.clientProperties();
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        return new KafkaProducer<>(props);
    }

    /** Sentences {@code from..to} of three words each, counted into {@code expected}. */
    private static void sentences(KafkaProducer<String, String> producer, String topic, int from, int to, Map<String, Long> expected) {
        for (int i = from; i < to; i++) {
            List<String> words = List.of(WORDS.get(i % 5), WORDS.get((i * 3 + 1) % 5), WORDS.get((i * 7 + 2) % 5));
            producer.send(new ProducerRecord<>(topic, "user-" + (i % 4), String.join(" ", words)));
            words.forEach(w -> expected.merge(w, 1L, Long::sum));
        }
        producer.flush();
    }

    /** Every committed count update, per word, in order. */
    private static Map<String, List<Long>> readCounts(String topic) {
        Properties props = Strom.clientProperties();
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, LongDeserializer.class.getName());
        Map<String, List<Long>> counts = new TreeMap<>();
        try (KafkaConsumer<String, Long> consumer = new KafkaConsumer<>(props)) {
            TopicPartition tp = new TopicPartition(topic, 0);
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            long end = consumer.endOffsets(List.of(tp)).get(tp);
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (consumer.position(tp) < end && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, Long> r : consumer.poll(Duration.ofMillis(100))) {
                    counts.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(r.value());
                }
            }
        }
        return counts;
    }

    private static void awaitCounts(String topic, int updates) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (readCounts(topic).values().stream().mapToInt(List::size).sum() < updates) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("fewer than " + updates + " committed counts");
            }
            Thread.sleep(200);
        }
    }

    /** Waits until every word's last committed count is the expected one. */
    private static Map<String, List<Long>> awaitFinalCounts(String topic, Map<String, Long> expected) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (true) {
            Map<String, List<Long>> counts = readCounts(topic);
            Map<String, Long> last = new TreeMap<>();
            counts.forEach((word, values) -> last.put(word, values.get(values.size() - 1)));
            if (last.equals(expected)) {
                return counts;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("counts " + last + ", expected " + expected);
            }
            Thread.sleep(200);
        }
    }

    private static Process start(String app, String input, String output, Path stateDir) throws Exception {
        List<String> command = List.of(
            System.getProperty("java.home") + File.separator + "bin" + File.separator + "java",
            "-cp", System.getProperty("java.class.path"), WordCountApp.class.getName(),
            app, input, output, stateDir.toString());
        return new ProcessBuilder(command).redirectErrorStream(true).start();
    }

    /** Reads the child's output until {@code expected}, then keeps draining it. */
    private static void awaitLine(Process process, String expected) throws Exception {
        BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        List<String> seen = new ArrayList<>();
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            String line = out.readLine();
            if (line == null) {
                throw new AssertionError("the application exited: " + seen.subList(Math.max(0, seen.size() - 20), seen.size()));
            }
            seen.add(line);
            if (line.equals(expected)) {
                Thread drain = new Thread(() -> {
                    try {
                        while (out.readLine() != null) {
                            // discard
                        }
                    } catch (Exception ignored) {
                        // the child was killed
                    }
                });
                drain.setDaemon(true);
                drain.start();
                return;
            }
        }
        throw new AssertionError("never saw '" + expected + "': " + seen.subList(Math.max(0, seen.size() - 20), seen.size()));
    }
}
