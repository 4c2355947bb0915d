package dev.finetune.operator.cli;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.finetune.operator.eval.EvalMetric;
import dev.finetune.operator.eval.JsonLines;
import dev.finetune.operator.eval.JsonMetrics;
import dev.finetune.operator.eval.JsonSchemaCheck;
import dev.finetune.operator.eval.PairedBootstrap;
import dev.finetune.operator.eval.Score;
import dev.finetune.operator.eval.Scoreboard;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code score}: the operator's metrics (exact match, the JSON metrics, ROUGE) for JSONL {@code
 * {"target", "prediction"}} pairs, the input of {@code rouge}. Writes one JSON line per pair and a
 * final {@code {"aggregate": ...}} line with each metric's mean and bootstrap interval.
 */
@Command(
    name = "score",
    mixinStandardHelpOptions = true,
    description = {
      "Scores JSONL {\"target\": ..., \"prediction\": ...} pairs (the input of 'rouge') with the"
          + " operator's metrics: exactMatch, jsonValid, jsonFieldMatch, jsonSchema, rouge1,"
          + " rouge2, rougeL, rougeLsum.",
      "Writes one JSON line per pair, then an {\"aggregate\": ...} line with the mean and a"
          + " bootstrap confidence interval per metric. jsonFieldMatch scores only pairs whose"
          + " target is JSON (null on the others; counted as notScored)."
    },
    exitCodeOnInvalidInput = 2,
    exitCodeOnExecutionException = 1)
public class ScoreCommand implements Callable<Integer> {

  private static final JsonFactory JSON = JsonFactory.builder().build();
  private static final List<String> FIELDS = List.of("target", "prediction");

  @Spec CommandSpec spec;

  @Parameters(
      index = "0",
      arity = "0..1",
      paramLabel = "FILE",
      description = "JSONL input file; standard input when absent or '-'.")
  Path input;

  @Option(
      names = "--metrics",
      split = ",",
      paramLabel = "METRIC",
      defaultValue = "exactMatch,jsonValid,jsonFieldMatch",
      converter = MetricConverter.class,
      description = "Comma-separated metrics (default: ${DEFAULT-VALUE}).")
  List<EvalMetric> metrics;

  @Option(
      names = "--schema",
      paramLabel = "FILE",
      description = "JSON Schema (draft 2020-12) for the jsonSchema metric.")
  Path schema;

  @Option(
      names = "--bootstrap-samples",
      defaultValue = "1000",
      description = "Bootstrap resamples for the interval (default: ${DEFAULT-VALUE}).")
  int bootstrapSamples;

  @Option(
      names = "--seed",
      defaultValue = "42",
      description = "Seed of the bootstrap resampling (default: ${DEFAULT-VALUE}).")
  long seed;

  private final InputStream stdin;

  public ScoreCommand() {
    this(System.in);
  }

  public ScoreCommand(InputStream stdin) {
    this.stdin = Objects.requireNonNull(stdin, "stdin");
  }

  static final class MetricConverter implements picocli.CommandLine.ITypeConverter<EvalMetric> {
    @Override
    public EvalMetric convert(String value) {
      try {
        return EvalMetric.fromId(value.strip());
      } catch (IllegalArgumentException e) {
        throw new picocli.CommandLine.TypeConversionException(e.getMessage());
      }
    }
  }

  /** Reads a JSON Schema file for the jsonSchema metric; {@code null} when none is needed. */
  static JsonSchemaCheck schema(String command, List<EvalMetric> metrics, Path file)
      throws CommandException {
    if (!metrics.contains(EvalMetric.JSON_SCHEMA)) {
      return null;
    }
    if (file == null) {
      throw new CommandException(command + ": the jsonSchema metric needs --schema FILE");
    }
    try {
      return JsonSchemaCheck.compile(Files.readString(file));
    } catch (NoSuchFileException e) {
      throw new CommandException(command + ": " + file + ": no such file");
    } catch (IOException e) {
      throw new CommandException(command + ": " + file + ": " + e.getMessage());
    } catch (JsonSchemaCheck.InvalidSchemaException e) {
      throw new CommandException(command + ": " + file + ": " + e.getMessage());
    }
  }

  /** A problem with the input; the message is printed as is. */
  static final class CommandException extends Exception {
    private static final long serialVersionUID = 1L;

