package dev.finetune.operator.it;

import dev.finetune.operator.FineTuneOperator;
import dev.finetune.operator.OperatorConfig;
import dev.finetune.operator.Wiring;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.util.HashMap;
import java.util.Map;

/**
 * The real operator, in this JVM, against the local control plane (server-side apply on, as in
 * production). Stopping and starting it again is an operator restart.
 */
public final class RunningOperator implements AutoCloseable {
  private final Map<String, String> env;
  private KubernetesClient client;
  private FineTuneOperator operator;

  public RunningOperator(String namespace, String gcsEndpoint, Map<String, String> extra) {
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

  public OperatorConfig config() {
    return OperatorConfig.fromEnv(env);
  }

  public RunningOperator start() throws Exception {
    client =
        new KubernetesClientBuilder().withConfig(LocalCluster.client().getConfiguration()).build();
    OperatorConfig config = config();
    operator = new FineTuneOperator(client, config, Wiring.ports(config), "127.0.0.1");
    operator.start();
    return this;
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
