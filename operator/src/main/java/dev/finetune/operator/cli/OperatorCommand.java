package dev.finetune.operator.cli;

import dev.finetune.operator.ConfigKeys;
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
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

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

  @Spec CommandSpec spec;

  /** The settings' source; the process environment unless a test gives another. */
  Map<String, String> environment = System.getenv();

  /** Exit code for a configuration the operator refuses to start with. */
  public static final int EXIT_BAD_CONFIG = 78;

  @Override
  public Integer call() throws Exception {
    Map<String, String> env = new HashMap<>(environment);
    if (noLeaderElection) {
      env.put("FINETUNE_LEADER_ELECTION", "false");
    }
    OperatorConfig config;
    try {
      config = OperatorConfig.fromEnv(env);
    } catch (ConfigKeys.InvalidConfig e) {
      spec.commandLine().getErr().println(e.getMessage());
      spec.commandLine().getErr().flush();
      return EXIT_BAD_CONFIG;
    }
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
