package dev.finetune.operator.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.FineTuneJobStatus;
import dev.finetune.api.v1alpha1.HardwareSpec;
import dev.finetune.operator.Fixtures;
import dev.finetune.operator.gcp.storage.FakeGcsServerExtension;
import dev.finetune.operator.reconcile.Conditions;
import dev.finetune.operator.reconcile.Kstatus;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.InputStream;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Exceptions out of a reconcile reach status, from real refusals of the API server: an admission
 * policy that rejects the trainer Job (422), and the operator running as its own service account
 * with deploy/base/rbac.yaml's ClusterRole short of one verb (403). Each job says why in its
 * message and in Stalled=True/ReconcileError, and goes on by itself once the cause is gone
 * (witness: the Job the operator then creates).
 */
class ReconcileErrorsIT {
  static final String GSA = "trainer@proj-1.iam.gserviceaccount.com";
  static final Duration WAIT = Duration.ofSeconds(120);

  @RegisterExtension static FakeGcsServerExtension gcs = new FakeGcsServerExtension();

  static KubernetesClient client;
  static String bucket;
  static dev.finetune.operator.gcp.nodepool.FakeClusterManager gke;
  static dev.finetune.operator.gcp.iam.FakeIam iam;
  final List<HasMetadata> cleanup = new ArrayList<>();
  RunningOperator operator;

  @BeforeAll
  static void setUp() throws Exception {
    client = LocalCluster.client();
    bucket = gcs.server().newBucket("errdata");
    TrainerOutput.writeTrainingData(gcs.server().objectStore(), bucket);
    gke = dev.finetune.operator.gcp.nodepool.FakeClusterManager.start();
    iam = dev.finetune.operator.gcp.iam.FakeIam.start();
  }

  @org.junit.jupiter.api.AfterAll
  static void stopStandIns() {
    gke.close();
    iam.close();
  }

  @AfterEach
  void tearDown() {
    if (operator != null) {
      operator.close();
    }
    for (HasMetadata o : cleanup) {
      client.resource(o).delete();
    }
  }

  static FineTuneJob job(String ns, String name) {
    FineTuneJob job = Fixtures.job(ns, name);
    job.getMetadata().setUid(null);
    job.getMetadata().setGeneration(null);
    job.getSpec().dataset.train = "gs://" + bucket + "/train.jsonl";
    job.getSpec().dataset.validation = null;
    job.getSpec().output = "gs://" + bucket + "/runs/" + name + "/";
    job.getSpec().hardware.provisioning = HardwareSpec.Provisioning.EXISTING;
    return job;
  }

  static FineTuneJobStatus status(String ns, String name) {
    FineTuneJob j = client.resources(FineTuneJob.class).inNamespace(ns).withName(name).get();
    return j == null || j.getStatus() == null ? new FineTuneJobStatus() : j.getStatus();
  }

  static Optional<io.fabric8.kubernetes.api.model.Condition> stalledByError(FineTuneJobStatus s) {
    return Conditions.get(s, Conditions.STALLED)
        .filter(c -> Conditions.TRUE.equals(c.getStatus()))
        .filter(c -> Kstatus.RECONCILE_ERROR.equals(c.getReason()));
  }

  double forbiddenReconciles() throws Exception {
    var r =
        java.net.http.HttpClient.newHttpClient()
            .send(
                java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create("http://127.0.0.1:" + operator.httpPort() + "/metrics"))
                    .build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
    return r.body()
        .lines()
        .filter(l -> l.startsWith("finetune_reconcile_errors_total{reason=\"Forbidden\"}"))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
        .sum();
  }

  RunningOperator start(String ns) throws Exception {
    operator =
        new RunningOperator(
            ns,
            gcs.server().endpoint(),
            Map.of(),
            RunningOperator.standIns(gcs.server(), gke, iam));
    return operator;
  }

