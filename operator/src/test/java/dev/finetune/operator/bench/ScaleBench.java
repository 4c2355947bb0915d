package dev.finetune.operator.bench;

import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.HardwareSpec;
import dev.finetune.operator.FineTuneOperator;
import dev.finetune.operator.Fixtures;
import dev.finetune.operator.OperatorConfig;
import dev.finetune.operator.Wiring;
import dev.finetune.operator.cost.PriceTable;
import dev.finetune.operator.gcp.iam.FakeIam;
import dev.finetune.operator.gcp.nodepool.FakeClusterManager;
import dev.finetune.operator.gcp.storage.FakeGcsServerExtension;
import dev.finetune.operator.it.LocalCluster;
import dev.finetune.operator.it.RunningOperator;
import dev.finetune.operator.it.TrainerOutput;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.http.BasicBuilder;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.Interceptor;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.distribution.CountAtBucket;
import io.micrometer.core.instrument.distribution.DistributionStatisticConfig;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Scale benchmark (hack/bench/scale.sh runs it; not part of make test): N FineTuneJobs through the
 * whole flow on kwok GPU nodes, Cloud Storage on fake-gcs-server, IAM on its stand-in, one operator
 * replica in this JVM. Writes a JSON report to -Dbench.out.
 */
class ScaleBench {
  static final int JOBS = Integer.getInteger("bench.jobs", 1000);
  static final int JOBS_PER_BUCKET = 1000;
  static final Path OUT = Path.of(System.getProperty("bench.out", "target/scale-bench.json"));
  static final String GSA = "trainer@proj-1.iam.gserviceaccount.com";

  @RegisterExtension static FakeGcsServerExtension gcs = new FakeGcsServerExtension();

  final Map<String, AtomicLong> calls = new ConcurrentHashMap<>();

