package dev.finetune.operator.reconcile.steps;

import dev.finetune.api.v1alpha1.FineTuneJobStatus.CostStatus;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.HardwareStatus;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.Phase;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.TrainingStatus;
import dev.finetune.operator.children.Ownership;
import dev.finetune.operator.children.TrainerJob;
import dev.finetune.operator.cost.PriceTable;
import dev.finetune.operator.gcp.nodepool.Accelerator;
import dev.finetune.operator.reconcile.Conditions;
import dev.finetune.operator.reconcile.JobContext;
import dev.finetune.operator.reconcile.Step;
import dev.finetune.operator.reconcile.StepResult;
import dev.finetune.operator.reconcile.ports.Capacity;
import dev.finetune.operator.reconcile.ports.ProgressSource;
import io.fabric8.kubernetes.api.model.ContainerStateTerminated;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobCondition;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Training (observe): status from the Job, its pods and progress.json. Preempted pods (condition
 * DisruptionTarget) are counted apart and do not fail the job; the Job's pod failure policy lets
 * the replacement resume from the last checkpoint.
 */
public final class ObserveTrainingStep implements Step {
  private static final int MAX_MESSAGE = 1024;
  private final ProgressSource progress;
  private final PriceTable prices;
  private final Capacity capacity;

  public ObserveTrainingStep(ProgressSource progress, PriceTable prices, Capacity capacity) {
    this.progress = progress;
    this.prices = prices;
    this.capacity = capacity;
  }

  @Override
  public String name() {
    return "observe-training";
  }

  @Override
  public StepResult run(JobContext ctx) {
    Optional<Job> maybeJob = ctx.secondary(Job.class);
    if (maybeJob.isEmpty()) {
      return new LaunchTrainerStep().run(ctx);
    }
    Job job = maybeJob.get();
    if (TrainerJob.queue(ctx.job()) != null && TrainerJob.suspended(job)) {
      return QueueAdmission.preempted(ctx, job);
    }
    // A Service deleted under a running group is made again (the pods need their DNS names).
    if (LaunchTrainerStep.ensureService(ctx) instanceof Ownership.NameInUse n) {
      return ctx.fail(Conditions.TRAINING_COMPLETE, LaunchTrainerStep.NAME_IN_USE, n.message());
    }
    Set<Pod> pods = ctx.secondaries(Pod.class);
    TrainingStatus t = ctx.status().training == null ? new TrainingStatus() : ctx.status().training;
    ctx.status().training = t;
    t.jobName = job.getMetadata().getName();
    HardwareStatus hw = ctx.status().hardware;
    int gpus = hw == null || hw.count == null ? 1 : hw.count;
    TrainingCounters.update(t, pods, gpus, ctx.now());
    int nodes = TrainerJob.nodes(ctx.job());
    t.nodesRunning = nodes > 1 ? running(pods) + "/" + nodes : null;
    progress.latest(ctx.job()).ifPresent(p -> apply(t, p, ctx.now()));
    recordCapacity(ctx, hw, pods);
    ctx.status().cost =
        cost(t.gpuSeconds + TrainingCounters.runningGpuSeconds(pods, gpus, ctx.now()), hw, prices);

    if (condition(job, "Complete")) {
      t.progress = "100%";
      t.eta = null;
      ctx.condition(
          Conditions.TRAINING_COMPLETE,
          Conditions.TRUE,
          "Completed",
          "trainer finished after "
              + t.attempts
              + " attempt(s), "
              + t.preemptions
              + " preemption(s)");
      ctx.condition(Conditions.READY, Conditions.FALSE, "Evaluating", "scoring predictions");
      ctx.phase(Phase.Evaluating, "training complete; evaluating base and tuned model");
      return StepResult.proceed();
    }
    Optional<JobCondition> failed = jobCondition(job, "Failed");
    if (failed.isPresent()) {
      String reason = Optional.ofNullable(failed.get().getReason()).orElse("JobFailed");
      String message = failureMessage(job, pods, failed.get());
      return ctx.fail(Conditions.TRAINING_COMPLETE, "Trainer" + reason, message);
    }

    if (dev.finetune.operator.capacity.CapacityPlacement.mode(ctx.job())
        == dev.finetune.api.v1alpha1.HardwareSpec.Provisioning.FLEX_START) {
      Optional<StepResult> gated =
          ProvisioningModes.gate(ctx, job, t.attempts != null && t.attempts > 0);
      if (gated.isPresent()) {
        return gated.get();
      }
    }
    String state = describe(pods, t);
    if (unschedulable(pods) && managed(ctx)) {
      // The pool may have gone (deleted by hand, or by an idle collector that raced the job):
      // ensure it again; while it comes back the message says so.
      org.slf4j.LoggerFactory.getLogger(ObserveTrainingStep.class)
          .debug(
              "{}/{}: trainer pod unschedulable; ensuring its node pool again",
              ctx.job().getMetadata().getNamespace(),
              ctx.job().getMetadata().getName());
      Capacity.Outcome o = capacity.ensure(hw.accelerator, gpus, Boolean.TRUE.equals(hw.spot), 0);
      if (o instanceof Capacity.Creating c) {
        state = state + "; " + c.message();
      } else if (o instanceof Capacity.Waiting w) {
        state = state + "; " + w.reason() + ": " + w.message();
      } else if (o instanceof Capacity.Failed f) {
        state = state + "; node pool: " + f.reason() + ": " + f.message();
      }
    }
    ctx.condition(Conditions.TRAINING_COMPLETE, Conditions.FALSE, "Running", state);
    ctx.status().message = state;
    return StepResult.requeueAfter(ctx.config().progressPollInterval());
  }

