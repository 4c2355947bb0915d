package dev.finetune.operator.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.Phase;
import dev.finetune.api.v1alpha1.HardwareSpec;
import dev.finetune.operator.Fixtures;
import dev.finetune.operator.gcp.iam.FakeIam;
import dev.finetune.operator.gcp.nodepool.FakeClusterManager;
import dev.finetune.operator.gcp.nodepool.PoolShape;
import dev.finetune.operator.gcp.storage.FakeGcsServerExtension;
import dev.finetune.operator.reconcile.Conditions;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.grpc.Status;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What a platform team watches: the Events of a job that waits for GPUs, its Ready condition (with
 * `kubectl wait`), the trainer pod as the API server stored it, and /metrics of the running
 * operator, which has no series per job and every series the dashboard and the alerts use.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ObservabilityIT {
  static final Duration WAIT = Duration.ofSeconds(180);
  static final PoolShape SHAPE = new PoolShape("nvidia-l4", 1, true);
  static final String NODE = SHAPE.poolName() + "-obs-node-0";

  @RegisterExtension static FakeGcsServerExtension gcs = new FakeGcsServerExtension();

  static KubernetesClient client;
  static String ns;
  static String bucket;
  static FakeClusterManager gke;
  static FakeIam iam;
  static RunningOperator operator;

  @BeforeAll
  static void setUp() throws Exception {
    client = LocalCluster.client();
    bucket = gcs.server().newBucket("obsdata");
    ns = LocalCluster.tenantNamespace("observe", "*@proj-1.iam.gserviceaccount.com", bucket);
    TrainerOutput.writeTrainingData(gcs.server().objectStore(), bucket);
    gke = FakeClusterManager.start().completeOperationsAfterPolls(2);
    // GKE's autoscaler: a node for the pool once it is ready.
    gke.onPoolReady(p -> LocalCluster.poolNode(NODE, SHAPE));
    iam = FakeIam.start();
    operator =
        new RunningOperator(
                ns,
                gcs.server().endpoint(),
                Map.of(),
                RunningOperator.standIns(gcs.server(), gke, iam))
            .start();
  }

  @AfterAll
  static void tearDown() {
    if (operator != null) {
      operator.close();
    }
    client.nodes().withName(NODE).delete();
    gke.close();
    iam.close();
  }

  static FineTuneJob job(String name, boolean spot, HardwareSpec.Provisioning provisioning)
      throws Exception {
    TrainerOutput.writeFinishedRun(gcs.server().objectStore(), bucket, name);
    FineTuneJob job = Fixtures.job(ns, name);
    job.getMetadata().setUid(null);
    job.getMetadata().setGeneration(null);
    job.getSpec().dataset.train = "gs://" + bucket + "/train.jsonl";
    job.getSpec().dataset.validation = null;
    job.getSpec().output = "gs://" + bucket + "/runs/" + name + "/";
    job.getSpec().hardware.accelerator = HardwareSpec.Accelerator.NVIDIA_L4;
    job.getSpec().hardware.count = 1;
    job.getSpec().hardware.spot = spot;
    job.getSpec().hardware.provisioning = provisioning;
    return client.resource(job).create();
  }

  static FineTuneJob get(String name) {
    return client.resources(FineTuneJob.class).inNamespace(ns).withName(name).get();
  }

  static List<Event> events(String job) {
    return client.v1().events().inNamespace(ns).list().getItems().stream()
        .filter(e -> job.equals(e.getInvolvedObject().getName()))
        .toList();
  }

  @Test
  @Order(1)
  void aWaitForCapacityIsOneEventWhenItStartsAndOneWhenItEndsAndReadyCanBeWaitedFor()
      throws Exception {
    // GKE is unavailable for the first create: the job waits (and retries) for capacity.
    gke.failNextCreate(Status.UNAVAILABLE.withDescription("try again later"));
    job("waits", true, HardwareSpec.Provisioning.MANAGED);

    String out =
        LocalCluster.kubectl(
            List.of("wait", "--for=condition=Ready", "ftj/waits", "-n", ns, "--timeout=170s"));
    assertThat(out).contains("condition met");
    FineTuneJob done = get("waits");
    assertThat(done.getStatus().phase).isEqualTo(Phase.Succeeded);
    var ready = Conditions.get(done.getStatus(), Conditions.READY).orElseThrow();
    assertThat(ready.getStatus()).isEqualTo("True");
    assertThat(ready.getReason()).isEqualTo("Succeeded");
    assertThat(ready.getObservedGeneration()).isEqualTo(done.getMetadata().getGeneration());

    List<Event> started =
        events("waits").stream().filter(e -> "WaitingForCapacity".equals(e.getReason())).toList();
    List<Event> ended =
        events("waits").stream().filter(e -> "CapacityAvailable".equals(e.getReason())).toList();
    assertThat(started)
        .singleElement()
        .satisfies(
            e -> {
              assertThat(e.getType()).isEqualTo("Warning");
              assertThat(e.getMessage()).contains("Transient").contains("UNAVAILABLE");
            });
    assertThat(ended).singleElement().satisfies(e -> assertThat(e.getType()).isEqualTo("Normal"));
    assertThat(gke.createCalls()).isEqualTo(2);

    // The trainer pod as the API server validated and stored it.
    Job trainer = client.batch().v1().jobs().inNamespace(ns).withName("waits-trainer").get();
    PodSpec pod = trainer.getSpec().getTemplate().getSpec();
    var resources = pod.getContainers().get(0).getResources();
    assertThat(resources.getRequests())
        .containsEntry("cpu", new Quantity("3300m"))
        .containsEntry("memory", new Quantity("12032Mi"))
        .containsEntry("ephemeral-storage", new Quantity("51200Mi"))
        .containsEntry("nvidia.com/gpu", new Quantity("1"));
    assertThat(resources.getLimits()).containsEntry("memory", new Quantity("12032Mi"));
    assertThat(pod.getTerminationGracePeriodSeconds()).isEqualTo(25L);
    assertThat(pod.getVolumes())
        .filteredOn(v -> v.getName().equals("dshm"))
        .singleElement()
        .satisfies(
            v -> {
              assertThat(v.getEmptyDir().getMedium()).isEqualTo("Memory");
              assertThat(v.getEmptyDir().getSizeLimit()).isEqualTo(new Quantity("3008Mi"));
            });
  }

  @Test
  @Order(2)
  void anOnDemandJobLandsOnAnOnDemandNodeOnly() throws Exception {
    job("ondemand-job", false, HardwareSpec.Provisioning.EXISTING);
    await()
        .atMost(WAIT)
        .until(
            () ->
                get("ondemand-job").getStatus() != null
                    && get("ondemand-job").getStatus().phase == Phase.Succeeded);
    var pods =
        client
            .pods()
            .inNamespace(ns)
            .withLabel("finetune.dev/job-name", "ondemand-job")
            .list()
            .getItems();
    assertThat(pods).isNotEmpty();
    String node = pods.get(0).getSpec().getNodeName();
    assertThat(client.nodes().withName(node).get().getMetadata().getLabels())
        .doesNotContainEntry("cloud.google.com/gke-spot", "true")
        .containsEntry("cloud.google.com/gke-accelerator", "nvidia-l4");
    var terms =
        pods.get(0)
            .getSpec()
            .getAffinity()
            .getNodeAffinity()
            .getRequiredDuringSchedulingIgnoredDuringExecution()
            .getNodeSelectorTerms();
    assertThat(terms.get(0).getMatchExpressions().get(0).getKey())
        .isEqualTo("cloud.google.com/gke-spot");
  }

  @Test
  @Order(3)
  void metricsHaveNoSeriesPerJobAndEverySeriesTheDashboardAndAlertsUse() throws Exception {
    List<String> names = new ArrayList<>(List.of("waits", "ondemand-job"));
    for (int i = 0; i < 3; i++) {
      names.add("many-" + i);
      job("many-" + i, true, HardwareSpec.Provisioning.EXISTING);
    }
    await()
        .atMost(WAIT)
        .until(
            () ->
                names.stream()
                    .allMatch(
                        n ->
                            get(n).getStatus() != null
                                && get(n).getStatus().phase == Phase.Succeeded));
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> scrape().contains("finetune_jobs{phase=\"Succeeded\"} 5.0"));
    String metrics = scrape();

    // No label value names a job (nor the namespace): the series do not grow with the jobs.
    Set<String> labelValues = labelValues(metrics);
    for (String n : names) {
      assertThat(labelValues).noneMatch(v -> v.contains(n));
    }
    assertThat(labelValues).noneMatch(v -> v.contains(ns));

    // The domain series moved with what happened.
    assertThat(
            value(metrics, "finetune_gpu_hours_total{accelerator=\"nvidia-l4\",capacity=\"spot\"}"))
        .isGreaterThan(0);
    assertThat(
            value(
                metrics,
                "finetune_gpu_hours_total{accelerator=\"nvidia-l4\",capacity=\"on-demand\"}"))
        .isGreaterThan(0);
    assertThat(
            value(
                metrics,
                "finetune_google_api_errors_total{api=\"container\",reason=\"Transient\"}"))
        .isGreaterThanOrEqualTo(1);
    assertThat(
            value(
                metrics, "finetune_jobs_finished_total{reason=\"Succeeded\",result=\"Succeeded\"}"))
        .isEqualTo(5);
    assertThat(value(metrics, "finetune_leader")).isEqualTo(1);
    assertThat(metrics).contains("finetune_phase_duration_seconds_bucket{phase=\"Provisioning\"");

    // Every series the dashboard and the alerts query exists.
    Set<String> exposed = metricNames(metrics);
    Set<String> used = new TreeSet<>();
    JsonNode dashboard =
        new ObjectMapper()
            .readTree(
                LocalCluster.REPO.resolve("deploy/monitoring/grafana-dashboard.json").toFile());
    for (JsonNode panel : dashboard.get("panels")) {
      for (JsonNode target : panel.get("targets")) {
        used.addAll(PromQl.metricNames(target.get("expr").asText()));
      }
    }
    used.addAll(PromQl.metricNames(dashboard.at("/templating/list/1/query").asText()));
    JsonNode rules =
        new YAMLMapper()
            .readTree(
                Files.readString(
                    LocalCluster.REPO.resolve("deploy/monitoring/prometheusrule.yaml")));
    int alerts = 0;
    for (JsonNode group : rules.at("/spec/groups")) {
      for (JsonNode rule : group.get("rules")) {
        used.addAll(PromQl.metricNames(rule.get("expr").asText()));
        alerts++;
      }
    }
    assertThat(alerts).isEqualTo(6);
    assertThat(used).contains("finetune_leader", "finetune_jobs_oldest_in_phase_seconds");
    assertThat(exposed).containsAll(used);
  }

  static String scrape() throws Exception {
    HttpResponse<String> r =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + operator.httpPort() + "/metrics"))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    return r.body();
  }

  private static final Pattern SAMPLE =
      Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{[^}]*\\})?\\s+(\\S+)");
  private static final Pattern LABEL =
      Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*=\"((?:[^\"\\\\]|\\\\.)*)\"");

  static Set<String> metricNames(String exposition) {
    Set<String> out = new TreeSet<>();
    for (String line : exposition.split("\n")) {
      Matcher m = SAMPLE.matcher(line);
      if (!line.startsWith("#") && m.find()) {
        out.add(m.group(1));
      }
    }
    return out;
  }

  static Set<String> labelValues(String exposition) {
    Set<String> out = new TreeSet<>();
    for (String line : exposition.split("\n")) {
      Matcher m = SAMPLE.matcher(line);
      if (!line.startsWith("#") && m.find() && m.group(2) != null) {
        Matcher l = LABEL.matcher(m.group(2));
        while (l.find()) {
          out.add(l.group(1));
        }
      }
    }
    return out;
  }

  static double value(String exposition, String series) {
    for (String line : exposition.split("\n")) {
      if (line.startsWith(series + " ")) {
        return Double.parseDouble(line.substring(series.length() + 1).trim());
      }
    }
    throw new AssertionError("no series " + series + " in /metrics");
  }

  /** The metric names a PromQL expression selects (not functions, keywords, labels or strings). */
  static final class PromQl {
    private static final Set<String> WORDS =
        Set.of(
            "sum",
            "max",
            "min",
            "avg",
            "count",
            "by",
            "without",
            "on",
            "ignoring",
            "group_left",
            "group_right",
            "rate",
            "increase",
            "irate",
            "histogram_quantile",
            "absent",
            "or",
            "and",
            "unless",
            "label_values",
            "bool",
            "offset",
            "topk",
            "bottomk",
            "delta",
            "deriv",
            "clamp_min",
            "clamp_max",
            "vector",
            "scalar",
            "time");
    private static final Pattern IDENT = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");

    static Set<String> metricNames(String expr) {
      // Strip strings, label matchers and grouping/range brackets before looking for names.
      String s = expr.replaceAll("\"(?:[^\"\\\\]|\\\\.)*\"", "\"\"");
      s = s.replaceAll("\\{[^}]*\\}", " ");
      s = s.replaceAll("\\[[^\\]]*\\]", " ");
      s = s.replaceAll("\\b(by|without|on|ignoring)\\s*\\([^)]*\\)", " ");
      s = s.replaceAll("\\$\\w+", " ");
      Set<String> out = new TreeSet<>();
      Matcher m = IDENT.matcher(s);
      while (m.find()) {
        String w = m.group();
        int after = m.end();
        boolean call = after < s.length() && s.substring(after).stripLeading().startsWith("(");
        if (!WORDS.contains(w) && !call && !w.matches("\\d.*") && !w.equals("le")) {
          out.add(w);
        }
      }
      // label_values(metric, label): the metric only
      if (expr.startsWith("label_values(")) {
        String inner = expr.substring("label_values(".length(), expr.indexOf(','));
        return Set.of(inner.trim());
      }
      return out.stream()
          .filter(w -> !w.matches("[0-9.e+]+"))
          .collect(Collectors.toCollection(TreeSet::new));
    }
  }
}
