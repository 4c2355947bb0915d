package dev.finetune.operator.cli;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.finetune.operator.eval.AggregateScore;
import dev.finetune.operator.eval.BootstrapAggregator;
import dev.finetune.operator.eval.JsonLines;
import dev.finetune.operator.eval.RougeScorer;
import dev.finetune.operator.eval.RougeType;
import dev.finetune.operator.eval.Score;
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
import java.util.LinkedHashSet;
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
 * {@code rouge}: scores JSONL {@code {"target", "prediction"}} pairs with ROUGE (identical to
 * Google's {@code rouge-score}). Writes one JSON line per pair and a final {@code {"aggregate":
 * ...}} line with the corpus means and bootstrap confidence intervals.
 */
@Command(
    name = "rouge",
    mixinStandardHelpOptions = true,
    description = {
      "Scores JSONL {\"target\": ..., \"prediction\": ...} pairs with ROUGE (compatible with the"
          + " rouge-score Python package).",
      "Writes one JSON line of precision/recall/fmeasure per pair, then an {\"aggregate\": ...}"
          + " line with the mean and a bootstrap confidence interval per metric."
    },
    exitCodeOnInvalidInput = 2,
    exitCodeOnExecutionException = 1)
public class RougeCommand implements Callable<Integer> {

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
      names = "--stem",
      negatable = true,
      defaultValue = "true",
      fallbackValue = "true",
      description = "Apply the Porter stemmer to tokens longer than 3 characters (default: true).")
  boolean stem = true;

  @Option(
      names = "--metrics",
      split = ",",
      paramLabel = "METRIC",
      defaultValue = "rouge1,rouge2,rougeL,rougeLsum",
      converter = RougeTypeConverter.class,
      description =
          "Comma-separated metrics: rouge1..rouge9, rougeL, rougeLsum (default: ${DEFAULT-VALUE}).")
  List<RougeType> metrics;

  @Option(
      names = "--bootstrap-samples",
      defaultValue = "1000",
      description = "Bootstrap resamples for the confidence interval (default: ${DEFAULT-VALUE}).")
  int bootstrapSamples;

  @Option(
      names = "--confidence",
      defaultValue = "0.95",
      description = "Confidence level of the interval (default: ${DEFAULT-VALUE}).")
  double confidence;

  @Option(
      names = "--seed",
      defaultValue = "42",
      description = "Seed of the bootstrap resampling (default: ${DEFAULT-VALUE}).")
  long seed;

  private final InputStream stdin;

  public RougeCommand() {
    this(System.in);
  }

  /**
   * @param stdin the stream read when no input file is given
   */
  public RougeCommand(InputStream stdin) {
    this.stdin = Objects.requireNonNull(stdin, "stdin");
  }

  static final class RougeTypeConverter implements picocli.CommandLine.ITypeConverter<RougeType> {
    @Override
    public RougeType convert(String value) {
      try {
        return RougeType.fromId(value.strip());
      } catch (IllegalArgumentException e) {
        throw new picocli.CommandLine.TypeConversionException(e.getMessage());
      }
    }
  }

  private record Pair(long line, String target, String prediction) {}

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    String source = input == null || input.toString().equals("-") ? "<stdin>" : input.toString();
    if (bootstrapSamples <= 0) {
      err.println("rouge: --bootstrap-samples must be positive");
      return 2;
    }
    if (!(confidence >= 0 && confidence <= 1)) {
      err.println("rouge: --confidence must be in [0, 1]");
      return 2;
    }
    List<Pair> pairs;
    try {
      pairs = readPairs(source);
    } catch (InputException e) {
      err.println("rouge: " + e.getMessage());
      err.flush();
      return 1;
    }
    if (pairs.isEmpty()) {
      err.println("rouge: " + source + ": no input records");
      err.flush();
      return 1;
    }
    RougeScorer scorer = new RougeScorer(new LinkedHashSet<>(metrics), stem);
    BootstrapAggregator aggregator = new BootstrapAggregator(confidence, bootstrapSamples, seed);
    try {
      for (Pair pair : pairs) {
        Map<RougeType, Score> scores = scorer.score(pair.target(), pair.prediction());
        aggregator.add(scores);
        out.println(scoreLine(pair.line(), scores));
      }
      out.println(aggregateLine(aggregator.aggregate(), pairs.size()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    out.flush();
    return 0;
  }

  private static final class InputException extends Exception {
    private static final long serialVersionUID = 1L;

    InputException(String message) {
      super(message);
    }
  }

  private List<Pair> readPairs(String source) throws InputException {
    try (BufferedReader reader = openInput()) {
      List<Pair> pairs = new ArrayList<>();
      String line;
      long number = 0;
      while ((line = reader.readLine()) != null) {
        number++;
        if (line.isBlank()) {
          continue;
        }
        try {
          Map<String, String> fields = JsonLines.parse(line, null, FIELDS);
          pairs.add(new Pair(number, fields.get("target"), fields.get("prediction")));
        } catch (JsonLines.MalformedLineException e) {
          throw new InputException(source + ": line " + number + ": " + e.getMessage());
        }
      }
      return pairs;
    } catch (NoSuchFileException e) {
      throw new InputException(source + ": no such file");
    } catch (CharacterCodingException e) {
      throw new InputException(source + ": input is not valid UTF-8");
    } catch (IOException e) {
      throw new InputException(source + ": " + e.getMessage());
    }
  }

  private BufferedReader openInput() throws IOException {
    InputStream in =
        input == null || input.toString().equals("-") ? stdin : Files.newInputStream(input);
    var decoder =
        StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    return new BufferedReader(new InputStreamReader(in, decoder));
  }

  private static String scoreLine(long line, Map<RougeType, Score> scores) throws IOException {
    StringWriter sw = new StringWriter();
    try (JsonGenerator g = JSON.createGenerator(sw)) {
      g.writeStartObject();
      g.writeNumberField("line", line);
      for (Map.Entry<RougeType, Score> e : scores.entrySet()) {
        g.writeFieldName(e.getKey().id());
        writeScore(g, e.getValue());
      }
      g.writeEndObject();
    }
    return sw.toString();
  }

  private String aggregateLine(Map<RougeType, AggregateScore> aggregate, int count)
      throws IOException {
    StringWriter sw = new StringWriter();
    try (JsonGenerator g = JSON.createGenerator(sw)) {
      g.writeStartObject();
      g.writeObjectFieldStart("aggregate");
      g.writeNumberField("count", count);
      g.writeBooleanField("stem", stem);
      g.writeObjectFieldStart("bootstrap");
      g.writeNumberField("samples", bootstrapSamples);
      g.writeNumberField("confidence", confidence);
      g.writeNumberField("seed", seed);
      g.writeEndObject();
      for (Map.Entry<RougeType, AggregateScore> e : aggregate.entrySet()) {
        AggregateScore a = e.getValue();
        g.writeObjectFieldStart(e.getKey().id());
        g.writeFieldName("mean");
        writeScore(g, a.mean());
        g.writeFieldName("low");
        writeScore(g, a.low());
        g.writeFieldName("mid");
        writeScore(g, a.mid());
        g.writeFieldName("high");
        writeScore(g, a.high());
        g.writeEndObject();
      }
      g.writeEndObject();
      g.writeEndObject();
    }
    return sw.toString();
  }

  private static void writeScore(JsonGenerator g, Score s) throws IOException {
    g.writeStartObject();
    g.writeNumberField("precision", s.precision());
    g.writeNumberField("recall", s.recall());
    g.writeNumberField("fmeasure", s.fmeasure());
    g.writeEndObject();
  }
}
