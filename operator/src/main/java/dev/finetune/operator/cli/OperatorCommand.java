package dev.finetune.operator.cli;

import dev.finetune.operator.FineTuneOperator;
import dev.finetune.operator.OperatorConfig;
import dev.finetune.operator.Wiring;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Runs the operator against the cluster of the current kubeconfig or in-cluster config. */
@Command(
    name = "operator",
    mixinStandardHelpOptions = true,
    description = "Run the FineTuneJob operator (configuration from FINETUNE_* environment).")
public final class OperatorCommand implements Callable<Integer> {
  @Option(
      names = "--no-leader-election",
      description = "Reconcile without a leader Lease (one replica only).")
  boolean noLeaderElection;

  @Option(
      names = "--http-host",
      defaultValue = "0.0.0.0",
      description = "Bind address of /metrics, /healthz, /readyz.")
  String httpHost;

  @Override
  public Integer call() throws Exception {
    Map<String, String> env = new HashMap<>(System.getenv());
    if (noLeaderElection) {
      env.put("FINETUNE_LEADER_ELECTION", "false");
    }
    OperatorConfig config = OperatorConfig.fromEnv(env);
    KubernetesClient client = new KubernetesClientBuilder().build();
    FineTuneOperator operator =
        new FineTuneOperator(client, config, Wiring.ports(config), httpHost);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  operator.close();
                  client.close();
                  stopped.countDown();
                }));
    operator.start();
    stopped.await();
    return 0;
  }
}
