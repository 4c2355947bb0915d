package dev.finetune.operator.it;

import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The real Kueue controller manager (sigs.k8s.io/kueue/cmd/kueue, built from its Go module by
 * hack/kueue/build.sh and cached) as a process against the local control plane, started by
 * hack/kueue/run.sh: Kueue's CRDs installed, batch/job integration only, leader election and
 * internal cert management off, its webhooks not registered (see run.sh). Start fails loudly, with
 * the tail of the manager's log, when it does not become ready.
 */
public final class KueueController implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(KueueController.class);
  private static final Duration READY = Duration.ofMinutes(3);

  private final Process process;
  private final Path log;

  private KueueController(Process process, Path log) {
    this.process = process;
    this.log = log;
  }

  /** Builds Kueue if it is not cached (a cold build takes many minutes), then starts it. */
  public static KueueController start() throws IOException, InterruptedException {
    Path kubeconfig = LocalCluster.kubeconfig();
    Path build = LocalCluster.REPO.resolve("hack/kueue/build.sh");
    Process b =
        new ProcessBuilder(build.toString()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    String cache = new String(b.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    if (!b.waitFor(60, TimeUnit.MINUTES) || b.exitValue() != 0) {
      throw new IllegalStateException("hack/kueue/build.sh failed: " + cache);
    }
    Path work = Files.createTempDirectory("kueue-it");
    Path log =
        Path.of("target", "kueue-" + ProcessHandle.current().pid() + ".log").toAbsolutePath();
    Files.createDirectories(log.getParent());
    int health = freePort();
    ProcessBuilder pb =
        new ProcessBuilder(
                LocalCluster.REPO.resolve("hack/kueue/run.sh").toString(),
                work.toString(),
                Integer.toString(health),
                Integer.toString(freePort()),
                Integer.toString(freePort()))
            .redirectErrorStream(true)
            .redirectOutput(log.toFile());
    pb.environment().put("KUBECONFIG", kubeconfig.toString());
    pb.environment().put("KUBECTL", kubectl().toString());
    LOG.info("starting Kueue from {} (log {})", cache, log);
    KueueController k = new KueueController(pb.start(), log);
    Instant deadline = Instant.now().plus(READY);
    while (Instant.now().isBefore(deadline)) {
      if (!k.process.isAlive()) {
        throw new IllegalStateException(
            "Kueue exited with " + k.process.exitValue() + " before it was ready:\n" + k.tail());
      }
      if (ready(health)) {
        LOG.info("Kueue is ready (health port {})", health);
        return k;
      }
      Thread.sleep(500);
    }
    k.close();
    throw new IllegalStateException("Kueue was not ready within " + READY + ":\n" + k.tail());
  }

  private static boolean ready(int port) {
    try {
      HttpURLConnection c =
          (HttpURLConnection)
              URI.create("http://127.0.0.1:" + port + "/readyz").toURL().openConnection();
      c.setConnectTimeout(1000);
      c.setReadTimeout(1000);
      return c.getResponseCode() == 200;
    } catch (IOException e) {
      return false;
    }
  }

  /** The last lines of the manager's log. */
  public String tail() {
    try {
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  public boolean alive() {
    return process.isAlive();
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(20, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static Path kubectl() throws IOException {
    Path bin = Path.of(System.getProperty("user.home"), ".cache/finetune-operator/controlplane");
    try (var dirs = Files.list(bin)) {
      return dirs.map(d -> d.resolve("bin/kubectl"))
          .filter(Files::isExecutable)
          .findFirst()
          .orElseThrow(() -> new IllegalStateException("no kubectl under " + bin));
    }
  }
}
