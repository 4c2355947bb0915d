package dev.finetune.operator.eval;

import static dev.finetune.operator.eval.RougeType.ROUGE1;
import static dev.finetune.operator.eval.RougeType.ROUGE2;
import static dev.finetune.operator.eval.RougeType.ROUGE3;
import static dev.finetune.operator.eval.RougeType.ROUGE_L;
import static dev.finetune.operator.eval.RougeType.ROUGE_LSUM;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** Expected values were computed with rouge-score 0.1.2. */
class RougeScorerTest {

  private final RougeScorer scorer = RougeScorer.standard(true);

  private static void assertScore(Score s, double p, double r, double f) {
    assertThat(s.precision()).isEqualTo(p);
    assertThat(s.recall()).isEqualTo(r);
    assertThat(s.fmeasure()).isEqualTo(f);
  }

  @Test
  void quickBrownFox() {
    Map<RougeType, Score> s =
        scorer.score(
            "The quick brown fox jumps over the lazy dog", "The quick brown dog jumps on the log.");
    assertScore(s.get(ROUGE1), 0.75, 0.6666666666666666, 0.7058823529411765);
    assertScore(s.get(ROUGE2), 0.2857142857142857, 0.25, 0.26666666666666666);
    assertScore(s.get(ROUGE_L), 0.625, 0.5555555555555556, 0.5882352941176471);
    assertScore(s.get(ROUGE_LSUM), 0.625, 0.5555555555555556, 0.5882352941176471);
    assertThat(s.keySet()).containsExactly(ROUGE1, ROUGE2, ROUGE_L, ROUGE_LSUM);
  }

  @Test
  void ngramCountsAreClipped() {
    Map<RougeType, Score> s = scorer.score("a a b", "a a a a");
    // rouge1: min(2, 4) matches of "a"; rouge2: min(1, 3) matches of "a a".
    assertScore(s.get(ROUGE1), 0.5, 0.6666666666666666, 0.5714285714285715);
    assertScore(s.get(ROUGE2), 0.3333333333333333, 0.5, 0.4);
  }

  @Test
  void higherOrderNgrams() {
    RougeScorer r3 = new RougeScorer(Set.of(ROUGE3), false);
    Score s = r3.score("a b c d a b c", "a b c a b c d").get(ROUGE3);
    // target 3-grams: abc x2, bcd, cda, dab; prediction: abc x2, bca, cab, bcd.
    assertScore(s, 0.6, 0.6, Score.fmeasure(0.6, 0.6));
  }

  @Test
  void emptySidesScoreZero() {
    for (String[] pair :
        new String[][] {{"the cat", ""}, {"", "the cat"}, {"", ""}, {"...", "!"}}) {
      Map<RougeType, Score> s = scorer.score(pair[0], pair[1]);
      for (Score v : s.values()) {
        assertThat(v).isEqualTo(Score.ZERO);
      }
    }
  }

  @Test
  void shortNgramSidesUseMaxOneDenominator() {
    // One-token texts have no bigrams: precision and recall are 0/max(0, 1) = 0.
    assertThat(scorer.score("cat", "cat").get(ROUGE2)).isEqualTo(Score.ZERO);
    assertScore(scorer.score("cat", "cat").get(ROUGE1), 1.0, 1.0, 1.0);
  }

  @Test
  void fmeasureIsZeroWhenPrecisionAndRecallAreZero() {
    assertThat(Score.fmeasure(0, 0)).isZero();
    assertThat(Score.of(0.5, 0.25).fmeasure()).isEqualTo(2 * 0.5 * 0.25 / (0.5 + 0.25));
  }

  @Test
  void rougeLsumUsesUnionLcsPerReferenceSentence() {
    // The example of the ROUGE paper (section 3.2): union LCS of r with c1 and c2 is w1 w2 w3 w5.
    Map<RougeType, Score> s = scorer.score("w1 w2 w3 w4 w5", "w1 w2 w6 w7 w8\nw1 w3 w8 w9 w5");
    assertScore(s.get(ROUGE_LSUM), 0.4, 0.8, 0.5333333333333333);
  }

  @Test
  void rougeLsumCountsEachTokenAtMostAsOftenAsItOccurs() {
    Map<RougeType, Score> s = scorer.score("a b c\nb c a", "c b a\na b");
    assertScore(s.get(ROUGE_L), 0.6, 0.5, 0.5454545454545454);
    assertScore(s.get(ROUGE_LSUM), 0.8, 0.6666666666666666, 0.7272727272727272);
  }

