package dev.finetune.operator.metrics;

import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.FineTuneJobStatus;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.Phase;
import dev.finetune.operator.gcp.nodepool.Accelerator;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;

/**
 * The operator's own metrics, every label from a fixed set (phase, accelerator, capacity type, API,
 * reason): never a job's name or namespace, so the number of series does not grow with the jobs.
 *
 * <p>Prometheus names: {@code finetune_jobs{phase}}, {@code
 * finetune_jobs_oldest_in_phase_seconds{phase}}, {@code finetune_phase_duration_seconds{phase}}
 * (histogram), {@code finetune_jobs_finished_total{result,reason}}, {@code
 * finetune_preemptions_total}, {@code finetune_gpu_hours_total} and {@code finetune_cost_usd_total}
 * (by accelerator and capacity), {@code finetune_google_api_errors_total{api,reason}}, {@code
 * finetune_node_pools{state}}, {@code finetune_node_pool_oldest_idle_seconds}, {@code
 * finetune_node_pool_idle_ttl_seconds}, {@code finetune_reconcile_errors_total{reason}}, {@code
 * finetune_leader}; and the JVM's ({@code jvm_*}, {@code process_*}, {@code system_*}).
 */
public final class OperatorMetrics implements AutoCloseable {
  /** Reasons a reconcile error is counted under. */
  public static final List<String> RECONCILE_ERROR_REASONS =
      List.of(
          "Unauthorized",
          "Forbidden",
          "NotFound",
          "Conflict",
          "Invalid",
          "TooManyRequests",
          "ServerError",
          "Other");

  /** The reasons of Google API errors counted from the start (others appear when they occur). */
  static final List<String> GOOGLE_ERROR_REASONS =
      List.of("QuotaExceeded", "Stockout", "PermissionDenied", "Transient", "InvalidArgument");

  private static final Duration[] PHASE_BUCKETS = {
    Duration.ofSeconds(10),
    Duration.ofMinutes(1),
    Duration.ofMinutes(5),
    Duration.ofMinutes(15),
    Duration.ofMinutes(30),
    Duration.ofHours(1),
    Duration.ofHours(2),
    Duration.ofHours(6),
    Duration.ofHours(12),
    Duration.ofHours(24)
  };

  private record InPhase(Phase phase, Instant since) {}

  private final MeterRegistry registry;
  private final java.util.Map<String, io.micrometer.core.instrument.Timer> stepTimers =
      new java.util.concurrent.ConcurrentHashMap<>();
  private final Map<String, InPhase> jobs = new ConcurrentHashMap<>();
  private final Map<String, Timer> phaseDurations = new ConcurrentHashMap<>();
  private final AtomicInteger managedPools = new AtomicInteger();
  private final AtomicInteger idlePools = new AtomicInteger();
  private final AtomicLong oldestIdleSeconds = new AtomicLong();
  private final AtomicInteger leader = new AtomicInteger();
  private final BiConsumer<String, String> googleListener = this::googleApiError;
  private final java.util.function.Supplier<Instant> now;
  private final JvmGcMetrics gc = new JvmGcMetrics();

