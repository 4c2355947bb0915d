package dev.finetune.operator.reconcile.adapters;

import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.MethodSpec;
import dev.finetune.api.v1alpha1.TrainingSpec;
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
 * accelerator that fits the memory estimate wins, and the reason goes into status. A Hub read uses
 * the job's own token (or the operator's where the namespace was opted in), never the operator's by
 * default.
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
      String revision =
          job.getSpec().model.revision == null ? "main" : job.getSpec().model.revision;
      Optional<AsyncWork.Result<ModelSize>> r =
          work.poll(
              job.getMetadata().getUid() + "/" + job.getMetadata().getGeneration(),
              c -> read(source, revision, token));
      if (r.isEmpty()) {
        return new Running("reading " + source + " config.json");
      }
      if (r.get() instanceof AsyncWork.Error<ModelSize> e) {
        if (hint == null) {
          Throwable cause = e.error() instanceof UncheckedIOException u ? u.getCause() : e.error();
          return new Impossible(
              "ModelSizeUnknown",
              "cannot read config.json of "
                  + source
                  + " ("
                  + cause.getMessage()
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
    boolean spot =
        job.getSpec().hardware == null || !Boolean.FALSE.equals(job.getSpec().hardware.spot);
    Optional<SizingDecision> d = sizer.choose(model, params, spot);
    if (d.isEmpty()) {
      return new Impossible("NoAcceleratorFits", AcceleratorSizer.noFitMessage(model, params));
    }
    SizingDecision decision = d.get();
    return new Chosen(
        decision.accelerator().id(), decision.count(), decision.machineType(), decision.reason());
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