  static long running(Set<Pod> pods) {
    return pods.stream()
        .filter(p -> p.getStatus() != null && "Running".equals(p.getStatus().getPhase()))
        .count();
  }

  private static final Set<String> STARTED = Set.of("Running", "Succeeded", "Failed");

  /**
   * The capacity the trainer got, from the labels of the node its newest pod was scheduled to
   * (spot, reservation, flex-start or on-demand). The node is read once per node, not per poll.
   */
  static void recordCapacity(JobContext ctx, HardwareStatus hw, Set<Pod> pods) {
    if (hw == null) {
      return;
    }
    // From a pod that has started, not one only scheduled: the record then rides along with the
    // write that counts the attempt, instead of costing a status write of its own.
    Optional<String> node =
        pods.stream()
            .filter(p -> p.getSpec() != null && p.getSpec().getNodeName() != null)
            .filter(p -> p.getStatus() != null && STARTED.contains(p.getStatus().getPhase()))
            .max(
                Comparator.comparing(
                    (Pod p) -> p.getMetadata().getCreationTimestamp(),
                    Comparator.nullsFirst(Comparator.naturalOrder())))
            .map(p -> p.getSpec().getNodeName());
    if (node.isEmpty() || node.get().equals(hw.node)) {
      return;
    }
    io.fabric8.kubernetes.api.model.Node n = ctx.client().nodes().withName(node.get()).get();
    if (n == null) {
      return;
    }
    var c = dev.finetune.operator.capacity.NodeCapacity.of(n.getMetadata().getLabels());
    hw.node = node.get();
    hw.capacity = c.kind();
    hw.reservation = c.reservation();
  }

  /**
   * GPU hours and price from the monotonic GPU-seconds (preempted pods too: they were paid), at the
   * price of the capacity the trainer got (status.hardware.capacity; before a node is known, at
   * spot or on-demand as asked).
   */
  static CostStatus cost(double gpuSeconds, HardwareStatus hw, PriceTable prices) {
    if (hw == null || hw.accelerator == null) {
      return null;
    }
    double gpuHours = gpuSeconds / 3600.0;
    CostStatus c = new CostStatus();
    c.gpuHours = Math.round(gpuHours * 10000.0) / 10000.0;
    c.estimatedUsd =
        Math.round(
                gpuHours
                    * (hw.capacity != null
                        ? prices.price(Accelerator.fromId(hw.accelerator)).perGpuHour(hw.capacity)
                        : prices
                            .price(Accelerator.fromId(hw.accelerator))
                            .perGpuHour(Boolean.TRUE.equals(hw.spot)))
                    * 100.0)
            / 100.0;
    return c;
  }

  private static boolean managed(JobContext ctx) {
    var spec = ctx.job().getSpec().hardware;
    return spec == null
        || spec.provisioning == null
        || spec.provisioning == dev.finetune.api.v1alpha1.HardwareSpec.Provisioning.MANAGED;
  }

  static boolean unschedulable(Set<Pod> pods) {
    return pods.stream()
        .filter(p -> p.getStatus() != null && "Pending".equals(p.getStatus().getPhase()))
        .flatMap(
            p ->
                p.getStatus().getConditions() == null
                    ? java.util.stream.Stream.empty()
                    : p.getStatus().getConditions().stream())
        .anyMatch(
            c ->
                "PodScheduled".equals(c.getType())
                    && "False".equals(c.getStatus())
                    && "Unschedulable".equals(c.getReason()));
  }

  static boolean preempted(Pod pod) {
    return pod.getStatus() != null
        && pod.getStatus().getConditions() != null
        && pod.getStatus().getConditions().stream()
            .anyMatch(c -> "DisruptionTarget".equals(c.getType()) && "True".equals(c.getStatus()));
  }

  private static boolean condition(Job job, String type) {
    return jobCondition(job, type).isPresent();
  }

  private static Optional<JobCondition> jobCondition(Job job, String type) {
    if (job.getStatus() == null || job.getStatus().getConditions() == null) {
      return Optional.empty();
    }
    return job.getStatus().getConditions().stream()
        .filter(c -> type.equals(c.getType()) && "True".equals(c.getStatus()))
        .findFirst();
  }

