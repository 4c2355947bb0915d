package dev.finetune.operator;

import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.operator.health.HttpEndpoints;
import dev.finetune.operator.metrics.OperatorMetrics;
import dev.finetune.operator.reconcile.FineTuneJobReconciler;
import dev.finetune.operator.reconcile.Flow;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import io.javaoperatorsdk.operator.monitoring.micrometer.MicrometerMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.time.Clock;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Wires JOSDK, the reconciler, metrics, probes and leader election. */
public final class FineTuneOperator implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(FineTuneOperator.class);
  public static final String LEASE_NAME = "finetune-operator-leader";

  private final Operator operator;
  private final HttpEndpoints http;
  private final PrometheusMeterRegistry registry;
  private final Flow.Ports ports;
  private final io.fabric8.kubernetes.client.informers.SharedIndexInformer<
          io.fabric8.kubernetes.api.model.Namespace>
      namespaces;
  private final ScheduledExecutorService poolCollector;
  private final AtomicBoolean leading = new AtomicBoolean();
  private final AtomicInteger collections = new AtomicInteger();
  private final FineTuneJobReconciler reconciler;
  private final OperatorMetrics domainMetrics;

  public FineTuneOperator(
      KubernetesClient client, OperatorConfig config, Flow.Ports ports, String httpHost)
      throws IOException {
    this(client, config, ports, httpHost, null, true);
  }

  /**
   * @param identity this replica's name in the leader Lease (null: $HOSTNAME)
   * @param exitOnStopLeading end the process when the lease is lost (production: yes, so that two
   *     replicas never reconcile at once; tests that run replicas in one JVM: no)
   */
  public FineTuneOperator(
      KubernetesClient client,
      OperatorConfig config,
      Flow.Ports ports,
      String httpHost,
      String identity,
      boolean exitOnStopLeading)
      throws IOException {
    registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    // JOSDK's meters per resource type only: per-resource meters would make a series per job.
    MicrometerMetrics metrics = MicrometerMetrics.withoutPerResourceMetrics(registry);
    domainMetrics = new OperatorMetrics(registry, config.nodePoolIdleTtl(), Clock.systemUTC());
    operator =
        new Operator(
            o -> {
              o.withKubernetesClient(client)
                  .withMetrics(metrics)
                  .withCloseClientOnStop(false)
                  .withStopOnInformerErrorDuringStartup(true);
              if (config.leaderElection()) {
                o.withLeaderElectionConfiguration(
                    new LeaderElectionConfiguration(
                        LEASE_NAME,
                        config.leaseNamespace(),
                        LeaderElectionConfiguration.LEASE_DURATION_DEFAULT_VALUE,
                        LeaderElectionConfiguration.RENEW_DEADLINE_DEFAULT_VALUE,
                        LeaderElectionConfiguration.RETRY_PERIOD_DEFAULT_VALUE,
                        identity,
                        new LeaderCallbacks(
                            () -> {
                              leading.set(true);
                              domainMetrics.leader(true);
                            },
                            () -> {
                              leading.set(false);
                              domainMetrics.leader(false);
                            },
                            leader -> {}),
                        exitOnStopLeading));
              } else {
                leading.set(true);
                domainMetrics.leader(true);
              }
            });
    this.ports = ports;
    reconciler = new FineTuneJobReconciler(config, ports, Clock.systemUTC());
    reconciler.metrics(domainMetrics);
    // The namespace policy (its annotations) is read on every step: from a watch, not a GET each
    // time. A namespace not seen yet is read from the API server.
    namespaces = client.namespaces().runnableInformer(0);
    reconciler.namespaceCache(
        name -> namespaces.hasSynced() ? namespaces.getStore().getByKey(name) : null);
    operator.register(
        reconciler,
        o -> {
          if (!config.namespaces().isEmpty()) {
            o.settingNamespaces(config.namespaces());
          }
        });
    http =
        new HttpEndpoints(
            httpHost,
            config.httpPort(),
            registry,
            () -> operator.getRuntimeInfo().allEventSourcesAreHealthy(),
            () ->
                operator.getRuntimeInfo().isStarted()
                    && operator.getRuntimeInfo().allEventSourcesAreHealthy());
    LOG.info("metrics and probes on {}:{}", httpHost, http.port());
    poolCollector =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "node-pool-collector");
              t.setDaemon(true);
              return t;
            });
    long every = Math.max(1000, Math.min(60_000, config.nodePoolIdleTtl().toMillis() / 4));
    // Only the leader collects: a standby that deleted "idle" pools would race the leader handing
    // the pool to a job it has not written to status yet.
    poolCollector.scheduleWithFixedDelay(
        () -> {
          if (leading.get()) {
            collections.incrementAndGet();
            collectIdlePools(client, config, ports);
            var p = ports.capacity().pools();
            domainMetrics.pools(p.managed(), p.idle(), p.oldestIdle());
          }
        },
        every,
        every,
        TimeUnit.MILLISECONDS);
  }

  /**
   * Managed node pools that no unfinished FineTuneJob needs go after the idle TTL. Runs on its own
   * timer, never in a reconcile.
   */
  static void collectIdlePools(KubernetesClient client, OperatorConfig config, Flow.Ports ports) {
    try {
      List<FineTuneJob> jobs =
          config.namespaces().isEmpty()
              ? client.resources(FineTuneJob.class).inAnyNamespace().list().getItems()
              : config.namespaces().stream()
                  .flatMap(
                      ns ->
                          client
                              .resources(FineTuneJob.class)
                              .inNamespace(ns)
                              .list()
                              .getItems()
                              .stream())
                  .toList();
      Set<String> inUse =
          jobs.stream()
              .filter(j -> j.getStatus() != null && j.getStatus().hardware != null)
              .filter(j -> j.getStatus().phase == null || !j.getStatus().phase.terminal())
              .map(j -> j.getStatus().hardware.nodePool)
              .filter(java.util.Objects::nonNull)
              .collect(Collectors.toSet());
      ports.capacity().collectIdle(inUse);
    } catch (RuntimeException e) {
      LOG.warn("node pool collection failed: {}", e.getMessage());
    }
  }

  /** Whether this replica holds the lease (always, without leader election). */
  public boolean isLeader() {
    return leading.get();
  }

  /** How many times this replica has looked for idle node pools. */
  public int idlePoolCollections() {
    return collections.get();
  }

  public FineTuneJobReconciler reconciler() {
    return reconciler;
  }

  public void start() {
    namespaces.start();
    operator.start();
  }

  public int httpPort() {
    return http.port();
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  @Override
  public void close() {
    try {
      reconciler.close();
      poolCollector.shutdownNow();
      operator.stop();
      namespaces.stop();
      ports.close();
    } finally {
      http.close();
      domainMetrics.close();
    }
  }
}
