package io.strom.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.apache.kafka.common.utils.Exit;
import org.apache.kafka.tools.TopicCommand;
import org.junit.jupiter.api.Test;

/**
 * Kafka's own kafka-topics command (TopicCommand from kafka-tools, same release as the
 * clients), run in-process through its main entry point with Exit and System.out captured.
 */
class TopicCommandTest {
    private static final String ONE_HOUR_MS = "3600000";
    /** --command-config: only shorter admin timeouts than the 60 s defaults, so that failures come quickly. */
    private static final Path COMMAND_CONFIG = commandConfig();

    private static Path commandConfig() {
        try {
            Path file = Files.createTempFile("kafka-topics-", ".properties");
            file.toFile().deleteOnExit();
            long ms = Strom.TIMEOUT.toMillis();
            Files.writeString(file, "request.timeout.ms=" + ms + "\ndefault.api.timeout.ms=" + ms + "\n");
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** What one kafka-topics invocation printed and returned. */
    record Run(int exitCode, String out, String err) {
        List<String> lines() {
            return out.lines().toList();
        }

        @Override
        public String toString() {
            return "exit " + exitCode + "\nstdout:\n" + out + "\nstderr:\n" + err;
        }
    }

    /** Thrown by the captured exit procedure so that main() returns to the test. */
    private static final class ExitCalled extends RuntimeException {
        ExitCalled(int code) {
            super("exit " + code, null, false, false);
        }
    }

    /** Runs `kafka-topics --bootstrap-server <strom> args...`. */
    private static synchronized Run kafkaTopics(String... args) {
        List<String> argv = new ArrayList<>(List.of(
            "--bootstrap-server", Strom.bootstrap(), "--command-config", COMMAND_CONFIG.toString()));
        argv.addAll(Arrays.asList(args));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream savedOut = System.out;
        PrintStream savedErr = System.err;
        // The command's execute() calls Exit.exit(code) itself and main() calls it
        // again with whatever execute() ended with (1 after our exception): the
        // first call carries the command's real exit code.
        int[] firstExit = {-1};
        Exit.setExitProcedure((status, message) -> {
            if (firstExit[0] == -1) {
                firstExit[0] = status;
            }
            throw new ExitCalled(status);
        });
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            TopicCommand.main(argv.toArray(new String[0]));
        } catch (ExitCalled e) {
            // Expected: the command always ends through Exit.exit.
        } finally {
            System.setOut(savedOut);
            System.setErr(savedErr);
            Exit.resetExitProcedure();
        }
        Run run = new Run(firstExit[0], out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        savedOut.println("kafka-topics " + String.join(" ", args) + " -> " + run);
        return run;
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
