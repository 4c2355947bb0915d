package dev.finetune.operator.reconcile;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.FineTuneJobStatus;
import dev.finetune.operator.OperatorConfig;
import dev.finetune.operator.children.Labels;
import dev.finetune.operator.children.Ownership;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Cleaner;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.Mappers;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Orchestrates a FineTuneJob: observe, run the next step of the flow, record status. One reconcile
 * advances one step; nothing here waits on an outside system.
 */
@ControllerConfiguration(name = "finetunejob")
public class FineTuneJobReconciler implements Reconciler<FineTuneJob>, Cleaner<FineTuneJob> {
  private static final Logger LOG = LoggerFactory.getLogger(FineTuneJobReconciler.class);
  private static final ObjectMapper COPIER =
      new ObjectMapper()
          .setSerializationInclusion(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL);
  private static final Duration PROCEED = Duration.ofMillis(50);

  private final OperatorConfig config;
  private final Flow.Ports ports;
  private final Flow flow;
  private final Clock clock;
  private final JobEvents events;

  public FineTuneJobReconciler(OperatorConfig config, Flow.Ports ports, Clock clock) {
    this.config = config;
    this.ports = ports;
    this.flow = new Flow(ports);
    this.clock = clock;
    this.events = new JobEvents();
  }

  @Override
  public List<EventSource<?, FineTuneJob>> prepareEventSources(
      EventSourceContext<FineTuneJob> context) {
    InformerEventSource<Job, FineTuneJob> jobs = owned(context, Job.class);
    // Pods are matched both ways through their Job (by UID), looked up in the caches when asked:
    // a pod event that arrives before its Job is cached is still found on the next reconcile.
    AtomicReference<InformerEventSource<Pod, FineTuneJob>> pods = new AtomicReference<>();
    pods.set(
        new InformerEventSource<>(
            InformerEventSourceConfiguration.from(Pod.class, FineTuneJob.class)
                .withName("pods")
                .withLabelSelector(Labels.SELECTOR)
                .withSecondaryToPrimaryMapper(pod -> Ownership.podOwner(pod, jobs::get))
                .withPrimaryToSecondaryMapper(
                    (FineTuneJob primary) ->
                        Ownership.podsOf(
                            primary,
                            jobs::get,
                            (ns, job) -> pods.get().list(ns, p -> Ownership.podOf(p, job))))
                .build(),
            context));
    return List.of(
        jobs, owned(context, ConfigMap.class), owned(context, ServiceAccount.class), pods.get());
  }

  private static <R extends io.fabric8.kubernetes.api.model.HasMetadata>
      InformerEventSource<R, FineTuneJob> owned(
          EventSourceContext<FineTuneJob> context, Class<R> type) {
    return new InformerEventSource<>(
        InformerEventSourceConfiguration.from(type, FineTuneJob.class)
            .withName(type.getSimpleName().toLowerCase(java.util.Locale.ROOT))
            .withLabelSelector(Labels.SELECTOR)
            .withSecondaryToPrimaryMapper(Mappers.fromOwnerReferences(FineTuneJob.class))
            .build(),
        context);
  }

  @Override
  public UpdateControl<FineTuneJob> reconcile(FineTuneJob job, Context<FineTuneJob> context) {
    FineTuneJobStatus before = job.getStatus() == null ? new FineTuneJobStatus() : job.getStatus();
    FineTuneJobStatus status = copy(before);
    status.observedGeneration = job.getMetadata().getGeneration();
    JobContext ctx =
        new JobContext(job, status, context, context.getClient(), config, clock.instant());

    Optional<Step> step = flow.next(status);
    StepResult result = step.map(s -> runStep(s, ctx)).orElse(StepResult.done());

    if (!Objects.equals(before.phase, status.phase)) {
      LOG.info(
          "{}/{}: {} -> {}: {}",
          job.getMetadata().getNamespace(),
          job.getMetadata().getName(),
          before.phase,
          status.phase,
          status.message);
      events.phaseChanged(context.getClient(), job, status, ctx.now());
    }

    UpdateControl<FineTuneJob> control;
    if (same(before, status)) {
      control = UpdateControl.noUpdate();
    } else {
      FineTuneJob patch = new FineTuneJob();
      patch.setMetadata(
          new io.fabric8.kubernetes.api.model.ObjectMetaBuilder()
              .withName(job.getMetadata().getName())
              .withNamespace(job.getMetadata().getNamespace())
              .build());
      patch.setStatus(status);
      control = UpdateControl.patchStatus(patch);
    }
    if (result instanceof StepResult.Proceed) {
      return control.rescheduleAfter(PROCEED);
    }
    if (result instanceof StepResult.RequeueAfter r) {
      return control.rescheduleAfter(r.delay());
    }
    return control;
  }

  private StepResult runStep(Step step, JobContext ctx) {
    LOG.debug(
        "{}/{}: step {}",
        ctx.job().getMetadata().getNamespace(),
        ctx.job().getMetadata().getName(),
        step.name());
    return step.run(ctx);
  }

  @Override
  public DeleteControl cleanup(FineTuneJob job, Context<FineTuneJob> context) {
    ports.dataset().forget(job);
    ports.progress().forget(job);
    ports.evaluation().forget(job);
    var outcome =
        ports.identity().release(job, dev.finetune.operator.children.Labels.childName(job));
    if (outcome instanceof dev.finetune.operator.reconcile.ports.IdentityBinding.Retry r) {
      LOG.warn(
          "{}/{}: IAM binding not yet removed ({}); retrying",
          job.getMetadata().getNamespace(),
          job.getMetadata().getName(),
          r.message());
      return DeleteControl.noFinalizerRemoval().rescheduleAfter(r.after());
    }
    // Kubernetes children go with the job through their owner references.
    return DeleteControl.defaultDelete();
  }

  static FineTuneJobStatus copy(FineTuneJobStatus status) {
    return COPIER.convertValue(status, FineTuneJobStatus.class);
  }

  static boolean same(FineTuneJobStatus a, FineTuneJobStatus b) {
    return COPIER.valueToTree(a).equals(COPIER.valueToTree(b));
  }
}