  /** The trainer's own words (termination message) from the newest failed pod, else the Job's. */
  static String failureMessage(Job job, Set<Pod> pods, JobCondition failed) {
    Optional<ContainerStateTerminated> terminated =
        pods.stream()
            .filter(p -> "Failed".equals(p.getStatus().getPhase()) && !preempted(p))
            .sorted(
                Comparator.comparing(
                        (Pod p) -> p.getMetadata().getCreationTimestamp(),
                        Comparator.nullsFirst(Comparator.naturalOrder()))
                    .reversed())
            .map(ObserveTrainingStep::trainerTermination)
            .flatMap(Optional::stream)
            .findFirst();
    String jobMessage = Optional.ofNullable(failed.getMessage()).orElse(failed.getReason());
    if (terminated.isEmpty()) {
      return "trainer Job " + job.getMetadata().getName() + " failed: " + jobMessage;
    }
    ContainerStateTerminated term = terminated.get();
    String words =
        Optional.ofNullable(term.getMessage())
            .map(String::strip)
            .filter(s -> !s.isEmpty())
            .orElse(Optional.ofNullable(term.getReason()).orElse("no message"));
    if (words.length() > MAX_MESSAGE) {
      words = words.substring(words.length() - MAX_MESSAGE);
    }
    String kind =
        term.getExitCode() != null && term.getExitCode() == TrainerJob.EXIT_BAD_INPUT
            ? "bad config or data, not retried"
            : jobMessage;
    return "trainer exited with code " + term.getExitCode() + " (" + kind + "): " + words;
  }

  private static Optional<ContainerStateTerminated> trainerTermination(Pod pod) {
    List<ContainerStatus> statuses = pod.getStatus().getContainerStatuses();
    if (statuses == null) {
      return Optional.empty();
    }
    return statuses.stream()
        .filter(s -> TrainerJob.CONTAINER.equals(s.getName()))
        .map(s -> s.getState() == null ? null : s.getState().getTerminated())
        .filter(java.util.Objects::nonNull)
        .findFirst();
  }

  private static String describe(Set<Pod> pods, TrainingStatus t) {
    Optional<Pod> current =
        pods.stream()
            .filter(
                p ->
                    "Pending".equals(p.getStatus().getPhase())
                        || "Running".equals(p.getStatus().getPhase()))
            .findFirst();
    if (current.isEmpty()) {
      return "waiting for the trainer pod";
    }
    Pod pod = current.get();
    if ("Running".equals(pod.getStatus().getPhase())) {
      return t.progress == null
          ? "trainer running on " + pod.getSpec().getNodeName()
          : "training " + t.progress + " (step " + t.step + "/" + t.totalSteps + ")";
    }
    Optional<PodCondition> unschedulable =
        pod.getStatus().getConditions() == null
            ? Optional.empty()
            : pod.getStatus().getConditions().stream()
                .filter(c -> "PodScheduled".equals(c.getType()) && "False".equals(c.getStatus()))
                .findFirst();
    return unschedulable
        .map(c -> "trainer pod waiting for a GPU node: " + c.getMessage())
        .orElse("trainer pod starting");
  }

  static void apply(TrainingStatus t, ProgressSource.Progress p, Instant now) {
    Long previousStep = t.step;
    String previousUpdate = t.updatedAt;
    t.step = p.step();
    t.totalSteps = p.totalSteps();
    t.epoch = p.epoch();
    t.loss = p.loss();
    t.evalLoss = p.evalLoss();
    t.tokensPerSecond = p.tokensPerSecond();
    t.updatedAt = p.updatedAt();
    if (p.lastCheckpoint() != null) {
      t.lastCheckpoint = p.lastCheckpoint();
    }
    if (p.step() != null && p.totalSteps() != null && p.totalSteps() > 0) {
      long pct = Math.min(100, Math.round(100.0 * p.step() / p.totalSteps()));
      t.progress = pct + "%";
    }
    String eta = eta(previousStep, previousUpdate, p);
    if (eta != null || (p.step() != null && p.totalSteps() != null && p.step() >= p.totalSteps())) {
      t.eta = eta;
    }
  }

  /**
   * ETA from the pace between the previous and this progress report: the remaining steps at that
   * many steps per second. Null while there is no pace to go by.
   */
  static String eta(Long previousStep, String previousUpdate, ProgressSource.Progress p) {
    if (previousStep == null
        || previousUpdate == null
        || p.step() == null
        || p.totalSteps() == null
        || p.updatedAt() == null
        || p.step() <= previousStep
        || p.step() >= p.totalSteps()) {
      return null;
    }
    try {
      Instant before = Instant.parse(previousUpdate);
      Instant after = Instant.parse(p.updatedAt());
      double seconds = Duration.between(before, after).toMillis() / 1000.0;
      if (seconds <= 0) {
        return null;
      }
      double stepsPerSecond = (p.step() - previousStep) / seconds;
      long remaining = Math.round((p.totalSteps() - p.step()) / stepsPerSecond);
      return after.plusSeconds(remaining).toString();
    } catch (java.time.format.DateTimeParseException e) {
      return null;
    }
  }
}