  @Test
  void rougeLsumIgnoresSentenceOrder() {
    Map<RougeType, Score> s =
        scorer.score("First sentence.\nSecond Sentence.", "Second sentence.\nFirst Sentence.");
    assertThat(s.get(ROUGE_LSUM).fmeasure()).isEqualTo(1.0);
  }

  @Test
  void bitParallelLcsMatchesDynamicProgramming() {
    Random rnd = new Random(1);
    for (int iter = 0; iter < 2000; iter++) {
      int vocab = 1 + rnd.nextInt(iter % 3 == 0 ? 3 : 40);
      int[] a = random(rnd, rnd.nextInt(iter % 5 == 0 ? 300 : 70), vocab);
      int[] b = random(rnd, rnd.nextInt(iter % 7 == 0 ? 300 : 70), vocab);
      assertThat(RougeScorer.lcsLength(a, b, vocab))
          .as("iteration %d", iter)
          .isEqualTo(RougeScorer.lcsLengthDp(a, b));
    }
  }

  @Test
  void rougeLsumEqualsRougeLForSingleLineTexts() {
    // With one sentence per side the union LCS is a single LCS, so both measures coincide; this
    // also exercises long sentences (thousands of tokens).
    Random rnd = new Random(5);
    String[] words = {"the", "cat", "sat", "on", "mat", "running", "runs", "dog", "a", "news"};
    for (int iter = 0; iter < 50; iter++) {
      int n = iter < 3 ? 3000 : rnd.nextInt(200);
      StringBuilder t = new StringBuilder();
      StringBuilder p = new StringBuilder();
      for (int i = 0; i < n; i++) {
        t.append(words[rnd.nextInt(words.length)]).append(' ');
        p.append(words[rnd.nextInt(words.length)]).append(' ');
      }
      Map<RougeType, Score> s = scorer.score(t.toString(), p.toString());
      assertThat(s.get(ROUGE_LSUM)).as("iteration %d", iter).isEqualTo(s.get(ROUGE_L));
    }
  }

  @Test
  void lcsTableReadsOutTheSameLcsAsRougeScore() {
    // _backtrack_norec on ref=[a b c], can=[c b a] walks to "a"... prefers moving up on ties.
    boolean[] marked = new boolean[3];
    int added =
        new RougeScorer.LcsTable().markLcs(new int[] {0, 1, 2}, new int[] {2, 1, 0}, marked);
    assertThat(added).isEqualTo(1);
    assertThat(marked).containsExactly(true, false, false);
  }

  @Test
  void tokensAreInternedPerCall() {
    // Same words across calls and threads must not leak ids or counts between calls.
    RougeScorer s = RougeScorer.standard(true);
    Score first = s.score("cats running", "cat runs").get(ROUGE1);
    s.score("entirely different words here", "more unrelated content");
    assertThat(s.score("cats running", "cat runs").get(ROUGE1)).isEqualTo(first);
    assertScore(first, 1.0, 1.0, 1.0);
  }

  @Test
  void threadSafe() throws Exception {
    RougeScorer s = RougeScorer.standard(true);
    List<String[]> pairs =
        List.of(
            new String[] {"the quick brown fox", "the quick dog"},
            new String[] {"dying skies\nnews today", "lying sky\ntoday news"},
            new String[] {"a a a b b", "b a b a"});
    List<Map<RougeType, Score>> expected = pairs.stream().map(p -> s.score(p[0], p[1])).toList();
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<Boolean>> futures =
          java.util.stream.IntStream.range(0, 8)
              .mapToObj(
                  t ->
                      pool.submit(
                          () -> {
                            for (int i = 0; i < 500; i++) {
                              int k = (i + t) % pairs.size();
                              if (!s.score(pairs.get(k)[0], pairs.get(k)[1])
                                  .equals(expected.get(k))) {
                                return false;
                              }
                            }
                            return true;
                          }))
              .toList();
      for (Future<Boolean> f : futures) {
        assertThat(f.get()).isTrue();
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void typesParseFromRougeScoreNames() {
    assertThat(RougeType.fromId("rougeLsum")).isEqualTo(ROUGE_LSUM);
    assertThat(RougeType.fromId("rouge2")).isEqualTo(ROUGE2);
    assertThat(RougeType.fromId("ROUGE_L")).isEqualTo(ROUGE_L);
    assertThatThrownBy(() -> RougeType.fromId("rouge0"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("Invalid rouge type: rouge0");
    assertThatThrownBy(() -> new RougeScorer(Set.of(), true))
        .isInstanceOf(IllegalArgumentException.class);
  }

  private static int[] random(Random rnd, int n, int vocab) {
    int[] out = new int[n];
    for (int i = 0; i < n; i++) {
      out[i] = rnd.nextInt(vocab);
    }
    return out;
  }
}
