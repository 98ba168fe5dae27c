package io.strom.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.IntFunction;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import io.strom.compat.GroupMember.Received;
import io.strom.compat.KafkaTool.Run;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.ConsumerGroupListing;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.tools.consumer.group.ConsumerGroupCommand;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Consumer groups with the Java consumer (classic protocol): seed 004's experiments,
 * cooperative-sticky rebalancing, static membership, a kill -9'd member in a child JVM,
 * a mixed Java and kafka-python group, the admin client and Kafka's own
 * kafka-consumer-groups command.
 */
class GroupTest {
    private static final Duration WAIT = Duration.ofSeconds(30);

    static void await(BooleanSupplier condition, String what) throws InterruptedException {
        await(condition, WAIT, what);
    }

    static void await(BooleanSupplier condition, Duration timeout, String what) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(50);
        }
    }

    private static void createTopic(String topic, int partitions) throws Exception {
        try (Admin admin = Strom.admin()) {
            admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get();
            assertTrue(Strom.eventually(() -> {
                try {
                    return admin.listTopics().names().get().contains(topic);
                } catch (Exception e) {
                    return false;
                }
            }));
        }
    }

    /** Produces values(n, prefix) with keys and partitions chosen per index (null: the default). */
    private static void produce(String topic, List<String> values, IntFunction<String> key, IntFunction<Integer> partition)
        throws Exception {
        Properties props = Strom.clientProperties();
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        props.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
            List<java.util.concurrent.Future<?>> sent = new ArrayList<>();
            for (int i = 0; i < values.size(); i++) {
                sent.add(producer.send(new ProducerRecord<>(topic, partition == null ? null : partition.apply(i),
                    key == null ? null : key.apply(i), values.get(i))));
            }
            for (var f : sent) {
                f.get();
            }
        }
    }

    private static void produce(String topic, List<String> values) throws Exception {
        produce(topic, values, null, null);
    }

    private static List<String> values(int n, String prefix) {
        return IntStream.range(0, n).mapToObj(i -> prefix + "-" + i).toList();
    }

    private static List<String> valuesOf(Collection<GroupMember> members) {
        return members.stream().flatMap(m -> m.records().stream()).map(Received::value).sorted().toList();
    }

    private static List<String> sorted(List<String> values) {
        return values.stream().sorted().toList();
    }

    private static void awaitRecords(Collection<GroupMember> members, int count) throws InterruptedException {
        await(() -> members.stream().mapToInt(m -> m.records().size()).sum() >= count, count + " records");
        Thread.sleep(300); // anything beyond the count would show up now
    }

    private static void awaitAssignment(Collection<GroupMember> members, List<Integer> sizes, Duration timeout)
        throws InterruptedException {
        List<Integer> expected = sizes.stream().sorted().toList();
        await(() -> members.stream().map(m -> m.partitions().size()).sorted().toList().equals(expected), timeout,
            "assignment sizes " + expected);
    }

    private static void awaitAssignment(Collection<GroupMember> members, List<Integer> sizes) throws InterruptedException {
        awaitAssignment(members, sizes, WAIT);
    }

    @Test
    void recordsSentWhileTheConsumerIsOfflineArriveWhenItReturns() throws Exception {
        String topic = Strom.uniqueTopic("group-offline");
        String group = topic + "-g";
        produce(topic, values(5, "before"));
        try (GroupMember m = new GroupMember(topic, group)) {
            awaitRecords(List.of(m), 5);
            m.commit();
        }
        produce(topic, values(7, "offline"));
        try (GroupMember m = new GroupMember(topic, group)) {
            awaitRecords(List.of(m), 7);
            assertEquals(values(7, "offline"), m.records().stream().map(Received::value).toList());
        }
    }

    @Test
    void recordsOfOneKeyArriveInOrder() throws Exception {
        String topic = Strom.uniqueTopic("group-keys");
        createTopic(topic, 3);
        produce(topic, IntStream.range(0, 120).mapToObj(Integer::toString).toList(), i -> "user-" + (i % 6), null);
        try (GroupMember m = new GroupMember(topic, topic + "-g")) {
            awaitRecords(List.of(m), 120);
            Map<Integer, List<Integer>> byKey = m.records().stream().map(r -> Integer.parseInt(r.value()))
                .collect(Collectors.groupingBy(v -> v % 6));
            assertEquals(6, byKey.size());
            byKey.values().forEach(seq -> assertEquals(seq.stream().sorted().toList(), seq));
            assertEquals(120, m.records().size());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"org.apache.kafka.clients.consumer.RangeAssignor",
        "org.apache.kafka.clients.consumer.CooperativeStickyAssignor"})
    void threeMembersShareThreePartitionsAndTakeOverFromALeaver(String assignor) throws Exception {
        String topic = Strom.uniqueTopic("group-share");
        String group = topic + "-g";
        createTopic(topic, 3);
        Map<String, Object> config = Map.of(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, assignor);
        List<GroupMember> members = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            members.add(new GroupMember(topic, group, config));
        }
        try {
            awaitAssignment(members, List.of(1, 1, 1));
            List<Set<Integer>> owned = members.stream().map(GroupMember::partitions).toList();
            assertEquals(Set.of(0, 1, 2), owned.stream().flatMap(Set::stream).collect(Collectors.toSet()));
            produce(topic, values(90, "a"), null, i -> i % 3);
            awaitRecords(members, 90);
            for (int i = 0; i < 3; i++) {
                List<Received> got = members.get(i).records();
                assertEquals(30, got.size(), "every record exactly once");
                assertEquals(owned.get(i), got.stream().map(Received::partition).collect(Collectors.toSet()));
            }
            for (GroupMember m : members) {
                m.commit();
            }
            members.remove(0).close();
            awaitAssignment(members, List.of(1, 2));
            if (assignor.contains("Sticky")) {
                for (int i = 0; i < 2; i++) {
                    assertTrue(members.get(i).partitions().containsAll(owned.get(i + 1)), "sticky: kept what it had");
                }
            }
            produce(topic, values(60, "b"), null, i -> i % 3);
            await(() -> valuesOf(members).stream().filter(v -> v.startsWith("b-")).toList().equals(sorted(values(60, "b"))),
                "the 60 new records, each once");
        } finally {
            for (GroupMember m : members) {
                m.close();
            }
        }
    }

    /** A JVM running {@link ChildConsumer}, killed with SIGKILL by the test. */
    private static Process child(String mainClass, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(
            System.getProperty("java.home") + File.separator + "bin" + File.separator + "java",
            "-cp", System.getProperty("java.class.path"), mainClass));
        command.addAll(List.of(args));
        return new ProcessBuilder(command).redirectErrorStream(true).start();
    }

    private static void awaitLine(Process process, String expected) throws Exception {
        BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        long deadline = System.nanoTime() + WAIT.toNanos();
        List<String> seen = new ArrayList<>();
        while (System.nanoTime() < deadline) {
            String line = out.readLine();
            if (line == null) {
                throw new AssertionError("child exited: " + seen);
            }
            seen.add(line);
            if (line.equals(expected)) {
                // Keep draining so the child never blocks on a full pipe.
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
        throw new AssertionError("never saw '" + expected + "': " + seen.subList(Math.max(0, seen.size() - 5), seen.size()));
    }

    @Test
    void aKilledMemberIsReplacedAfterItsSessionTimeout() throws Exception {
        String topic = Strom.uniqueTopic("group-kill");
        String group = topic + "-g";
        createTopic(topic, 2);
        Process victim = child(ChildConsumer.class.getName(), topic, group);
        try {
            awaitLine(victim, "assigned [0, 1]");
            try (GroupMember survivor = new GroupMember(topic, group)) {
                awaitAssignment(List.of(survivor), List.of(1));
                victim.destroyForcibly(); // SIGKILL: no LeaveGroup
                victim.waitFor(10, TimeUnit.SECONDS);
                long killed = System.nanoTime();
                awaitAssignment(List.of(survivor), List.of(2), Duration.ofMillis(GroupMember.SESSION_TIMEOUT_MS).plusSeconds(20));
                long waitedMs = (System.nanoTime() - killed) / 1_000_000;
                assertTrue(waitedMs >= GroupMember.SESSION_TIMEOUT_MS - 1500, "taken over only after the session timeout: " + waitedMs);
                produce(topic, values(40, "v"), null, i -> i % 2);
                await(() -> valuesOf(List.of(survivor)).equals(sorted(values(40, "v"))), "all 40 records");
            }
        } finally {
            victim.destroyForcibly();
        }
    }

    @Test
    void aRestartedStaticMemberKeepsItsPartitionsWithoutARebalance() throws Exception {
        String topic = Strom.uniqueTopic("group-static");
        String group = topic + "-g";
        createTopic(topic, 2);
        GroupMember a = new GroupMember(topic, group, Map.of(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, "static-a"));
        try (GroupMember b = new GroupMember(topic, group, Map.of(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, "static-b"))) {
            awaitAssignment(List.of(a, b), List.of(1, 1));
            Set<Integer> ownedByA = a.partitions();
            Set<Integer> ownedByB = b.partitions();
            // A static member's close() leaves no LeaveGroup behind (KIP-345): it stays in the group.
            a.close();
            a = new GroupMember(topic, group, Map.of(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, "static-a"));
            GroupMember restarted = a;
            awaitAssignment(List.of(restarted), List.of(1));
            assertEquals(ownedByA, restarted.partitions());
            assertEquals(ownedByB, b.partitions());
            try (Admin admin = Strom.admin()) {
                ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group)).all().get().get(group);
                assertEquals(Set.of("static-a", "static-b"),
                    d.members().stream().map(m -> m.groupInstanceId().orElse("")).collect(Collectors.toSet()));
            }
            produce(topic, values(20, "s"), null, i -> i % 2);
            await(() -> valuesOf(List.of(restarted, b)).equals(sorted(values(20, "s"))), "20 records");
        } finally {
            a.close();
        }
    }

    @Test
    void aRestartedConsumerContinuesAfterItsLastCommit() throws Exception {
        String topic = Strom.uniqueTopic("group-resume");
        String group = topic + "-g";
        produce(topic, values(10, "old"));
        try (GroupMember m = new GroupMember(topic, group)) {
            awaitRecords(List.of(m), 10);
            m.commit();
        }
        produce(topic, values(3, "new"));
        try (GroupMember m = new GroupMember(topic, group)) {
            awaitRecords(List.of(m), 3);
            assertEquals(values(3, "new"), m.records().stream().map(Received::value).toList());
        }
    }

    @Test
    void twoGroupsEachReceiveEveryRecord() throws Exception {
        String topic = Strom.uniqueTopic("group-fanout");
        createTopic(topic, 2);
        produce(topic, values(50, "f"), null, i -> i % 2);
        try (GroupMember a = new GroupMember(topic, topic + "-a"); GroupMember b = new GroupMember(topic, topic + "-b")) {
            await(() -> valuesOf(List.of(a)).equals(sorted(values(50, "f"))), "group a");
            await(() -> valuesOf(List.of(b)).equals(sorted(values(50, "f"))), "group b");
        }
    }

    @Test
    void aJavaAndAKafkaPythonConsumerShareAGroup() throws Exception {
        String python = System.getenv("COMPAT_KAFKA_PYTHON");
        org.junit.jupiter.api.Assumptions.assumeTrue(python != null, "COMPAT_KAFKA_PYTHON is not set");
        String topic = Strom.uniqueTopic("group-mixed");
        String group = topic + "-g";
        createTopic(topic, 2);
        // kafka-python offers range and roundrobin; the Java default list starts with range: range it is.
        String script = String.join("\n",
            "import sys",
            "from kafka import KafkaConsumer",
            "c = KafkaConsumer(sys.argv[1], bootstrap_servers=sys.argv[3], group_id=sys.argv[2],",
            "                  auto_offset_reset='earliest', session_timeout_ms=6000, heartbeat_interval_ms=1000)",
            "while True:",
            "    for tp, records in c.poll(timeout_ms=200).items():",
            "        for r in records:",
            "            print('record', r.value.decode(), flush=True)",
            "    print('assigned', sorted(tp.partition for tp in c.assignment()), flush=True)");
        Process py = new ProcessBuilder(python, "-c", script, topic, group, Strom.bootstrap()).redirectErrorStream(true).start();
        List<String> pythonGot = java.util.Collections.synchronizedList(new ArrayList<>());
        List<String> pythonAssigned = java.util.Collections.synchronizedList(new ArrayList<>());
        Thread reader = new Thread(() -> {
            try (BufferedReader out = new BufferedReader(new InputStreamReader(py.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = out.readLine()) != null) {
                    if (line.startsWith("record ")) {
                        pythonGot.add(line.substring(7));
                    } else if (line.startsWith("assigned ")) {
                        pythonAssigned.add(line.substring(9));
                    } else {
                        System.out.println("kafka-python: " + line);
                    }
                }
            } catch (Exception ignored) {
                // the process was stopped
            }
        });
        reader.setDaemon(true);
        reader.start();
        try {
            await(() -> !pythonAssigned.isEmpty() && pythonAssigned.get(pythonAssigned.size() - 1).equals("[0, 1]"),
                "kafka-python owning both partitions");
            try (GroupMember java = new GroupMember(topic, group)) {
                awaitAssignment(List.of(java), List.of(1));
                await(() -> pythonAssigned.get(pythonAssigned.size() - 1).matches("\\[[01]\\]"), "kafka-python giving one up");
                produce(topic, values(40, "m"), null, i -> i % 2);
                await(() -> {
                    List<String> all = new ArrayList<>(pythonGot);
                    java.records().forEach(r -> all.add(r.value()));
                    return all.stream().sorted().toList().equals(sorted(values(40, "m")));
                }, "each of 40 records once, split between the two clients");
                assertEquals(20, java.records().size());
            }
        } finally {
            py.destroyForcibly();
        }
    }

    @Test
    void theAdminClientListsDescribesAltersAndDeletesGroups() throws Exception {
        String topic = Strom.uniqueTopic("group-admin");
        String group = topic + "-g";
        produce(topic, values(4, "x"));
        try (Admin admin = Strom.admin()) {
            try (GroupMember m = new GroupMember(topic, group)) {
                awaitRecords(List.of(m), 4);
                m.commit();
                Collection<ConsumerGroupListing> listed = admin.listConsumerGroups().all().get();
                assertTrue(listed.stream().anyMatch(g -> g.groupId().equals(group)));
                ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group)).all().get().get(group);
                assertEquals("STABLE", d.state().toString().toUpperCase());
                assertEquals("range", d.partitionAssignor());
                assertEquals(1, d.members().size());
                assertEquals(Set.of(new TopicPartition(topic, 0)), d.members().iterator().next().assignment().topicPartitions());
            }
            TopicPartition tp = new TopicPartition(topic, 0);
            Map<TopicPartition, OffsetAndMetadata> offsets = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
            assertEquals(4, offsets.get(tp).offset());
            admin.alterConsumerGroupOffsets(group, Map.of(tp, new OffsetAndMetadata(1, "rewound"))).all().get();
            OffsetAndMetadata altered = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get().get(tp);
            assertEquals(1, altered.offset());
            assertEquals("rewound", altered.metadata());
            admin.deleteConsumerGroupOffsets(group, Set.of(tp)).all().get();
            assertTrue(admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get().isEmpty());
            admin.deleteConsumerGroups(List.of(group)).all().get();
            assertTrue(admin.listConsumerGroups().all().get().stream().noneMatch(g -> g.groupId().equals(group)));
            ExecutionException missing = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                () -> admin.deleteConsumerGroups(List.of(group)).all().get());
            assertEquals("GroupIdNotFoundException", missing.getCause().getClass().getSimpleName());
        }
    }

    private static Run consumerGroups(String... args) {
        return KafkaTool.run("kafka-consumer-groups", ConsumerGroupCommand::main, args);
    }

    /** The whitespace-separated cells of each output line that starts with `group`. */
    private static List<List<String>> rows(Run run, String group) {
        return run.lines().stream().map(String::trim).filter(l -> l.startsWith(group + " "))
            .map(l -> List.of(l.split("\\s+"))).toList();
    }

    @Test
    void kafkaConsumerGroupsListsDescribesResetsAndDeletes() throws Exception {
        String topic = Strom.uniqueTopic("group-tool");
        String group = topic + "-g";
        createTopic(topic, 2);
        produce(topic, values(10, "t"), null, i -> i % 2);
        try (GroupMember m = new GroupMember(topic, group)) {
            awaitRecords(List.of(m), 10);
            m.commit();
            produce(topic, values(4, "lag"), null, i -> 0);
            assertTrue(consumerGroups("--list").lines().contains(group));
            Run describe = consumerGroups("--describe", "--group", group);
            assertEquals(0, describe.exitCode(), describe::toString);
            // GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID
            Set<String> table = new HashSet<>();
            for (List<String> row : rows(describe, group)) {
                table.add(String.join(" ", row.subList(1, 6)));
                assertTrue(row.get(6).startsWith("strom-compat-java-"), row::toString);
                assertEquals("/127.0.0.1", row.get(7));
            }
            assertEquals(Set.of(topic + " 0 5 9 4", topic + " 1 5 5 0"), table, describe::toString);
            Run members = consumerGroups("--describe", "--group", group, "--members");
            List<List<String>> memberRows = rows(members, group);
            assertEquals(1, memberRows.size(), members::toString);
            assertEquals("2", memberRows.get(0).get(memberRows.get(0).size() - 1), "#PARTITIONS");
            Run state = consumerGroups("--describe", "--group", group, "--state");
            assertTrue(state.out().contains("Stable") && state.out().contains("range"), state::toString);
            Run busy = consumerGroups("--reset-offsets", "--group", group, "--topic", topic, "--to-earliest", "--execute");
            assertTrue(busy.out().contains("inactive") || busy.err().contains("inactive"), busy::toString);
        }
        Run reset = consumerGroups("--reset-offsets", "--group", group, "--topic", topic, "--to-earliest", "--execute");
        assertEquals(0, reset.exitCode(), reset::toString);
        // GROUP TOPIC PARTITION NEW-OFFSET; 3.9 prints the rows without line breaks, so read tokens.
        List<String> tokens = List.of(reset.out().trim().split("\\s+"));
        Set<String> resetTo = new HashSet<>();
        for (int i = 0; i + 3 < tokens.size(); i++) {
            if (tokens.get(i).equals(group)) {
                resetTo.add(String.join(" ", tokens.subList(i + 1, i + 4)));
            }
        }
        assertEquals(Set.of(topic + " 0 0", topic + " 1 0"), resetTo, reset::toString);
        try (Admin admin = Strom.admin()) {
            Map<TopicPartition, OffsetAndMetadata> offsets = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
            assertEquals(0, offsets.get(new TopicPartition(topic, 0)).offset());
        }
        Run delete = consumerGroups("--delete", "--group", group);
        assertEquals(0, delete.exitCode(), delete::toString);
        assertTrue(delete.out().contains("Deletion of requested consumer groups ('" + group + "') was successful."), delete::toString);
        assertTrue(!consumerGroups("--list").lines().contains(group));
    }

    /** Asks the harness (STROM_CONTROL) to restart the broker: "restart" is SIGTERM, "kill" is kill -9. */
    static void restartBroker(String how) throws Exception {
        String control = System.getenv("STROM_CONTROL");
        org.junit.jupiter.api.Assumptions.assumeTrue(control != null, "STROM_CONTROL is not set");
        String[] hostPort = control.split(":");
        try (java.net.Socket socket = new java.net.Socket(hostPort[0], Integer.parseInt(hostPort[1]))) {
            socket.setSoTimeout(60_000);
            socket.getOutputStream().write((how + "\n").getBytes(StandardCharsets.UTF_8));
            String answer = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8)).readLine();
            assertEquals("ok", answer, "broker " + how);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"restart", "kill"})
    void recordsAndCommittedOffsetsSurviveABrokerRestart(String how) throws Exception {
        String topic = Strom.uniqueTopic("group-restart");
        String group = topic + "-g";
        produce(topic, values(6, "c"));
        try (GroupMember m = new GroupMember(topic, group)) {
            awaitRecords(List.of(m), 6);
            m.commit();
        }
        restartBroker(how);
        produce(topic, values(2, "after"));
        try (GroupMember m = new GroupMember(topic, group)) {
            awaitRecords(List.of(m), 2);
            assertEquals(values(2, "after"), m.records().stream().map(Received::value).toList());
        }
        List<String> all = new ArrayList<>(values(6, "c"));
        all.addAll(values(2, "after"));
        try (GroupMember fresh = new GroupMember(topic, group + "-fresh")) {
            awaitRecords(List.of(fresh), 8);
            assertEquals(all, fresh.records().stream().map(Received::value).toList());
        }
    }
}
