package dev.finetune.operator.reconcile;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.FineTuneJobStatus;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.Phase;
import dev.finetune.operator.OperatorConfig;
import dev.finetune.operator.children.Labels;
import dev.finetune.operator.children.Ownership;
import dev.finetune.operator.reconcile.steps.ReleaseGrantsStep;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Cleaner;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.Mappers;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiConsumer;
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
  private static final Duration STALE_RETRY = Duration.ofMillis(200);
  static final int MAX_STEPS_PER_RECONCILE = 12;
  static final Duration MIN_ERROR_BACKOFF = Duration.ofSeconds(2);
  static final Duration MAX_ERROR_BACKOFF = Duration.ofMinutes(5);

  private final OperatorConfig config;
  private final Flow.Ports ports;
  private final Flow flow;
  private final Clock clock;
  private final JobEvents events;
  private volatile BiConsumer<FineTuneJob, FineTuneJobStatus> beforeStatusWrite = (j, s) -> {};
  private final java.util.Map<String, java.util.concurrent.atomic.AtomicLong>
      conflictsByLastWriter = new java.util.concurrent.ConcurrentHashMap<>();
  private final java.util.concurrent.atomic.AtomicLong conflicts =
      new java.util.concurrent.atomic.AtomicLong();
  private final RecentWrites recent = new RecentWrites();
  private volatile boolean closed;
  private volatile java.util.function.Function<String, Namespace> namespaceCache = name -> null;

  /**
   * Where Namespaces are looked up first (a watch's store); a namespace not found there is read
   * from the API server.
   */
  public void namespaceCache(java.util.function.Function<String, Namespace> cache) {
    this.namespaceCache = cache;
  }

  /**
   * Stops this reconciler for good: a reconcile still running (or a retry JOSDK scheduled) does
   * nothing more. Called first when the operator shuts down, so that nothing is done by a replica
   * that is going away while another one takes over.
   */
  public void close() {
    closed = true;
  }

  private volatile dev.finetune.operator.metrics.OperatorMetrics metrics;

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
        jobs,
        owned(context, ConfigMap.class),
        owned(context, ServiceAccount.class),
        pods.get(),
        owned(context, io.fabric8.kubernetes.api.model.Service.class));
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

  /** Where reconciles are counted (phases, cost, errors); none until set. */
  public void metrics(dev.finetune.operator.metrics.OperatorMetrics metrics) {
    this.metrics = metrics;
  }

  /**
   * Fault injection for tests: runs after the steps of a reconcile and before its status is written
   * (an exception here is a crash between a step's side effect and its status).
   */
  public void beforeStatusWrite(BiConsumer<FineTuneJob, FineTuneJobStatus> hook) {
    this.beforeStatusWrite = hook == null ? (j, s) -> {} : hook;
  }

  @Override
  public UpdateControl<FineTuneJob> reconcile(FineTuneJob given, Context<FineTuneJob> context) {
    FineTuneJob job = recent.freshest(given);
    FineTuneJobStatus before = job.getStatus() == null ? new FineTuneJobStatus() : job.getStatus();
    FineTuneJobStatus status = copy(before);
    status.observedGeneration = job.getMetadata().getGeneration();
    JobContext ctx =
        new JobContext(
            job, status, context, context.getClient(), config, clock.instant(), namespaceCache);

    // Steps that finish at once run in one reconcile, so a job writes its status once per wait,
    // not once per step. A step that must be recorded before anything else happens stops the run.
    List<JobEvents.PhaseChange> changes = new ArrayList<>();
    StepResult result = StepResult.done();
    for (int i = 0; i < MAX_STEPS_PER_RECONCILE; i++) {
      if (closed) {
        return UpdateControl.noUpdate();
      }
      Optional<Step> step = flow.next(status);
      if (step.isEmpty()) {
        result = StepResult.done();
        break;
      }
      Phase phase = status.phase;
      result = runStep(step.get(), ctx);
      if (!Objects.equals(phase, status.phase)) {
        changes.add(new JobEvents.PhaseChange(status.phase, status.message, reason(status)));
      }
      // Done goes on too: a job that just finished still has its grants to release.
      if (result instanceof StepResult.RequeueAfter
          || (result instanceof StepResult.Proceed p && p.persistFirst())) {
        break;
      }
    }
    Kstatus.apply(status, job.getMetadata().getGeneration(), ctx.now());
    if (closed) {
      return UpdateControl.noUpdate();
    }
    long w0 = System.nanoTime();
    try {
      write(job, context, before, status, changes, ctx);
    } catch (StaleRead e) {
      return UpdateControl.<FineTuneJob>noUpdate()
          .rescheduleAfter(e.refreshed ? PROCEED : STALE_RETRY);
    } finally {
      time("status-write", System.nanoTime() - w0);
    }
    var m = metrics;
    if (m != null) {
      m.observed(job, before, status);
    }

    UpdateControl<FineTuneJob> control = UpdateControl.noUpdate();
    if (result instanceof StepResult.Proceed) {
      return control.rescheduleAfter(PROCEED);
    }
    if (result instanceof StepResult.RequeueAfter r) {
      return control.rescheduleAfter(r.delay());
    }
    return control;
  }

  /**
   * Records the Events, then writes the status and caches the written object, so that the next
   * reconcile sees it (and does not run the previous step again). Events are named after what they
   * record: after a crash between them and the status, the rerun records nothing twice. Nothing is
   * written when nothing changed; the running part of the cost rides along with other changes
   * instead of causing writes by the passing of time alone.
   */
  private void write(
      FineTuneJob job,
      Context<FineTuneJob> context,
      FineTuneJobStatus before,
      FineTuneJobStatus status,
      List<JobEvents.PhaseChange> changes,
      JobContext ctx) {
    FineTuneJobStatus probe = copy(status);
    probe.cost = before.cost;
    if (same(before, probe)) {
      status.cost = before.cost;
      return;
    }
    for (JobEvents.PhaseChange c : changes) {
      LOG.info(
          "{}/{}: -> {}: {}",
          job.getMetadata().getNamespace(),
          job.getMetadata().getName(),
          c.phase(),
          c.message());
      events.phaseChanged(context.getClient(), job, c, ctx.now());
    }
    events.cleanupBlocked(context.getClient(), job, before, status, ctx.now());
    events.waiting(context.getClient(), job, before, status, ctx.now());
    events.queue(context.getClient(), job, before, status, ctx.now());
    beforeStatusWrite.accept(job, status);
    if (job.getMetadata().getDeletionTimestamp() != null) {
      // Being deleted: no optimistic lock (the release is idempotent and the grants only
      // shrink), so a concurrent edit of the object (an admin's annotation) cannot stall it.
      FineTuneJob updated =
          context
              .getClient()
              .resource(statusPatch(job, status))
              .subresource("status")
              .patch(
                  new io.fabric8.kubernetes.client.dsl.base.PatchContext.Builder()
                      .withForce(true)
                      .withFieldManager(context.getControllerConfiguration().fieldManager())
                      .withPatchType(
                          io.fabric8.kubernetes.client.dsl.base.PatchType.SERVER_SIDE_APPLY)
                      .build());
      recent.wrote(job, updated);
      return;
    }
    // Optimistic lock on the resourceVersion this reconcile read; the written object is cached so
    // the next reconcile starts from it. On a conflict nothing is retried with this (stale) status:
    // the job is reconciled again from the newer object, which is on its way through the watch.
    FineTuneJob patch = statusPatch(job, status);
    patch.getMetadata().setResourceVersion(job.getMetadata().getResourceVersion());
    try {
      FineTuneJob updated =
          context
              .getClient()
              .resource(patch)
              .subresource("status")
              .patch(
                  new io.fabric8.kubernetes.client.dsl.base.PatchContext.Builder()
                      .withForce(true)
                      .withFieldManager(context.getControllerConfiguration().fieldManager())
                      .withPatchType(
                          io.fabric8.kubernetes.client.dsl.base.PatchType.SERVER_SIDE_APPLY)
                      .build());
      context
          .eventSourceRetriever()
          .getControllerEventSource()
          .handleRecentResourceUpdate(
              io.javaoperatorsdk.operator.processing.event.ResourceID.fromResource(job),
              updated,
              job);
      recent.wrote(job, updated);
    } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
      if (e.getCode() != 409) {
        throw e;
      }
      conflicts.incrementAndGet();
      throw new StaleRead(readBack(job, context));
    }
  }

  /**
   * After a conflict, the newer object, read once from the API server and remembered for the next
   * reconcile, so that the job is not reconciled again and again from a watch that is behind (each
   * try a refused write). False when it could not be read (the job is tried again shortly).
   */
  private boolean readBack(FineTuneJob job, Context<FineTuneJob> context) {
    try {
      FineTuneJob fresh =
          context
              .getClient()
              .resources(FineTuneJob.class)
              .inNamespace(job.getMetadata().getNamespace())
              .withName(job.getMetadata().getName())
              .get();
      if (fresh == null
          || !Objects.equals(fresh.getMetadata().getUid(), job.getMetadata().getUid())) {
        conflictsByLastWriter
            .computeIfAbsent("(gone)", k -> new java.util.concurrent.atomic.AtomicLong())
            .incrementAndGet();
        return false;
      }
      String writer = lastWriter(fresh);
      conflictsByLastWriter
          .computeIfAbsent(writer, k -> new java.util.concurrent.atomic.AtomicLong())
          .incrementAndGet();
      LOG.debug(
          "{}/{}: status write from resourceVersion {} refused; the object is at {}, last written"
              + " by {}",
          job.getMetadata().getNamespace(),
          job.getMetadata().getName(),
          job.getMetadata().getResourceVersion(),
          fresh.getMetadata().getResourceVersion(),
          writer);
      recent.wrote(job, fresh);
      return true;
    } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
      LOG.debug("could not read {} back after a conflict: {}", job.getMetadata().getName(), e);
      return false;
    }
  }

  /**
   * Who wrote the object last, from its managedFields (the newest entry; several in the same second
   * are all named): "manager operation[/subresource]".
   */
  static String lastWriter(FineTuneJob fresh) {
    var fields = fresh.getMetadata().getManagedFields();
    if (fields == null || fields.isEmpty()) {
      return "(unknown)";
    }
    String newest =
        fields.stream()
            .map(f -> f.getTime() == null ? "" : f.getTime())
            .max(String::compareTo)
            .orElse("");
    return fields.stream()
        .filter(f -> newest.equals(f.getTime() == null ? "" : f.getTime()))
        .map(
            f ->
                f.getManager()
                    + " "
                    + f.getOperation()
                    + (f.getSubresource() == null || f.getSubresource().isEmpty()
                        ? ""
                        : "/" + f.getSubresource()))
        .sorted()
        .collect(java.util.stream.Collectors.joining(" + "));
  }

  /** The status write met a newer object: reconcile again from that one. */
  static final class StaleRead extends RuntimeException {
    final boolean refreshed;

    StaleRead(boolean refreshed) {
      super(null, null, false, false);
      this.refreshed = refreshed;
    }
  }

  /**
   * Reconciles that started from a version older than one this operator had written (the watch
   * behind), and used the written one instead, since start.
   */
  public long staleReadsAvoided() {
    return recent.staleReadsAvoided();
  }

  /** The refused status writes by who had written the object last (see {@link #lastWriter}). */
  public String conflictsByLastWriter() {
    java.util.Map<String, Long> out = new java.util.TreeMap<>();
    conflictsByLastWriter.forEach((k, v) -> out.put(k, v.get()));
    return out.toString();
  }

  /** Status writes refused because a newer object was there (409), since start. */
  public long conflicts() {
    return conflicts.get();
  }

  /** The time of one step (or of the status write), into the step metric when there is one. */
  private void time(String step, long nanos) {
    var m = metrics;
    if (m != null) {
      m.stepTime(step, nanos);
    }
  }

  private static FineTuneJob statusPatch(FineTuneJob job, FineTuneJobStatus status) {
    FineTuneJob patch = new FineTuneJob();
    patch.setMetadata(
        new io.fabric8.kubernetes.api.model.ObjectMetaBuilder()
            .withName(job.getMetadata().getName())
            .withNamespace(job.getMetadata().getNamespace())
            .build());
    patch.setStatus(status);
    return patch;
  }

  /** The reason a Failed job gives (its Ready condition's), else the phase. */
  private static String reason(FineTuneJobStatus status) {
    if (status.phase == Phase.Failed) {
      return Conditions.get(status, Conditions.READY)
          .map(io.fabric8.kubernetes.api.model.Condition::getReason)
          .orElse("Failed");
    }
    return String.valueOf(status.phase);
  }

  private StepResult runStep(Step step, JobContext ctx) {
    LOG.debug(
        "{}/{}: step {}",
        ctx.job().getMetadata().getNamespace(),
        ctx.job().getMetadata().getName(),
        step.name());
    long t0 = System.nanoTime();
    try {
      return step.run(ctx);
    } finally {
      time(step.name(), System.nanoTime() - t0);
    }
  }

  /**
   * An exception out of a reconcile (a 403 from RBAC, an admission webhook's refusal, the API
   * server away) is written into status (message, and Stalled=True with reason ReconcileError), and
   * the job is tried again with a backoff that grows with the time it has been failing, up to five
   * minutes, instead of JOSDK's few retries followed by silence.
   */
  @Override
  public ErrorStatusUpdateControl<FineTuneJob> updateErrorStatus(
      FineTuneJob given, Context<FineTuneJob> context, Exception e) {
    FineTuneJob job = recent.freshest(given);
    FineTuneJobStatus status =
        copy(job.getStatus() == null ? new FineTuneJobStatus() : job.getStatus());
    Instant now = clock.instant();
    Duration failing =
        Conditions.get(status, Conditions.STALLED)
            .filter(c -> Conditions.TRUE.equals(c.getStatus()))
            .filter(c -> Kstatus.RECONCILE_ERROR.equals(c.getReason()))
            .map(c -> Duration.between(Instant.parse(c.getLastTransitionTime()), now))
            .orElse(Duration.ZERO);
    Duration delay = failing.compareTo(MIN_ERROR_BACKOFF) < 0 ? MIN_ERROR_BACKOFF : failing;
    if (delay.compareTo(MAX_ERROR_BACKOFF) > 0) {
      delay = MAX_ERROR_BACKOFF;
    }
    String what = ReconcileErrors.describe(e);
    var m = metrics;
    if (m != null) {
      m.reconcileError(e);
    }
    LOG.warn(
        "{}/{}: reconcile failed, retrying in {}s: {}",
        job.getMetadata().getNamespace(),
        job.getMetadata().getName(),
        delay.toSeconds(),
        what);
    status.message = "reconcile failed (retrying in " + delay.toSeconds() + "s): " + what;
    Conditions.set(
        status,
        Conditions.STALLED,
        Conditions.TRUE,
        Kstatus.RECONCILE_ERROR,
        what,
        job.getMetadata().getGeneration(),
        now);
    if (same(job.getStatus() == null ? new FineTuneJobStatus() : job.getStatus(), status)) {
      return ErrorStatusUpdateControl.<FineTuneJob>noStatusUpdate().rescheduleAfter(delay);
    }
    return ErrorStatusUpdateControl.patchStatus(statusPatch(job, status)).rescheduleAfter(delay);
  }

  /**
   * Deletion: the Kubernetes children go with the job through their owner references; the IAM
   * grants recorded in status are removed first. A job that never granted anything goes at once.
   * While the grants cannot be removed, CleanupBlocked (and an Event) say why and how to let go.
   */
  @Override
  public DeleteControl cleanup(FineTuneJob given, Context<FineTuneJob> context) {
    if (closed) {
      return DeleteControl.noFinalizerRemoval();
    }
    FineTuneJob job = recent.freshest(given);
    ports.dataset().forget(job);
    ports.progress().forget(job);
    ports.evaluation().forget(job);
    var m = metrics;
    if (m != null) {
      m.forget(job);
    }
    FineTuneJobStatus before = job.getStatus() == null ? new FineTuneJobStatus() : job.getStatus();
    if (ReleaseGrantsStep.pending(before).isEmpty()) {
      recent.forget(job);
      return DeleteControl.defaultDelete();
    }
    FineTuneJobStatus status = copy(before);
    JobContext ctx =
        new JobContext(
            job, status, context, context.getClient(), config, clock.instant(), namespaceCache);
    StepResult result = flow.release().run(ctx);
    if (ReleaseGrantsStep.pending(status).isEmpty()) {
      // Nothing left: the object goes, so its status is not written (a write here would only
      // race JOSDK's removal of the finalizer); a skipped cleanup is still recorded as an Event.
      events.cleanupBlocked(context.getClient(), job, before, status, ctx.now());
      recent.forget(job);
      return DeleteControl.defaultDelete();
    }
    Kstatus.apply(status, job.getMetadata().getGeneration(), ctx.now());
    write(job, context, before, status, List.of(), ctx);
    Duration after =
        result instanceof StepResult.RequeueAfter r ? r.delay() : Duration.ofSeconds(1);
    LOG.info(
        "{}/{}: IAM grants not yet removed; again in {}s",
        job.getMetadata().getNamespace(),
        job.getMetadata().getName(),
        after.toSeconds());
    return DeleteControl.noFinalizerRemoval().rescheduleAfter(after);
  }

  static FineTuneJobStatus copy(FineTuneJobStatus status) {
    return COPIER.convertValue(status, FineTuneJobStatus.class);
  }

  static boolean same(FineTuneJobStatus a, FineTuneJobStatus b) {
    return COPIER.valueToTree(a).equals(COPIER.valueToTree(b));
  }
}
