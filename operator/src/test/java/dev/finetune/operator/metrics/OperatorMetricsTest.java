package dev.finetune.operator.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.FineTuneJobStatus;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.Phase;
import dev.finetune.operator.Fixtures;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class OperatorMetricsTest {
  static final class Ticking extends Clock {
    Instant now = Instant.parse("2026-01-01T00:00:00Z");

    @Override
    public ZoneOffset getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }

  static FineTuneJobStatus status(Phase phase, int preemptions, double gpuHours, double usd) {
    FineTuneJobStatus s = new FineTuneJobStatus();
    s.phase = phase;
    s.hardware = new FineTuneJobStatus.HardwareStatus();
    s.hardware.accelerator = "nvidia-l4";
    s.hardware.spot = true;
    s.training = new FineTuneJobStatus.TrainingStatus();
    s.training.preemptions = preemptions;
    s.cost = new FineTuneJobStatus.CostStatus();
    s.cost.gpuHours = gpuHours;
    s.cost.estimatedUsd = usd;
    return s;
  }

  @Test
  void phasesDurationsAndIncreasesAreCountedWithoutJobLabels() {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    Ticking clock = new Ticking();
    try (OperatorMetrics m = new OperatorMetrics(registry, Duration.ofMinutes(30), clock)) {
      FineTuneJob a = Fixtures.job("team-a", "alpha-job");
      FineTuneJob b = Fixtures.job("team-b", "beta-job");
      b.getMetadata().setUid("uid-b");
      m.observed(a, new FineTuneJobStatus(), status(Phase.Provisioning, 0, 0, 0));
      m.observed(b, new FineTuneJobStatus(), status(Phase.Provisioning, 0, 0, 0));
      clock.now = clock.now.plusSeconds(600);
      m.observed(a, status(Phase.Provisioning, 0, 0, 0), status(Phase.Training, 0, 0, 0));
      m.observed(a, status(Phase.Training, 0, 0, 0), status(Phase.Training, 2, 1.5, 0.42));
      // The same status seen again adds nothing.
      m.observed(a, status(Phase.Training, 2, 1.5, 0.42), status(Phase.Training, 2, 1.5, 0.42));
      m.reconcileError(new KubernetesClientException("no", 403, null));

      assertThat(registry.get("finetune.jobs").tag("phase", "Provisioning").gauge().value())
          .isEqualTo(1);
      assertThat(registry.get("finetune.jobs").tag("phase", "Training").gauge().value())
          .isEqualTo(1);
      assertThat(
              registry
                  .get("finetune.jobs.oldest.in.phase")
                  .tag("phase", "Provisioning")
                  .gauge()
                  .value())
          .isEqualTo(600);
      var provisioning =
          registry.get("finetune.phase.duration").tag("phase", "Provisioning").timer();
      assertThat(provisioning.count()).isEqualTo(1);
      assertThat(provisioning.totalTime(java.util.concurrent.TimeUnit.SECONDS)).isEqualTo(600);
      var tags = new String[] {"accelerator", "nvidia-l4", "capacity", "spot"};
      assertThat(registry.get("finetune.preemptions").tags(tags).counter().count()).isEqualTo(2);
      assertThat(registry.get("finetune.gpu.hours").tags(tags).counter().count()).isEqualTo(1.5);
      assertThat(registry.get("finetune.cost.usd").tags(tags).counter().count()).isEqualTo(0.42);
      assertThat(
              registry
                  .get("finetune.reconcile.errors")
                  .tag("reason", "Forbidden")
                  .counter()
                  .count())
          .isEqualTo(1);

      GoogleApiErrors.record("container", "Stockout");
      assertThat(
              registry
                  .get("finetune.google.api.errors")
                  .tags("api", "container", "reason", "Stockout")
                  .counter()
                  .count())
          .isEqualTo(1);

      m.forget(b);
      assertThat(registry.get("finetune.jobs").tag("phase", "Provisioning").gauge().value())
          .isZero();
      String scrape = registry.scrape();
      assertThat(scrape)
          .doesNotContain("alpha-job")
          .doesNotContain("beta-job")
          .doesNotContain("team-");
    }
  }
}
