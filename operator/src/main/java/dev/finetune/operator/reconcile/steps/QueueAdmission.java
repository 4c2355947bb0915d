package dev.finetune.operator.reconcile.steps;

import dev.finetune.api.v1alpha1.FineTuneJobStatus.HardwareStatus;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.Phase;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.QueueStatus;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.TrainingStatus;
import dev.finetune.operator.children.TrainerJob;
import dev.finetune.operator.kueue.KueueQueues;
import dev.finetune.operator.reconcile.Conditions;
import dev.finetune.operator.reconcile.JobContext;
import dev.finetune.operator.reconcile.StepResult;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import java.time.Duration;
import java.util.Optional;

/**
 * Kueue admission of the trainer Job (spec.queue). Once capacity is provisioned, the Job is created
 * suspended and labelled with the LocalQueue; Kueue unsuspends it when the ClusterQueue's quota
 * admits it. Until then the job stays Provisioning with CapacityReady=False/Queued and Kueue's
 * message; a suspended Job is a wait, never a failure. When Kueue preempts the trainer (it suspends
 * the Job again, and the Job controller deletes the pod), the job goes back to waiting in the queue
 * and, when admitted again, the new pod resumes from the last checkpoint. Counters stay per pod
 * UID, and no pod runs while the Job is suspended, so queued time is no GPU time.
 */
public final class QueueAdmission {
  public static final String QUEUED = "Queued";
  public static final String ADMITTED = "Admitted";
  public static final String QUEUE_NOT_FOUND = "QueueNotFound";
  public static final String KUEUE_NOT_INSTALLED = "KueueNotInstalled";

  /** How often a queued job reads its Workload (admission itself arrives as a Job event). */
  static final Duration POLL = Duration.ofSeconds(10);

  private QueueAdmission() {}

  /**
   * Provisioning with a queue, capacity being there: create the suspended Job, then wait for Kueue
   * to admit it.
   *
   * @param capacity what provisioning found (for the CapacityReady message once admitted)
   */
  static StepResult admit(JobContext ctx, String capacity) {
    Optional<Job> job = ctx.secondary(Job.class);
    if (job.isEmpty()) {
      QueueStatus q = queue(ctx);
      q.state = QUEUED;
      if (q.queuedSince == null) {
        q.queuedSince = ctx.now().toString();
      }
      StepResult r = new LaunchTrainerStep().run(ctx);
      if (ctx.status().phase != Phase.Failed) {
        String m = "trainer Job created suspended in Kueue LocalQueue " + q.localQueue;
        ctx.condition(Conditions.CAPACITY_READY, Conditions.FALSE, QUEUED, m);
        ctx.condition(Conditions.READY, Conditions.FALSE, QUEUED, m);
        ctx.status().message = m;
      }
      return r;
    }
    if (TrainerJob.suspended(job.get())) {
      return waiting(ctx, job.get());
    }
    QueueStatus q = queue(ctx);
    KueueQueues.Observation o = observe(ctx, job.get());
    q.state = ADMITTED;
    q.admissions = (q.admissions == null ? 0 : q.admissions) + 1;
    q.queuedSince = null;
    q.clusterQueue = o.clusterQueue() == null ? q.clusterQueue : o.clusterQueue();
    q.workload = o.workload() == null ? q.workload : o.workload();
    q.message = o.message();
    String m =
        "admitted by Kueue to ClusterQueue "
            + q.clusterQueue
            + " (LocalQueue "
            + q.localQueue
            + "); "
            + capacity;
    ctx.condition(Conditions.CAPACITY_READY, Conditions.TRUE, ADMITTED, m);
    ctx.condition(Conditions.READY, Conditions.FALSE, "Training", "starting the trainer");
    ctx.phase(Phase.Training, "admitted by Kueue; starting the trainer");
    return StepResult.proceed();
  }

