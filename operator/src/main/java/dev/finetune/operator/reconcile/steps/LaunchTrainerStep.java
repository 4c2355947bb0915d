package dev.finetune.operator.reconcile.steps;

import dev.finetune.api.v1alpha1.FineTuneJobStatus.HardwareStatus;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.TrainingStatus;
import dev.finetune.operator.capacity.CapacityPlacement;
import dev.finetune.operator.children.Ownership;
import dev.finetune.operator.children.TrainerConfigMap;
import dev.finetune.operator.children.TrainerJob;
import dev.finetune.operator.children.TrainerService;
import dev.finetune.operator.reconcile.Conditions;
import dev.finetune.operator.reconcile.JobContext;
import dev.finetune.operator.reconcile.Step;
import dev.finetune.operator.reconcile.StepResult;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.batch.v1.Job;

/**
 * Training (launch): the job config ConfigMap and the trainer Job, each created once. After a
 * restart the informer cache shows them and nothing is created twice. A create answered 409 is read
 * back: the object is taken as done only when this job controls it (by UID); anything else fails
 * the job with reason NameInUse naming it, and is never adopted.
 */
public final class LaunchTrainerStep implements Step {
  public static final String NAME_IN_USE = "NameInUse";

  @Override
  public String name() {
    return "launch-trainer";
  }

  /**
   * The trainer Job for this job: placement from status.hardware, and for computeClass and
   * flexStart the changes of {@link CapacityPlacement}.
   */
  static Job desiredJob(JobContext ctx) {
    HardwareStatus hw = ctx.status().hardware;
    String image = ctx.config().trainerImage();
    String gcs = ctx.config().storageEmulatorHost().orElse(null);
    TrainerJob.Placement placement =
        new TrainerJob.Placement(
            hw.accelerator, hw.count, Boolean.TRUE.equals(hw.spot), hw.nodePool);
    Job job =
        TrainerJob.desired(
            ctx.job(),
            image,
            placement,
            ctx.config().trainerBackoffLimit(),
            gcs,
            ctx.config().trainerAllowCpu(),
            TrainerJob.PodSettings.of(
                placement, ctx.config().trainerPod(), ctx.config().nodePools().diskSizeGb()));
    return CapacityPlacement.apply(ctx.job(), job, hw.computeClass);
  }

  @Override
  public StepResult run(JobContext ctx) {
    HardwareStatus hw = ctx.status().hardware;
    String image = ctx.config().trainerImage();
    if (ctx.secondary(ConfigMap.class).isEmpty()) {
      Ownership.Created cm =
          Ownership.create(
              ctx.client(),
              TrainerConfigMap.desired(ctx.job(), image, hw.accelerator, hw.count, hw.strategy),
              ctx.job());
      if (cm instanceof Ownership.NameInUse n) {
        return ctx.fail(Conditions.TRAINING_COMPLETE, NAME_IN_USE, n.message());
      }
    }
    Ownership.Created service = ensureService(ctx);
    if (service instanceof Ownership.NameInUse n) {
      return ctx.fail(Conditions.TRAINING_COMPLETE, NAME_IN_USE, n.message());
    }
    Job job = desiredJob(ctx);
    if (Ownership.create(ctx.client(), job, ctx.job()) instanceof Ownership.NameInUse n) {
      return ctx.fail(Conditions.TRAINING_COMPLETE, NAME_IN_USE, n.message());
    }
    TrainingStatus training =
        ctx.status().training == null ? new TrainingStatus() : ctx.status().training;
    training.jobName = job.getMetadata().getName();
    ctx.status().training = training;
    ctx.condition(
        Conditions.TRAINING_COMPLETE,
        Conditions.FALSE,
        "JobCreated",
        "trainer Job " + job.getMetadata().getName() + " created");
    return StepResult.persistThenProceed();
  }

  /**
   * Several nodes: the headless Service that names the trainer pods, created when this job has none
   * (by UID; the informer cache shows it after a restart, and a 409 is read back).
   */
  static Ownership.Created ensureService(JobContext ctx) {
    if (TrainerJob.nodes(ctx.job()) <= 1 || ctx.secondary(Service.class).isPresent()) {
      return new Ownership.Ours();
    }
    return Ownership.create(ctx.client(), TrainerService.desired(ctx.job()), ctx.job());
  }
}
