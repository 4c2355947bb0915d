package dev.finetune.operator.children;

import java.util.Map;
import java.util.Optional;

/**
 * What a trainer pod may request on a GPU machine: the machine's capacity less what GKE reserves
 * for the system (its allocatable resources), less room for the DaemonSets GKE runs on every GPU
 * node (logging, metadata server, kube-proxy, GPU device plugin, CSI node driver, metrics agent).
 *
 * <p>GKE's reservation (https://cloud.google.com/kubernetes-engine/docs/concepts/plan-node-sizes):
 *
 * <ul>
 *   <li>CPU: 6% of the first core, 1% of the next core, 0.5% of the next 2 cores, 0.25% of every
 *       core above 4.
 *   <li>Memory: 25% of the first 4 GiB, 20% of the next 4 GiB, 10% of the next 8 GiB, 6% of the
 *       next 112 GiB, 2% of everything above 128 GiB; plus the kubelet's eviction threshold of 100
 *       MiB.
 *   <li>Ephemeral storage (boot disk): the eviction threshold, 10% of the disk, plus min(50% of the
 *       disk, 6 GiB + 35% of the disk, 100 GiB).
 * </ul>
 *
 * <p>Headroom left for DaemonSets: 5% of the allocatable CPU and memory, at least 600m CPU and 1.5
 * GiB memory, and 10 GiB of disk for their logs. The disk request is at most 50 GiB per GPU (room
 * for the base model's weights and the checkpoints): CPU and memory grow with the machine, the boot
 * disk does not, so a one-GPU trainer on a larger node of an existing pool leaves disk for the
 * others.
 */
public final class MachineResources {
  /** vCPUs and memory (GiB) of the machine types GKE's GPU node pools use. */
  record Shape(int vcpus, double memoryGib) {}

  private static final Map<String, Shape> MACHINES =
      Map.ofEntries(
          Map.entry("g2-standard-4", new Shape(4, 16)),
          Map.entry("g2-standard-8", new Shape(8, 32)),
          Map.entry("g2-standard-12", new Shape(12, 48)),
          Map.entry("g2-standard-16", new Shape(16, 64)),
          Map.entry("g2-standard-24", new Shape(24, 96)),
          Map.entry("g2-standard-32", new Shape(32, 128)),
          Map.entry("g2-standard-48", new Shape(48, 192)),
          Map.entry("g2-standard-96", new Shape(96, 384)),
          Map.entry("n1-standard-8", new Shape(8, 30)),
          Map.entry("n1-standard-16", new Shape(16, 60)),
          Map.entry("n1-standard-32", new Shape(32, 120)),
          Map.entry("a2-highgpu-1g", new Shape(12, 85)),
          Map.entry("a2-highgpu-2g", new Shape(24, 170)),
          Map.entry("a2-highgpu-4g", new Shape(48, 340)),
          Map.entry("a2-highgpu-8g", new Shape(96, 680)),
          Map.entry("a2-megagpu-16g", new Shape(96, 1360)),
          Map.entry("a2-ultragpu-1g", new Shape(12, 170)),
          Map.entry("a2-ultragpu-2g", new Shape(24, 340)),
          Map.entry("a2-ultragpu-4g", new Shape(48, 680)),
          Map.entry("a2-ultragpu-8g", new Shape(96, 1360)),
          Map.entry("a3-highgpu-1g", new Shape(26, 234)),
          Map.entry("a3-highgpu-2g", new Shape(52, 468)),
          Map.entry("a3-highgpu-4g", new Shape(104, 936)),
          Map.entry("a3-highgpu-8g", new Shape(208, 1872)),
          Map.entry("a3-megagpu-8g", new Shape(208, 1872)));

  private static final long MIB = 1;
  private static final long GIB = 1024 * MIB;
  static final long MAX_DISK_PER_GPU_MIB = 50 * GIB;

  /**
   * Requests for the trainer container.
   *
   * @param cpuMillis CPU in millicores
   * @param memoryMib memory in MiB
   * @param ephemeralStorageMib ephemeral storage in MiB
   */
  public record Requests(long cpuMillis, long memoryMib, long ephemeralStorageMib) {
    public String cpu() {
      return cpuMillis + "m";
    }

    public String memory() {
      return memoryMib + "Mi";
    }

    public String ephemeralStorage() {
      return ephemeralStorageMib + "Mi";
    }
  }

  private MachineResources() {}

  public static boolean known(String machineType) {
    return MACHINES.containsKey(machineType);
  }

  /** GKE's allocatable CPU of a machine with {@code vcpus} cores, in millicores. */
  static long allocatableCpuMillis(int vcpus) {
    double reserved = 0;
    reserved += 0.06 * Math.min(vcpus, 1);
    reserved += 0.01 * clamp(vcpus - 1, 1);
    reserved += 0.005 * clamp(vcpus - 2, 2);
    reserved += 0.0025 * Math.max(0, vcpus - 4);
    return Math.round((vcpus - reserved) * 1000);
  }

  /** GKE's allocatable memory of a machine with {@code gib} GiB, in MiB. */
  static long allocatableMemoryMib(double gib) {
    double reserved = 0;
    reserved += 0.25 * Math.min(gib, 4);
    reserved += 0.20 * clamp(gib - 4, 4);
    reserved += 0.10 * clamp(gib - 8, 8);
    reserved += 0.06 * clamp(gib - 16, 112);
    reserved += 0.02 * Math.max(0, gib - 128);
    return (long) Math.floor((gib - reserved) * GIB) - 100;
  }

  /** GKE's allocatable ephemeral storage of a boot disk of {@code diskGb} GB, in MiB. */
  static long allocatableEphemeralMib(int diskGb) {
    double disk = diskGb;
    double reserved = Math.min(Math.min(0.5 * disk, 6 + 0.35 * disk), 100);
    return (long) Math.floor((disk - 0.1 * disk - reserved) * GIB);
  }

  private static double clamp(double v, double max) {
    return Math.max(0, Math.min(v, max));
  }

  /** What the trainer requests on {@code machineType} with a boot disk of {@code diskGb}. */
  public static Optional<Requests> requests(String machineType, int diskGb, int gpus) {
    Shape s = MACHINES.get(machineType);
    if (s == null) {
      return Optional.empty();
    }
    long cpu = allocatableCpuMillis(s.vcpus());
    long mem = allocatableMemoryMib(s.memoryGib());
    long disk = allocatableEphemeralMib(diskGb);
    long cpuRequest = roundDown(cpu - Math.max(600, cpu / 20), 100);
    long memRequest = roundDown(mem - Math.max(1536, mem / 20), 256);
    long diskRequest =
        roundDown(Math.max(GIB, Math.min(disk - 10 * GIB, MAX_DISK_PER_GPU_MIB * gpus)), 1024);
    return Optional.of(new Requests(cpuRequest, memRequest, diskRequest));
  }

  private static long roundDown(long v, long step) {
    return Math.max(step, v / step * step);
  }
}