  /**
   * Training, the Job suspended again: Kueue preempted (or deactivated) the workload. Back to
   * Provisioning, waiting in the queue; the ended pods are counted before anything else.
   */
  static StepResult preempted(JobContext ctx, Job job) {
    QueueStatus q = queue(ctx);
    q.state = QUEUED;
    q.queuedSince = ctx.now().toString();
    TrainingStatus t = ctx.status().training;
    String checkpoint = t == null || t.lastCheckpoint == null ? null : t.lastCheckpoint;
    String m =
        "Kueue suspended the trainer (preempted); it waits in LocalQueue "
            + q.localQueue
            + " and resumes from "
            + (checkpoint == null ? "its last checkpoint" : checkpoint)
            + " when admitted again";
    ctx.condition(Conditions.TRAINING_COMPLETE, Conditions.FALSE, QUEUED, m);
    ctx.phase(Phase.Provisioning, m);
    return waiting(ctx, job);
  }

  private static StepResult waiting(JobContext ctx, Job job) {
    countPods(ctx);
    QueueStatus q = queue(ctx);
    KueueQueues.Observation o = observe(ctx, job);
    q.clusterQueue = o.clusterQueue();
    q.workload = o.workload();
    q.message = o.message();
    String ns = ctx.job().getMetadata().getNamespace();
    String kueue = o.message() == null ? "" : ": " + o.message();
    String reason;
    String m;
    switch (o.state()) {
      case KUEUE_NOT_INSTALLED -> {
        reason = KUEUE_NOT_INSTALLED;
        m =
            "spec.queue is "
                + q.localQueue
                + " but this cluster has no Kueue (no "
                + KueueQueues.GROUP
                + " Workload API): install Kueue, or create the FineTuneJob without spec.queue";
      }
      case QUEUE_NOT_FOUND -> {
        reason = QUEUE_NOT_FOUND;
        m =
            "Kueue LocalQueue "
                + q.localQueue
                + " does not exist in namespace "
                + ns
                + ": ask the cluster admin for one, or create the FineTuneJob with an existing"
                + " spec.queue (kubectl get localqueues -n "
                + ns
                + ")"
                + kueue;
      }
      default -> {
        reason = QUEUED;
        m =
            "waiting for Kueue to admit the trainer in LocalQueue "
                + q.localQueue
                + (q.clusterQueue == null ? "" : " (ClusterQueue " + q.clusterQueue + ")")
                + (o.message() == null && o.workload() == null
                    ? ": Kueue has not made a Workload for the Job yet"
                    : kueue);
      }
    }
    if (q.queuedSince == null) {
      q.queuedSince = ctx.now().toString();
    }
    q.state = reason;
    ctx.condition(Conditions.CAPACITY_READY, Conditions.FALSE, reason, m);
    ctx.condition(Conditions.READY, Conditions.FALSE, reason, m);
    ctx.status().message = m;
    return StepResult.requeueAfter(POLL);
  }

  /** Pods of an earlier admission that ended or went while the Job is suspended. */
  private static void countPods(JobContext ctx) {
    TrainingStatus t = ctx.status().training;
    if (t == null) {
      return;
    }
    HardwareStatus hw = ctx.status().hardware;
    int gpus = hw == null || hw.count == null ? 1 : hw.count;
    TrainingCounters.update(t, ctx.secondaries(Pod.class), gpus, ctx.now());
  }

  private static KueueQueues.Observation observe(JobContext ctx, Job job) {
    return KueueQueues.observe(
        ctx.client(),
        ctx.job().getMetadata().getNamespace(),
        TrainerJob.queue(ctx.job()),
        job.getMetadata().getUid());
  }

  private static QueueStatus queue(JobContext ctx) {
    TrainingStatus t = ctx.status().training;
    if (t == null) {
      t = new TrainingStatus();
      ctx.status().training = t;
    }
    if (t.queue == null) {
      t.queue = new QueueStatus();
    }
    t.queue.localQueue = TrainerJob.queue(ctx.job());
    return t.queue;
  }
}
