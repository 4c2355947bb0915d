package dev.finetune.operator.sizing;

/**
 * First-order GPU memory model for LoRA / QLoRA fine-tuning of a decoder-only transformer with
 * gradient checkpointing, per GPU. {@link #estimate(ModelSize, TrainingParams, int)} is for data
 * parallel replicas (DDP), the trainer's strategy for a model one GPU holds: every GPU holds the
 * whole model and adapter state, so more GPUs add speed, never memory.
 *
 * <ul>
 *   <li>Weights: 2 bytes/param (bf16). QLoRA: NF4 at 4 bits plus double-quantised block constants
 *       (~4.127 bits/param, Dettmers et al. 2023) for the transformer layers; embeddings and the
 *       output head stay in bf16.
 *   <li>Adapters: rank-r LoRA on q,k,v,o,gate,up,down; each adapter parameter costs 16 bytes (fp32
 *       weight, fp32 gradient, two fp32 Adam moments).
 *   <li>Activations: the checkpointed input of every layer (2 bytes x hidden per token per layer),
 *       plus one layer recomputed in full (34 bytes x hidden + 5 x heads x seq per token,
 *       Korthikanti et al. 2022, eager attention as the worst case), plus logits and loss (12 bytes
 *       x vocab per token: bf16 logits, fp32 copy, fp32 gradient). QLoRA adds one layer's weights
 *       dequantised to bf16.
 *   <li>Overhead: 1 GiB CUDA context and cuBLAS workspace (+0.5 GiB NCCL buffers with several GPUs)
 *       plus 10% allocator fragmentation.
 * </ul>
 *
 * For Llama-2-7B at micro-batch 1 and 2048 tokens this gives ~17.8 GiB (19.1 GB) for LoRA and ~8.4
 * GiB for QLoRA; see the tests for published measurements it is checked against.
 *
 * <p>{@link #sharded} models the same job under FSDP (full sharding) over N GPUs of one node, for
 * models no single GPU holds. Per GPU:
 *
 * <ul>
 *   <li>Weights: the DDP weight bytes / N (bf16, or the 4-bit weights for QLoRA, which FSDP can
 *       shard when they are stored in a float type, as FSDP-QLoRA does with {@code
 *       bnb_4bit_quant_storage}).
 *   <li>Frozen-weight gradients: the decoder layers' weight bytes / N, plus one layer's unsharded
 *       gradient before its reduce-scatter. The PyTorch FSDP documentation ({@code
 *       torch.distributed.fsdp}, on {@code use_orig_params}) warns that a unit mixing frozen and
 *       trainable parameters, as a decoder layer with LoRA adapters wrapped as one unit does, uses
 *       gradient memory "equivalent to not freezing those parameters". Wrapping the adapters in
 *       their own units (PEFT's {@code fsdp_auto_wrap_policy}) avoids it; sizing takes the
 *       documented worst case so that a job it places does not run out of memory.
 *   <li>Adapters: 16 bytes per LoRA parameter (fp32 weight, gradient, two Adam moments) / N.
 *   <li>All-gather: the largest wrapped unit, one decoder layer, unsharded, twice (the layer being
 *       computed and the next one prefetched, FSDP's default backward prefetch and forward
 *       rate-limit of two in-flight all-gathers), plus the root unit (embeddings, output head),
 *       which FSDP does not reshard between forward and backward.
 *   <li>Activations: as with DDP, for the GPU's own micro-batch; sharding does not reduce them.
 *   <li>Overhead: as with DDP, with the NCCL buffers always counted.
 * </ul>
 *
 * For a bare parameter count the decoder layer is the nearest reference architecture's layer scaled
 * by size (Llama 3 70B: 1.2% of the model per layer).
 */
public final class MemoryEstimator {

  static final double GIB = 1024.0 * 1024 * 1024;
  static final double NF4_BYTES_PER_PARAM = 4.127 / 8;
  static final double CUDA_CONTEXT_GIB = 1.0;
  static final double NCCL_GIB = 0.5;
  static final double FRAGMENTATION = 0.10;

  private MemoryEstimator() {}

  /** Vocabulary assumed for a bare parameter count: Llama 3's, typical of current families. */
  static final long HINT_VOCAB = 128_256;

  /** For a bare parameter count: LoRA params per model param at rank 16 (Llama-2-7B: 0.59%). */
  static final double HINT_LORA_FRACTION_R16 = 0.006;

  /** For a bare parameter count: largest decoder layer as a share of the model (~3%). */
  static final double HINT_LAYER_FRACTION = 0.03;

