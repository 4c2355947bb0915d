package dev.finetune.operator.reconcile.adapters;

import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.HardwareSpec;
import dev.finetune.api.v1alpha1.MethodSpec;
import dev.finetune.api.v1alpha1.TrainingSpec;
import dev.finetune.operator.gcp.nodepool.Accelerator;
import dev.finetune.operator.reconcile.ports.AcceleratorSizing;
import dev.finetune.operator.sizing.AcceleratorSizer;
import dev.finetune.operator.sizing.HubToken;
import dev.finetune.operator.sizing.ModelConfigSource;
import dev.finetune.operator.sizing.ModelSize;
import dev.finetune.operator.sizing.SizingDecision;
import dev.finetune.operator.sizing.TrainingMethod;
import dev.finetune.operator.sizing.TrainingParams;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Optional;

/**
 * hardware.accelerator: auto. The parameter count comes from the model's config.json (Hugging Face
 * Hub for hf://, Cloud Storage for gs://, read aside) or from model.parameters; the cheapest
 * accelerator that fits the memory estimate wins (DDP replicas when one GPU holds the model, FSDP
 * shards over 2 to 8 GPUs when none does), and the reason goes into status. A named accelerator is
 * checked the same way ({@link #check}). A Hub read uses the job's own token (or the operator's
 * where the namespace was opted in), never the operator's by default.
 */
public final class ModelSizing implements AcceleratorSizing {
  private final AcceleratorSizer sizer;
  private final ModelConfigSource hub;
  private final ModelConfigSource storage;
  private final AsyncWork<ModelSize> work;

  public ModelSizing(
      AcceleratorSizer sizer,
      ModelConfigSource hub,
      ModelConfigSource storage,
      AsyncWork<ModelSize> work) {
    this.sizer = sizer;
    this.hub = hub;
    this.storage = storage;
    this.work = work;
  }

  @Override
  public Outcome size(FineTuneJob job, HubToken.Resolver token) {
    String source = job.getSpec().model.source;
    String hint = job.getSpec().model.parameters;
    ModelSize model;
    if (source.startsWith("hf://") || source.startsWith("gs://")) {
      Optional<AsyncWork.Result<ModelSize>> r = readAside(job, token);
      if (r.isEmpty()) {
        return new Running("reading " + source + " config.json");
      }
      if (r.get() instanceof AsyncWork.Error<ModelSize> e) {
        if (hint == null) {
          return new Impossible(
              "ModelSizeUnknown",
              "cannot read config.json of "
                  + source
                  + " ("
                  + cause(e).getMessage()
                  + "); set spec.model.parameters (for example 7B) or choose"
                  + " spec.hardware.accelerator");
        }
        model = ModelSize.fromHint(hint);
      } else {
        model = ((AsyncWork.Done<ModelSize>) r.get()).value();
      }
    } else if (hint != null) {
      model = ModelSize.fromHint(hint);
    } else {
      return new Impossible(
          "ModelSizeUnknown",
          "the operator cannot read a local model path; set spec.model.parameters (for example"
              + " 7B) or choose spec.hardware.accelerator");
    }
    TrainingParams params = params(job);
    boolean spot = spot(job);
    Optional<SizingDecision> d = sizer.choose(model, params, spot, count(job));
    if (d.isEmpty()) {
      return new Impossible("NoAcceleratorFits", AcceleratorSizer.noFitMessage(model, params));
    }
    SizingDecision decision = d.get();
    return new Chosen(
        decision.accelerator().id(),
        decision.count(),
        decision.machineType(),
        decision.reason(),
        decision.strategy().wireName());
  }

