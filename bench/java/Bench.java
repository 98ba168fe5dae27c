// Load tools for bench/run.py that Kafka's own tools do not cover, written
// against kafka-clients only, so they drive Strom and Kafka the same way:
//
//   topic    BOOTSTRAP NAME PARTITIONS [config=value...]
//            create a topic and wait until every partition has a leader
//   consume  BOOTSTRAP TOPIC RECORDS TIMEOUT_S [from-end]
//            an assign-based consumer (no group coordinator needed): reads
//            RECORDS records from every partition's start (or end) and prints
//            its throughput
//   e2e      BOOTSTRAP TOPIC RATE SECONDS WARMUP_S SIZE ACKS
//            end-to-end latency at a fixed rate, with microsecond resolution:
//            a paced producer stamps System.nanoTime() into each value, a
//            consumer in the same JVM subtracts it on arrival; the producer's
//            ack latency is measured too. Records sent in the warm-up are not
//            counted.
//
// Every command prints one line "RESULT key=value ..." that run.py parses.

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public final class Bench {
    public static void main(String[] args) throws Exception {
        if (args.length < 1) usage();
        switch (args[0]) {
            case "topic" -> topic(args);
            case "consume" -> consume(args);
            case "e2e" -> e2e(args);
            default -> usage();
        }
    }

    static void usage() {
        System.err.println("usage: Bench topic|consume|e2e ... (see the comment at the top of Bench.java)");
        System.exit(2);
    }

    static void topic(String[] args) throws Exception {
        if (args.length < 4) usage();
        String bootstrap = args[1], name = args[2];
        int partitions = Integer.parseInt(args[3]);
        Map<String, String> configs = new HashMap<>();
        for (int i = 4; i < args.length; i++) {
            String[] kv = args[i].split("=", 2);
            configs.put(kv[0], kv[1]);
        }
        Properties props = new Properties();
        props.put("bootstrap.servers", bootstrap);
        props.put("request.timeout.ms", "120000");
        props.put("default.api.timeout.ms", "180000");
        try (Admin admin = Admin.create(props)) {
            // Kafka's controller refuses more than 10,000 records per request
            // (a topic record plus one per partition): create large topics in
            // two steps, the same way on both brokers.
            int first = Math.min(partitions, 5000);
            admin.createTopics(List.of(new NewTopic(name, first, (short) 1).configs(configs))).all().get(180, TimeUnit.SECONDS);
            if (partitions > first) {
                admin.createPartitions(Map.of(name, NewPartitions.increaseTo(partitions))).all().get(180, TimeUnit.SECONDS);
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (true) {
                try {
                    TopicDescription d = admin.describeTopics(List.of(name)).allTopicNames().get(60, TimeUnit.SECONDS).get(name);
                    if (d.partitions().size() == partitions && d.partitions().stream().allMatch(p -> p.leader() != null)) break;
                } catch (Exception e) {
                    // not visible yet
                }
                if (System.nanoTime() > deadline) throw new IllegalStateException("topic " + name + " has no leaders after 120 s");
                Thread.sleep(50);
            }
        }
        System.out.println("RESULT topic=" + name + " partitions=" + partitions);
    }

    static Properties consumerProps(String bootstrap) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        return props;
    }

    static List<TopicPartition> partitionsOf(KafkaConsumer<?, ?> consumer, String topic) {
        List<TopicPartition> tps = new ArrayList<>();
        for (PartitionInfo p : consumer.partitionsFor(topic, Duration.ofSeconds(60))) tps.add(new TopicPartition(topic, p.partition()));
        return tps;
    }

    static void consume(String[] args) {
        if (args.length < 5) usage();
        String bootstrap = args[1], topic = args[2];
        long wanted = Long.parseLong(args[3]);
        long timeoutNanos = TimeUnit.SECONDS.toNanos(Long.parseLong(args[4]));
        boolean fromEnd = args.length > 5 && args[5].equals("from-end");
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(consumerProps(bootstrap))) {
            List<TopicPartition> tps = partitionsOf(consumer, topic);
            consumer.assign(tps);
            if (fromEnd) {
                consumer.seekToEnd(tps);
                for (TopicPartition tp : tps) consumer.position(tp); // resolve now, before the producer starts
                System.out.println("READY");
                System.out.flush();
            } else {
                consumer.seekToBeginning(tps);
            }
            long records = 0, bytes = 0;
            long start = System.nanoTime(), first = 0, last = start;
            while (records < wanted && System.nanoTime() - start < timeoutNanos) {
                ConsumerRecords<byte[], byte[]> batch = consumer.poll(Duration.ofMillis(100));
                if (batch.isEmpty()) continue;
                if (first == 0) first = System.nanoTime();
                for (ConsumerRecord<byte[], byte[]> r : batch) {
                    records++;
                    bytes += r.serializedValueSize() + Math.max(0, r.serializedKeySize());
                }
                last = System.nanoTime();
            }
            double seconds = (last - (fromEnd ? first : start)) / 1e9;
            System.out.printf("RESULT records=%d bytes=%d seconds=%.3f records_per_s=%.1f mb_per_s=%.2f complete=%b%n",
                records, bytes, seconds, records / seconds, bytes / seconds / (1024 * 1024), records >= wanted);
        }
    }

    static void e2e(String[] args) throws Exception {
        if (args.length < 8) usage();
        String bootstrap = args[1], topic = args[2];
        int rate = Integer.parseInt(args[3]);
        int seconds = Integer.parseInt(args[4]);
        int warmup = Integer.parseInt(args[5]);
        int size = Math.max(16, Integer.parseInt(args[6]));
        String acks = args[7];
        long total = (long) rate * (seconds + warmup);
        long counted = (long) rate * seconds;
        long[] e2e = new long[(int) counted];
        long[] ack = new long[(int) counted];
        long[] sentAt = new long[(int) total];

        Properties pp = new Properties();
        pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        pp.put(ProducerConfig.ACKS_CONFIG, acks);
        pp.put(ProducerConfig.LINGER_MS_CONFIG, "0"); // as Kafka's EndToEndLatency: latency, not batching
        pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        Properties cp = consumerProps(bootstrap);
        cp.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "500");

        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(pp);
             KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(cp)) {
            List<TopicPartition> tps = partitionsOf(consumer, topic);
            consumer.assign(tps);
            consumer.seekToEnd(tps);
            for (TopicPartition tp : tps) consumer.position(tp);
            producer.partitionsFor(topic); // metadata before the clock starts

            AtomicBoolean done = new AtomicBoolean(false);
            long[] received = {0};
            Thread reader = new Thread(() -> {
                while (!done.get()) {
                    for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(50))) {
                        long now = System.nanoTime();
                        long seq = ByteBuffer.wrap(r.value()).getLong(8);
                        long index = seq - (total - counted);
                        if (index >= 0 && index < counted) e2e[(int) index] = now - ByteBuffer.wrap(r.value()).getLong(0);
                        received[0]++;
                    }
                }
            }, "e2e-consumer");
            reader.start();

            long periodNanos = 1_000_000_000L / rate;
            long start = System.nanoTime();
            long[] ackErrors = {0};
            for (long i = 0; i < total; i++) {
                long due = start + i * periodNanos;
                long now;
                while ((now = System.nanoTime()) < due) LockSupport.parkNanos(due - now);
                byte[] value = new byte[size];
                ByteBuffer.wrap(value).putLong(0, now).putLong(8, i);
                final long seq = i;
                final long sent = now;
                producer.send(new ProducerRecord<>(topic, value), (meta, error) -> {
                    if (error != null) { ackErrors[0]++; return; }
                    long index = seq - (total - counted);
                    if (index >= 0) ack[(int) index] = System.nanoTime() - sent;
                });
                sentAt[(int) i] = now;
            }
            producer.flush();
            long lateSendNanos = sentAt[(int) total - 1] - (start + (total - 1) * periodNanos);
            // Wait (bounded) for the last records to arrive.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (System.nanoTime() < deadline && Arrays.stream(e2e, (int) counted - Math.min(10, (int) counted), (int) counted).anyMatch(v -> v == 0)) {
                Thread.sleep(20);
            }
            done.set(true);
            reader.join(5000);

            long missing = Arrays.stream(e2e).filter(v -> v == 0).count();
            long[] e = Arrays.stream(e2e).filter(v -> v > 0).sorted().toArray();
            long[] a = Arrays.stream(ack).filter(v -> v > 0).sorted().toArray();
            System.out.printf("RESULT rate=%d seconds=%d sent=%d missing=%d ack_errors=%d send_lag_us=%d "
                    + "p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f ack_p50_us=%.1f ack_p99_us=%.1f ack_p999_us=%.1f%n",
                rate, seconds, total, missing, ackErrors[0], lateSendNanos / 1000,
                pct(e, 0.50), pct(e, 0.99), pct(e, 0.999), pct(e, 1.0), pct(a, 0.50), pct(a, 0.99), pct(a, 0.999));
        }
    }

    /** The nearest-rank percentile, in microseconds. */
    static double pct(long[] sorted, double q) {
        if (sorted.length == 0) return -1;
        int rank = (int) Math.ceil(q * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank))] / 1000.0;
    }
}