  @Test
  void run() throws Exception {
    KubernetesClient admin = LocalCluster.client();
    // One bucket per JOBS_PER_BUCKET jobs: fake-gcs-server's in-memory bucket slows down with
    // its object count (writing 1,000 runs into one takes 2 minutes, 5,000 would take most of an
    // hour), which Cloud Storage does not. Up to 1,000 jobs this is the one bucket it always was.
    int bucketCount = (JOBS + JOBS_PER_BUCKET - 1) / JOBS_PER_BUCKET;
    List<String> buckets = new ArrayList<>();
    for (int b = 0; b < bucketCount; b++) {
      buckets.add(gcs.server().newBucket("bench"));
    }
    String ns =
        LocalCluster.namespace(
            "bench",
            Map.of(
                "finetune.dev/allowed-gcp-service-accounts",
                GSA,
                "finetune.dev/allowed-gcs-prefixes",
                String.join(",", buckets.stream().map(b -> "gs://" + b).toList())));
    var writers = java.util.concurrent.Executors.newFixedThreadPool(bucketCount);
    try {
      List<java.util.concurrent.Future<?>> written = new ArrayList<>();
      for (int b = 0; b < bucketCount; b++) {
        int first = b * JOBS_PER_BUCKET;
        String bucket = buckets.get(b);
        written.add(
            writers.submit(
                () -> {
                  TrainerOutput.writeTrainingData(gcs.server().objectStore(), bucket);
                  for (int i = first; i < Math.min(JOBS, first + JOBS_PER_BUCKET); i++) {
                    TrainerOutput.writeFinishedRun(gcs.server().objectStore(), bucket, "j" + i);
                  }
                  return null;
                }));
      }
      for (var f : written) {
        f.get();
      }
    } finally {
      writers.shutdown();
    }
    int nodes = nodes(admin, Math.max(4, JOBS / 40));

    FakeClusterManager gke = FakeClusterManager.start();
    FakeIam iam = FakeIam.start();
    Map<String, String> env = new HashMap<>();
    env.put("STORAGE_EMULATOR_HOST", gcs.server().endpoint());
    env.put("FINETUNE_GCP_PROJECT", "test-project");
    env.put("FINETUNE_IAM_MODE", "gcp");
    env.put("FINETUNE_LEADER_ELECTION", "false");
    env.put("FINETUNE_HTTP_PORT", "0");
    env.put("FINETUNE_PROGRESS_POLL_INTERVAL", "PT5S");
    env.put("FINETUNE_NAMESPACES", ns);
    env.put("FINETUNE_TRAINER_IMAGE", "trainer.local/finetune-trainer:test");
    OperatorConfig config = OperatorConfig.fromEnv(env);
    KubernetesClient counted =
        new KubernetesClientBuilder()
            .withConfig(admin.getConfiguration())
            .withHttpClientBuilderConsumer(
                b ->
                    b.addOrReplaceInterceptor(
                        "bench-count",
                        new Interceptor() {
                          @Override
                          public void before(
                              BasicBuilder builder, HttpRequest request, RequestTags tags) {
                            calls
                                .computeIfAbsent(kind(request), k -> new AtomicLong())
                                .incrementAndGet();
                          }
                        }))
            .build();
    FineTuneOperator operator =
        new FineTuneOperator(
            counted,
            config,
            Wiring.ports(
                config, RunningOperator.standIns(gcs.server(), gke, iam), PriceTable.defaults()),
            "127.0.0.1");
    operator
        .registry()
        .config()
        .meterFilter(
            new MeterFilter() {
              @Override
              public DistributionStatisticConfig configure(
                  Meter.Id id, DistributionStatisticConfig c) {
                if (id.getName().startsWith("operator.sdk.controllers.execution")) {
                  return DistributionStatisticConfig.builder()
                      .percentilesHistogram(true)
                      .minimumExpectedValue(1e5)
                      .maximumExpectedValue(6e10)
                      .build()
                      .merge(c);
                }
                return c;
              }
            });
    Map<String, Long> causes = new ConcurrentHashMap<>();
    var trace =
        admin
            .resources(FineTuneJob.class)
            .inNamespace(ns)
            .inform(
                new io.fabric8.kubernetes.client.informers.ResourceEventHandler<FineTuneJob>() {
                  @Override
                  public void onAdd(FineTuneJob obj) {}

                  @Override
                  public void onUpdate(FineTuneJob a, FineTuneJob b) {
                    if (!java.util.Objects.equals(
                        a.getMetadata().getResourceVersion(),
                        b.getMetadata().getResourceVersion())) {
                      causes.merge(cause(a, b), 1L, Long::sum);
                    }
                  }

                  @Override
                  public void onDelete(FineTuneJob obj, boolean unknown) {}
                });
    Map<String, Double> before = apiserver(admin);
    long cpu0 = cpuNanos();
    operator.start();
    Instant t0 = Instant.now();
    for (int i = 0; i < JOBS; i++) {
      FineTuneJob job = Fixtures.job(ns, "j" + i);
      job.getMetadata().setUid(null);
      job.getMetadata().setGeneration(null);
      String bucket = buckets.get(i / JOBS_PER_BUCKET);
      job.getSpec().dataset.train = "gs://" + bucket + "/train.jsonl";
      job.getSpec().dataset.validation = null;
      job.getSpec().output = "gs://" + bucket + "/runs/j" + i + "/";
      job.getSpec().hardware.provisioning = HardwareSpec.Provisioning.EXISTING;
      for (int attempt = 0; ; attempt++) {
        try {
          admin.resource(job).create();
          break;
        } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
          if (e.getCode() == 409) {
            break; // created by the try that timed out
          }
          if (attempt >= 5) {
            throw e;
          }
        }
      }
    }
    long peakHeap = 0;
    int terminal = 0;
    Instant deadline = t0.plus(Duration.ofMinutes(Integer.getInteger("bench.minutes", 40)));
    while (Instant.now().isBefore(deadline)) {
      // From the driver's informer, not a LIST: listing every job each second loads the API
      // server (at 5,000 jobs, megabytes a second) and slows the run it measures.
      List<FineTuneJob> all = trace.getStore().list();
      terminal =
          (int)
              all.stream()
                  .filter(j -> j.getStatus() != null && j.getStatus().phase != null)
                  .filter(j -> j.getStatus().phase.terminal())
                  .count();
      if (terminal == JOBS) {
        break;
      }
      Thread.sleep(1000);
    }
    Duration wall = Duration.between(t0, Instant.now());
    long cpu = cpuNanos() - cpu0;
    Map<String, Double> afterRun = apiserver(admin);
    Map<String, Long> callsRun = snapshot();
    // Quiet: nothing changes any more, so nothing should be written.
    Thread.sleep(20_000);
    Map<String, Double> afterQuiet = apiserver(admin);
    System.gc();
    System.gc();
    long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();

