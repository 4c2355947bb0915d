package dev.finetune.operator.cli;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.finetune.operator.dataset.DatasetFormat;
import dev.finetune.operator.dataset.DatasetSource;
import dev.finetune.operator.dataset.DatasetValidator;
import dev.finetune.operator.dataset.FileValidationResult;
import dev.finetune.operator.dataset.ValidationIssue;
import dev.finetune.operator.dataset.ValidationOptions;
import dev.finetune.operator.gcp.storage.GcsUri;
import dev.finetune.operator.gcp.storage.GoogleCloudStorage;
import dev.finetune.operator.gcp.storage.ObjectStore;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code validate-dataset}: checks JSONL files the way the operator does before it starts a job,
 * and prints what it would report.
 *
 * <p>The first file is the train file; further files (typically the validation file) are checked
 * against the train file's format. Exit status: 0 all valid, 1 some file invalid, 2 usage or I/O
 * error (missing file or object, no access).
 */
@Command(
    name = "validate-dataset",
    mixinStandardHelpOptions = true,
    description = {
      "Validates JSONL training data (local files or gs:// objects) as the operator does before"
          + " paying for a GPU.",
      "The first file is the train file; the others are checked against its format.",
      "Exit status: 0 valid, 1 invalid, 2 usage or I/O error.",
      "gs:// objects are read with Application Default Credentials, or from the emulator named"
          + " by STORAGE_EMULATOR_HOST."
    })
public class ValidateDatasetCommand implements Callable<Integer> {
  static final int VALID = 0;
  static final int INVALID = 1;
  static final int ERROR = 2;

  @Spec CommandSpec spec;

  @Parameters(
      arity = "1..*",
      paramLabel = "FILE|gs://BUCKET/OBJECT",
      description = "JSONL files: local paths or gs:// URIs. The first is the train file.")
  List<String> files = new ArrayList<>();

  @Option(
      names = "--format",
      defaultValue = "auto",
      converter = FormatConverter.class,
      description = "auto, prompt-completion, messages or gemini (default: ${DEFAULT-VALUE}).")
  DatasetFormat format = DatasetFormat.AUTO;

  @Option(
      names = "--max-errors",
      defaultValue = "20",
      description =
          "Problems to show in detail per file; all are counted (default:" + " ${DEFAULT-VALUE}).")
  int maxErrors = ValidationOptions.DEFAULT_MAX_ERRORS;

  @Option(
      names = "--max-line-bytes",
      defaultValue = "16777216",
      description = "Longest accepted line in bytes (default: ${DEFAULT-VALUE}).")
  int maxLineBytes = ValidationOptions.DEFAULT_MAX_LINE_BYTES;

  @Option(names = "--json", description = "Print the result as JSON (as in status.dataset).")
  boolean json;

  private final Supplier<ObjectStore> storeFactory;
  private ObjectStore store;

  public ValidateDatasetCommand() {
    this(GoogleCloudStorage::fromEnvironment);
  }

  /** For tests and embedding: the store used for {@code gs://} arguments. */
  public ValidateDatasetCommand(Supplier<ObjectStore> storeFactory) {
    this.storeFactory = storeFactory;
  }

  /** Runs standalone: {@code java ... dev.finetune.operator.cli.ValidateDatasetCommand ...}. */
  public static void main(String[] args) {
    System.exit(new CommandLine(new ValidateDatasetCommand()).execute(args));
  }

