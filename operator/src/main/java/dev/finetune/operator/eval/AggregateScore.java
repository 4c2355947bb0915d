package dev.finetune.operator.eval;

/**
 * Corpus-level result for one ROUGE type.
 *
 * @param count number of scored pairs
 * @param mean arithmetic mean of precision, recall and F-measure over the pairs
 * @param low lower bound of the bootstrap confidence interval of the mean
 * @param mid median of the bootstrap sample means (rouge-score's {@code mid})
 * @param high upper bound of the bootstrap confidence interval of the mean
 */
public record AggregateScore(int count, Score mean, Score low, Score mid, Score high) {}