    List<FineTuneJob> all = admin.resources(FineTuneJob.class).inNamespace(ns).list().getItems();
    Map<String, Long> phases = new TreeMap<>();
    all.forEach(
        j ->
            phases.merge(
                j.getStatus() == null ? "none" : String.valueOf(j.getStatus().phase),
                1L,
                Long::sum));
    long events =
        admin.v1().events().inNamespace(ns).list().getItems().stream()
            .filter(e -> "FineTuneJob".equals(e.getInvolvedObject().getKind()))
            .count();
    Map<String, Long> eventsByReason = new TreeMap<>();
    admin.v1().events().inNamespace(ns).list().getItems().stream()
        .filter(e -> "FineTuneJob".equals(e.getInvolvedObject().getKind()))
        .forEach(e -> eventsByReason.merge(e.getReason(), 1L, Long::sum));
    double statusWrites = statusWrites(afterRun) - statusWrites(before);
    double quietWrites = statusWrites(afterQuiet) - statusWrites(afterRun);
    long apiCalls = callsRun.values().stream().mapToLong(Long::longValue).sum();
    double[] pct = percentiles(operator);

    StringBuilder json = new StringBuilder();
    json.append("{\n");
    json.append("  \"jobs\": ").append(JOBS).append(",\n");
    json.append("  \"nodes\": ").append(nodes).append(",\n");
    json.append("  \"terminal\": ").append(terminal).append(",\n");
    json.append("  \"phases\": \"").append(phases).append("\",\n");
    json.append("  \"secondsUntilAllTerminal\": ").append(wall.toMillis() / 1000.0).append(",\n");
    json.append("  \"statusWritesPerJob\": ").append(statusWrites / JOBS).append(",\n");
    json.append("  \"statusWritesWhileQuiet20s\": ").append(quietWrites).append(",\n");
    json.append("  \"eventsPerJob\": ").append((double) events / JOBS).append(",\n");
    json.append("  \"eventsByReason\": \"").append(eventsByReason).append("\",\n");
    json.append("  \"operatorApiCallsPerJob\": ").append((double) apiCalls / JOBS).append(",\n");
    json.append("  \"operatorApiCalls\": \"").append(callsRun).append("\",\n");
    json.append("  \"writeCauses\": \"").append(new TreeMap<>(causes)).append("\",\n");
    json.append("  \"reconcileP50Ms\": ").append(pct[0]).append(",\n");
    json.append("  \"reconcileP95Ms\": ").append(pct[1]).append(",\n");
    json.append("  \"statusConflicts\": ").append(counter(operator, "conflicts")).append(",\n");
    json.append("  \"staleReadsAvoided\": ")
        .append(counter(operator, "staleReadsAvoided"))
        .append(",\n");
    json.append("  \"conflictsByLastWriter\": \"")
        .append(text(operator, "conflictsByLastWriter"))
        .append("\",\n");
    json.append("  \"stepsMs\": \"").append(steps(operator)).append("\",\n");
    json.append("  \"reconciles\": ").append(pct[2]).append(",\n");
    json.append("  \"liveHeapMbAfterFullGc\": ").append(heap / 1e6).append(",\n");
    json.append("  \"cpuSeconds\": ").append(cpu / 1e9).append("\n");
    json.append("}\n");
    Files.createDirectories(OUT.toAbsolutePath().getParent());
    Files.writeString(OUT, json.toString());
    System.out.println("SCALE-BENCH " + json);

