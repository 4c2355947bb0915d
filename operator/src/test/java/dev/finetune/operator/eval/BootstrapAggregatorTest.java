package dev.finetune.operator.eval;

import static dev.finetune.operator.eval.RougeType.ROUGE1;
import static dev.finetune.operator.eval.RougeType.ROUGE_L;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class BootstrapAggregatorTest {

  @Test
  void meanAndIntervalPerMeasure() {
    BootstrapAggregator agg = new BootstrapAggregator();
    Random rnd = new Random(3);
    double sumF = 0;
    for (int i = 0; i < 500; i++) {
      double p = rnd.nextDouble();
      double r = rnd.nextDouble();
      Score s = Score.of(p, r);
      sumF += s.fmeasure();
      agg.add(Map.of(ROUGE1, s, ROUGE_L, new Score(0.5, 0.5, 0.5)));
    }
    Map<RougeType, AggregateScore> result = agg.aggregate();
    AggregateScore a = result.get(ROUGE1);
    assertThat(a.count()).isEqualTo(500);
    assertThat(a.mean().fmeasure()).isCloseTo(sumF / 500, within(1e-12));
    assertThat(a.low().fmeasure()).isLessThan(a.mean().fmeasure());
    assertThat(a.high().fmeasure()).isGreaterThan(a.mean().fmeasure());
    assertThat(a.mid().fmeasure()).isCloseTo(a.mean().fmeasure(), within(0.01));
    // Standard error of a mean of 500 values in [0, 1] is small.
    assertThat(a.high().fmeasure() - a.low().fmeasure()).isBetween(0.01, 0.1);
    AggregateScore constant = result.get(ROUGE_L);
    assertThat(constant.low()).isEqualTo(new Score(0.5, 0.5, 0.5));
    assertThat(constant.high()).isEqualTo(new Score(0.5, 0.5, 0.5));
    assertThat(result.keySet()).containsExactly(ROUGE1, ROUGE_L);
  }

  @Test
  void seededAndReproducible() {
    BootstrapAggregator a = new BootstrapAggregator(0.9, 200, 7);
    BootstrapAggregator b = new BootstrapAggregator(0.9, 200, 7);
    for (int i = 0; i < 20; i++) {
      Score s = Score.of(i / 20.0, 1 - i / 20.0);
      a.add(Map.of(ROUGE1, s));
      b.add(Map.of(ROUGE1, s));
    }
    assertThat(a.aggregate()).isEqualTo(b.aggregate());
  }

  @Test
  void singleSample() {
    AggregateScore a =
        new BootstrapAggregator().add(Map.of(ROUGE1, Score.of(0.25, 0.5))).aggregate().get(ROUGE1);
    assertThat(a.low()).isEqualTo(a.mean());
    assertThat(a.high()).isEqualTo(a.mean());
    assertThat(new BootstrapAggregator().aggregate()).isEmpty();
  }

  @Test
  void percentileInterpolatesLinearly() {
    double[] v = {1, 2, 3, 4};
    assertThat(BootstrapAggregator.percentile(v, 0)).isEqualTo(1);
    assertThat(BootstrapAggregator.percentile(v, 0.5)).isEqualTo(2.5);
    assertThat(BootstrapAggregator.percentile(v, 1)).isEqualTo(4);
    assertThat(BootstrapAggregator.percentile(v, 0.025)).isCloseTo(1.075, within(1e-12));
  }

  @Test
  void validatesArguments() {
    assertThatThrownBy(() -> new BootstrapAggregator(1.5, 10, 1))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new BootstrapAggregator(0.95, 0, 1))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
