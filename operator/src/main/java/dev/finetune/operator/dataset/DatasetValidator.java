package dev.finetune.operator.dataset;

import java.io.IOException;
import java.io.InputStream;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Validates a train file and an optional validation file as one dataset. The validation file is
 * checked against the train file's format (detected or given), so a mix of formats is an error.
 * Blocking; run it off the reconcile thread.
 */
public final class DatasetValidator {
  private static final Logger log = LoggerFactory.getLogger(DatasetValidator.class);

  private DatasetValidator() {}

  /**
   * @param validation may be null
   * @throws IOException when a file cannot be opened or read (for a missing object: {@link
   *     dev.finetune.operator.gcp.storage.ObjectNotFoundException})
   */
  public static DatasetValidationResult validate(
      DatasetSource train, DatasetSource validation, ValidationOptions opts) throws IOException {
    Objects.requireNonNull(train, "train");
    Objects.requireNonNull(opts, "opts");
    long start = System.nanoTime();
    FileValidationResult t = validateFile(train, opts);
    FileValidationResult v = null;
    if (validation != null) {
      ValidationOptions vopts = t.format() == null ? opts : opts.withFormat(t.format());
      v = validateFile(validation, vopts);
    }
    DatasetValidationResult result = DatasetValidationResult.of(t, v, opts.maxErrors());
    log.info(
        "Validated dataset {}{}: format {}, {} examples, {} validation examples, {} errors, {} ms",
        train.name(),
        validation == null ? "" : " + " + validation.name(),
        result.format(),
        result.examples(),
        result.validationExamples(),
        result.errorCount(),
        (System.nanoTime() - start) / 1_000_000);
    return result;
  }

  /** Validates a single file. */
  public static FileValidationResult validateFile(DatasetSource source, ValidationOptions opts)
      throws IOException {
    try (InputStream in = source.open()) {
      return JsonlValidator.validate(source.name(), in, opts);
    }
  }
}