    CommandException(String message) {
      super(message);
    }
  }

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    String source = input == null || input.toString().equals("-") ? "<stdin>" : input.toString();
    if (bootstrapSamples <= 0) {
      err.println("score: --bootstrap-samples must be positive");
      return 2;
    }
    List<Scoreboard.Example> examples = new ArrayList<>();
    JsonSchemaCheck check;
    try {
      check = schema("score", metrics, schema);
      try (BufferedReader reader = utf8(input == null || source.equals("<stdin>") ? stdin : null)) {
        String line;
        long number = 0;
        while ((line = reader.readLine()) != null) {
          number++;
          if (line.isBlank()) {
            continue;
          }
          try {
            Map<String, String> f = JsonLines.parse(line, null, FIELDS);
            examples.add(
                new Scoreboard.Example(
                    Long.toString(number), null, f.get("target"), null, f.get("prediction")));
          } catch (JsonLines.MalformedLineException e) {
            throw new CommandException(
                "score: " + source + ": line " + number + ": " + e.getMessage());
          }
        }
      } catch (NoSuchFileException e) {
        throw new CommandException("score: " + source + ": no such file");
      } catch (CharacterCodingException e) {
        throw new CommandException("score: " + source + ": input is not valid UTF-8");
      } catch (IOException e) {
        throw new CommandException("score: " + source + ": " + e.getMessage());
      }
    } catch (CommandException e) {
      err.println(e.getMessage());
      err.flush();
      return 1;
    }
    if (examples.isEmpty()) {
      err.println("score: " + source + ": no input records");
      err.flush();
      return 1;
    }
    PairedBootstrap bootstrap =
        new PairedBootstrap(bootstrapSamples, PairedBootstrap.DEFAULT_CONFIDENCE, seed);
    Scoreboard board = Scoreboard.score(examples, metrics, false, check, bootstrap);
    try {
      // Per-pair values: position k of a metric's scores belongs to example exampleAt(k).
      Map<EvalMetric, Scoreboard.MetricScores> m = board.metrics();
      Map<EvalMetric, int[]> cursor = new java.util.EnumMap<>(EvalMetric.class);
      m.keySet().forEach(k -> cursor.put(k, new int[1]));
      for (int i = 0; i < examples.size(); i++) {
        StringWriter sw = new StringWriter();
        try (JsonGenerator g = JSON.createGenerator(sw)) {
          g.writeStartObject();
          g.writeNumberField("line", Long.parseLong(examples.get(i).id()));
          for (Scoreboard.MetricScores s : m.values()) {
            int[] c = cursor.get(s.metric());
            g.writeFieldName(s.metric().id());
            if (c[0] < s.scored() && s.exampleAt(c[0]) == i) {
              if (s.metric() == EvalMetric.JSON_FIELD_MATCH) {
                Score f =
                    JsonMetrics.fieldMatch(examples.get(i).tuned(), examples.get(i).reference());
                g.writeStartObject();
                g.writeNumberField("precision", f.precision());
                g.writeNumberField("recall", f.recall());
                g.writeNumberField("fmeasure", f.fmeasure());
                g.writeEndObject();
              } else {
                g.writeNumber(s.tuned()[c[0]]);
              }
              c[0]++;
            } else {
              g.writeNull();
            }
          }
          g.writeEndObject();
        }
        out.println(sw);
      }
      out.println(aggregate(board, examples.size(), bootstrap));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    out.flush();
    return 0;
  }

  private BufferedReader utf8(InputStream fromStdin) throws IOException {
    InputStream in = fromStdin != null ? fromStdin : Files.newInputStream(input);
    var decoder =
        StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    return new BufferedReader(new InputStreamReader(in, decoder));
  }

  private static String aggregate(Scoreboard board, int count, PairedBootstrap b)
      throws IOException {
    StringWriter sw = new StringWriter();
    try (JsonGenerator g = JSON.createGenerator(sw)) {
      g.writeStartObject();
      g.writeObjectFieldStart("aggregate");
      g.writeNumberField("count", count);
      g.writeObjectFieldStart("bootstrap");
      g.writeNumberField("samples", b.samples());
      g.writeNumberField("confidence", b.confidence());
      g.writeNumberField("seed", b.seed());
      g.writeEndObject();
      for (Scoreboard.MetricScores s : board.metrics().values()) {
        g.writeObjectFieldStart(s.metric().id());
        g.writeNumberField("scored", s.scored());
        if (s.scored() > 0) {
          // The interval of a mean: the paired bootstrap against a zero baseline.
          PairedBootstrap.Interval ci = b.interval(s.tuned(), new double[s.scored()]);
          g.writeNumberField("mean", s.tunedMean());
          g.writeNumberField("low", ci.low());
          g.writeNumberField("high", ci.high());
        }
        if (s.metric() == EvalMetric.JSON_FIELD_MATCH) {
          g.writeNumberField("notScored", s.notScored());
          if (s.scored() > 0) {
            g.writeNumberField("precision", s.tunedPrecision());
            g.writeNumberField("recall", s.tunedRecall());
          }
        }
        g.writeEndObject();
      }
      g.writeEndObject();
      g.writeEndObject();
    }
    return sw.toString();
  }
}
