package dev.finetune.operator.cli;

import dev.finetune.operator.cost.PriceTable;
import dev.finetune.operator.gcp.nodepool.Accelerator;
import dev.finetune.operator.sizing.AcceleratorSizer;
import dev.finetune.operator.sizing.MemoryEstimate;
import dev.finetune.operator.sizing.MemoryEstimator;
import dev.finetune.operator.sizing.ModelConfig;
import dev.finetune.operator.sizing.ModelSize;
import dev.finetune.operator.sizing.SizingDecision;
import dev.finetune.operator.sizing.Strategy;
import dev.finetune.operator.sizing.TrainingMethod;
import dev.finetune.operator.sizing.TrainingParams;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code size}: the accelerator a fine-tuning job would get, with the memory estimate. */
@Command(
    name = "size",
    mixinStandardHelpOptions = true,
    description = {
      "Estimate GPU memory for LoRA/QLoRA fine-tuning and pick the cheapest GKE accelerator"
          + " that fits: DDP replicas when one GPU holds the model, else FSDP shards over 2, 4 or 8"
          + " GPUs of one node.",
      "The formula and its sources: docs/gcp-permissions.md, section Sizing assumptions."
    })
public class SizeCommand implements Callable<Integer> {

  static final class ModelSpec {
    @Option(
        names = "--model-params",
        paramLabel = "COUNT",
        description = "Parameter count, e.g. 7B, 1.5B, 270M.")
    String params;

    @Option(
        names = "--model-config",
        paramLabel = "FILE",
        description = "Path to the model's config.json.")
    Path config;
  }

  @ArgGroup(exclusive = true, multiplicity = "1")
  ModelSpec model;

  @Option(
      names = "--method",
      defaultValue = "lora",
      description = "lora (bf16 base) or qlora (4-bit base). Default: ${DEFAULT-VALUE}.")
  String method;

  @Option(names = "--batch-size", defaultValue = "1", description = "Micro-batch size per GPU.")
  int batchSize;

  @Option(names = "--seq-len", defaultValue = "2048", description = "Sequence length in tokens.")
  int seqLen;

  @Option(names = "--lora-rank", defaultValue = "16", description = "LoRA rank.")
  int loraRank;

  @Option(
      names = "--accelerator",
      paramLabel = "TYPE",
      description =
          "Check this accelerator (e.g. nvidia-h100-80gb) instead of choosing one: does it hold"
              + " the model as DDP replicas, only sharded with FSDP, or not at all.")
  String accelerator;

  @Option(
      names = "--gpus",
      paramLabel = "N",
      description =
          "GPUs on the node (1, 2, 4 or 8): with --accelerator the count checked, else the least"
              + " count chosen. Default: ${DEFAULT-VALUE}.",
      defaultValue = "1")
  int gpus;

  @Option(names = "--spot", description = "Price and choose Spot capacity.")
  boolean spot;

  @Option(
      names = "--prices",
      paramLabel = "FILE",
      description = "Properties file overriding prices (keys like nvidia-l4.gpu.spot).")
  Path prices;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws IOException {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    ModelSize size;
    TrainingParams params;
    try {
      size =
          model.config != null
              ? ModelSize.of(readConfig(model.config))
              : ModelSize.fromHint(model.params);
      params = new TrainingParams(TrainingMethod.parse(method), batchSize, seqLen, loraRank);
    } catch (IllegalArgumentException e) {
      err.println("size: " + e.getMessage());
      return 2;
    }
    PriceTable table = PriceTable.defaults();
    if (prices != null) {
      table = table.withOverrides(readProperties(prices));
    }
    if (!Accelerator.GPU_COUNTS.contains(gpus)) {
      err.println("size: --gpus must be 1, 2, 4 or 8, not " + gpus);
      return 2;
    }
    AcceleratorSizer sizer = new AcceleratorSizer(table);
    Optional<SizingDecision> d;
    if (accelerator != null) {
      Accelerator a;
      try {
        a = Accelerator.fromId(accelerator);
      } catch (IllegalArgumentException e) {
        err.println("size: " + e.getMessage());
        return 2;
      }
      d = sizer.check(size, params, a, gpus, spot);
      if (d.isEmpty()) {
        err.println(sizer.doesNotFitMessage(size, params, a, gpus, spot));
        return 1;
      }
    } else {
      d = sizer.choose(size, params, spot, gpus);
      if (d.isEmpty()) {
        err.println(AcceleratorSizer.noFitMessage(size, params));
        return 1;
      }
    }
    SizingDecision s = d.get();
    MemoryEstimate e = s.estimate();
    boolean fsdp = s.strategy() == Strategy.FSDP;
    out.println(s.reason());
    out.printf(Locale.ROOT, "accelerator:   %s%n", s.accelerator().id());
    out.printf(Locale.ROOT, "gpus:          %d%n", s.count());
    out.printf(
        Locale.ROOT,
        "strategy:      %s%n",
        fsdp
            ? "fsdp (weights, gradients and optimizer sharded over the " + s.count() + " GPUs)"
            : s.count() == 1
                ? "ddp (one GPU holds the whole model)"
                : "ddp (each of the " + s.count() + " GPUs holds the whole model)");
    out.printf(Locale.ROOT, "machine type:  %s%n", s.machineType() == null ? "-" : s.machineType());
    out.printf(Locale.ROOT, "capacity:      %s%n", s.spot() ? "spot" : "on-demand");
    out.printf(Locale.ROOT, "price:         $%.2f/h%n", s.usdPerHour());
    out.printf(Locale.ROOT, "parameters:    %,d%n", size.params());
    out.printf(Locale.ROOT, "memory per GPU (GiB):%n");
    out.printf(
        Locale.ROOT,
        "  weights              %6.1f%s%n",
        e.weightsGiB(),
        fsdp ? "   (1/" + s.count() + " of the model)" : "");
    if (fsdp) {
      out.printf(Locale.ROOT, "  frozen-weight grads  %6.1f%n", e.gradientsGiB());
    }
    out.printf(Locale.ROOT, "  adapters+optimizer   %6.1f%n", e.adaptersGiB());
    if (fsdp) {
      out.printf(Locale.ROOT, "  all-gather buffers   %6.1f%n", e.gatheredGiB());
    }
    out.printf(Locale.ROOT, "  activations          %6.1f%n", e.activationsGiB());
    out.printf(Locale.ROOT, "  overhead             %6.1f%n", e.overheadGiB());
    out.printf(
        Locale.ROOT,
        "  total                %6.1f of %.1f%n",
        e.totalGiB(),
        s.accelerator().memoryGiB());
    if (fsdp) {
      out.printf(
          Locale.ROOT,
          "  on one GPU           %6.1f (as a DDP replica)%n",
          MemoryEstimator.estimate(size, params, 1).totalGiB());
    }
    out.flush();
    return 0;
  }

  private static ModelConfig readConfig(Path path) throws IOException {
    try (InputStream in = Files.newInputStream(path)) {
      return ModelConfig.parse(in);
    }
  }

  private static Map<String, String> readProperties(Path path) throws IOException {
    Properties p = new Properties();
    try (InputStream in = Files.newInputStream(path)) {
      p.load(in);
    }
    Map<String, String> m = new HashMap<>();
    p.stringPropertyNames().forEach(k -> m.put(k, p.getProperty(k)));
    return m;
  }
}
