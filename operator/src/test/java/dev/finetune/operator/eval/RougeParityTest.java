package dev.finetune.operator.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Compares {@link RougeScorer} and {@link PorterStemmer} with the reference Python packages ({@code
 * rouge-score} and NLTK) on a deterministic generated corpus.
 *
 * <p>The Python interpreter comes from {@code ROUGE_PYTHON} or from {@code
 * hack/rouge-parity/setup.sh}, which creates a cached virtualenv. Without Python the test is
 * skipped locally but fails when {@code CI=true}.
 */
class RougeParityTest {

  private static final double TOLERANCE = 1e-12;
  private static final int PAIRS = 2000;
  private static final long SEED = 20240611L;
  private static final List<RougeType> TYPES =
      List.of(RougeType.ROUGE1, RougeType.ROUGE2, RougeType.ROUGE_L, RougeType.ROUGE_LSUM);

  @TempDir static Path work;

  private static Path parityDir;
  private static String python;
  private static List<String[]> corpus;
  private static Path expected;

  @BeforeAll
  static void generateCorpusAndReferenceScores() throws Exception {
    parityDir = findParityDir();
    python = findPython(parityDir);
    Path corpusFile = work.resolve("corpus.jsonl");
    run(
        python,
        parityDir.resolve("gen_corpus.py").toString(),
        "--seed",
        Long.toString(SEED),
        "--pairs",
        Integer.toString(PAIRS),
        "--out",
        corpusFile.toString());
    corpus = readCorpus(corpusFile);
    assertThat(corpus).hasSize(PAIRS);
    expected = work.resolve("expected.jsonl");
    run(
        python,
        parityDir.resolve("reference_scores.py").toString(),
        "--corpus",
        corpusFile.toString(),
        "--out",
        expected.toString());
  }

  @Test
  void scoresMatchRougeScoreWithStemming() throws IOException {
    assertParity(true, "stem");
  }

  @Test
  void scoresMatchRougeScoreWithoutStemming() throws IOException {
    assertParity(false, "nostem");
  }

  @Test
  void stemsMatchNltk() throws Exception {
    TreeSet<String> words = new TreeSet<>();
    RougeTokenizer raw = new RougeTokenizer(false);
    for (String[] pair : corpus) {
      words.addAll(raw.tokenize(pair[0]));
      words.addAll(raw.tokenize(pair[1]));
    }
    words.addAll(syntheticWords(new Random(SEED), 30_000));
    Path wordsFile = work.resolve("words.txt");
    Files.write(wordsFile, words, StandardCharsets.UTF_8);
    Path stemsFile = work.resolve("stems.tsv");
    run(
        python,
        parityDir.resolve("reference_scores.py").toString(),
        "--stems",
        wordsFile.toString(),
        stemsFile.toString());
    PorterStemmer stemmer = new PorterStemmer();
    List<String> mismatches = new ArrayList<>();
    int compared = 0;
    for (String line : Files.readAllLines(stemsFile, StandardCharsets.UTF_8)) {
      String[] parts = line.split("\t", -1);
      compared++;
      String actual = stemmer.stem(parts[0]);
      if (!actual.equals(parts[1])) {
        mismatches.add(parts[0] + ": nltk=" + parts[1] + " java=" + actual);
      }
    }
    assertThat(compared).isEqualTo(words.size());
    assertThat(mismatches).as("stems differing from NLTK (of %d words)", compared).isEmpty();
  }

  private static void assertParity(boolean stem, String key) throws IOException {
    RougeScorer scorer = new RougeScorer(TYPES, stem);
    ObjectMapper mapper = new ObjectMapper();
    List<String> mismatches = new ArrayList<>();
    int compared = 0;
    try (BufferedReader reader = Files.newBufferedReader(expected, StandardCharsets.UTF_8)) {
      for (int i = 0; i < corpus.size(); i++) {
        JsonNode want = mapper.readTree(reader.readLine()).get(key);
        Map<RougeType, Score> got = scorer.score(corpus.get(i)[0], corpus.get(i)[1]);
        for (RougeType type : TYPES) {
          JsonNode w = want.get(type.id());
          Score g = got.get(type);
          double[] gv = {g.precision(), g.recall(), g.fmeasure()};
          String[] names = {"precision", "recall", "fmeasure"};
          for (int k = 0; k < 3; k++) {
            compared++;
            double wv = w.get(k).asDouble();
            if (!(Math.abs(wv - gv[k]) <= TOLERANCE)) {
              mismatches.add(
                  String.format(
                      "pair %d %s %s: rouge-score=%s java=%s%n  target=%s%n  prediction=%s",
                      i,
                      type.id(),
                      names[k],
                      wv,
                      gv[k],
                      mapper.writeValueAsString(corpus.get(i)[0]),
                      mapper.writeValueAsString(corpus.get(i)[1])));
            }
          }
        }
      }
      assertThat(reader.readLine()).as("extra expected lines").isNull();
    }
    assertThat(compared).isEqualTo(PAIRS * TYPES.size() * 3);
    assertThat(mismatches.subList(0, Math.min(10, mismatches.size())))
        .as("%d of %d values differ from rouge-score (first 10 shown)", mismatches.size(), compared)
        .isEmpty();
  }

