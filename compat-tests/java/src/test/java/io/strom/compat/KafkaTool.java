package io.strom.compat;

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

/**
 * Runs one of Kafka's command-line tools (kafka-tools jar, same release as the
 * clients) in-process through its main entry point, with Exit and System.out captured.
 */
final class KafkaTool {
    /** --command-config: only shorter admin timeouts than the 60 s defaults, so that failures come quickly. */
    static final Path COMMAND_CONFIG = commandConfig();

    private KafkaTool() {
    }

    /** A tool's main(String[]). */
    interface Main {
        void main(String[] args) throws Exception;
    }

    /** What one invocation printed and returned. */
    record Run(int exitCode, String out, String err) {
        List<String> lines() {
            return out.lines().toList();
        }

        @Override
        public String toString() {
            return "exit " + exitCode + "\nstdout:\n" + out + "\nstderr:\n" + err;
        }
    }

    private static Path commandConfig() {
        try {
            Path file = Files.createTempFile("kafka-tool-", ".properties");
            file.toFile().deleteOnExit();
            long ms = Strom.TIMEOUT.toMillis();
            Files.writeString(file, "request.timeout.ms=" + ms + "\ndefault.api.timeout.ms=" + ms + "\n");
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Thrown by the captured exit procedure so that main() returns to the test. */
    private static final class ExitCalled extends RuntimeException {
        ExitCalled(int code) {
            super("exit " + code, null, false, false);
        }
    }

    /** Runs `NAME --bootstrap-server <strom> --command-config <short timeouts> args...`. */
    static synchronized Run run(String name, Main main, String... args) {
        List<String> argv = new ArrayList<>(List.of(
            "--bootstrap-server", Strom.bootstrap(), "--command-config", COMMAND_CONFIG.toString()));
        argv.addAll(Arrays.asList(args));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream savedOut = System.out;
        PrintStream savedErr = System.err;
        // A tool's execute() may call Exit.exit(code) itself and main() call it
        // again with whatever execute() ended with (1 after our exception): the
        // first call carries the command's real exit code. A tool that returns
        // normally exited with 0.
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
            main.main(argv.toArray(new String[0]));
        } catch (ExitCalled e) {
            // Expected: the command ends through Exit.exit.
        } catch (Exception e) {
            e.printStackTrace(System.err);
            firstExit[0] = firstExit[0] == -1 ? 99 : firstExit[0];
        } finally {
            System.setOut(savedOut);
            System.setErr(savedErr);
            Exit.resetExitProcedure();
        }
        int code = firstExit[0] == -1 ? 0 : firstExit[0];
        Run run = new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        savedOut.println(name + " " + String.join(" ", args) + " -> " + run);
        return run;
    }
}
