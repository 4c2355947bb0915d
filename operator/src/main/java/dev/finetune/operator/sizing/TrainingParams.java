package dev.finetune.operator.sizing;

/**
 * Training settings that drive memory.
 *
 * @param method LoRA or QLoRA
 * @param microBatchSize sequences per GPU per step
 * @param seqLen tokens per sequence
 * @param loraRank LoRA rank r (adapters on all attention and MLP projections)
 */
public record TrainingParams(TrainingMethod method, int microBatchSize, int seqLen, int loraRank) {

  public TrainingParams {
    if (microBatchSize < 1 || seqLen < 1 || loraRank < 1) {
      throw new IllegalArgumentException("batch size, sequence length and rank must be >= 1");
    }
  }

  public static TrainingParams of(TrainingMethod method) {
    return new TrainingParams(method, 1, 2048, 16);
  }
}
