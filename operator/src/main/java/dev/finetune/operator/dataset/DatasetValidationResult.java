package dev.finetune.operator.dataset;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the operator reports in {@code status.dataset}: the train file and the optional validation
 * file, summarised.
 *
 * @param format the format checked ({@code gemini}, ...), or {@code unknown} when auto-detection
 *     failed
 * @param examples valid examples in the train file
 * @param validationExamples valid examples in the validation file (0 when there is none)
 * @param characters prompt and answer characters (Unicode code points) of the train file
 * @param estimatedTokens estimated tokens of the train file; see {@link JsonlValidator}
 * @param sha256 file name to lowercase hex SHA-256 of its exact bytes (absent when a file was not
 *     read to the end)
 * @param errorCount problems in both files
 * @param errors the first problems, e.g. {@code train.jsonl:17: contents[1].role: expected role
 *     "model" after "user", found "user"}; train file first
 * @param warnings accepted oddities (blank lines, byte order mark)
 * @param train details of the train file
 * @param validation details of the validation file, or null
 */
public record DatasetValidationResult(
    String format,
    long examples,
    long validationExamples,
    long characters,
    long estimatedTokens,
    Map<String, String> sha256,
    long errorCount,
    List<String> errors,
    List<String> warnings,
    FileValidationResult train,
    FileValidationResult validation) {

  public DatasetValidationResult {
    sha256 = Collections.unmodifiableMap(new LinkedHashMap<>(sha256));
    errors = List.copyOf(errors);
    warnings = List.copyOf(warnings);
  }

  /** True when there is no problem: the job may start. */
  public boolean valid() {
    return errorCount == 0;
  }

  /** Summarises per-file results, keeping at most {@code maxErrors} error strings. */
  public static DatasetValidationResult of(
      FileValidationResult train, FileValidationResult validation, int maxErrors) {
    Map<String, String> sha = new LinkedHashMap<>();
    List<String> errors = new ArrayList<>();
    List<String> warnings = new ArrayList<>();
    long errorCount = 0;
    for (FileValidationResult f :
        validation == null ? List.of(train) : List.of(train, validation)) {
      if (f.sha256() != null) {
        sha.put(f.name(), f.sha256());
      }
      for (ValidationIssue i : f.errors()) {
        if (errors.size() < maxErrors) {
          errors.add(i.toString());
        }
      }
      warnings.addAll(f.warnings());
      errorCount += f.errorCount();
    }
    return new DatasetValidationResult(
        train.format() == null ? "unknown" : train.format().id(),
        train.examples(),
        validation == null ? 0 : validation.examples(),
        train.characters(),
        train.estimatedTokens(),
        sha,
        errorCount,
        errors,
        warnings,
        train,
        validation);
  }
}