  static final class FormatConverter implements CommandLine.ITypeConverter<DatasetFormat> {
    @Override
    public DatasetFormat convert(String value) {
      try {
        return DatasetFormat.fromId(value);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.TypeConversionException(e.getMessage());
      }
    }
  }

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    if (maxErrors < 0) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--max-errors must be >= 0");
    }
    if (maxLineBytes < 1) {
      throw new CommandLine.ParameterException(
          spec.commandLine(), "--max-line-bytes must be positive");
    }
    List<DatasetSource> sources = new ArrayList<>();
    for (String f : files) {
      try {
        sources.add(sourceOf(f));
      } catch (IllegalArgumentException e) {
        err.println("validate-dataset: " + e.getMessage());
        err.flush();
        return ERROR;
      }
    }
    ValidationOptions opts =
        ValidationOptions.defaults()
            .withFormat(format)
            .withMaxErrors(maxErrors)
            .withMaxLineBytes(maxLineBytes);
    List<FileValidationResult> results = new ArrayList<>();
    try {
      for (DatasetSource s : sources) {
        FileValidationResult r = DatasetValidator.validateFile(s, opts);
        results.add(r);
        if (results.size() == 1 && r.format() != null) {
          opts = opts.withFormat(r.format());
        }
      }
    } catch (IOException | RuntimeException e) {
      err.println("validate-dataset: " + messageOf(e));
      err.flush();
      return ERROR;
    }
    boolean valid = results.stream().allMatch(FileValidationResult::valid);
    try {
      if (json) {
        printJson(out, results, valid);
      } else {
        printText(out, results, valid);
      }
    } catch (IOException e) {
      err.println("validate-dataset: cannot write output: " + e.getMessage());
      err.flush();
      return ERROR;
    }
    out.flush();
    return valid ? VALID : INVALID;
  }

  private DatasetSource sourceOf(String arg) {
    if (GcsUri.isGcsUri(arg)) {
      GcsUri uri = GcsUri.parse(arg).requireObject();
      return new DatasetSource(uri.toString(), () -> store().open(uri));
    }
    return DatasetSource.of(Path.of(arg));
  }

  private ObjectStore store() {
    if (store == null) {
      store = storeFactory.get();
    }
    return store;
  }

  private static String messageOf(Exception e) {
    String m = e.getMessage();
    if (e instanceof java.nio.file.NoSuchFileException nsf) {
      return nsf.getFile() + ": file not found";
    }
    if (e instanceof java.nio.file.AccessDeniedException ade) {
      return ade.getFile() + ": permission denied";
    }
    return m == null ? e.getClass().getSimpleName() : m;
  }

  private void printText(PrintWriter out, List<FileValidationResult> results, boolean valid) {
    for (int i = 0; i < results.size(); i++) {
      FileValidationResult r = results.get(i);
      out.printf(
          "%s: %s%n",
          r.name(),
          r.valid()
              ? "valid"
              : "INVALID (" + r.errorCount() + (r.errorCount() == 1 ? " error)" : " errors)"));
      String fmt = r.format() == null ? "unknown" : r.format().id();
      if (i == 0 && format == DatasetFormat.AUTO && r.format() != null) {
        fmt += " (detected)";
      }
      out.printf("  format:           %s%n", fmt);
      out.printf("  examples:         %d%n", r.examples());
      if (r.blankLines() > 0) {
        out.printf("  blank lines:      %d%n", r.blankLines());
      }
      out.printf("  bytes:            %d%n", r.bytes());
      out.printf(
          "  characters:       %d (prompt %d, answer %d)%n",
          r.characters(), r.promptCharacters(), r.answerCharacters());
      out.printf("  estimated tokens: %d%n", r.estimatedTokens());
      out.printf("  sha256:           %s%n", r.sha256() == null ? "(not computed)" : r.sha256());
      if (!r.errors().isEmpty()) {
        out.printf(
            "  errors (%s):%n",
            r.errors().size() < r.errorCount()
                ? "first " + r.errors().size() + " of " + r.errorCount()
                : String.valueOf(r.errorCount()));
        for (ValidationIssue issue : r.errors()) {
          out.println("    " + issue);
        }
      }
      for (String w : r.warnings()) {
        out.println("  warning: " + w);
      }
    }
    out.println(valid ? "dataset is valid" : "dataset is INVALID");
  }

  private void printJson(PrintWriter out, List<FileValidationResult> results, boolean valid)
      throws IOException {
    FileValidationResult train = results.get(0);
    long validationExamples = 0;
    long errorCount = 0;
    for (int i = 0; i < results.size(); i++) {
      if (i > 0) {
        validationExamples += results.get(i).examples();
      }
      errorCount += results.get(i).errorCount();
    }
    JsonGenerator g = new JsonFactory().createGenerator(new NonClosingWriter(out));
    g.useDefaultPrettyPrinter();
    g.writeStartObject();
    g.writeBooleanField("valid", valid);
    g.writeStringField("format", train.format() == null ? "unknown" : train.format().id());
    g.writeNumberField("examples", train.examples());
    g.writeNumberField("validationExamples", validationExamples);
    g.writeNumberField("characters", train.characters());
    g.writeNumberField("estimatedTokens", train.estimatedTokens());
    g.writeObjectFieldStart("sha256");
    for (FileValidationResult r : results) {
      if (r.sha256() != null) {
        g.writeStringField(r.name(), r.sha256());
      }
    }
    g.writeEndObject();
    g.writeNumberField("errorCount", errorCount);
    g.writeArrayFieldStart("errors");
    int shown = 0;
    for (FileValidationResult r : results) {
      for (ValidationIssue issue : r.errors()) {
        if (shown++ < maxErrors) {
          g.writeString(issue.toString());
        }
      }
    }
    g.writeEndArray();
    g.writeArrayFieldStart("files");
    for (FileValidationResult r : results) {
      g.writeStartObject();
      g.writeStringField("name", r.name());
      g.writeStringField("format", r.format() == null ? "unknown" : r.format().id());
      g.writeBooleanField("valid", r.valid());
      g.writeNumberField("examples", r.examples());
      g.writeNumberField("blankLines", r.blankLines());
      g.writeNumberField("bytes", r.bytes());
      g.writeNumberField("promptCharacters", r.promptCharacters());
      g.writeNumberField("answerCharacters", r.answerCharacters());
      g.writeNumberField("estimatedTokens", r.estimatedTokens());
      if (r.sha256() == null) {
        g.writeNullField("sha256");
      } else {
        g.writeStringField("sha256", r.sha256());
      }
      g.writeNumberField("errorCount", r.errorCount());
      g.writeArrayFieldStart("errors");
      for (ValidationIssue issue : r.errors()) {
        g.writeStartObject();
        g.writeNumberField("line", issue.line());
        g.writeStringField("path", issue.path());
        g.writeStringField("message", issue.message());
        g.writeEndObject();
      }
      g.writeEndArray();
      g.writeArrayFieldStart("warnings");
      for (String w : r.warnings()) {
        g.writeString(w);
      }
      g.writeEndArray();
      g.writeEndObject();
    }
    g.writeEndArray();
    g.writeEndObject();
    g.close();
    out.println();
  }

  /** Lets the generator flush without closing picocli's writer. */
  private static final class NonClosingWriter extends java.io.FilterWriter {
    NonClosingWriter(java.io.Writer w) {
      super(w);
    }

    @Override
    public void close() throws IOException {
      flush();
    }
  }
}