  /** Random words ending in the suffixes the stemmer rules look at. */
  static List<String> syntheticWords(Random rnd, int count) {
    String[] suffixes = {
      "", "s", "es", "ies", "sses", "ss", "ed", "ied", "eed", "ing", "ly", "y", "yy", "ational",
      "tional", "enci", "anci", "izer", "bli", "abli", "alli", "entli", "eli", "ousli", "ization",
      "ation", "ator", "alism", "iveness", "fulness", "ousness", "aliti", "iviti", "biliti",
      "fulli", "logi", "ogi", "icate", "ative", "alize", "iciti", "ical", "ful", "ness", "al",
      "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent", "ion", "sion",
      "tion", "ou", "ism", "ate", "iti", "ous", "ive", "ize", "e", "ll", "at", "bl", "iz", "ating",
      "ated", "bling", "izing", "lled", "lling", "ying", "yed"
    };
    String letters = "abcdefghijklmnopqrstuvwxyzaeiouyylsz0123456789";
    List<String> out = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      int len = rnd.nextInt(7);
      StringBuilder sb = new StringBuilder();
      for (int k = 0; k < len; k++) {
        sb.append(letters.charAt(rnd.nextInt(rnd.nextInt(10) == 0 ? letters.length() : 36)));
      }
      sb.append(suffixes[rnd.nextInt(suffixes.length)]);
      if (rnd.nextInt(4) == 0) {
        sb.append(suffixes[rnd.nextInt(suffixes.length)]);
      }
      if (sb.length() > 0) {
        out.add(sb.toString());
      }
    }
    return out;
  }

  private static List<String[]> readCorpus(Path file) throws IOException {
    ObjectMapper mapper = new ObjectMapper();
    List<String[]> out = new ArrayList<>();
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      JsonNode node = mapper.readTree(line);
      out.add(new String[] {node.get("target").asText(), node.get("prediction").asText()});
    }
    return out;
  }

  private static Path findParityDir() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null) {
      Path candidate = dir.resolve("hack").resolve("rouge-parity");
      if (Files.isRegularFile(candidate.resolve("setup.sh"))) {
        return candidate;
      }
      dir = dir.getParent();
    }
    throw new IllegalStateException(
        "hack/rouge-parity not found above " + Path.of("").toAbsolutePath());
  }

  private static String findPython(Path parityDir) {
    String fromEnv = System.getenv("ROUGE_PYTHON");
    if (fromEnv != null && !fromEnv.isBlank()) {
      return fromEnv;
    }
    String failure;
    try {
      String out = run("bash", parityDir.resolve("setup.sh").toString());
      String[] lines = out.strip().split("\n");
      String candidate = lines[lines.length - 1].strip();
      if (Files.isExecutable(Path.of(candidate))) {
        return candidate;
      }
      failure = "setup.sh printed no usable interpreter: " + out;
    } catch (RuntimeException e) {
      failure = e.getMessage();
    }
    String message =
        "No Python with rouge-score available (set ROUGE_PYTHON or make hack/rouge-parity/setup.sh"
            + " work): "
            + failure;
    if ("true".equalsIgnoreCase(System.getenv("CI"))) {
      fail(message);
    }
    Assumptions.abort(message);
    throw new AssertionError("unreachable");
  }

  /** Runs a command, returning stdout; stderr is inherited so setup progress is visible. */
  private static String run(String... command) {
    try {
      Process process =
          new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
      process.getOutputStream().close();
      byte[] stdout;
      try (InputStream in = process.getInputStream()) {
        stdout = in.readAllBytes();
      }
      if (!process.waitFor(15, TimeUnit.MINUTES)) {
        process.destroyForcibly();
        throw new IllegalStateException("timed out: " + String.join(" ", command));
      }
      String out = new String(stdout, StandardCharsets.UTF_8);
      if (process.exitValue() != 0) {
        throw new IllegalStateException(
            "exit " + process.exitValue() + ": " + String.join(" ", command) + "\n" + out);
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
