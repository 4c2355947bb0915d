package dev.finetune.operator.eval;

/**
 * Precision, recall and F-measure of one ROUGE type, as {@code rouge_score.scoring.Score}.
 *
 * @param precision matches / prediction size (0 when the prediction is empty)
 * @param recall matches / target size (0 when the target is empty)
 * @param fmeasure harmonic mean of precision and recall (0 when both are 0)
 */
public record Score(double precision, double recall, double fmeasure) {

  public static final Score ZERO = new Score(0, 0, 0);

  /** Builds a score from precision and recall, computing the F-measure like {@code rouge-score}. */
  public static Score of(double precision, double recall) {
    return new Score(precision, recall, fmeasure(precision, recall));
  }

  /**
   * {@code rouge_score.scoring.fmeasure}: {@code 2 * p * r / (p + r)}, evaluated in the same order
   * so results are bit-identical, and 0 when {@code p + r} is not positive.
   */
  public static double fmeasure(double precision, double recall) {
    if (precision + recall > 0) {
      return 2 * precision * recall / (precision + recall);
    }
    return 0.0;
  }
}
