package dev.finetune.operator.reconcile.steps;

import dev.finetune.api.v1alpha1.FineTuneJobStatus.HardwareStatus;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.TrainingStatus;
import dev.finetune.operator.children.TrainerConfigMap;
import dev.finetune.operator.children.TrainerJob;
import dev.finetune.operator.reconcile.Conditions;
import dev.finetune.operator.reconcile.JobContext;
import dev.finetune.operator.reconcile.Step;
import dev.finetune.operator.reconcile.StepResult;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.net.HttpURLConnection;

/**
 * Training (launch): the job config ConfigMap and the trainer Job, each created once. After a
 * restart the informer cache shows them and nothing is created twice; a create that races another
 * replica gets 409 and is taken as done.
 */
public final class LaunchTrainerStep implements Step {
  @Override
  public String name() {
    return "launch-trainer";
  }

  @Override
  public StepResult run(JobContext ctx) {
    HardwareStatus hw = ctx.status().hardware;
    String image = ctx.config().trainerImage();
    String gcs = ctx.config().storageEmulatorHost().orElse(null);
    if (ctx.secondary(ConfigMap.class).isEmpty()) {
      createOnce(ctx, TrainerConfigMap.desired(ctx.job(), image, hw.accelerator, hw.count));
    }
    Job job =
        TrainerJob.desired(
            ctx.job(),
            image,
            new TrainerJob.Placement(
                hw.accelerator, hw.count, Boolean.TRUE.equals(hw.spot), hw.nodePool),
            ctx.config().trainerBackoffLimit(),
            gcs);
    createOnce(ctx, job);
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

  private static void createOnce(JobContext ctx, HasMetadata desired) {
    try {
      ctx.client().resource(desired).create();
    } catch (KubernetesClientException e) {
      if (e.getCode() != HttpURLConnection.HTTP_CONFLICT) {
        throw e;
      }
    }
  }
}
