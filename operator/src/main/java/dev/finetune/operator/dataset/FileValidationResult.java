package dev.finetune.operator.dataset;

import java.util.List;

/**
 * Outcome of validating one JSONL file.
 *
 * @param name file name as shown in messages
 * @param format the format checked against; null when it could not be detected
 * @param examples lines that are valid examples (equals the non-blank lines when valid)
 * @param blankLines blank or whitespace-only lines, skipped
 * @param bytes bytes read (the file size when {@link #complete()})
 * @param promptCharacters Unicode code points of prompt-side text in valid examples (prompt; system
 *     and user messages; systemInstruction and user turns)
 * @param answerCharacters Unicode code points of answer-side text in valid examples (completion;
 *     assistant messages; model turns)
 * @param estimatedTokens sum over every text field of ceil(UTF-8 bytes / 4); see {@link
 *     JsonlValidator}
 * @param sha256 lowercase hex SHA-256 of the exact bytes, or null when reading stopped early
 * @param complete whether the whole file was read
 * @param errorCount problems found (at most one per line, plus file-level problems)
 * @param errors the first problems, in detail (at most {@link ValidationOptions#maxErrors()})
 * @param warnings things accepted but worth knowing (blank lines, a byte order mark)
 */
public record FileValidationResult(
    String name,
    DatasetFormat format,
    long examples,
    long blankLines,
    long bytes,
    long promptCharacters,
    long answerCharacters,
    long estimatedTokens,
    String sha256,
    boolean complete,
    long errorCount,
    List<ValidationIssue> errors,
    List<String> warnings) {

  public FileValidationResult {
    errors = List.copyOf(errors);
    warnings = List.copyOf(warnings);
  }

  public boolean valid() {
    return errorCount == 0;
  }

  public long characters() {
    return promptCharacters + answerCharacters;
  }
}
