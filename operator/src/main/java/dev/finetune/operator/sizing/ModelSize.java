package dev.finetune.operator.sizing;

import java.math.BigDecimal;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What sizing knows about a model: its parameter count and its architecture, either read from
 * {@code config.json} or, for a bare hint like {@code 7B}, borrowed from the nearest reference
 * architecture.
 *
 * @param params parameter count
 * @param config the architecture used for activation and adapter estimates
 * @param exact whether {@code config} is the model's own
 */
public record ModelSize(long params, ModelConfig config, boolean exact) {

  private static final Pattern HINT =
      Pattern.compile("(?i)\\s*(\\d+(?:\\.\\d+)?)\\s*([kmbt])?\\s*(?:params)?\\s*");

  /**
   * Public configurations of common open models, smallest first, used when only a parameter count
   * is known: Gemma 3 270M, Qwen2.5 0.5B / 1.5B, Llama 3.2 3B, Llama 2 7B, Llama 2 13B, Yi 34B,
   * Llama 3 70B.
   */
  static final List<ModelConfig> REFERENCES =
      List.of(
          new ModelConfig("gemma3_text", 262_144, 640, 2_048, 18, 4, 1, 256, true, false),
          new ModelConfig("qwen2", 151_936, 896, 4_864, 24, 14, 2, 64, true, true),
          new ModelConfig("qwen2", 151_936, 1_536, 8_960, 28, 12, 2, 128, true, true),
          new ModelConfig("llama", 128_256, 3_072, 8_192, 28, 24, 8, 128, true, false),
          new ModelConfig("llama", 32_000, 4_096, 11_008, 32, 32, 32, 128, false, false),
          new ModelConfig("llama", 32_000, 5_120, 13_824, 40, 40, 40, 128, false, false),
          new ModelConfig("llama", 64_000, 7_168, 20_480, 60, 56, 8, 128, false, false),
          new ModelConfig("llama", 128_256, 8_192, 28_672, 80, 64, 8, 128, false, false));

  public static ModelSize of(ModelConfig config) {
    return new ModelSize(config.paramCount(), config, true);
  }

  /** Parses {@code 7B}, {@code 1.5B}, {@code 270M}, {@code 7000000000}. */
  public static ModelSize fromHint(String hint) {
    Matcher m = HINT.matcher(hint == null ? "" : hint);
    if (!m.matches()) {
      throw new IllegalArgumentException(
          "cannot read a parameter count from \"" + hint + "\"; use e.g. 7B, 1.5B or 270M");
    }
    BigDecimal n = new BigDecimal(m.group(1));
    String unit = m.group(2) == null ? "" : m.group(2).toUpperCase(Locale.ROOT);
    long mult =
        switch (unit) {
          case "K" -> 1_000L;
          case "M" -> 1_000_000L;
          case "B" -> 1_000_000_000L;
          case "T" -> 1_000_000_000_000L;
          default -> 1L;
        };
    long params = n.multiply(BigDecimal.valueOf(mult)).longValue();
    if (params < 1_000_000) {
      throw new IllegalArgumentException("model of " + params + " parameters is too small to size");
    }
    return new ModelSize(params, nearestReference(params), false);
  }

  /** Index of the reference whose parameter count is nearest on a log scale. */
  static int nearestIndex(long params) {
    int best = 0;
    double bestDist = Double.MAX_VALUE;
    for (int i = 0; i < REFERENCES.size(); i++) {
      double d = Math.abs(Math.log((double) REFERENCES.get(i).paramCount() / params));
      if (d < bestDist) {
        bestDist = d;
        best = i;
      }
    }
    return best;
  }

  static ModelConfig nearestReference(long params) {
    return REFERENCES.get(nearestIndex(params));
  }

  /** Parameters in billions, e.g. 6.74. */
  public double billions() {
    return params / 1e9;
  }
}
