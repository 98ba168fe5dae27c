package io.strom.compat;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;

/**
 * A group member in a JVM of its own, so a test can kill it with SIGKILL:
 * {@code ChildConsumer TOPIC GROUP} (STROM_BOOTSTRAP from the environment).
 * Prints {@code assigned [p, ...]} after every poll.
 */
public final class ChildConsumer {
    private ChildConsumer() {
    }

    public static void main(String[] args) {
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(GroupMember.properties(args[1], Map.of()))) {
            consumer.subscribe(List.of(args[0]));
            while (true) {
                consumer.poll(Duration.ofMillis(200));
                TreeSet<Integer> owned = new TreeSet<>();
                for (TopicPartition tp : consumer.assignment()) {
                    owned.add(tp.partition());
                }
                System.out.println("assigned " + owned);
                System.out.flush();
            }
        }
    }
}
