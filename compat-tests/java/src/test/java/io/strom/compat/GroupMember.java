package io.strom.compat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * One consumer-group member polling on its own thread, as each member of seed
 * 004's experiments runs in its own terminal. KafkaConsumer is not thread-safe,
 * so every call on it happens on that thread; the test reads snapshots.
 */
final class GroupMember implements AutoCloseable {
    /** The broker's minimum (group.min.session.timeout.ms): a vanished member is noticed quickly. */
    static final int SESSION_TIMEOUT_MS = 6000;

    /** (partition, offset, value) of one received record. */
    record Received(int partition, long offset, String value) {
    }

    private final KafkaConsumer<String, String> consumer;
    private final Thread thread;
    private final List<Received> records = new ArrayList<>();
    private final Set<Integer> partitions = new HashSet<>();
    private final AtomicInteger commitsWanted = new AtomicInteger();
    private final AtomicInteger commitsDone = new AtomicInteger();
    private volatile boolean stop;
    private volatile Throwable error;

    static Properties properties(String group, Map<String, Object> extra) {
        Properties props = Strom.clientProperties();
        props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        props.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, SESSION_TIMEOUT_MS);
        props.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 1000);
        props.putAll(extra);
        return props;
    }

    GroupMember(String topic, String group, Map<String, Object> extra) {
        consumer = new KafkaConsumer<>(properties(group, extra));
        consumer.subscribe(List.of(topic));
        thread = new Thread(this::run, "member-" + group);
        thread.setDaemon(true);
        thread.start();
    }

    GroupMember(String topic, String group) {
        this(topic, group, Map.of());
    }

    private void run() {
        try {
            while (!stop) {
                var polled = consumer.poll(Duration.ofMillis(100));
                synchronized (this) {
                    for (ConsumerRecord<String, String> r : polled) {
                        records.add(new Received(r.partition(), r.offset(), r.value()));
                    }
                    partitions.clear();
                    for (TopicPartition tp : consumer.assignment()) {
                        partitions.add(tp.partition());
                    }
                }
                int wanted = commitsWanted.get();
                if (commitsDone.get() < wanted) {
                    consumer.commitSync();
                    commitsDone.set(wanted);
                }
            }
        } catch (Throwable t) {
            error = t;
        } finally {
            consumer.close();
        }
    }

    /** Commits the member's positions (commitSync on its thread) and waits for it. */
    void commit() throws InterruptedException {
        int target = commitsWanted.incrementAndGet();
        GroupTest.await(() -> commitsDone.get() >= target || error != null, "commit");
        if (error != null) {
            throw new AssertionError("member failed", error);
        }
    }

    synchronized List<Received> records() {
        return new ArrayList<>(records);
    }

    synchronized Set<Integer> partitions() {
        return new HashSet<>(partitions);
    }

    /** Closes the consumer (a clean leave for dynamic members). */
    @Override
    public void close() throws InterruptedException {
        stop = true;
        thread.join(Strom.TIMEOUT.toMillis() * 2);
        if (thread.isAlive()) {
            throw new AssertionError("consumer did not close");
        }
        if (error != null) {
            throw new AssertionError("member failed", error);
        }
    }
}
