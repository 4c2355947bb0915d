package dev.finetune.operator.cli;

import dev.finetune.operator.cli.ScoreCommand.CommandException;
import dev.finetune.operator.eval.EvalMetric;
import dev.finetune.operator.eval.HtmlReport;
import dev.finetune.operator.eval.JsonSchemaCheck;
import dev.finetune.operator.eval.PairedBootstrap;
import dev.finetune.operator.eval.PredictionJoin;
import dev.finetune.operator.eval.Scoreboard;
import dev.finetune.operator.eval.TrainingHistory;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code report}: the evaluation report the operator writes to a job's output prefix, rendered from
 * local files: a copy of the output prefix ({@code predictions/baseline.jsonl}, {@code
 * predictions/tuned.jsonl}, {@code metrics.jsonl}) or files named one by one.
 */
@Command(
    name = "report",
    mixinStandardHelpOptions = true,
    description = {
      "Renders the evaluation report (one self-contained HTML file) from local prediction files,"
          + " e.g. a copy of a job's output prefix: gsutil cp -r gs://bucket/runs/job/ run/ &&"
          + " finetune report run/ -o report.html"
    },
    exitCodeOnInvalidInput = 2,
    exitCodeOnExecutionException = 1)
public class ReportCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Parameters(
      index = "0",
      arity = "0..1",
      paramLabel = "DIR",
      description =
          "A copy of the output prefix: DIR/predictions/{baseline,tuned}.jsonl and"
              + " DIR/metrics.jsonl (default: the current directory).")
  Path dir;

  @Option(names = "--baseline", paramLabel = "FILE", description = "Baseline predictions JSONL.")
  Path baseline;

  @Option(names = "--tuned", paramLabel = "FILE", description = "Tuned predictions JSONL.")
  Path tuned;

  @Option(
      names = "--history",
      paramLabel = "FILE",
      description = "The trainer's metrics.jsonl (loss curve); optional.")
  Path history;

  @Option(
      names = {"-o", "--output"},
      paramLabel = "FILE",
      defaultValue = "report.html",
      description = "Where to write the HTML (default: ${DEFAULT-VALUE}).")
  Path output;

  @Option(
      names = "--metrics",
      split = ",",
      paramLabel = "METRIC",
      defaultValue = "rouge1,rouge2,rougeL,rougeLsum,exactMatch,jsonValid,jsonFieldMatch",
      converter = ScoreCommand.MetricConverter.class,
      description = "Comma-separated metrics (default: ${DEFAULT-VALUE}).")
  List<EvalMetric> metrics;

  @Option(
      names = "--focus",
      paramLabel = "METRIC",
      converter = ScoreCommand.MetricConverter.class,
      description =
          "Metric that picks the examples shown (default: rougeL if scored, else the first).")
  EvalMetric focus;

  @Option(
      names = "--schema",
      paramLabel = "FILE",
      description = "JSON Schema (draft 2020-12) for the jsonSchema metric.")
  Path schema;

  @Option(names = "--title", description = "Page title (default: the directory name).")
  String title;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    Path base = dir == null ? Path.of(".") : dir;
    Path b = baseline != null ? baseline : base.resolve("predictions/baseline.jsonl");
    Path t = tuned != null ? tuned : base.resolve("predictions/tuned.jsonl");
    Path h = history != null ? history : base.resolve("metrics.jsonl");
    try {
      JsonSchemaCheck check = ScoreCommand.schema("report", metrics, schema);
      PredictionJoin.Result joined;
      try (Reader br = Files.newBufferedReader(b, StandardCharsets.UTF_8);
          Reader tr = Files.newBufferedReader(t, StandardCharsets.UTF_8)) {
        joined = PredictionJoin.join(br, tr);
      } catch (NoSuchFileException e) {
        throw new CommandException("report: " + e.getFile() + ": no such file");
      } catch (IOException e) {
        throw new CommandException("report: " + e.getMessage());
      }
      List<PredictionJoin.Problem> malformed =
          joined.problems().stream()
              .filter(p -> p.kind() == PredictionJoin.Kind.MALFORMED)
              .toList();
      if (!malformed.isEmpty()) {
        throw new CommandException("report: " + malformed.get(0));
      }
      if (joined.rows().isEmpty()) {
        throw new CommandException(
            "report: no prediction could be matched by id in " + b + " and " + t);
      }
      TrainingHistory th = TrainingHistory.empty();
      if (Files.exists(h)) {
        try (Reader r = Files.newBufferedReader(h, StandardCharsets.UTF_8)) {
          th = TrainingHistory.read(r);
        } catch (IOException e) {
          throw new CommandException("report: " + h + ": " + e.getMessage());
        }
      } else if (history != null) {
        throw new CommandException("report: " + h + ": no such file");
      }
      Scoreboard board =
          Scoreboard.score(
              joined.rows().stream().map(Scoreboard.Example::of).toList(),
              metrics,
              true,
              check,
              new PairedBootstrap());
      EvalMetric f = focus != null ? focus : EvalMetric.ROUGE_L;
      String notes =
          joined.problems().isEmpty()
              ? null
              : joined.problems().size()
                  + " problem(s) in the predictions, first: "
                  + joined.problems().get(0);
      String name =
          title != null ? title : String.valueOf(base.toAbsolutePath().normalize().getFileName());
      byte[] html =
          HtmlReport.renderBytes(
              new HtmlReport.Data(
                  name, board, HtmlReport.focus(board.metrics(), f), null, notes, th));
      try {
        Files.write(output, html);
      } catch (IOException e) {
        throw new CommandException("report: " + output + ": " + e.getMessage());
      }
      out.println(
          "wrote "
              + output
              + " ("
              + board.examples().size()
              + " examples, "
              + html.length
              + " bytes)");
      out.flush();
      return 0;
    } catch (CommandException e) {
      err.println(e.getMessage());
      err.flush();
      return 1;
    }
  }
}
