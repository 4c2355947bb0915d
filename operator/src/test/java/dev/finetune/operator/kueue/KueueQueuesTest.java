package dev.finetune.operator.kueue;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.utils.Serialization;
import org.junit.jupiter.api.Test;

class KueueQueuesTest {
  static GenericKubernetesResource workload(String conditions) {
    return Serialization.unmarshal(
        """
        apiVersion: kueue.x-k8s.io/v1beta2
        kind: Workload
        metadata: {name: job-x-1, namespace: ns}
        status:
          conditions:
        """
            + conditions,
        GenericKubernetesResource.class);
  }

  @Test
  void whyQuotaIsNotReservedIsKueuesWordWhileQueued() {
    var w =
        workload(
            """
              - {type: QuotaReserved, status: "False", reason: Pending, message: "couldn't assign flavors to pod set main: insufficient unused quota for nvidia.com/gpu in flavor f, 1 more needed"}
            """);
    assertThat(KueueQueues.message(w)).contains("insufficient unused quota for nvidia.com/gpu");
    assertThat(KueueQueues.isTrue(w, "Admitted")).isFalse();
  }

  @Test
  void anEvictionExplainsItselfBeforeAnythingElse() {
    var w =
        workload(
            """
              - {type: QuotaReserved, status: "True", reason: QuotaReserved, message: "Quota reserved in ClusterQueue cq"}
              - {type: Admitted, status: "True", reason: Admitted, message: "The workload is admitted"}
              - {type: Evicted, status: "True", reason: Preempted, message: "Preempted to accommodate a workload (UID: 1) due to prioritization in the ClusterQueue"}
            """);
    assertThat(KueueQueues.message(w)).startsWith("Preempted to accommodate");
    assertThat(KueueQueues.isTrue(w, "Evicted")).isTrue();
  }

  @Test
  void noConditionsNoMessage() {
    var w = workload("    []\n");
    assertThat(KueueQueues.message(w)).isNull();
  }
}
