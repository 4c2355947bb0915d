package dev.finetune.operator.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Single-threaded ROUGE throughput over a JSONL corpus of {@code {"target", "prediction"}} pairs
 * (rouge1, rouge2, rougeL, rougeLsum with stemming). One operation scores the whole corpus, so
 * pairs/s = ops/s * number of pairs. Run through {@code hack/bench/rouge-bench.sh}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Threads(1)
@Fork(1)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
public class RougeBenchmark {

  @Param({""})
  public String corpus;

  @Param({"true"})
  public boolean stem;

  private String[] targets;
  private String[] predictions;
  private RougeScorer scorer;

  @Setup
  public void load() throws IOException {
    if (corpus.isEmpty()) {
      throw new IllegalStateException("pass -p corpus=<path to JSONL corpus>");
    }
    ObjectMapper mapper = new ObjectMapper();
    List<String> t = new ArrayList<>();
    List<String> p = new ArrayList<>();
    for (String line : Files.readAllLines(Path.of(corpus), StandardCharsets.UTF_8)) {
      JsonNode node = mapper.readTree(line);
      t.add(node.get("target").asText());
      p.add(node.get("prediction").asText());
    }
    targets = t.toArray(String[]::new);
    predictions = p.toArray(String[]::new);
    scorer =
        new RougeScorer(
            List.of(RougeType.ROUGE1, RougeType.ROUGE2, RougeType.ROUGE_L, RougeType.ROUGE_LSUM),
            stem);
  }

  /** Scores every pair of the corpus once. */
  @Benchmark
  public void scoreCorpus(Blackhole bh) {
    for (int i = 0; i < targets.length; i++) {
      Map<RougeType, Score> s = scorer.score(targets[i], predictions[i]);
      bh.consume(s);
    }
  }
}
