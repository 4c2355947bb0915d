package dev.finetune.operator.gcp.storage;

import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.opentest4j.TestAbortedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts a fake-gcs-server for a test class and stops it after the class.
 *
 * <p>Use either
 *
 * <pre>{@code
 * @ExtendWith(FakeGcsServerExtension.class)
 * class MyTest {
 *   @Test void t(FakeGcsServer gcs) { ... gcs.objectStore() ... }
 * }
 * }</pre>
 *
 * or a static field {@code @RegisterExtension static FakeGcsServerExtension gcs = new
 * FakeGcsServerExtension();} and {@link #server()}. {@link FakeGcsServer} parameters are injected
 * into constructors, lifecycle and test methods.
 *
 * <p>The binary is taken from env {@code FAKE_GCS_SERVER} (the binary or its directory), else from
 * {@code hack/controlplane/build.sh fake-gcs-server} (found by walking up from the working
 * directory; cached after the first build). If neither yields a binary the tests are skipped with a
 * message, or fail when env {@code CI=true}. Server output goes to {@code
 * target/fake-gcs-server-PORT.log}.
 */
public final class FakeGcsServerExtension
    implements BeforeAllCallback, AfterAllCallback, ParameterResolver {
  private static final Logger log = LoggerFactory.getLogger(FakeGcsServerExtension.class);
  private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration BUILD_TIMEOUT = Duration.ofMinutes(20);
  private static volatile Path cachedBinary;

  private Process process;
  private FakeGcsServer server;

  /** The server of the current test class; valid between beforeAll and afterAll. */
  public FakeGcsServer server() {
    if (server == null) {
      throw new IllegalStateException("fake-gcs-server is not running (used outside the class?)");
    }
    return server;
  }

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    Path binary = findBinary();
    IOException last = null;
    for (int attempt = 1; attempt <= 3; attempt++) {
      int port = freePort();
      try {
        start(binary, port);
        return;
      } catch (IOException e) {
        last = e;
        log.warn("fake-gcs-server did not start on port {} (attempt {}): {}", port, attempt, e);
        stop();
      }
    }
    throw new ExtensionConfigurationException("cannot start fake-gcs-server", last);
  }

  @Override
  public void afterAll(ExtensionContext context) {
    stop();
  }

  @Override
  public boolean supportsParameter(ParameterContext pc, ExtensionContext ec) {
    return pc.getParameter().getType() == FakeGcsServer.class;
  }

  @Override
  public Object resolveParameter(ParameterContext pc, ExtensionContext ec) {
    return server();
  }

  private void start(Path binary, int port) throws IOException, InterruptedException {
    Path logFile = logDir().resolve("fake-gcs-server-" + port + ".log");
    List<String> cmd =
        List.of(
            binary.toString(),
            "-scheme",
            "http",
            "-host",
            "127.0.0.1",
            "-port",
            String.valueOf(port),
            "-backend",
            "memory",
            "-public-host",
            "127.0.0.1:" + port,
            "-external-url",
            "http://127.0.0.1:" + port,
            "-log-level",
            "warn");
    process =
        new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(logFile.toFile()).start();
    // In case the JVM exits without running afterAll (a killed fork, System.exit in a test).
    ProcessHandle handle = process.toHandle();
    Runtime.getRuntime().addShutdownHook(new Thread(handle::destroy, "fake-gcs-server-reaper"));
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IOException(
            "fake-gcs-server exited with status "
                + process.exitValue()
                + "; output: "
                + tail(logFile));
      }
      if (ready(port)) {
        server = new FakeGcsServer(port);
        log.info("fake-gcs-server on 127.0.0.1:{} (log {})", port, logFile);
        return;
      }
      Thread.sleep(50);
    }
    throw new IOException(
        "fake-gcs-server not ready after " + START_TIMEOUT + "; output: " + tail(logFile));
  }

  private void stop() {
    if (server != null) {
      server.closeClient();
      server = null;
    }
    Process p = process;
    process = null;
    if (p == null) {
      return;
    }
    p.destroy();
    try {
      if (!p.waitFor(5, TimeUnit.SECONDS)) {
        p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  private static boolean ready(int port) {
    try {
      HttpURLConnection c =
          (HttpURLConnection)
              URI.create("http://127.0.0.1:" + port + "/storage/v1/b?project=x")
                  .toURL()
                  .openConnection();
      c.setConnectTimeout(500);
      c.setReadTimeout(1000);
      int code = c.getResponseCode();
      c.disconnect();
      return code == 200;
    } catch (IOException e) {
      return false;
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      s.setReuseAddress(true);
      return s.getLocalPort();
    }
  }

  private static Path logDir() throws IOException {
    Path target = Path.of("target");
    Path dir = Files.isDirectory(target) ? target : Files.createTempDirectory("fake-gcs");
    return dir;
  }

  private static String tail(Path file) {
    try {
      String s = Files.readString(file, StandardCharsets.UTF_8);
      return s.length() > 2000 ? s.substring(s.length() - 2000) : s;
    } catch (IOException e) {
      return "(no output: " + e.getMessage() + ")";
    }
  }

  // ---- locating the binary ----

  static synchronized Path findBinary() {
    if (cachedBinary != null) {
      return cachedBinary;
    }
    List<String> tried = new ArrayList<>();
    String env = System.getenv("FAKE_GCS_SERVER");
    if (env != null && !env.isBlank()) {
      Path p = Path.of(env);
      if (Files.isDirectory(p)) {
        p = p.resolve("fake-gcs-server");
      }
      if (Files.isExecutable(p)) {
        return cachedBinary = p;
      }
      tried.add("FAKE_GCS_SERVER=" + env + " is not an executable file");
    } else {
      tried.add("FAKE_GCS_SERVER is not set");
    }
    Path script = findBuildScript();
    if (script == null) {
      tried.add("hack/controlplane/build.sh not found above " + Path.of("").toAbsolutePath());
    } else {
      try {
        Path bin = runBuildScript(script);
        if (Files.isExecutable(bin)) {
          return cachedBinary = bin;
        }
        tried.add(script + " did not produce " + bin);
      } catch (IOException e) {
        tried.add(script + " failed: " + e.getMessage());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        tried.add(script + " interrupted");
      }
    }
    String message =
        "fake-gcs-server binary not available ("
            + String.join("; ", tried)
            + "). Set FAKE_GCS_SERVER to its path or run"
            + " `hack/controlplane/build.sh fake-gcs-server`.";
    if ("true".equalsIgnoreCase(System.getenv("CI"))) {
      throw new ExtensionConfigurationException(message + " Failing because CI=true.");
    }
    throw new TestAbortedException(message + " Skipping.");
  }

  private static Path findBuildScript() {
    for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
      Path s = d.resolve("hack/controlplane/build.sh");
      if (Files.isRegularFile(s)) {
        return s;
      }
    }
    return null;
  }

  private static Path runBuildScript(Path script) throws IOException, InterruptedException {
    log.info("Locating fake-gcs-server with {} (a cold build takes a while)", script);
    Path err = Files.createTempFile("fake-gcs-build", ".log");
    try {
      Process p =
          new ProcessBuilder("bash", script.toString(), "fake-gcs-server")
              .redirectError(err.toFile())
              .start();
      byte[] out;
      try (InputStream in = p.getInputStream()) {
        out = in.readAllBytes();
      }
      if (!p.waitFor(BUILD_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        throw new IOException("timed out after " + BUILD_TIMEOUT);
      }
      if (p.exitValue() != 0) {
        throw new IOException("exit status " + p.exitValue() + ": " + tail(err));
      }
      String[] lines = new String(out, StandardCharsets.UTF_8).strip().split("\n");
      String dir = lines[lines.length - 1].strip();
      if (dir.isEmpty()) {
        throw new IOException("printed no bin directory; stderr: " + tail(err));
      }
      return Path.of(dir).resolve("fake-gcs-server");
    } finally {
      Files.deleteIfExists(err);
    }
  }
}