  @Test
  void anAdmissionPolicyThatRefusesTheTrainerJobIsNamedInStatusUntilItIsLifted() throws Exception {
    String ns = LocalCluster.tenantNamespace("errors-admission", GSA, bucket);
    String policy = ns + "-freeze";
    HasMetadata vap =
        client
            .resource(
                """
                apiVersion: admissionregistration.k8s.io/v1
                kind: ValidatingAdmissionPolicy
                metadata:
                  name: %s
                spec:
                  failurePolicy: Fail
                  matchConstraints:
                    resourceRules:
                      - apiGroups: ["batch"]
                        apiVersions: ["v1"]
                        operations: ["CREATE"]
                        resources: ["jobs"]
                  validations:
                    - expression: "false"
                      message: "new Jobs are frozen in this namespace"
                      reason: Invalid
                """
                    .formatted(policy))
            .create();
    cleanup.add(vap);
    HasMetadata binding =
        client
            .resource(
                """
                apiVersion: admissionregistration.k8s.io/v1
                kind: ValidatingAdmissionPolicyBinding
                metadata:
                  name: %s
                spec:
                  policyName: %s
                  validationActions: [Deny]
                  matchResources:
                    namespaceSelector:
                      matchLabels:
                        kubernetes.io/metadata.name: %s
                """
                    .formatted(policy, policy, ns))
            .create();
    cleanup.add(binding);
    // The policy is in force once the API server refuses a Job with it (a dry run).
    await()
        .atMost(WAIT)
        .until(
            () -> {
              try {
                client
                    .batch()
                    .v1()
                    .jobs()
                    .inNamespace(ns)
                    .resource(
                        new io.fabric8.kubernetes.api.model.batch.v1.JobBuilder()
                            .withNewMetadata()
                            .withName("probe")
                            .endMetadata()
                            .withNewSpec()
                            .withNewTemplate()
                            .withNewSpec()
                            .withRestartPolicy("Never")
                            .addNewContainer()
                            .withName("c")
                            .withImage("x")
                            .endContainer()
                            .endSpec()
                            .endTemplate()
                            .endSpec()
                            .build())
                    .dryRun()
                    .create();
                return false;
              } catch (KubernetesClientException e) {
                return e.getCode() == 422 && String.valueOf(e.getMessage()).contains("frozen");
              }
            });

    start(ns).start();
    client.resource(job(ns, "frozen")).create();
    FineTuneJobStatus s =
        await()
            .atMost(WAIT)
            .until(() -> status(ns, "frozen"), st -> stalledByError(st).isPresent());
    assertThat(s.message)
        .startsWith("reconcile failed (retrying in ")
        .contains("Invalid (rejected by the API server or an admission policy) (422)")
        .contains(policy)
        .contains("new Jobs are frozen in this namespace");
    assertThat(stalledByError(s).orElseThrow().getMessage()).contains("frozen");
    assertThat(client.batch().v1().jobs().inNamespace(ns).list().getItems()).isEmpty();

    client.resource(binding).delete();
    cleanup.remove(binding);
    await()
        .atMost(WAIT)
        .until(() -> !client.batch().v1().jobs().inNamespace(ns).list().getItems().isEmpty());
    await().atMost(WAIT).until(() -> stalledByError(status(ns, "frozen")).isEmpty());
    assertThat(status(ns, "frozen").message).doesNotContain("reconcile failed");
    assertThat(client.batch().v1().jobs().inNamespace(ns).list().getItems()).hasSize(1);
  }

