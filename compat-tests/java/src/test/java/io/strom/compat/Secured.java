package io.strom.compat;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.config.SslConfigs;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Client properties for the harness broker's secured listeners
 * (compat-tests/lib/security.py: users strom, a super user, alice and bob
 * without ACLs; a CA, a trusted client certificate and an untrusted one), and
 * the producer and consumer the security tests share.
 */
final class Secured {
    private Secured() {
    }

    static String env(String name) {
        String value = System.getenv(name);
        assumeTrue(value != null && !value.isBlank(), "broker without secured listeners (" + name + ")");
        return value;
    }

    /** The listener for protocol, trusting the CA in the environment variable ca (STROM_CA_FILE or STROM_UNTRUSTED_CA_FILE). */
    static Properties listener(String protocol, String ca) {
        Properties props = Strom.clientProperties();
        props.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, env("STROM_" + protocol + "_BOOTSTRAP"));
        props.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, protocol);
        if (protocol.endsWith("SSL")) {
            props.put(SslConfigs.SSL_TRUSTSTORE_TYPE_CONFIG, "PEM");
            props.put(SslConfigs.SSL_TRUSTSTORE_LOCATION_CONFIG, env(ca));
        }
        return props;
    }

    /** SSL with the key and certificate chain of STROM_&lt;keystore&gt;_KEYSTORE_PEM (CLIENT or UNTRUSTED). */
    static Properties ssl(String keystore) {
        Properties props = listener("SSL", "STROM_CA_FILE");
        props.put(SslConfigs.SSL_KEYSTORE_TYPE_CONFIG, "PEM");
        props.put(SslConfigs.SSL_KEYSTORE_LOCATION_CONFIG, env("STROM_" + keystore + "_KEYSTORE_PEM"));
        return props;
    }

    static Properties sasl(String protocol, String mechanism, String user, String password) {
        Properties props = listener(protocol, "STROM_CA_FILE");
        props.put(SaslConfigs.SASL_MECHANISM, mechanism);
        String module = mechanism.equals("PLAIN") ? "org.apache.kafka.common.security.plain.PlainLoginModule"
            : "org.apache.kafka.common.security.scram.ScramLoginModule";
        props.put(SaslConfigs.SASL_JAAS_CONFIG, module + " required username=\"" + user + "\" password=\"" + password + "\";");
        return props;
    }

    /** A harness user with its own password. */
    static Properties user(String protocol, String mechanism, String name) {
        return sasl(protocol, mechanism, name, env("STROM_SASL_" + name.toUpperCase() + "_PASSWORD"));
    }

    /** Sends value to partition 0 and returns its offset. */
    static long send(Properties props, String topic, String value) throws Exception {
        Properties p = (Properties) props.clone();
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, (int) Strom.TIMEOUT.toMillis());
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) Strom.TIMEOUT.toMillis() + 1000);
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
            return producer.send(new ProducerRecord<>(topic, 0, null, value)).get().offset();
        }
    }

    static KafkaConsumer<String, String> consumer(Properties props, String group) {
        Properties p = (Properties) props.clone();
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        // close() waits for the fetch in flight, a long poll of up to this.
        p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 100);
        if (group != null) {
            p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        }
        return new KafkaConsumer<>(p);
    }

    /** Polls until count values arrived or Strom.TIMEOUT passed; poll's exceptions reach the caller. */
    static List<String> poll(KafkaConsumer<String, String> consumer, int count) {
        List<String> values = new ArrayList<>();
        long deadline = System.nanoTime() + Strom.TIMEOUT.toNanos();
        while (values.size() < count && System.nanoTime() < deadline) {
            for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(100))) {
                values.add(r.value());
            }
        }
        return values;
    }

    /** Reads partition 0 from the beginning without a group. */
    static List<String> read(Properties props, String topic, int count) {
        try (KafkaConsumer<String, String> consumer = consumer(props, null)) {
            consumer.assign(List.of(new TopicPartition(topic, 0)));
            return poll(consumer, count);
        }
    }
}