  /**
   * A named accelerator: the size comes from spec.model.parameters when set (nothing is read),
   * else, for several GPUs, where the strategy matters, from config.json as for auto. One GPU
   * without a hint is not checked, as before. A size that cannot be known leaves the job as DDP
   * replicas.
   */
  @Override
  public Outcome check(FineTuneJob job, HubToken.Resolver token) {
    HardwareSpec hw = job.getSpec().hardware;
    Accelerator accelerator = Accelerator.fromId(hw.accelerator.wireName());
    int count = count(job);
    String source = job.getSpec().model.source;
    String hint = job.getSpec().model.parameters;
    ModelSize model;
    if (hint != null) {
      try {
        model = ModelSize.fromHint(hint);
      } catch (IllegalArgumentException e) {
        return unsized(accelerator, count, e.getMessage());
      }
    } else if (count > 1 && (source.startsWith("hf://") || source.startsWith("gs://"))) {
      Optional<AsyncWork.Result<ModelSize>> r = readAside(job, token);
      if (r.isEmpty()) {
        return new Running("reading " + source + " config.json");
      }
      if (r.get() instanceof AsyncWork.Error<ModelSize> e) {
        return unsized(
            accelerator,
            count,
            "cannot read config.json of " + source + ": " + cause(e).getMessage());
      }
      model = ((AsyncWork.Done<ModelSize>) r.get()).value();
    } else {
      return new NotImplemented("Checking one requested GPU without spec.model.parameters");
    }
    TrainingParams params = params(job);
    boolean spot = spot(job);
    Optional<SizingDecision> d = sizer.check(model, params, accelerator, count, spot);
    if (d.isEmpty()) {
      return new Impossible(
          "NoAcceleratorFits", sizer.doesNotFitMessage(model, params, accelerator, count, spot));
    }
    String why = "requested in spec.hardware.accelerator; " + d.get().reason();
    return new Chosen(accelerator.id(), count, null, why, d.get().strategy().wireName());
  }

  private static Outcome unsized(Accelerator accelerator, int count, String why) {
    String text =
        "requested in spec.hardware.accelerator; the model size is unknown ("
            + why
            + "), so the "
            + count
            + " GPUs run as DDP replicas, each holding the whole model; set"
            + " spec.model.parameters to have a model too large for one GPU sharded with FSDP";
    return new Chosen(accelerator.id(), count, null, text, "ddp");
  }

  private Optional<AsyncWork.Result<ModelSize>> readAside(
      FineTuneJob job, HubToken.Resolver token) {
    String source = job.getSpec().model.source;
    String revision = job.getSpec().model.revision == null ? "main" : job.getSpec().model.revision;
    return work.poll(
        job.getMetadata().getUid() + "/" + job.getMetadata().getGeneration(),
        c -> read(source, revision, token));
  }

  private static Throwable cause(AsyncWork.Error<ModelSize> e) {
    return e.error() instanceof UncheckedIOException u ? u.getCause() : e.error();
  }

  static boolean spot(FineTuneJob job) {
    return job.getSpec().hardware == null || !Boolean.FALSE.equals(job.getSpec().hardware.spot);
  }

  /** spec.hardware.count: the GPUs asked for, the least auto gives. */
  static int count(FineTuneJob job) {
    HardwareSpec hw = job.getSpec().hardware;
    return hw == null || hw.count == null ? 1 : hw.count;
  }

  private ModelSize read(String source, String revision, HubToken.Resolver token) {
    try {
      if (!source.startsWith("hf://")) {
        return ModelSize.of(storage.fetch(source, revision));
      }
      HubToken t = token.resolve();
      ModelConfigSource hubRead =
          t instanceof HubToken.Own own
              ? hub.withToken(own.value())
              : t instanceof HubToken.OperatorWide ? hub : hub.withToken(null);
      return ModelSize.of(hubRead.fetch(source.substring("hf://".length()), revision));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static TrainingParams params(FineTuneJob job) {
    MethodSpec m = job.getSpec().method;
    TrainingSpec t = job.getSpec().training;
    TrainingMethod method =
        m != null && m.type == MethodSpec.Type.QLORA ? TrainingMethod.QLORA : TrainingMethod.LORA;
    int batch = t == null || t.batchSize == null ? 4 : t.batchSize;
    int seq = t == null || t.maxSequenceLength == null ? 2048 : t.maxSequenceLength;
    int rank = m == null || m.rank == null ? 16 : m.rank;
    return new TrainingParams(method, batch, seq, rank);
  }

  @Override
  public void close() {
    work.close();
  }
}
