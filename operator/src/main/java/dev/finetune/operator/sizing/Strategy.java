package dev.finetune.operator.sizing;

/** How the trainer spreads one job over the GPUs of its node. */
public enum Strategy {
  /** Data parallel replicas: every GPU holds the whole model; more GPUs add speed, not memory. */
  DDP("ddp"),
  /**
   * Fully sharded data parallel: weights, gradients and optimizer states are split over the GPUs
   * and each decoder layer is gathered only while it runs, so several GPUs hold a model none of
   * them holds alone.
   */
  FSDP("fsdp");

  private final String wireName;

  Strategy(String wireName) {
    this.wireName = wireName;
  }

  /** As written in status.hardware.strategy and the trainer config: {@code ddp} or {@code fsdp}. */
  public String wireName() {
    return wireName;
  }
}
