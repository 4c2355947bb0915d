package dev.finetune.operator.it;

import dev.finetune.operator.FineTuneOperator;
import dev.finetune.operator.OperatorConfig;
import dev.finetune.operator.Wiring;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The real operator, in this JVM, against the local control plane (server-side apply on, as in
 * production). Stopping and starting it again is an operator restart.
 */
public final class RunningOperator implements AutoCloseable {
  private final Map<String, String> env;
  private final Wiring.GcpClients gcp;
  private KubernetesClient client;
  private FineTuneOperator operator;
  private String identity;
  private java.util.function.UnaryOperator<io.fabric8.kubernetes.client.Config> configure = c -> c;
  private java.util.function.BiConsumer<
          dev.finetune.api.v1alpha1.FineTuneJob, dev.finetune.api.v1alpha1.FineTuneJobStatus>
      hook;

  /**
   * @param gcp the Google clients: the real client libraries pointed at local stand-ins
   *     (fake-gcs-server, in-process GKE and IAM servers)
   */
  public RunningOperator(
      String namespace, String gcsEndpoint, Map<String, String> extra, Wiring.GcpClients gcp) {
    this.gcp = gcp;
    env = new HashMap<>();
    env.put("STORAGE_EMULATOR_HOST", gcsEndpoint);
    env.put("FINETUNE_GCP_PROJECT", "test-project");
    env.put("FINETUNE_IAM_MODE", "external");
    env.put("FINETUNE_LEADER_ELECTION", "false");
    env.put("FINETUNE_HTTP_PORT", "0");
    env.put("FINETUNE_PROGRESS_POLL_INTERVAL", "PT1S");
    env.put("FINETUNE_NAMESPACES", namespace);
    env.put("FINETUNE_TRAINER_IMAGE", "trainer.local/finetune-trainer:test");
    env.putAll(extra);
  }

  /**
   * The operator's client, made from the admin's configuration by this function (to impersonate the
   * operator's own service account, say).
   */
  public RunningOperator clientConfig(
      java.util.function.UnaryOperator<io.fabric8.kubernetes.client.Config> configure) {
    this.configure = configure;
    return this;
  }

  /** Another replica: leader election on, with this name in the Lease. */
  public RunningOperator replica(String identity, String leaseNamespace) {
    this.identity = identity;
    env.put("FINETUNE_LEADER_ELECTION", "true");
    env.put("FINETUNE_LEASE_NAMESPACE", leaseNamespace);
    return this;
  }

  /** Runs before each status write of the started operator (fault injection). */
  public RunningOperator beforeStatusWrite(
      java.util.function.BiConsumer<
              dev.finetune.api.v1alpha1.FineTuneJob, dev.finetune.api.v1alpha1.FineTuneJobStatus>
          hook) {
    this.hook = hook;
    if (operator != null) {
      operator.reconciler().beforeStatusWrite(hook);
    }
    return this;
  }

  public FineTuneOperator operator() {
    return operator;
  }

  public OperatorConfig config() {
    return OperatorConfig.fromEnv(env);
  }

  public RunningOperator start() throws Exception {
    client =
        new KubernetesClientBuilder()
            .withConfig(
                configure.apply(
                    new io.fabric8.kubernetes.client.ConfigBuilder(
                            LocalCluster.client().getConfiguration())
                        .build()))
            .build();
    OperatorConfig config = config();
    operator =
        new FineTuneOperator(
            client,
            config,
            Wiring.ports(config, gcp, dev.finetune.operator.cost.PriceTable.defaults()),
            "127.0.0.1",
            identity,
            false);
    operator.reconciler().beforeStatusWrite(hook);
    operator.start();
    return this;
  }

  /** Google clients of the stand-ins: storage of fake-gcs-server, GKE and IAM in-process. */
  public static Wiring.GcpClients standIns(
      dev.finetune.operator.gcp.storage.FakeGcsServer gcs,
      dev.finetune.operator.gcp.nodepool.FakeClusterManager gke,
      dev.finetune.operator.gcp.iam.FakeIam iam) {
    return new Wiring.GcpClients(
        gcs.objectStore(),
        () -> {
          try {
            return new dev.finetune.operator.gcp.nodepool.GkeNodePoolManager(
                gke.client(),
                new dev.finetune.operator.gcp.nodepool.GkeNodePoolConfig(
                    "test-project", "us-central1", "local", 3, "LATEST", null, List.of(), 0));
          } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        },
        () -> {
          try {
            return new dev.finetune.operator.gcp.iam.WorkloadIdentityBinder(
                iam.client(), "test-project");
          } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        });
  }

  public int httpPort() {
    return operator.httpPort();
  }

  public void stop() {
    if (operator != null) {
      operator.close();
      client.close();
      operator = null;
    }
  }

  @Override
  public void close() {
    stop();
  }
}