  public OperatorMetrics(MeterRegistry registry, Duration idleTtl, java.time.Clock clock) {
    this.registry = registry;
    this.now = clock::instant;
    for (Phase p : Phase.values()) {
      Gauge.builder("finetune.jobs", jobs, m -> count(m, p))
          .description("FineTuneJobs by phase (as last reconciled by this replica)")
          .tag("phase", p.name())
          .register(registry);
      Gauge.builder("finetune.jobs.oldest.in.phase", jobs, m -> oldest(m, p))
          .description("How long the job longest in this phase has been in it")
          .baseUnit("seconds")
          .tag("phase", p.name())
          .register(registry);
      phaseTimer(p);
    }
    for (Accelerator a : Accelerator.values()) {
      for (String capacity : List.of("spot", "on-demand")) {
        preemptions(a.id(), capacity);
        gpuHours(a.id(), capacity);
        cost(a.id(), capacity);
      }
    }
    for (String api : List.of("container", "iam")) {
      for (String reason : GOOGLE_ERROR_REASONS) {
        googleErrors(api, reason);
      }
    }
    for (String reason : RECONCILE_ERROR_REASONS) {
      reconcileErrors(reason);
    }
    for (String result : List.of("Succeeded", "Failed")) {
      finished(result, result);
    }
    finished("Failed", "QualityGateFailed");
    Gauge.builder("finetune.node.pools", managedPools, AtomicInteger::get)
        .description("Managed GKE node pools")
        .tag("state", "managed")
        .register(registry);
    Gauge.builder("finetune.node.pools", idlePools, AtomicInteger::get)
        .description("Managed GKE node pools that no unfinished job uses")
        .tag("state", "idle")
        .register(registry);
    Gauge.builder("finetune.node.pool.oldest.idle", oldestIdleSeconds, AtomicLong::get)
        .description("How long the longest idle managed node pool has been idle")
        .baseUnit("seconds")
        .register(registry);
    Gauge.builder("finetune.node.pool.idle.ttl", () -> idleTtl.toSeconds())
        .description("How long an idle managed node pool is kept (FINETUNE_NODE_POOL_IDLE_TTL)")
        .baseUnit("seconds")
        .register(registry);
    Gauge.builder("finetune.leader", leader, AtomicInteger::get)
        .description("1 while this replica holds the leader lease and reconciles")
        .register(registry);
    new JvmMemoryMetrics().bindTo(registry);
    gc.bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    GoogleApiErrors.listen(googleListener);
  }

  private static double count(Map<String, InPhase> m, Phase p) {
    return m.values().stream().filter(j -> j.phase() == p).count();
  }

  private double oldest(Map<String, InPhase> m, Phase p) {
    Instant t = now.get();
    return m.values().stream()
        .filter(j -> j.phase() == p)
        .mapToDouble(j -> Math.max(0, Duration.between(j.since(), t).toMillis() / 1000.0))
        .max()
        .orElse(0);
  }

  private Timer phaseTimer(Phase p) {
    return phaseDurations.computeIfAbsent(
        p.name(),
        k ->
            Timer.builder("finetune.phase.duration")
                .description("Time FineTuneJobs spent in a phase before leaving it")
                .tag("phase", k)
                .serviceLevelObjectives(PHASE_BUCKETS)
                .register(registry));
  }

  private Counter preemptions(String accelerator, String capacity) {
    return Counter.builder("finetune.preemptions")
        .description("Trainer pods preempted (Spot reclaim, node maintenance)")
        .tags("accelerator", accelerator, "capacity", capacity)
        .register(registry);
  }

  private Counter gpuHours(String accelerator, String capacity) {
    return Counter.builder("finetune.gpu.hours")
        .description("GPU hours used by trainer pods")
        .tags("accelerator", accelerator, "capacity", capacity)
        .register(registry);
  }

  private Counter cost(String accelerator, String capacity) {
    return Counter.builder("finetune.cost.usd")
        .description("Estimated cost of the GPU hours (price table), USD")
        .tags("accelerator", accelerator, "capacity", capacity)
        .register(registry);
  }

  private Counter googleErrors(String api, String reason) {
    return Counter.builder("finetune.google.api.errors")
        .description("Errors from Google APIs, by API and the reason the operator gave them")
        .tags("api", api, "reason", reason)
        .register(registry);
  }

  private Counter reconcileErrors(String reason) {
    return Counter.builder("finetune.reconcile.errors")
        .description("Reconciles that ended in an exception, by kind")
        .tag("reason", reason)
        .register(registry);
  }

  private Counter finished(String result, String reason) {
    return Counter.builder("finetune.jobs.finished")
        .description("FineTuneJobs that reached Succeeded or Failed, with the Ready reason")
        .tags("result", result, "reason", reason)
        .register(registry);
  }

