package dev.finetune.operator.reconcile.steps;

import dev.finetune.api.v1alpha1.FineTuneJobStatus.TrainingStatus;
import dev.finetune.operator.children.TrainerJob;
import io.fabric8.kubernetes.api.model.ContainerStateTerminated;
import io.fabric8.kubernetes.api.model.Pod;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Monotonic counters of a training run, kept in status: attempts, preemptions, failures and the
 * GPU-seconds of trainer pods that have ended. Counting the pods that exist now would go down when
 * Kubernetes garbage-collects the pods of a preempted node; here each pod is counted once, by UID,
 * and status.training.countedPods remembers only pods that still exist.
 *
 * <p>Entry format: {@code uid@startEpochSecond} while the pod has not ended, {@code uid/ended} once
 * its end was counted. A pod that disappears before it was seen ending (its node went away while
 * the operator was not looking) counts as a preemption, with GPU time up to now.
 */
final class TrainingCounters {
  static final String ENDED = "/ended";

  private TrainingCounters() {}

  static void update(TrainingStatus t, Set<Pod> pods, int gpus, Instant now) {
    Map<String, String> counted = new LinkedHashMap<>();
    if (t.countedPods != null) {
      for (String e : t.countedPods) {
        counted.put(uid(e), e);
      }
    }
    int attempts = nz(t.attempts);
    int preemptions = nz(t.preemptions);
    int failures = nz(t.failures);
    double gpuSeconds = t.gpuSeconds == null ? 0 : t.gpuSeconds;
    List<String> next = new ArrayList<>();
    List<Pod> sorted =
        pods.stream()
            .filter(p -> p.getMetadata() != null && p.getMetadata().getUid() != null)
            .sorted(Comparator.comparing((Pod p) -> p.getMetadata().getUid()))
            .toList();
    for (Pod pod : sorted) {
      String uid = pod.getMetadata().getUid();
      String entry = counted.remove(uid);
      if (entry == null) {
        attempts++;
        entry = uid + "@" + start(pod).map(Instant::getEpochSecond).orElse(now.getEpochSecond());
      }
      if (!entry.endsWith(ENDED) && ended(pod)) {
        if (ObserveTrainingStep.preempted(pod)) {
          preemptions++;
        } else if ("Failed".equals(pod.getStatus().getPhase()) && !peerStopped(pod)) {
          failures++;
        }
        gpuSeconds += seconds(pod, now) * gpus;
        entry = uid + ENDED;
      }
      if (entry.indexOf('@') > 0 && start(pod).isPresent()) {
        entry = uid + "@" + start(pod).get().getEpochSecond();
      }
      next.add(entry);
    }
    // Pods that were counted and are gone without being seen to end.
    for (String gone : counted.values()) {
      if (gone.endsWith(ENDED)) {
        continue;
      }
      preemptions++;
      int at = gone.indexOf('@');
      if (at > 0) {
        long since = Long.parseLong(gone.substring(at + 1));
        gpuSeconds += Math.max(0, now.getEpochSecond() - since) * (double) gpus;
      }
    }
    t.attempts = attempts;
    t.preemptions = preemptions;
    t.failures = failures;
    t.gpuSeconds = Math.round(gpuSeconds * 1000.0) / 1000.0;
    t.countedPods = next.isEmpty() ? null : next;
  }

  /** GPU-seconds of the pods still running (not yet in the counters). */
  static double runningGpuSeconds(Set<Pod> pods, int gpus, Instant now) {
    return pods.stream()
            .filter(p -> !ended(p))
            .mapToDouble(p -> start(p).map(s -> seconds(s, now)).orElse(0.0))
            .sum()
        * gpus;
  }

  /** A pod of several nodes that stopped with its group (another pod was preempted or lost). */
  static boolean peerStopped(Pod pod) {
    return pod.getStatus().getContainerStatuses() != null
        && pod.getStatus().getContainerStatuses().stream()
            .map(s -> s.getState() == null ? null : s.getState().getTerminated())
            .filter(Objects::nonNull)
            .anyMatch(
                s -> s.getExitCode() != null && s.getExitCode() == TrainerJob.EXIT_PEER_STOPPED);
  }

  static boolean ended(Pod pod) {
    String phase = pod.getStatus() == null ? null : pod.getStatus().getPhase();
    return "Succeeded".equals(phase) || "Failed".equals(phase);
  }

  private static java.util.Optional<Instant> start(Pod pod) {
    return pod.getStatus() == null || pod.getStatus().getStartTime() == null
        ? java.util.Optional.empty()
        : java.util.Optional.of(Instant.parse(pod.getStatus().getStartTime()));
  }

  private static double seconds(Pod pod, Instant now) {
    var startTime = start(pod);
    if (startTime.isEmpty()) {
      return 0;
    }
    Instant end =
        pod.getStatus().getContainerStatuses() == null
            ? null
            : pod.getStatus().getContainerStatuses().stream()
                .map(s -> s.getState() == null ? null : s.getState().getTerminated())
                .filter(Objects::nonNull)
                .map(ContainerStateTerminated::getFinishedAt)
                .filter(Objects::nonNull)
                .map(Instant::parse)
                .findFirst()
                .orElse(null);
    return seconds(startTime.get(), end == null ? now : end);
  }

  private static double seconds(Instant from, Instant to) {
    Duration d = Duration.between(from, to);
    return d.isNegative() ? 0 : d.toMillis() / 1000.0;
  }

  private static String uid(String entry) {
    int cut = entry.indexOf('@');
    if (cut < 0) {
      cut = entry.indexOf('/');
    }
    return cut < 0 ? entry : entry.substring(0, cut);
  }

  private static int nz(Integer i) {
    return i == null ? 0 : i;
  }
}
