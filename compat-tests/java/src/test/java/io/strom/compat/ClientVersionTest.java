package io.strom.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.apache.kafka.common.utils.AppInfoParser;
import org.junit.jupiter.api.Test;

/**
 * Needs no broker: checks that the run really uses the kafka-clients release it
 * claims (-Dkafka.version). compat-tests/run.sh also runs it alone, online, while
 * installing, so that Maven fetches Surefire's JUnit provider for later offline runs.
 */
class ClientVersionTest {
    @Test
    void clientsAreTheRequestedRelease() {
        assertEquals(System.getProperty("kafka.version"), AppInfoParser.getVersion());
    }
}
