package dev.finetune.operator.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.finetune.operator.eval.QualityGate.Gate;
import dev.finetune.operator.eval.QualityGate.Result;
import java.util.Map;
import org.junit.jupiter.api.Test;

class QualityGateTest {

  private static final String ROUGE_L = "rougeL";
  private static final String ROUGE1 = "rouge1";
  private static final Map<String, Double> BASE = Map.of(ROUGE_L, 0.231, ROUGE1, 0.30);
  private static final Map<String, Double> TUNED = Map.of(ROUGE_L, 0.412, ROUGE1, 0.31);

  @Test
  void passesBothThresholds() {
    Result r = QualityGate.evaluate(BASE, TUNED, new Gate(ROUGE_L, 0.35, 0.05));
    assertThat(r.passed()).isTrue();
    assertThat(r.message())
        .isEqualTo("rougeL 0.412 >= minScore 0.35 and improvement +0.181 >= +0.05");
  }

  @Test
  void failsOnScore() {
    Result r = QualityGate.evaluate(BASE, TUNED, new Gate(ROUGE_L, 0.5, 0.05));
    assertThat(r.passed()).isFalse();
    assertThat(r.message())
        .isEqualTo("rougeL 0.412 < minScore 0.5 and improvement +0.181 >= +0.05");
  }

  @Test
  void failsOnImprovementOnly() {
    Result r = QualityGate.evaluate(BASE, TUNED, Gate.minImprovement(ROUGE1, 0.05));
    assertThat(r.passed()).isFalse();
    assertThat(r.message()).isEqualTo("rouge1 0.310 (baseline 0.300), improvement +0.010 < +0.05");
  }

  @Test
  void negativeImprovementToleratesBoundedRegression() {
    Result r =
        QualityGate.evaluate(
            Map.of(ROUGE1, 0.40), Map.of(ROUGE1, 0.39), Gate.minImprovement(ROUGE1, -0.02));
    assertThat(r.passed()).isTrue();
    assertThat(r.message()).contains("improvement -0.010 >= -0.02");
  }

  @Test
  void scoreOnlyGateDoesNotNeedBaseline() {
    Result r = QualityGate.evaluate(null, TUNED, Gate.minScore(ROUGE_L, 0.4));
    assertThat(r.passed()).isTrue();
    assertThat(r.message()).isEqualTo("rougeL 0.412 >= minScore 0.4");
  }

  @Test
  void missingScoresFailClosed() {
    assertThat(QualityGate.evaluate(BASE, Map.of(), Gate.minScore(ROUGE_L, 0.1)).passed())
        .isFalse();
    Result r = QualityGate.evaluate(Map.of(), TUNED, Gate.minImprovement(ROUGE_L, 0.0));
    assertThat(r.passed()).isFalse();
    assertThat(r.message()).contains("baseline").contains("missing");
    assertThat(
            QualityGate.evaluate(BASE, Map.of(ROUGE_L, Double.NaN), Gate.minScore(ROUGE_L, 0))
                .passed())
        .isFalse();
  }

  @Test
  void gateNeedsAThreshold() {
    assertThatThrownBy(() -> new Gate(ROUGE_L, null, null))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void requireSignificantPassesOnlyWhenTheIntervalClearsTheBar() {
    Map<String, PairedBootstrap.Interval> ci =
        Map.of(ROUGE_L, new PairedBootstrap.Interval(0.181, 0.09, 0.27));
    Result pass = QualityGate.evaluate(BASE, TUNED, ci, new Gate(ROUGE_L, null, 0.05, true));
    assertThat(pass.passed()).isTrue();
    assertThat(pass.message()).contains("95% interval [+0.090, +0.270] lies above +0.05");
    // Same means, a wide interval: the mean clears +0.05 but the lower end does not.
    Result noisy =
        QualityGate.evaluate(
            BASE,
            TUNED,
            Map.of(ROUGE_L, new PairedBootstrap.Interval(0.181, -0.02, 0.38)),
            new Gate(ROUGE_L, null, 0.05, true));
    assertThat(noisy.passed()).isFalse();
    assertThat(noisy.message())
        .contains("improvement +0.181 >= +0.05")
        .contains("[-0.020, +0.380] does not lie above +0.05")
        .contains("may be chance");
    // Without minImprovement the bar is 0.
    Result zero = QualityGate.evaluate(BASE, TUNED, ci, new Gate(ROUGE_L, 0.1, null, true));
    assertThat(zero.passed()).isTrue();
    assertThat(zero.message()).contains("lies above +0");
    // No interval: fails closed.
    assertThat(
            QualityGate.evaluate(BASE, TUNED, Map.of(), new Gate(ROUGE_L, 0.1, null, true))
                .passed())
        .isFalse();
  }
}
