package dev.finetune.operator.dataset;

import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Throughput and heap use of {@link JsonlValidator} on one file; run by {@code
 * hack/bench/dataset-bench.sh}. Prints one JSON line per pass; the first pass includes JIT warm-up.
 *
 * <p>usage: DatasetBench FILE [PASSES]
 */
public final class DatasetBench {
  private DatasetBench() {}

  public static void main(String[] args) throws Exception {
    Path file = Path.of(args[0]);
    int passes = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    for (int pass = 1; pass <= passes; pass++) {
      resetPeaks();
      long cpuStart = processCpuNanos();
      long threadCpuStart = ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
      long start = System.nanoTime();
      FileValidationResult r;
      try (InputStream in = Files.newInputStream(file)) {
        r = JsonlValidator.validate(file.toString(), in, ValidationOptions.defaults());
      }
      double secs = (System.nanoTime() - start) / 1e9;
      double cpuSecs = (processCpuNanos() - cpuStart) / 1e9;
      double threadCpuSecs =
          (ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime() - threadCpuStart) / 1e9;
      System.out.printf(
          "{\"pass\": %d, \"examples\": %d, \"errors\": %d, \"bytes\": %d, \"characters\": %d,"
              + " \"estimatedTokens\": %d, \"sha256\": \"%s\", \"seconds\": %.3f, \"mbPerSec\":"
              + " %.1f, \"cpuSeconds\": %.3f, \"mbPerCpuSec\": %.1f,"
              + " \"threadCpuSeconds\": %.3f, \"mbPerThreadCpuSec\": %.1f, \"peakHeapMiB\": %.1f, \"maxHeapMiB\": %.0f}%n",
          pass,
          r.examples(),
          r.errorCount(),
          r.bytes(),
          r.characters(),
          r.estimatedTokens(),
          r.sha256(),
          secs,
          r.bytes() / 1e6 / secs,
          cpuSecs,
          r.bytes() / 1e6 / cpuSecs,
          threadCpuSecs,
          r.bytes() / 1e6 / threadCpuSecs,
          peakHeap() / 1048576.0,
          Runtime.getRuntime().maxMemory() / 1048576.0);
    }
  }

  /** CPU time of the whole process: the validating thread plus JIT compiler and GC threads. */
  private static long processCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  private static void resetPeaks() {
    System.gc();
    for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
      if (p.getType() == MemoryType.HEAP) {
        p.resetPeakUsage();
      }
    }
  }

  /** Sum of the per-pool peaks since the last reset: an upper bound of the peak heap in use. */
  private static long peakHeap() {
    long sum = 0;
    for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
      if (p.getType() == MemoryType.HEAP) {
        sum += p.getPeakUsage().getUsed();
      }
    }
    return sum;
  }
}
