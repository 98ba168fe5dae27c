package io.strom.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;

import io.strom.compat.KafkaTool.Run;
import org.apache.kafka.tools.TopicCommand;
import org.junit.jupiter.api.Test;

/**
 * Kafka's own kafka-topics command (TopicCommand from kafka-tools, same release as the
 * clients), run in-process by {@link KafkaTool}.
 */
class TopicCommandTest {
    private static final String ONE_HOUR_MS = "3600000";

    private static Run kafkaTopics(String... args) {
        return KafkaTool.run("kafka-topics", TopicCommand::main, args);
    }

    private static Run ok(String... args) {
        Run run = kafkaTopics(args);
        assertEquals(0, run.exitCode(), () -> "kafka-topics " + String.join(" ", args) + ": " + run);
        return run;
    }

    @Test
    void createListDescribeAlterDelete() throws Exception {
        String topic = Strom.uniqueTopic("kafka-topics");

        Run create = ok("--create", "--topic", topic, "--partitions", "3", "--config", "retention.ms=" + ONE_HOUR_MS);
        assertEquals(List.of("Created topic " + topic + "."), create.lines());

        assertTrue(Strom.eventually(() -> ok("--list").lines().contains(topic)));

        Run describe = ok("--describe", "--topic", topic);
        List<String> lines = describe.lines();
        assertEquals(4, lines.size(), describe::toString);
        String summary = lines.get(0);
        assertTrue(summary.startsWith("Topic: " + topic + "\tTopicId: "), summary);
        assertTrue(summary.contains("\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: "), summary);
        String configs = summary.substring(summary.indexOf("Configs: ") + "Configs: ".length());
        assertTrue(Arrays.asList(configs.split(",")).contains("retention.ms=" + ONE_HOUR_MS), summary);
        for (int i = 0; i < 3; i++) {
            String expected = "\tTopic: " + topic + "\tPartition: " + i + "\tLeader: 1\tReplicas: 1\tIsr: 1";
            assertTrue(lines.get(i + 1).startsWith(expected), () -> describe + "\nexpected prefix: " + expected);
        }

        Run alter = ok("--alter", "--topic", topic, "--partitions", "5");
        assertEquals("", alter.out().strip(), alter::toString);
        assertTrue(Strom.eventually(() -> ok("--describe", "--topic", topic).lines().size() == 6));

        ok("--delete", "--topic", topic);
        assertTrue(Strom.eventually(() -> !ok("--list").lines().contains(topic)));
    }

    @Test
    void createExistingTopicFails() {
        String topic = Strom.uniqueTopic("kafka-topics-exists");
        ok("--create", "--topic", topic, "--partitions", "1");
        Run again = kafkaTopics("--create", "--topic", topic, "--partitions", "1");
        assertEquals(1, again.exitCode(), again::toString);
        assertTrue(again.out().contains("Error while executing topic command : Topic '" + topic + "' already exists."),
            again::toString);
        ok("--create", "--if-not-exists", "--topic", topic, "--partitions", "1");
    }

    @Test
    void describeMissingTopicFails() {
        String topic = Strom.uniqueTopic("kafka-topics-missing");
        Run run = kafkaTopics("--describe", "--topic", topic);
        assertEquals(1, run.exitCode(), run::toString);
        // 3.9 prints "Topic 'Optional[<name>]' ..." on stdout, 4.x "Topic '<name>' ..." on stderr.
        String output = run.out() + run.err();
        assertTrue(output.contains(topic) && output.contains("does not exist as expected"), run::toString);
        assertFalse(ok("--list").lines().contains(topic));
    }
}