  /**
   * Memory per GPU for training {@code model} with {@code p} on {@code gpus} GPUs as DDP replicas:
   * every GPU holds the whole model.
   */
  public static MemoryEstimate estimate(ModelSize model, TrainingParams p, int gpus) {
    Shape s = Shape.of(model, p);
    double adapters = 16.0 * s.lora;
    double activations = activationBytes(model.config(), s.vocab, p);
    if (p.method() == TrainingMethod.QLORA) {
      activations += 2.0 * s.layer;
    }

    double perGpuW = s.weights / GIB; // replicated on every GPU (DDP)
    double perGpuA = adapters / GIB;
    double act = activations / GIB;
    double overhead =
        FRAGMENTATION * (perGpuW + perGpuA + act) + CUDA_CONTEXT_GIB + (gpus > 1 ? NCCL_GIB : 0);
    return new MemoryEstimate(perGpuW, perGpuA, act, overhead, 0, 0, Strategy.DDP, gpus);
  }

  /** Memory per GPU for {@code strategy} on {@code gpus} GPUs. */
  public static MemoryEstimate estimate(
      ModelSize model, TrainingParams p, int gpus, Strategy strategy) {
    return strategy == Strategy.FSDP ? sharded(model, p, gpus) : estimate(model, p, gpus);
  }

  /**
   * Memory per GPU for training {@code model} with {@code p} sharded with FSDP over {@code gpus}
   * GPUs (see the class comment for the terms and their sources).
   */
  public static MemoryEstimate sharded(ModelSize model, TrainingParams p, int gpus) {
    if (gpus < 2) {
      throw new IllegalArgumentException("FSDP shards over 2 or more GPUs, not " + gpus);
    }
    Shape s = Shape.of(model, p);
    ModelConfig c = model.config();
    // A decoder layer as FSDP wraps it: the reference layer scaled by size for a bare count.
    double unitParams =
        model.exact()
            ? c.layerParams()
            : (double) c.layerParams() * model.params() / c.paramCount();
    double bytesPerParam = p.method() == TrainingMethod.LORA ? 2.0 : NF4_BYTES_PER_PARAM;
    double unit = bytesPerParam * unitParams;
    double root = 2.0 * s.embed;

    double weights = s.weights / gpus;
    double gradients = (s.weights - root) / gpus + unit;
    double adapters = 16.0 * s.lora / gpus;
    double gathered = 2 * unit + root;
    double activations = activationBytes(c, s.vocab, p);
    if (p.method() == TrainingMethod.QLORA) {
      activations += 2.0 * unitParams;
    }

    double w = weights / GIB;
    double g = gradients / GIB;
    double a = adapters / GIB;
    double ag = gathered / GIB;
    double act = activations / GIB;
    double overhead = FRAGMENTATION * (w + g + a + ag + act) + CUDA_CONTEXT_GIB + NCCL_GIB;
    return new MemoryEstimate(w, a, act, overhead, g, ag, Strategy.FSDP, gpus);
  }

  /**
   * What the memory terms are built from, in parameters and bytes.
   *
   * @param weights bytes of the whole base model as loaded (bf16, or NF4 layers and bf16
   *     embeddings)
   * @param embed embedding and output head parameters
   * @param lora LoRA parameters
   * @param layer parameters of the largest decoder layer (3% of the model for a bare count)
   * @param vocab vocabulary size
   */
  private record Shape(double weights, double embed, double lora, double layer, long vocab) {
    static Shape of(ModelSize model, TrainingParams p) {
      ModelConfig c = model.config();
      double params = model.params();
      double embed;
      double lora;
      double layer;
      long vocab;
      if (model.exact()) {
        embed = c.embeddingParams();
        lora = c.loraParams(p.loraRank());
        layer = c.layerParams();
        vocab = c.vocabSize();
      } else {
        // Only the size is known: take depth, width and heads from the nearest reference model
        // and size-proportional adapters and layers, so that the estimate grows with the size.
        vocab = HINT_VOCAB;
        embed = Math.min(2.0 * HINT_VOCAB * c.hiddenSize(), params / 2);
        lora = HINT_LORA_FRACTION_R16 * params * p.loraRank() / 16.0;
        layer = HINT_LAYER_FRACTION * params;
      }
      double weights =
          p.method() == TrainingMethod.LORA
              ? 2.0 * params
              : (params - embed) * NF4_BYTES_PER_PARAM + 2.0 * embed;
      return new Shape(weights, embed, lora, layer, vocab);
    }
  }

  /**
   * Peak activation memory: the checkpointed layer inputs stay alive throughout, and on top of them
   * either the logits and loss (end of forward, start of backward) or one layer being recomputed,
   * whichever is larger.
   */
  static double activationBytes(ModelConfig c, long vocab, TrainingParams p) {
    double tokens = (double) p.microBatchSize() * p.seqLen();
    double checkpoints = 2.0 * c.hiddenSize() * c.numHiddenLayers();
    double oneLayer = 34.0 * c.hiddenSize() + 5.0 * c.numAttentionHeads() * p.seqLen();
    double logits = 12.0 * vocab;
    return tokens * (checkpoints + Math.max(oneLayer, logits));
  }
}
