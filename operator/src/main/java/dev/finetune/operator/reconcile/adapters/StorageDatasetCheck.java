package dev.finetune.operator.reconcile.adapters;

import dev.finetune.api.v1alpha1.DatasetSpec;
import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.DatasetStatus;
import dev.finetune.operator.dataset.DatasetFormat;
import dev.finetune.operator.dataset.DatasetSource;
import dev.finetune.operator.dataset.DatasetValidationResult;
import dev.finetune.operator.dataset.DatasetValidator;
import dev.finetune.operator.dataset.ValidationOptions;
import dev.finetune.operator.gcp.storage.GcsUri;
import dev.finetune.operator.gcp.storage.ObjectNotFoundException;
import dev.finetune.operator.gcp.storage.ObjectStore;
import dev.finetune.operator.reconcile.ports.DatasetCheck;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Optional;

/** Validates a job's dataset by streaming it from Cloud Storage, off the reconcile thread. */
public final class StorageDatasetCheck implements DatasetCheck {
  private final ObjectStore store;
  private final AsyncWork<DatasetValidationResult> work;

  public StorageDatasetCheck(ObjectStore store, AsyncWork<DatasetValidationResult> work) {
    this.store = store;
    this.work = work;
  }

  static String key(FineTuneJob job) {
    return job.getMetadata().getUid() + "/" + job.getMetadata().getGeneration();
  }

  @Override
  public Outcome check(FineTuneJob job) {
    DatasetSpec ds = job.getSpec().dataset;
    Optional<AsyncWork.Result<DatasetValidationResult>> r =
        work.poll(key(job), cancelled -> validate(ds, cancelled::get));
    if (r.isEmpty()) {
      return new Running(
          "reading " + ds.train + (ds.validation == null ? "" : " and " + ds.validation));
    }
    if (r.get() instanceof AsyncWork.Error<DatasetValidationResult> err) {
      Throwable cause = err.error() instanceof UncheckedIOException u ? u.getCause() : err.error();
      // Retried on the next look: a transient read error must not fail the job.
      if (cause instanceof ObjectNotFoundException) {
        return new Invalid(new DatasetStatus(), "DatasetNotFound", cause.getMessage());
      }
      return new Running("could not read the dataset, retrying: " + cause.getMessage());
    }
    DatasetValidationResult result = ((AsyncWork.Done<DatasetValidationResult>) r.get()).value();
    DatasetStatus stats = toStatus(result);
    if (ds.validation == null && stats.trainExamples != null) {
      // The trainer holds out validationSplit of train, deterministically by seed.
      double split = ds.validationSplit == null ? 0.1 : ds.validationSplit;
      long held = (long) Math.floor(stats.trainExamples * split);
      stats.validationExamples = held;
      stats.trainExamples = stats.trainExamples - held;
    }
    if (result.valid()) {
      return new Valid(stats);
    }
    String first =
        result.errors().isEmpty() ? "" : ": " + String.join("; ", head(result.errors(), 3));
    return new Invalid(
        stats,
        "InvalidDataset",
        result.errorCount()
            + " invalid line(s)"
            + first
            + (result.errorCount() > 3 ? "; ..." : ""));
  }

  private DatasetValidationResult validate(
      DatasetSpec ds, java.util.function.BooleanSupplier cancelled) {
    ValidationOptions opts = ValidationOptions.defaults().withCancellation(cancelled);
    if (ds.format != null && ds.format != DatasetSpec.Format.AUTO) {
      opts = opts.withFormat(DatasetFormat.fromId(ds.format.wireName()));
    }
    try {
      DatasetSource train = DatasetSource.of(store, GcsUri.parse(ds.train));
      DatasetSource validation =
          ds.validation == null ? null : DatasetSource.of(store, GcsUri.parse(ds.validation));
      return DatasetValidator.validate(train, validation, opts);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static DatasetStatus toStatus(DatasetValidationResult r) {
    DatasetStatus s = new DatasetStatus();
    s.format = r.format();
    s.trainExamples = r.examples();
    s.validationExamples = r.validationExamples();
    s.characters = r.characters();
    s.estimatedTokens = r.estimatedTokens();
    s.trainSha256 = r.train() == null ? null : r.train().sha256();
    s.validationSha256 = r.validation() == null ? null : r.validation().sha256();
    s.errorCount = r.errorCount();
    s.errors = r.errors().isEmpty() ? null : List.copyOf(r.errors());
    return s;
  }

  private static List<String> head(List<String> l, int n) {
    return l.subList(0, Math.min(n, l.size()));
  }

  @Override
  public void forget(FineTuneJob job) {
    work.forget(job.getMetadata().getUid() + "/");
  }

  @Override
  public void close() {
    work.close();
  }
}
