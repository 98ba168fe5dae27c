package io.strom.compat;

import java.time.Duration;
import java.util.Properties;
import java.util.UUID;
import java.util.function.BooleanSupplier;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;

/** The broker under test and small helpers shared by every test class. */
public final class Strom {
    /** Generous for a local broker, short enough that a hang fails quickly. */
    public static final Duration TIMEOUT = Duration.ofSeconds(15);

    private Strom() {
    }

    /** host:port of the broker, from STROM_BOOTSTRAP (set by compat-tests/run.sh). */
    public static String bootstrap() {
        String value = System.getenv("STROM_BOOTSTRAP");
        if (value == null || value.isBlank()) {
            throw new IllegalStateException("STROM_BOOTSTRAP is not set: run these tests through compat-tests/run.sh");
        }
        return value;
    }

    /** Common client properties: bootstrap, client id and short timeouts. */
    public static Properties clientProperties() {
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
        props.put(AdminClientConfig.CLIENT_ID_CONFIG, "strom-compat-java");
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) TIMEOUT.toMillis());
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) TIMEOUT.toMillis());
        return props;
    }

    public static Admin admin() {
        return Admin.create(clientProperties());
    }

    /** A topic name that no other test uses. */
    public static String uniqueTopic(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    /** Kafka propagates topic changes to its metadata cache asynchronously: poll briefly. */
    public static boolean eventually(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (true) {
            if (condition.getAsBoolean()) {
                return true;
            }
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(100);
        }
    }
}
