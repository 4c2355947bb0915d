package dev.finetune.operator.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.Phase;
import dev.finetune.api.v1alpha1.HardwareSpec;
import dev.finetune.api.v1alpha1.IdentitySpec;
import dev.finetune.operator.Fixtures;
import dev.finetune.operator.Wiring;
import dev.finetune.operator.children.Labels;
import dev.finetune.operator.gcp.iam.FakeIam;
import dev.finetune.operator.gcp.iam.WorkloadIdentityMembers;
import dev.finetune.operator.gcp.nodepool.FakeClusterManager;
import dev.finetune.operator.gcp.storage.FakeGcsServerExtension;
import dev.finetune.operator.gcp.storage.GcsUri;
import dev.finetune.operator.gcp.storage.GoogleCloudStorage;
import dev.finetune.operator.gcp.storage.RecordingGcsProxy;
import dev.finetune.operator.reconcile.Conditions;
import dev.finetune.operator.sizing.HubToken;
import dev.finetune.operator.tenancy.JobHubTokens;
import dev.finetune.operator.tenancy.StorageAllowList;
import dev.finetune.operator.tenancy.TenantPolicy;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBuilder;
import io.fabric8.kubernetes.api.model.rbac.PolicyRuleBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Attacks a tenant could try, against the real API server, the operator running in this JVM, its
 * real Cloud Storage client (through a recording pass-through to fake-gcs-server) and the
 * in-process IAM and GKE stand-ins. Each asserts the refusal and that nothing was read (no storage
 * request names the job), granted (no IAM member for it, no bucket IAM request) or created (no
 * child).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TenancyIT {
  static final String GSA = "trainer@proj-1.iam.gserviceaccount.com";
  static final Duration WAIT = Duration.ofSeconds(60);
  static final String TENANT_GROUP = "tenancy-it-team-a";

  @RegisterExtension static FakeGcsServerExtension gcs = new FakeGcsServerExtension();

  static KubernetesClient client;
  static RecordingGcsProxy proxy;
  static FakeClusterManager gke;
  static FakeIam iam;
  static RunningOperator operator;
  static String nsA;
  static String nsB;
  static String ok;
  static String evil;
  static String other;
  static String shared;

  @BeforeAll
  static void setUp() throws Exception {
    client = LocalCluster.client();
    ok = gcs.server().newBucket("okb");
    evil = ok + "-evil";
    gcs.server().createBucket(evil);
    other = gcs.server().newBucket("other");
    shared = gcs.server().newBucket("shared");
    nsA =
        LocalCluster.namespace(
            "tenant-a",
            Map.of(
                StorageAllowList.ANNOTATION,
                "gs://" + ok + ", gs://" + shared + "/team-a/",
                "finetune.dev/allowed-gcp-service-accounts",
                GSA));
    nsB =
        LocalCluster.namespace(
            "tenant-b", Map.of(StorageAllowList.ANNOTATION, "gs://" + other + "/team-b/"));
    proxy = new RecordingGcsProxy(gcs.server().endpoint());
    gke = FakeClusterManager.start();
    iam = FakeIam.start();
    Wiring.GcpClients standIns = RunningOperator.standIns(gcs.server(), gke, iam);
    Wiring.GcpClients recorded =
        new Wiring.GcpClients(
            GoogleCloudStorage.forEmulator(proxy.endpoint(), "test-project"),
            standIns.nodePools(),
            standIns.serviceAccountIam());
    operator =
        new RunningOperator(
                nsA + "," + nsB, proxy.endpoint(), Map.of("FINETUNE_IAM_MODE", "gcp"), recorded)
            .start();
  }

  @AfterAll
  static void tearDown() throws Exception {
    if (operator != null) {
      operator.close();
    }
    for (AutoCloseable c : new AutoCloseable[] {proxy, gke, iam}) {
      if (c != null) {
        c.close();
      }
    }
    try {
      LocalCluster.kubectl(
          List.of(
              "delete",
              "--ignore-not-found",
              "-f",
              LocalCluster.REPO.resolve("deploy/base/tenancy-admission.yaml").toString()));
    } catch (IllegalStateException e) {
      // the cluster may be gone already
    }
  }

  /** A valid dataset in every bucket under the job's name: a read would succeed if made. */
  static void seed(String name) throws Exception {
    String line =
        "{\"prompt\": \"name: Ada; city: Paris\", \"completion\": \"{\\\"name\\\": \\\"Ada\\\"}\"}\n";
    byte[] data = line.repeat(20).getBytes(StandardCharsets.UTF_8);
    byte[] config =
        "{\"model_type\": \"llama\", \"hidden_size\": 64, \"num_attention_heads\": 4,"
            .concat(" \"num_hidden_layers\": 2, \"intermediate_size\": 128, \"vocab_size\": 256}")
            .getBytes(StandardCharsets.UTF_8);
    for (String b : List.of(ok, evil, other, shared)) {
      for (String prefix : List.of(name + "/", "team-a/" + name + "/", "team-ab/" + name + "/")) {
        gcs.server().objectStore().write(GcsUri.of(b, prefix + "train.jsonl"), data);
        gcs.server().objectStore().write(GcsUri.of(b, prefix + "model/config.json"), config);
      }
    }
  }

  /** A job that would run: allowed data and output, a named L4, existing nodes. */
  static FineTuneJob job(String ns, String name, IdentitySpec.Mode mode) {
    FineTuneJob job = Fixtures.job(ns, name);
    job.getMetadata().setUid(null);
    job.getMetadata().setGeneration(null);
    job.getSpec().dataset.train = "gs://" + ok + "/" + name + "/train.jsonl";
    job.getSpec().dataset.validation = null;
    job.getSpec().output = "gs://" + ok + "/" + name + "/out/";
    job.getSpec().hardware.accelerator = HardwareSpec.Accelerator.NVIDIA_TESLA_T4;
    job.getSpec().hardware.provisioning = HardwareSpec.Provisioning.EXISTING;
    job.getSpec().identity.mode = mode;
    if (mode == IdentitySpec.Mode.DIRECT) {
      job.getSpec().identity.gcpServiceAccount = null;
    }
    return job;
  }

  static FineTuneJob get(String ns, String name) {
    return client.resources(FineTuneJob.class).inNamespace(ns).withName(name).get();
  }

  static String condition(String ns, String name, String type) {
    FineTuneJob j = get(ns, name);
    return j == null || j.getStatus() == null
        ? null
        : Conditions.get(j.getStatus(), type)
            .map(c -> c.getStatus() + "/" + c.getReason())
            .orElse(null);
  }

  /** Waits for the refusal, then checks the witnesses that nothing was read, granted or made. */
  static String assertRefusedUntouched(String ns, String name, String reason) {
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> assertThat(condition(ns, name, Conditions.READY)).isEqualTo("False/" + reason));
    FineTuneJob j = get(ns, name);
    assertThat(j.getStatus().phase).isEqualTo(Phase.Failed);
    assertThat(proxy.requestsMentioning("/" + name + "/")).as("storage requests").isEmpty();
    assertThat(proxy.requestsMentioning("/iam")).as("bucket IAM requests").isEmpty();
    assertThat(
            iam.members(
                WorkloadIdentityMembers.serviceAccountResource(GSA),
                WorkloadIdentityMembers.WORKLOAD_IDENTITY_USER))
        .doesNotContain(
            WorkloadIdentityMembers.classicMember("test-project", ns, name + "-trainer"));
    String child = name + "-trainer";
    assertThat(client.serviceAccounts().inNamespace(ns).withName(child).get()).isNull();
    assertThat(client.configMaps().inNamespace(ns).withName(child).get()).isNull();
    assertThat(client.batch().v1().jobs().inNamespace(ns).withName(child).get()).isNull();
    return j.getStatus().message;
  }

  @Test
  @Order(1)
  void aJobInsideTheAllowListIsReadAndRuns() throws Exception {
    seed("control");
    client.resource(job(nsA, "control", IdentitySpec.Mode.SERVICE_ACCOUNT)).create();
    await()
        .atMost(WAIT)
        .untilAsserted(
            () ->
                assertThat(
                        client
                            .batch()
                            .v1()
                            .jobs()
                            .inNamespace(nsA)
                            .withName("control-trainer")
                            .get())
                    .isNotNull());
    // The witness works: the allowed dataset was read through the recording proxy.
    assertThat(proxy.requestsMentioning("/control/train.jsonl")).isNotEmpty();
    assertThat(condition(nsA, "control", Conditions.DATASET_VALID)).isEqualTo("True/Valid");
  }

  static Stream<Arguments> fieldsAndModes() {
    List<Arguments> args = new ArrayList<>();
    for (String field : List.of("train", "validation", "model", "output")) {
      for (IdentitySpec.Mode mode : IdentitySpec.Mode.values()) {
        args.add(Arguments.of(field, mode));
      }
    }
    return args.stream();
  }

  /** Attacks 1-8: each URI field on a bucket the namespace was not given, in each identity mode. */
  @ParameterizedTest(name = "{0} on a foreign bucket, identity {1}")
  @MethodSource("fieldsAndModes")
  @Order(2)
  void aUriFieldOnAForeignBucketIsRefused(String field, IdentitySpec.Mode mode) throws Exception {
    String name = "f-" + field + "-" + (mode == IdentitySpec.Mode.DIRECT ? "d" : "s");
    seed(name);
    FineTuneJob j = job(nsA, name, mode);
    String uri = "gs://" + other + "/" + name + "/" + (field.equals("output") ? "out/" : "");
    set(j, field, uri);
    client.resource(j).create();
    String message = assertRefusedUntouched(nsA, name, "NotAllowed");
    assertThat(message).contains(StorageAllowList.ANNOTATION).contains("gs://" + other);
  }

  static void set(FineTuneJob j, String field, String uri) {
    switch (field) {
      case "train" -> j.getSpec().dataset.train = uri + "train.jsonl";
      case "validation" -> j.getSpec().dataset.validation = uri + "train.jsonl";
      case "model" -> {
        j.getSpec().model.source = uri + "model/";
        j.getSpec().hardware.accelerator = HardwareSpec.Accelerator.AUTO;
      }
      default -> j.getSpec().output = uri;
    }
  }

  static Stream<Arguments> uriTricks() {
    return Stream.of(
        Arguments.of("dotdot", "gs://%OK/../%OTHER/dotdot/train.jsonl"),
        Arguments.of("pct-slash", "gs://%OK/x%2F..%2F..%2F%OTHER/pct-slash/train.jsonl"),
        Arguments.of("pct-double", "gs://%OK/x%252F..%252F..%252F%OTHER/pct-double/train.jsonl"),
        Arguments.of("string-prefix", "gs://%EVIL/string-prefix/train.jsonl"),
        Arguments.of("folder-prefix", "gs://%SHARED/team-ab/folder-prefix/train.jsonl"),
        Arguments.of("backslash", "gs://%OK/..\\%OTHER/backslash/train.jsonl"),
        Arguments.of("double-slash", "gs://%OK//double-slash/train.jsonl"));
  }

  /** Attacks 9-15: URI tricks in dataset.train. */
  @ParameterizedTest(name = "{0}: {1}")
  @MethodSource("uriTricks")
  @Order(3)
  void uriTricksAreRefused(String name, String template) throws Exception {
    seed(name);
    String uri =
        template
            .replace("%OK", ok)
            .replace("%OTHER", other)
            .replace("%EVIL", evil)
            .replace("%SHARED", shared);
    FineTuneJob j = job(nsA, name, IdentitySpec.Mode.SERVICE_ACCOUNT);
    j.getSpec().dataset.train = uri;
    client.resource(j).create();
    String message = assertRefusedUntouched(nsA, name, "NotAllowed");
    assertThat(message).contains(uri).contains("spec.dataset.train");
  }

  /** Attack 16: an upper-case bucket name never reaches the operator (the schema refuses it). */
  @Test
  @Order(4)
  void anUpperCaseBucketIsRefusedAtAdmission() {
    FineTuneJob j = job(nsA, "upper", IdentitySpec.Mode.SERVICE_ACCOUNT);
    j.getSpec().dataset.train = "gs://" + other.toUpperCase(java.util.Locale.ROOT) + "/upper/x";
    assertThatThrownBy(() -> client.resource(j).create())
        .isInstanceOf(KubernetesClientException.class)
        .hasMessageContaining("dataset.train");
    assertThat(get(nsA, "upper")).isNull();
  }

  /** Attack 17: identity direct where the namespace has only a folder of the bucket. */
  @Test
  @Order(5)
  void directModeOnAPartlyAllowedBucketGrantsNothing() throws Exception {
    seed("direct-part");
    FineTuneJob j = job(nsA, "direct-part", IdentitySpec.Mode.DIRECT);
    j.getSpec().dataset.train = "gs://" + shared + "/team-a/direct-part/train.jsonl";
    client.resource(j).create();
    String message = assertRefusedUntouched(nsA, "direct-part", "NotAllowed");
    assertThat(condition(nsA, "direct-part", Conditions.IDENTITY_BOUND))
        .isEqualTo("False/NotAllowed");
    assertThat(message).contains("whole buckets");
  }

  /** Attack 18: accelerator auto with a model on a foreign bucket: config.json is not read. */
  @Test
  @Order(6)
  void aModelConfigOnAForeignBucketIsNotRead() throws Exception {
    seed("model-cfg");
    FineTuneJob j = job(nsA, "model-cfg", IdentitySpec.Mode.SERVICE_ACCOUNT);
    j.getSpec().hardware.accelerator = HardwareSpec.Accelerator.AUTO;
    j.getSpec().model.source = "gs://" + other + "/model-cfg/model/";
    client.resource(j).create();
    assertRefusedUntouched(nsA, "model-cfg", "NotAllowed");
    assertThat(proxy.requestsMentioning("config.json")).isEmpty();
  }

  /**
   * Attacks 19 and 20: pods that claim a victim's job (its annotations and labels, a controller
   * reference to a Job of the victim's child name) from another namespace and from the victim's own
   * namespace with a different Job UID. Neither is counted; the victim's real pod is.
   */
  @Test
  @Order(7)
  void forgedPodsAreNotAttributed() throws Exception {
    seed("victim");
    client.resource(job(nsA, "victim", IdentitySpec.Mode.SERVICE_ACCOUNT)).create();
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              FineTuneJob v = get(nsA, "victim");
              assertThat(v.getStatus().training).isNotNull();
              assertThat(v.getStatus().training.attempts).isEqualTo(1);
            });
    // Each forged pod is controlled by a real Job of the attacker (so garbage collection keeps
    // it): in tenant B one named like the victim's child, in the victim's namespace another one.
    Job inB = (Job) client.resource(foreignChild("Job", nsB, "victim-trainer")).create();
    Job decoy = (Job) client.resource(foreignChild("Job", nsA, "decoy-trainer")).create();
    Pod forgedElsewhere = forged(nsB, "forged-b", "victim-trainer", inB.getMetadata().getUid());
    Pod forgedHere = forged(nsA, "forged-a", "decoy-trainer", decoy.getMetadata().getUid());
    for (Pod p : List.of(forgedElsewhere, forgedHere)) {
      client.resource(p).create();
      preempt(p.getMetadata().getNamespace(), p.getMetadata().getName());
    }
    // The victim's own pod is preempted last: once that is counted, the forged ones were seen.
    String realJob =
        client
            .batch()
            .v1()
            .jobs()
            .inNamespace(nsA)
            .withName("victim-trainer")
            .get()
            .getMetadata()
            .getUid();
    Pod own =
        client.pods().inNamespace(nsA).list().getItems().stream()
            .filter(
                p ->
                    p.getMetadata().getOwnerReferences().stream()
                        .anyMatch(r -> realJob.equals(r.getUid())))
            .findFirst()
            .orElseThrow();
    preempt(nsA, own.getMetadata().getName());
    // The Job replaces the preempted pod: two real attempts, one preemption, no failure.
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              var t = get(nsA, "victim").getStatus().training;
              assertThat(t.preemptions).isEqualTo(1);
              assertThat(t.attempts).isEqualTo(2);
            });
    assertThat(get(nsA, "victim").getStatus().training.failures).isZero();
    assertThat(client.pods().inNamespace(nsB).withName("forged-b").get()).isNotNull();
    assertThat(client.pods().inNamespace(nsA).withName("forged-a").get()).isNotNull();
    assertThat(get(nsA, "victim").getStatus().phase).isEqualTo(Phase.Training);
  }

  static Pod forged(String ns, String name, String jobName, String jobUid) {
    return new PodBuilder()
        .withNewMetadata()
        .withName(name)
        .withNamespace(ns)
        .withLabels(
            Map.of(
                Labels.MANAGED_BY,
                Labels.MANAGED_BY_VALUE,
                Labels.JOB_NAME,
                "victim",
                "batch.kubernetes.io/job-name",
                "victim-trainer"))
        .withAnnotations(
            Map.of("finetune.dev/owner-name", "victim", "finetune.dev/owner-namespace", nsA))
        .addNewOwnerReference()
        .withApiVersion("batch/v1")
        .withKind("Job")
        .withName(jobName)
        .withUid(jobUid)
        .withController(true)
        .endOwnerReference()
        .endMetadata()
        .withNewSpec()
        .withNodeSelector(Map.of("tenancy-it/no-such-node", "true"))
        .addNewContainer()
        .withName("trainer")
        .withImage("forged:latest")
        .endContainer()
        .endSpec()
        .build();
  }

  /**
   * What a preempted pod ends as: Failed with DisruptionTarget (a strategic merge, no
   * read-modify-write).
   */
  static void preempt(String ns, String name) {
    client
        .pods()
        .inNamespace(ns)
        .withName(name)
        .subresource("status")
        .patch(
            PatchContext.of(PatchType.STRATEGIC_MERGE),
            "{\"status\": {\"phase\": \"Failed\", \"conditions\": [{\"type\":"
                + " \"DisruptionTarget\", \"status\": \"True\", \"reason\":"
                + " \"PreemptionByScheduler\"}]}}");
  }

  /** Attacks 21-23: a ServiceAccount, ConfigMap or Job under the child's name that is not ours. */
  @ParameterizedTest(name = "pre-existing {0}")
  @org.junit.jupiter.params.provider.ValueSource(strings = {"ServiceAccount", "ConfigMap", "Job"})
  @Order(8)
  void aForeignObjectUnderTheChildNameIsNeverAdopted(String kind) throws Exception {
    String name = "taken-" + kind.toLowerCase(java.util.Locale.ROOT);
    seed(name);
    HasMetadata foreign = client.resource(foreignChild(kind, nsA, name + "-trainer")).create();
    String rv = foreign.getMetadata().getResourceVersion();
    client.resource(job(nsA, name, IdentitySpec.Mode.SERVICE_ACCOUNT)).create();
    String condition =
        kind.equals("ServiceAccount") ? Conditions.IDENTITY_BOUND : Conditions.TRAINING_COMPLETE;
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> assertThat(condition(nsA, name, condition)).isEqualTo("False/NameInUse"));
    FineTuneJob j = get(nsA, name);
    assertThat(j.getStatus().phase).isEqualTo(Phase.Failed);
    assertThat(j.getStatus().message).contains(kind + " " + nsA + "/" + name + "-trainer");
    HasMetadata after = client.resource(foreign).get();
    if (kind.equals("Job")) {
      // The Job controller writes its status; its spec and metadata are the user's as made.
      assertThat(after.getMetadata().getGeneration())
          .isEqualTo(foreign.getMetadata().getGeneration());
      assertThat(((Job) after).getSpec().getTemplate().getSpec().getContainers().get(0).getImage())
          .isEqualTo("user:latest");
    } else {
      assertThat(after.getMetadata().getResourceVersion()).isEqualTo(rv);
    }
    assertThat(after.getMetadata().getManagedFields())
        .noneMatch(f -> Labels.FIELD_MANAGER.equals(f.getManager()));
    assertThat(after.getMetadata().getOwnerReferences()).isNullOrEmpty();
    if (!kind.equals("Job")) {
      assertThat(client.batch().v1().jobs().inNamespace(nsA).withName(name + "-trainer").get())
          .isNull();
    }
    if (kind.equals("ServiceAccount")) {
      assertThat(
              iam.members(
                  WorkloadIdentityMembers.serviceAccountResource(GSA),
                  WorkloadIdentityMembers.WORKLOAD_IDENTITY_USER))
          .doesNotContain(
              WorkloadIdentityMembers.classicMember("test-project", nsA, name + "-trainer"));
    }
  }

  static HasMetadata foreignChild(String kind, String ns, String name) {
    Map<String, String> labels = Map.of(Labels.MANAGED_BY, Labels.MANAGED_BY_VALUE);
    return switch (kind) {
      case "ServiceAccount" ->
          new ServiceAccountBuilder()
              .withNewMetadata()
              .withName(name)
              .withNamespace(ns)
              .withLabels(labels)
              .endMetadata()
              .build();
      case "ConfigMap" ->
          new ConfigMapBuilder()
              .withNewMetadata()
              .withName(name)
              .withNamespace(ns)
              .withLabels(labels)
              .endMetadata()
              .withData(Map.of("job-config.json", "{}"))
              .build();
      default ->
          new JobBuilder()
              .withNewMetadata()
              .withName(name)
              .withNamespace(ns)
              .withLabels(labels)
              .endMetadata()
              .withNewSpec()
              .withSuspend(true)
              .withNewTemplate()
              .withNewSpec()
              .withRestartPolicy("Never")
              .addNewContainer()
              .withName("c")
              .withImage("user:latest")
              .endContainer()
              .endSpec()
              .endTemplate()
              .endSpec()
              .build();
    };
  }

  /**
   * Attack 24: the Job of an earlier FineTuneJob of the same name, orphaned by {@code kubectl
   * delete --cascade=orphan}, is not taken over by the new one (other UID).
   */
  @Test
  @Order(9)
  void anOrphanedJobOfAnEarlierRunIsNotAdopted() throws Exception {
    seed("reborn");
    client.resource(job(nsA, "reborn", IdentitySpec.Mode.SERVICE_ACCOUNT)).create();
    await()
        .atMost(WAIT)
        .until(
            () ->
                client.batch().v1().jobs().inNamespace(nsA).withName("reborn-trainer").get()
                    != null);
    client
        .resources(FineTuneJob.class)
        .inNamespace(nsA)
        .withName("reborn")
        .withPropagationPolicy(io.fabric8.kubernetes.api.model.DeletionPropagation.ORPHAN)
        .delete();
    await().atMost(WAIT).until(() -> get(nsA, "reborn") == null);
    Job orphan = client.batch().v1().jobs().inNamespace(nsA).withName("reborn-trainer").get();
    client.resource(job(nsA, "reborn", IdentitySpec.Mode.SERVICE_ACCOUNT)).create();
    // The orphaned children (ServiceAccount first, in the order the flow meets them) are refused.
    await()
        .atMost(WAIT)
        .untilAsserted(
            () ->
                assertThat(condition(nsA, "reborn", Conditions.READY))
                    .isEqualTo("False/NameInUse"));
    assertThat(get(nsA, "reborn").getStatus().message)
        .contains("ServiceAccount " + nsA + "/reborn-trainer");
    Job after = client.batch().v1().jobs().inNamespace(nsA).withName("reborn-trainer").get();
    assertThat(after.getMetadata().getUid()).isEqualTo(orphan.getMetadata().getUid());
    assertThat(after.getMetadata().getOwnerReferences())
        .noneMatch(r -> r.getUid().equals(get(nsA, "reborn").getMetadata().getUid()));
  }

  /**
   * Attacks 25-28: a tenant who may edit its own Namespace tries to give itself a Google service
   * account or a bucket, to remove a restriction, and to create a Namespace that grants itself. The
   * ValidatingAdmissionPolicy of deploy/ refuses each; the Namespace stays as it was. A plain
   * annotation edit by the same tenant passes (RBAC allows it; only the policy says no), and the
   * admin group may change them.
   */
  @Test
  @Order(10)
  void aTenantCannotEditTheFinetuneAnnotationsOfItsNamespace() throws Exception {
    String tenantNs =
        LocalCluster.namespace("tenant-self", Map.of(StorageAllowList.ANNOTATION, "gs://" + ok));
    client
        .resource(
            new ClusterRoleBuilder()
                .withNewMetadata()
                .withName("tenancy-it-namespace-editor")
                .endMetadata()
                .withRules(
                    new PolicyRuleBuilder()
                        .withApiGroups("")
                        .withResources("namespaces")
                        .withResourceNames(tenantNs)
                        .withVerbs("get", "patch", "update")
                        .build(),
                    new PolicyRuleBuilder()
                        .withApiGroups("")
                        .withResources("namespaces")
                        .withVerbs("create")
                        .build())
                .build())
        .createOr(r -> r.update());
    client
        .resource(
            new ClusterRoleBindingBuilder()
                .withNewMetadata()
                .withName("tenancy-it-namespace-editor")
                .endMetadata()
                .withNewRoleRef()
                .withApiGroup("rbac.authorization.k8s.io")
                .withKind("ClusterRole")
                .withName("tenancy-it-namespace-editor")
                .endRoleRef()
                .addNewSubject()
                .withKind("Group")
                .withApiGroup("rbac.authorization.k8s.io")
                .withName(TENANT_GROUP)
                .endSubject()
                .build())
        .createOr(r -> r.update());
    LocalCluster.kubectl(
        List.of(
            "apply",
            "-f",
            LocalCluster.REPO.resolve("deploy/base/tenancy-admission.yaml").toString()));
    List<String> tenant = List.of("--as=alice", "--as-group=" + TENANT_GROUP);
    // The policy is in force once a server-side dry run is refused (dry runs change nothing).
    await()
        .atMost(WAIT)
        .untilAsserted(
            () ->
                assertThat(
                        refusal(
                            tenant,
                            "annotate",
                            "--dry-run=server",
                            "--overwrite",
                            "namespace",
                            tenantNs,
                            "finetune.dev/allowed-gcp-service-accounts=x@p.iam.gserviceaccount.com"))
                    .contains("set by cluster admins only"));
    String rv = client.namespaces().withName(tenantNs).get().getMetadata().getResourceVersion();
    assertThat(
            refusal(
                tenant,
                "annotate",
                "--overwrite",
                "namespace",
                tenantNs,
                "finetune.dev/allowed-gcp-service-accounts=evil@other.iam.gserviceaccount.com"))
        .contains("set by cluster admins only")
        .contains("alice");
    assertThat(
            refusal(
                tenant,
                "annotate",
                "--overwrite",
                "namespace",
                tenantNs,
                StorageAllowList.ANNOTATION + "=gs://" + ok + ",gs://" + other))
        .contains("set by cluster admins only");
    assertThat(
            refusal(tenant, "annotate", "namespace", tenantNs, StorageAllowList.ANNOTATION + "-"))
        .contains("set by cluster admins only");
    var ns = client.namespaces().withName(tenantNs).get();
    assertThat(ns.getMetadata().getResourceVersion()).isEqualTo(rv);
    assertThat(ns.getMetadata().getAnnotations())
        .containsEntry(StorageAllowList.ANNOTATION, "gs://" + ok);
    String newNs = tenantNs + "-x";
    java.nio.file.Path manifest = java.nio.file.Files.createTempFile("ns", ".yaml");
    java.nio.file.Files.writeString(
        manifest,
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: "
            + newNs
            + "\n  annotations:\n    "
            + StorageAllowList.ANNOTATION
            + ": gs://"
            + other
            + "\n");
    assertThat(refusal(tenant, "create", "-f", manifest.toString()))
        .contains("set by cluster admins only");
    assertThat(client.namespaces().withName(newNs).get()).isNull();

    // Controls: the tenant may edit other annotations; the admin may edit these.
    List<String> ok1 = new ArrayList<>(tenant);
    ok1.addAll(List.of("annotate", "--overwrite", "namespace", tenantNs, "team/owner=alice"));
    LocalCluster.kubectl(ok1);
    LocalCluster.kubectl(
        List.of(
            "annotate",
            "--overwrite",
            "namespace",
            tenantNs,
            StorageAllowList.ANNOTATION + "=gs://" + ok + ",gs://" + shared));
    assertThat(client.namespaces().withName(tenantNs).get().getMetadata().getAnnotations())
        .containsEntry("team/owner", "alice")
        .containsEntry(StorageAllowList.ANNOTATION, "gs://" + ok + ",gs://" + shared);
  }

  /**
   * Attack 29: a job names a Hugging Face token Secret that exists only in another tenant's
   * namespace. The token is read from the job's own namespace alone (never found here); the
   * operator's token serves only namespaces an admin opted in; messages never carry the value.
   */
  @Test
  @Order(11)
  void hubTokensComeFromTheJobsOwnNamespace() throws Exception {
    client
        .resource(
            new io.fabric8.kubernetes.api.model.SecretBuilder()
                .withNewMetadata()
                .withName("hf")
                .withNamespace(nsB)
                .endMetadata()
                .withStringData(Map.of("token", "hf_tenant_b_secret"))
                .build())
        .create();
    FineTuneJob j = job(nsA, "gated", IdentitySpec.Mode.SERVICE_ACCOUNT);
    j.getSpec().model.tokenSecretRef = new dev.finetune.api.v1alpha1.ModelSpec.SecretKeyRef();
    j.getSpec().model.tokenSecretRef.name = "hf";
    j.getSpec().model.tokenSecretRef.key = "token";
    assertThatThrownBy(() -> JobHubTokens.forJob(client, j, Map.of()).resolve())
        .isInstanceOf(java.io.IOException.class)
        .hasMessageContaining("Secret " + nsA + "/hf")
        .hasMessageNotContaining("hf_tenant_b_secret");

    client
        .resource(
            new io.fabric8.kubernetes.api.model.SecretBuilder()
                .withNewMetadata()
                .withName("hf")
                .withNamespace(nsA)
                .endMetadata()
                .withStringData(Map.of("other", "x"))
                .build())
        .create();
    assertThatThrownBy(() -> JobHubTokens.forJob(client, j, Map.of()).resolve())
        .hasMessageContaining("has no key \"token\"");
    client
        .secrets()
        .inNamespace(nsA)
        .withName("hf")
        .edit(
            sec ->
                new io.fabric8.kubernetes.api.model.SecretBuilder(sec)
                    .withData(null)
                    .withStringData(Map.of("token", "hf_tenant_a_own"))
                    .build());
    assertThat(JobHubTokens.forJob(client, j, Map.of()).resolve())
        .isEqualTo(new HubToken.Own("hf_tenant_a_own"));

    j.getSpec().model.tokenSecretRef = null;
    assertThat(JobHubTokens.forJob(client, j, Map.of()).resolve())
        .isInstanceOf(HubToken.None.class);
    assertThat(
            JobHubTokens.forJob(
                    client, j, Map.of(TenantPolicy.OPERATOR_HF_TOKEN_ANNOTATION, "true"))
                .resolve())
        .isInstanceOf(HubToken.OperatorWide.class);
  }

  /** Runs kubectl expecting a refusal; returns kubectl's output. */
  static String refusal(List<String> as, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(as);
    cmd.addAll(List.of(args));
    try {
      String out = LocalCluster.kubectl(cmd);
      return "ALLOWED: " + out;
    } catch (IllegalStateException e) {
      return e.getMessage();
    }
  }
}