  @Test
  void runningAsItsOwnServiceAccountWithAVerbMissingTheOperatorNamesTheRbacGap() throws Exception {
    String ns = LocalCluster.tenantNamespace("errors-rbac", GSA, bucket);
    // deploy/base/rbac.yaml's ClusterRole, under another name, without "create" on batch Jobs.
    ClusterRole role;
    try (InputStream in =
        Files.newInputStream(LocalCluster.REPO.resolve("deploy/base/rbac.yaml"))) {
      role =
          client.load(in).items().stream()
              .filter(o -> o instanceof ClusterRole)
              .map(o -> (ClusterRole) o)
              .findFirst()
              .orElseThrow();
    }
    String name = ns + "-operator";
    role.getMetadata().setName(name);
    for (PolicyRule r : role.getRules()) {
      if (r.getApiGroups().contains("batch") && r.getResources().contains("jobs")) {
        r.setVerbs(r.getVerbs().stream().filter(v -> !"create".equals(v)).toList());
      }
    }
    role = client.resource(role).create();
    cleanup.add(role);
    client
        .resource(
            new io.fabric8.kubernetes.api.model.ServiceAccountBuilder()
                .withNewMetadata()
                .withName("operator")
                .withNamespace(ns)
                .endMetadata()
                .build())
        .create();
    cleanup.add(
        client
            .resource(
                new io.fabric8.kubernetes.api.model.rbac.ClusterRoleBindingBuilder()
                    .withNewMetadata()
                    .withName(name)
                    .endMetadata()
                    .withNewRoleRef("rbac.authorization.k8s.io", "ClusterRole", name)
                    .addNewSubject()
                    .withKind("ServiceAccount")
                    .withName("operator")
                    .withNamespace(ns)
                    .endSubject()
                    .build())
            .create());
    String user = "system:serviceaccount:" + ns + ":operator";
    start(ns)
        .clientConfig(
            c -> {
              c.setImpersonateUsername(user);
              c.setImpersonateGroups(
                  "system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated");
              return c;
            })
        .start();
    List<String> messages = new java.util.concurrent.CopyOnWriteArrayList<>();
    try (io.fabric8.kubernetes.client.Watch w =
        client
            .resources(FineTuneJob.class)
            .inNamespace(ns)
            .withName("norights")
            .watch(
                new io.fabric8.kubernetes.client.Watcher<FineTuneJob>() {
                  @Override
                  public void eventReceived(Action action, FineTuneJob j) {
                    if (j.getStatus() != null && j.getStatus().message != null) {
                      messages.add(j.getStatus().message);
                    }
                  }

                  @Override
                  public void onClose(io.fabric8.kubernetes.client.WatcherException e) {}
                })) {
      client.resource(job(ns, "norights")).create();
      // Witness of the retries: the operator's own count of reconciles refused with a 403.
      await().atMost(WAIT).until(() -> forbiddenReconciles() >= 3);
    }
    FineTuneJobStatus s =
        await()
            .atMost(WAIT)
            .until(() -> status(ns, "norights"), st -> stalledByError(st).isPresent());
    // The dataset was validated once: a retry starts from the kept result, so it neither reads
    // the dataset again nor shows "reading gs://..." between two refusals.
    int firstError = -1;
    for (int i = 0; i < messages.size(); i++) {
      if (messages.get(i).startsWith("reconcile failed")) {
        firstError = i;
        break;
      }
    }
    assertThat(firstError).as("messages seen: %s", messages).isNotNegative();
    assertThat(messages.subList(firstError, messages.size()))
        .as("messages seen: %s", messages)
        .allMatch(m -> m.startsWith("reconcile failed"));
    assertThat(s.message)
        .contains("Forbidden (check the operator's RBAC in deploy/base/rbac.yaml) (403)")
        .contains(user)
        .contains("cannot create resource \"jobs\"");
    assertThat(client.batch().v1().jobs().inNamespace(ns).list().getItems()).isEmpty();

    // The missing verb given back: the next retry creates the Job.
    ClusterRole fixed = client.rbac().clusterRoles().withName(name).get();
    for (PolicyRule r : fixed.getRules()) {
      if (r.getApiGroups().contains("batch") && r.getResources().contains("jobs")) {
        List<String> verbs = new ArrayList<>(r.getVerbs());
        verbs.add("create");
        r.setVerbs(verbs);
      }
    }
    client.resource(fixed).update();
    await()
        .atMost(WAIT)
        .until(() -> !client.batch().v1().jobs().inNamespace(ns).list().getItems().isEmpty());
    await().atMost(WAIT).until(() -> stalledByError(status(ns, "norights")).isEmpty());
  }
}