    trace.close();
    operator.close();
    counted.close();
    gke.close();
    iam.close();
    admin.namespaces().withName(ns).delete();
    admin.nodes().withLabel("finetune.dev/bench", "true").delete();
  }

  static final com.fasterxml.jackson.databind.ObjectMapper JSON =
      new com.fasterxml.jackson.databind.ObjectMapper();

  /**
   * What one update changed: the phase it was written in and the status fields that differ
   * (conditions by type), e.g. {@code Training:message,training.attempts}.
   */
  static String cause(FineTuneJob a, FineTuneJob b) {
    var x = JSON.valueToTree(a.getStatus() == null ? Map.of() : a.getStatus());
    var y = JSON.valueToTree(b.getStatus() == null ? Map.of() : b.getStatus());
    java.util.TreeSet<String> changed = new java.util.TreeSet<>();
    java.util.Set<String> names = new java.util.TreeSet<>();
    x.fieldNames().forEachRemaining(names::add);
    y.fieldNames().forEachRemaining(names::add);
    for (String f : names) {
      var u = x.get(f);
      var v = y.get(f);
      if (java.util.Objects.equals(u, v)) {
        continue;
      }
      if (u != null && v != null && u.isObject() && v.isObject()) {
        java.util.Set<String> sub = new java.util.TreeSet<>();
        u.fieldNames().forEachRemaining(sub::add);
        v.fieldNames().forEachRemaining(sub::add);
        for (String g : sub) {
          if (!java.util.Objects.equals(u.get(g), v.get(g))) {
            changed.add(f + "." + g);
          }
        }
      } else if ("conditions".equals(f)) {
        Map<String, Object> cu = new TreeMap<>();
        Map<String, Object> cv = new TreeMap<>();
        if (u != null) u.forEach(c -> cu.put(c.path("type").asText(), c));
        if (v != null) v.forEach(c -> cv.put(c.path("type").asText(), c));
        java.util.Set<String> types = new java.util.TreeSet<>(cu.keySet());
        types.addAll(cv.keySet());
        for (String t : types) {
          if (!java.util.Objects.equals(cu.get(t), cv.get(t))) {
            changed.add("cond." + t);
          }
        }
      } else {
        changed.add(f);
      }
    }
    if (changed.isEmpty()) {
      changed.add(java.util.Objects.equals(a.getSpec(), b.getSpec()) ? "metadata" : "spec");
    }
    String phase = b.getStatus() == null ? "none" : String.valueOf(b.getStatus().phase);
    return phase + ":" + String.join(",", changed);
  }

  static long cpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  /** Copies of the local cluster's spot L4 node, so the trainer pods of N jobs find room. */
  static int nodes(KubernetesClient client, int n) {
    Node template = client.nodes().withName("gpu-l4-spot-0").get();
    for (int i = 0; i < n; i++) {
      Node node = new Node();
      node.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMeta());
      node.getMetadata().setName("bench-l4-spot-" + i);
      node.getMetadata().setAnnotations(template.getMetadata().getAnnotations());
      Map<String, String> labels = new HashMap<>(template.getMetadata().getLabels());
      labels.put("kubernetes.io/hostname", "bench-l4-spot-" + i);
      labels.put("finetune.dev/bench", "true");
      node.getMetadata().setLabels(labels);
      node.setSpec(template.getSpec());
      node.getSpec().setProviderID(null);
      node.getSpec().setPodCIDR(null);
      node.getSpec().setPodCIDRs(null);
      node.setStatus(new io.fabric8.kubernetes.api.model.NodeStatus());
      Map<String, Quantity> cap = new HashMap<>(template.getStatus().getCapacity());
      cap.put("nvidia.com/gpu", new Quantity("64"));
      cap.put("pods", new Quantity("250"));
      node.getStatus().setCapacity(cap);
      node.getStatus().setAllocatable(cap);
      try {
        client.nodes().resource(node).create();
      } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
        if (e.getCode() != 409) {
          throw e;
        }
      }
    }
    return n;
  }

  static final Pattern METRIC =
      Pattern.compile("^apiserver_request_total\\{([^}]*)\\} ([0-9.e+]+)$");

  /** apiserver_request_total by its label set. */
  static Map<String, Double> apiserver(KubernetesClient client) {
    Map<String, Double> m = new HashMap<>();
    for (String l : client.raw("/metrics").split("\n")) {
      Matcher x = METRIC.matcher(l.strip());
      if (x.matches()) {
        m.put(x.group(1), Double.parseDouble(x.group(2)));
      }
    }
    return m;
  }

  /** Writes to finetunejobs/status (any verb but reads). */
  static double statusWrites(Map<String, Double> m) {
    return m.entrySet().stream()
        .filter(e -> e.getKey().contains("resource=\"finetunejobs\""))
        .filter(e -> e.getKey().contains("subresource=\"status\""))
        .filter(
            e ->
                !e.getKey().contains("verb=\"GET\"")
                    && !e.getKey().contains("verb=\"LIST\"")
                    && !e.getKey().contains("verb=\"WATCH\""))
        .mapToDouble(Map.Entry::getValue)
        .sum();
  }

  static String kind(HttpRequest r) {
    String path = r.uri().getPath();
    String[] parts = path.split("/");
    // .../namespaces/NS/RESOURCE[/NAME[/SUB]]
    String resource = "other";
    String sub = "";
    for (int i = 0; i < parts.length - 1; i++) {
      if ("namespaces".equals(parts[i]) && i + 2 < parts.length) {
        resource = parts[i + 2];
        if (i + 4 < parts.length) {
          sub = "/" + parts[i + 4];
        }
        break;
      }
    }
    if ("other".equals(resource) && parts.length > 0) {
      resource = parts[parts.length - 1];
    }
    boolean watch = r.uri().getQuery() != null && r.uri().getQuery().contains("watch=true");
    return r.method() + (watch ? "-WATCH" : "") + " " + resource + sub;
  }

  Map<String, Long> snapshot() {
    Map<String, Long> m = new TreeMap<>();
    calls.forEach((k, v) -> m.put(k, v.get()));
    return m;
  }

  /** p50 and p95 (ms) of reconcile executions, merged over all timers, and their count. */
  static double[] percentiles(FineTuneOperator operator) {
    Map<Double, Double> buckets = new TreeMap<>();
    double count = 0;
    List<Timer> timers = new ArrayList<>();
    operator.registry().getMeters().stream()
        .filter(m -> m instanceof Timer)
        .filter(m -> m.getId().getName().startsWith("operator.sdk.controllers.execution"))
        .filter(m -> m.getId().getName().contains("reconcile"))
        .forEach(m -> timers.add((Timer) m));
    for (Timer t : timers) {
      var snap = t.takeSnapshot();
      count += snap.count();
      for (CountAtBucket b : snap.histogramCounts()) {
        buckets.merge(b.bucket(java.util.concurrent.TimeUnit.MILLISECONDS), b.count(), Double::sum);
      }
    }
    return new double[] {at(buckets, count, 0.5), at(buckets, count, 0.95), count};
  }

  /**
   * A counter of the reconciler (status writes refused with 409, reconciles saved from a stale
   * read) where the code measured counts it, else -1.
   */
  static long counter(FineTuneOperator operator, String name) {
    try {
      return (long) operator.reconciler().getClass().getMethod(name).invoke(operator.reconciler());
    } catch (ReflectiveOperationException e) {
      return -1;
    }
  }

  static String text(FineTuneOperator operator, String name) {
    try {
      return String.valueOf(
          operator.reconciler().getClass().getMethod(name).invoke(operator.reconciler()));
    } catch (ReflectiveOperationException e) {
      return "(not counted)";
    }
  }

  /** Per step: count, p50 and p95 (ms, from the step timers' histograms). */
  static Map<String, String> steps(FineTuneOperator operator) {
    Map<String, String> out = new TreeMap<>();
    operator.registry().getMeters().stream()
        .filter(m -> m instanceof Timer)
        .filter(m -> m.getId().getName().equals("finetune.reconcile.step"))
        .forEach(
            m -> {
              var snap = ((Timer) m).takeSnapshot();
              Map<Double, Double> b = new TreeMap<>();
              for (CountAtBucket c : snap.histogramCounts()) {
                b.merge(
                    c.bucket(java.util.concurrent.TimeUnit.MILLISECONDS), c.count(), Double::sum);
              }
              out.put(
                  m.getId().getTag("step"),
                  String.format(
                      java.util.Locale.ROOT,
                      "n=%d p50=%.0f p95=%.0f max=%.0f",
                      snap.count(),
                      at(b, snap.count(), 0.5),
                      at(b, snap.count(), 0.95),
                      snap.max(java.util.concurrent.TimeUnit.MILLISECONDS)));
            });
    return out;
  }

  /** Cumulative bucket counts: the smallest bucket bound with at least q of the count. */
  static double at(Map<Double, Double> cumulative, double count, double q) {
    for (var e : cumulative.entrySet()) {
      if (e.getValue() >= q * count) {
        return e.getKey();
      }
    }
    return Double.NaN;
  }
}
