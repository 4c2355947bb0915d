package dev.finetune.operator.eval;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class PairedBootstrapTest {

  @Test
  void reproducibleWithTheSeedAndDifferentWithAnother() {
    double[][] d = noisy(40, 0.02, 7);
    PairedBootstrap.Interval a = new PairedBootstrap(1000, 0.95, 42).interval(d[0], d[1]);
    PairedBootstrap.Interval b = new PairedBootstrap(1000, 0.95, 42).interval(d[0], d[1]);
    PairedBootstrap.Interval c = new PairedBootstrap(1000, 0.95, 43).interval(d[0], d[1]);
    assertThat(b).isEqualTo(a);
    assertThat(c.low()).isNotEqualTo(a.low());
    assertThat(c.mean()).isEqualTo(a.mean());
  }

  @Test
  void anObviousImprovementIsSignificant() {
    int n = 200;
    double[] base = new double[n];
    double[] tuned = new double[n];
    SplittableRandom r = new SplittableRandom(1);
    for (int i = 0; i < n; i++) {
      base[i] = 0.2 + 0.1 * r.nextDouble();
      tuned[i] = 0.7 + 0.1 * r.nextDouble();
    }
    PairedBootstrap.Interval ci = new PairedBootstrap().interval(tuned, base);
    assertThat(ci.mean()).isBetween(0.45, 0.55);
    assertThat(ci.low()).isGreaterThan(0.4);
    assertThat(ci.high()).isLessThan(0.6);
    assertThat(ci.low()).isLessThanOrEqualTo(ci.mean());
    assertThat(ci.high()).isGreaterThanOrEqualTo(ci.mean());
  }

  @Test
  void aSmallNoisyImprovementOnFortyExamplesIsNot() {
    // +0.02 on average, but each example moves by up to +-0.5: chance cannot be ruled out.
    double[][] d = noisy(40, 0.02, 11);
    PairedBootstrap.Interval ci = new PairedBootstrap().interval(d[0], d[1]);
    assertThat(ci.low()).isLessThan(0);
    assertThat(ci.high()).isGreaterThan(0);
  }

  @Test
  void pairingRemovesTheSpreadOfExampleDifficulty() {
    // Examples vary from 0 to 1 in difficulty, but tuned is always exactly 0.01 better: the
    // paired interval is a point, however spread out the scores are.
    int n = 50;
    double[] base = new double[n];
    double[] tuned = new double[n];
    for (int i = 0; i < n; i++) {
      base[i] = i / (double) n * 0.98;
      tuned[i] = base[i] + 0.01;
    }
    PairedBootstrap.Interval ci = new PairedBootstrap().interval(tuned, base);
    assertThat(ci.low()).isCloseTo(0.01, org.assertj.core.data.Offset.offset(1e-9));
    assertThat(ci.high()).isCloseTo(0.01, org.assertj.core.data.Offset.offset(1e-9));
  }

  /** Tuned = baseline + shift + uniform noise in [-0.5, 0.5], centred so the mean is exact. */
  static double[][] noisy(int n, double shift, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    double[] base = new double[n];
    double[] noise = new double[n];
    double mean = 0;
    for (int i = 0; i < n; i++) {
      base[i] = 0.3 + 0.2 * r.nextDouble();
      noise[i] = r.nextDouble() - 0.5;
      mean += noise[i] / n;
    }
    double[] tuned = new double[n];
    for (int i = 0; i < n; i++) {
      tuned[i] = base[i] + shift + noise[i] - mean;
    }
    return new double[][] {tuned, base};
  }
}
