package dev.finetune.operator.gcp.nodepool;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.api.gax.rpc.StatusCode.Code;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class GkeErrorsTest {

  private static PoolStatus map(Code code, String msg) {
    return GkeErrors.map(code, msg, "container.clusters.update", "creating node pool p", 0);
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "RESOURCE_EXHAUSTED | Quota 'NVIDIA_T4_GPUS' exceeded. Limit: 0.0 in region us-central1. | NVIDIA_T4_GPUS",
        "FAILED_PRECONDITION | Insufficient quota to satisfy the request: Quota 'GPUS_ALL_REGIONS' exceeded. Limit: 1.0 globally. | GPUS_ALL_REGIONS",
        "RESOURCE_EXHAUSTED | Insufficient regional quota to satisfy request: resource \"NVIDIA_A100_80GB_GPUS\": request requires '8.0' | NVIDIA_A100_80GB_GPUS",
        "RESOURCE_EXHAUSTED | Quota exceeded for quota metric 'CPUS' | CPUS",
      })
  void quotaMessagesNameTheQuota(Code code, String msg, String quota) {
    PoolStatus s = map(code, msg);
    assertThat(s).isInstanceOf(PoolStatus.WaitingForCapacity.class);
    PoolStatus.WaitingForCapacity w = (PoolStatus.WaitingForCapacity) s;
    assertThat(w.reason()).isEqualTo("QuotaExceeded");
    assertThat(w.message()).contains("Request a quota increase for " + quota);
  }

  @Test
  void stockoutWinsOverQuotaCode() {
    PoolStatus.WaitingForCapacity w =
        (PoolStatus.WaitingForCapacity)
            map(Code.RESOURCE_EXHAUSTED, "ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS: quota");
    assertThat(w.reason()).isEqualTo("Stockout");
    assertThat(w.retryAfter()).isEqualTo(Duration.ofMinutes(1));
  }

  @Test
  void rateLimitWithoutQuotaTextIsTransient() {
    assertThat(
            ((PoolStatus.WaitingForCapacity) map(Code.RESOURCE_EXHAUSTED, "rate limited")).reason())
        .isEqualTo("Transient");
    assertThat(((PoolStatus.WaitingForCapacity) map(Code.DEADLINE_EXCEEDED, "slow")).reason())
        .isEqualTo("Transient");
    assertThat(((PoolStatus.WaitingForCapacity) map(Code.INTERNAL, "oops")).reason())
        .isEqualTo("Transient");
    assertThat(
            ((PoolStatus.WaitingForCapacity)
                    map(Code.FAILED_PRECONDITION, "Cluster is running incompatible operation"))
                .reason())
        .isEqualTo("Transient");
  }

  @Test
  void errorPoolMessages() {
    assertThat(GkeErrors.mapMessage("does not have enough resources available", "t", 0))
        .isInstanceOf(PoolStatus.WaitingForCapacity.class);
    assertThat(GkeErrors.mapMessage("bad image", "t", 0)).isInstanceOf(PoolStatus.Failed.class);
  }

  @Test
  void backoffGrowsWithAttemptsAndCaps() {
    Duration d0 =
        ((PoolStatus.WaitingForCapacity) GkeErrors.map(Code.UNAVAILABLE, "", "", "t", 0))
            .retryAfter();
    Duration d9 =
        ((PoolStatus.WaitingForCapacity) GkeErrors.map(Code.UNAVAILABLE, "", "", "t", 9))
            .retryAfter();
    assertThat(d0).isEqualTo(Duration.ofSeconds(10));
    assertThat(d9).isEqualTo(Duration.ofMinutes(5));
  }

  @Test
  void rpcCodesConvert() {
    assertThat(GkeErrors.codeOf(8)).isEqualTo(Code.RESOURCE_EXHAUSTED);
    assertThat(GkeErrors.codeOf(7)).isEqualTo(Code.PERMISSION_DENIED);
    assertThat(GkeErrors.codeOf(99)).isEqualTo(Code.UNKNOWN);
  }
}
