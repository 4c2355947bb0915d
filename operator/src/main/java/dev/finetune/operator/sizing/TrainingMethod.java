package dev.finetune.operator.sizing;

import java.util.Locale;

/** How the base model is held during fine-tuning. */
public enum TrainingMethod {
  /** LoRA adapters on a bfloat16 base model. Needs native bf16 (not T4). */
  LORA("LoRA bf16"),
  /** LoRA adapters on a 4-bit NF4 base model (bitsandbytes), bf16 or fp16 compute. */
  QLORA("QLoRA 4-bit");

  private final String label;

  TrainingMethod(String label) {
    this.label = label;
  }

  public String label() {
    return label;
  }

  public static TrainingMethod parse(String s) {
    return switch (s == null ? "" : s.trim().toLowerCase(Locale.ROOT)) {
      case "lora" -> LORA;
      case "qlora" -> QLORA;
      default -> throw new IllegalArgumentException("method must be lora or qlora, not " + s);
    };
  }
}
