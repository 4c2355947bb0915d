package dev.finetune.operator.sizing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.util.Locale;

/**
 * The architecture fields of a decoder-only transformer's Hugging Face {@code config.json} (Llama,
 * Mistral, Qwen2, Gemma style: gated MLP, grouped-query attention).
 */
public record ModelConfig(
    String modelType,
    long vocabSize,
    long hiddenSize,
    long intermediateSize,
    int numHiddenLayers,
    int numAttentionHeads,
    int numKeyValueHeads,
    int headDim,
    boolean tieWordEmbeddings,
    boolean attentionBias) {

  private static final ObjectMapper JSON = new ObjectMapper();

  public static ModelConfig parse(InputStream in) throws IOException {
    try {
      return fromJson(JSON.readTree(in));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw notJson(e);
    }
  }

  public static ModelConfig parse(String json) throws IOException {
    try {
      return fromJson(JSON.readTree(json));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw notJson(e);
    }
  }

  /** Jackson's message echoes the offending token; this one does not. */
  private static IOException notJson(com.fasterxml.jackson.core.JsonProcessingException e) {
    return new IOException(
        "config.json is not valid JSON: " + dev.finetune.operator.dataset.JsonErrors.describe(e));
  }

  static ModelConfig fromJson(JsonNode root) {
    // Multimodal wrappers (e.g. Gemma 3) keep the language model under text_config.
    JsonNode n =
        root.has("text_config") && !root.has("hidden_size") ? root.get("text_config") : root;
    String type =
        n.path("model_type").asText(root.path("model_type").asText("")).toLowerCase(Locale.ROOT);
    long hidden = required(n, "hidden_size");
    int heads = (int) required(n, "num_attention_heads");
    int kv = n.hasNonNull("num_key_value_heads") ? n.get("num_key_value_heads").asInt() : heads;
    int headDim = n.hasNonNull("head_dim") ? n.get("head_dim").asInt() : (int) (hidden / heads);
    boolean tie =
        n.hasNonNull("tie_word_embeddings")
            ? n.get("tie_word_embeddings").asBoolean()
            : root.path("tie_word_embeddings").asBoolean(type.startsWith("gemma"));
    boolean bias =
        n.hasNonNull("attention_bias")
            ? n.get("attention_bias").asBoolean()
            : type.startsWith("qwen2");
    return new ModelConfig(
        type,
        required(n, "vocab_size"),
        hidden,
        required(n, "intermediate_size"),
        (int) required(n, "num_hidden_layers"),
        heads,
        kv,
        headDim,
        tie,
        bias);
  }

  private static long required(JsonNode n, String field) {
    JsonNode v = n.get(field);
    if (v == null || !v.canConvertToLong() || v.asLong() <= 0) {
      throw new IllegalArgumentException("config.json lacks a positive \"" + field + "\"");
    }
    return v.asLong();
  }

  /** Input embedding parameters plus the output head when it is not tied. */
  public long embeddingParams() {
    return vocabSize * hiddenSize * (tieWordEmbeddings ? 1 : 2);
  }

  /** Parameters of one decoder layer: attention, gated MLP, two norms. */
  public long layerParams() {
    long q = hiddenSize * (long) numAttentionHeads * headDim;
    long kv = 2 * hiddenSize * (long) numKeyValueHeads * headDim;
    long o = (long) numAttentionHeads * headDim * hiddenSize;
    long bias = attentionBias ? (long) (numAttentionHeads + 2 * numKeyValueHeads) * headDim : 0;
    long mlp = 3 * hiddenSize * intermediateSize;
    return q + kv + o + bias + mlp + 2 * hiddenSize;
  }

  /** Total parameters. */
  public long paramCount() {
    return embeddingParams() + numHiddenLayers * layerParams() + hiddenSize;
  }

  /** LoRA parameters of rank {@code r} on all attention and MLP projections. */
  public long loraParams(int r) {
    long qo = 2L * r * (hiddenSize + (long) numAttentionHeads * headDim);
    long kv = 2L * r * (hiddenSize + (long) numKeyValueHeads * headDim);
    long mlp = 3L * r * (hiddenSize + intermediateSize);
    return numHiddenLayers * (qo + kv + mlp);
  }
}