  /**
   * A reconcile recorded {@code after} for {@code job} (whose status was {@code before}): phase
   * gauges and durations, finished jobs, and the increase of preemptions, GPU hours and cost.
   */
  public void observed(FineTuneJob job, FineTuneJobStatus before, FineTuneJobStatus after) {
    String key = key(job);
    Instant t = now.get();
    Phase phase = after.phase == null ? Phase.Pending : after.phase;
    InPhase was = jobs.get(key);
    if (was == null) {
      jobs.put(key, new InPhase(phase, t));
    } else if (was.phase() != phase) {
      phaseTimer(was.phase()).record(Duration.between(was.since(), t));
      jobs.put(key, new InPhase(phase, t));
    }
    Phase beforePhase = before.phase;
    if (phase.terminal() && beforePhase != phase) {
      String label =
          after.conditions.stream()
              .filter(c -> "Ready".equals(c.getType()))
              .map(io.fabric8.kubernetes.api.model.Condition::getReason)
              .filter(Objects::nonNull)
              .findFirst()
              .orElse(phase.name());
      finished(phase.name(), label).increment();
    }
    if (after.hardware == null || after.hardware.accelerator == null) {
      return;
    }
    String accelerator;
    try {
      accelerator = Accelerator.fromId(after.hardware.accelerator).id();
    } catch (IllegalArgumentException e) {
      return;
    }
    String capacity = Boolean.TRUE.equals(after.hardware.spot) ? "spot" : "on-demand";
    int p0 =
        before.training == null || before.training.preemptions == null
            ? 0
            : before.training.preemptions;
    int p1 =
        after.training == null || after.training.preemptions == null
            ? 0
            : after.training.preemptions;
    if (p1 > p0) {
      preemptions(accelerator, capacity).increment(p1 - p0);
    }
    double h0 = before.cost == null || before.cost.gpuHours == null ? 0 : before.cost.gpuHours;
    double h1 = after.cost == null || after.cost.gpuHours == null ? 0 : after.cost.gpuHours;
    if (h1 > h0) {
      gpuHours(accelerator, capacity).increment(h1 - h0);
    }
    double u0 =
        before.cost == null || before.cost.estimatedUsd == null ? 0 : before.cost.estimatedUsd;
    double u1 = after.cost == null || after.cost.estimatedUsd == null ? 0 : after.cost.estimatedUsd;
    if (u1 > u0) {
      cost(accelerator, capacity).increment(u1 - u0);
    }
  }

  /** The job is gone: it no longer counts in the phase gauges. */
  public void forget(FineTuneJob job) {
    jobs.remove(key(job));
  }

  /** Time in one step of the flow (or the status write), waits excluded; one series a step. */
  public void stepTime(String step, long nanos) {
    stepTimers
        .computeIfAbsent(
            step,
            st ->
                io.micrometer.core.instrument.Timer.builder("finetune.reconcile.step")
                    .description(
                        "Time in one step of the flow (or the status write), waits excluded")
                    .tag("step", st)
                    .publishPercentileHistogram()
                    .register(registry))
        .record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
  }

  public void reconcileError(Exception e) {
    reconcileErrors(reconcileErrorReason(e)).increment();
  }

  static String reconcileErrorReason(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof KubernetesClientException k && k.getCode() > 0) {
        return switch (k.getCode()) {
          case 401 -> "Unauthorized";
          case 403 -> "Forbidden";
          case 404 -> "NotFound";
          case 409 -> "Conflict";
          case 400, 422 -> "Invalid";
          case 429 -> "TooManyRequests";
          default -> k.getCode() >= 500 ? "ServerError" : "Other";
        };
      }
    }
    return "Other";
  }

  void googleApiError(String api, String reason) {
    googleErrors(api.toLowerCase(Locale.ROOT), reason).increment();
  }

  /** What the idle pool collector saw. */
  public void pools(int managed, int idle, Duration oldestIdle) {
    managedPools.set(managed);
    idlePools.set(idle);
    oldestIdleSeconds.set(oldestIdle.toSeconds());
  }

  public void leader(boolean leading) {
    leader.set(leading ? 1 : 0);
  }

  private static String key(FineTuneJob job) {
    String uid = job.getMetadata().getUid();
    return uid != null ? uid : job.getMetadata().getNamespace() + "/" + job.getMetadata().getName();
  }

  @Override
  public void close() {
    GoogleApiErrors.unlisten(googleListener);
    gc.close();
  }
}
