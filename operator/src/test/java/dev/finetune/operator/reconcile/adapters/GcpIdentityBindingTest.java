package dev.finetune.operator.reconcile.adapters;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.Grant;
import dev.finetune.operator.Fixtures;
import dev.finetune.operator.gcp.iam.FakeIam;
import dev.finetune.operator.gcp.iam.WorkloadIdentityBinder;
import dev.finetune.operator.gcp.iam.WorkloadIdentityMembers;
import dev.finetune.operator.reconcile.ports.IdentityBinding;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The real IAM client against the in-process IAM stand-in. */
class GcpIdentityBindingTest {
  static final String GSA = "trainer@proj-1.iam.gserviceaccount.com";
  static final String RESOURCE = WorkloadIdentityMembers.serviceAccountResource(GSA);
  FakeIam iam;
  GcpIdentityBinding binding;
  AsyncWork<GcpIdentityBinding.Tagged> work;

  @BeforeEach
  void setUp() throws IOException {
    iam = FakeIam.start();
    work = new AsyncWork<>("iam-test", 2);
    binding =
        new GcpIdentityBinding(
            () -> {
              try {
                return new WorkloadIdentityBinder(iam.client(), "test-project");
              } catch (IOException e) {
                throw new UncheckedIOException(e);
              }
            },
            () -> {
              throw new IllegalStateException("no bucket IAM in this test");
            },
            "test-project",
            "1",
            work);
  }

  @AfterEach
  void tearDown() {
    work.close();
    iam.close();
  }

  IdentityBinding.Outcome until(java.util.function.Supplier<IdentityBinding.Outcome> call) {
    return await()
        .atMost(Duration.ofSeconds(10))
        .pollInterval(Duration.ofMillis(20))
        .until(
            call::get,
            o ->
                !(o instanceof IdentityBinding.Retry r
                    && IdentityBinding.IN_PROGRESS.equals(r.reason())));
  }

  @Test
  void theGrantsAreTheOnesBindMakes() {
    FineTuneJob job = Fixtures.job("ml", "a");
    List<Grant> grants = binding.grants(job, "a-trainer");
    assertThat(grants)
        .containsExactly(
            new Grant(
                "serviceAccount",
                GSA,
                WorkloadIdentityMembers.WORKLOAD_IDENTITY_USER,
                "serviceAccount:test-project.svc.id.goog[ml/a-trainer]"));
    assertThat(until(() -> binding.bind(job, "a-trainer", null)))
        .isInstanceOf(IdentityBinding.Bound.class);
    assertThat(iam.members(RESOURCE, WorkloadIdentityMembers.WORKLOAD_IDENTITY_USER))
        .containsExactly(grants.get(0).member);
    assertThat(until(() -> binding.release(job, grants))).isInstanceOf(IdentityBinding.Bound.class);
    assertThat(iam.members(RESOURCE, WorkloadIdentityMembers.WORKLOAD_IDENTITY_USER)).isEmpty();
  }

  @Test
  void aReleaseAskedWhileTheBindIsInFlightWaitsForItAndLeavesNoGrant() throws Exception {
    FineTuneJob job = Fixtures.job("ml", "race");
    List<Grant> grants = binding.grants(job, "race-trainer");
    CountDownLatch latch = new CountDownLatch(1);
    iam.holdNextSet(latch);
    assertThat(binding.bind(job, "race-trainer", null)).isInstanceOf(IdentityBinding.Retry.class);
    // The job is deleted while IAM still works on the grant.
    IdentityBinding.Outcome early = binding.release(job, grants);
    assertThat(early).isInstanceOf(IdentityBinding.Retry.class);
    assertThat(((IdentityBinding.Retry) early).reason()).isEqualTo(IdentityBinding.IN_PROGRESS);
    latch.countDown();
    assertThat(until(() -> binding.release(job, grants))).isInstanceOf(IdentityBinding.Bound.class);
    assertThat(iam.members(RESOURCE, WorkloadIdentityMembers.WORKLOAD_IDENTITY_USER)).isEmpty();
  }

  @Test
  void releasingAGrantWhoseServiceAccountIsGoneIsDone() {
    FineTuneJob job = Fixtures.job("ml", "gone");
    iam.failNextGet(io.grpc.Status.NOT_FOUND.withDescription("service account deleted"));
    assertThat(until(() -> binding.release(job, binding.grants(job, "gone-trainer"))))
        .isInstanceOf(IdentityBinding.Bound.class);
  }

  @Test
  void whenIamIsUnreachableReleaseRetriesInsteadOfReportingNothingBound() {
    FineTuneJob job = Fixtures.job("ml", "down");
    iam.unavailable(true);
    IdentityBinding.Outcome o = until(() -> binding.release(job, binding.grants(job, "d")));
    assertThat(o).isInstanceOf(IdentityBinding.Retry.class);
    assertThat(((IdentityBinding.Retry) o).reason()).isEqualTo("Transient");
  }
}
