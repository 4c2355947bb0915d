package dev.finetune.operator.gcp.iam;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.cloud.storage.Storage;
import com.google.iam.v1.Binding;
import com.google.iam.v1.Policy;
import io.grpc.Status;
import org.junit.jupiter.api.Test;

class IamBindersTest {

  private static final String GSA = "trainer@proj.iam.gserviceaccount.com";
  private static final String RESOURCE = "projects/-/serviceAccounts/" + GSA;
  private static final String ROLE = "roles/iam.workloadIdentityUser";
  private static final String MEMBER = "serviceAccount:proj.svc.id.goog[team-a/job-1]";

  @Test
  void classicBindIsIdempotentAndKeepsOtherMembers() throws Exception {
    try (FakeIam fake = FakeIam.start()) {
      fake.putPolicy(
          RESOURCE,
          Policy.newBuilder()
              .setVersion(1)
              .addBindings(
                  Binding.newBuilder()
                      .setRole(ROLE)
                      .addMembers("serviceAccount:proj.svc.id.goog[x/y]"))
              .addBindings(
                  Binding.newBuilder()
                      .setRole("roles/iam.serviceAccountUser")
                      .addMembers("user:a@b.c"))
              .build());
      WorkloadIdentityBinder binder = new WorkloadIdentityBinder(fake.client(), "proj");

      assertThat(binder.bind(GSA, "team-a", "job-1")).isEqualTo(new IamResult.Done(true));
      assertThat(binder.bind(GSA, "team-a", "job-1")).isEqualTo(new IamResult.Done(false));
      assertThat(fake.members(RESOURCE, ROLE))
          .containsExactly("serviceAccount:proj.svc.id.goog[x/y]", MEMBER);
      assertThat(fake.members(RESOURCE, "roles/iam.serviceAccountUser"))
          .containsExactly("user:a@b.c");

      assertThat(binder.unbind(GSA, "team-a", "job-1")).isEqualTo(new IamResult.Done(true));
      assertThat(binder.unbind(GSA, "team-a", "job-1")).isEqualTo(new IamResult.Done(false));
      assertThat(fake.members(RESOURCE, ROLE))
          .containsExactly("serviceAccount:proj.svc.id.goog[x/y]");
    }
  }

  @Test
  void unbindDropsTheBindingWhenItBecomesEmpty() throws Exception {
    try (FakeIam fake = FakeIam.start()) {
      WorkloadIdentityBinder binder = new WorkloadIdentityBinder(fake.client(), "proj");
      binder.bind(GSA, "team-a", "job-1");
      binder.unbind(GSA, "team-a", "job-1");
      assertThat(fake.policy(RESOURCE).getBindingsList()).isEmpty();
    }
  }

  @Test
  void classicRetriesOnEtagConflict() throws Exception {
    try (FakeIam fake = FakeIam.start()) {
      fake.concurrentWritesBeforeNextSets(2);
      WorkloadIdentityBinder binder = new WorkloadIdentityBinder(fake.client(), "proj");
      assertThat(binder.bind(GSA, "team-a", "job-1")).isEqualTo(new IamResult.Done(true));
      assertThat(fake.setCalls()).isEqualTo(3);
      assertThat(fake.members(RESOURCE, ROLE)).containsExactly(MEMBER);
      // the concurrent writer's change survived
      assertThat(fake.members(RESOURCE, "roles/iam.serviceAccountTokenCreator"))
          .containsExactly("user:other-writer@example.com", "user:other-writer@example.com");
    }
  }

  @Test
  void classicGivesUpAfterBoundedTries() throws Exception {
    try (FakeIam fake = FakeIam.start()) {
      fake.concurrentWritesBeforeNextSets(10);
      IamResult r = new WorkloadIdentityBinder(fake.client(), "proj").bind(GSA, "team-a", "job-1");
      assertThat(r).isInstanceOf(IamResult.Retry.class);
      assertThat(((IamResult.Retry) r).reason()).isEqualTo("ConcurrentModification");
      assertThat(fake.setCalls()).isEqualTo(WorkloadIdentityBinder.MAX_TRIES);
    }
  }

  @Test
  void classicPermissionDeniedNamesPermissions() throws Exception {
    try (FakeIam fake = FakeIam.start()) {
      fake.failNextSet(Status.PERMISSION_DENIED.withDescription("Permission denied"));
      IamResult r = new WorkloadIdentityBinder(fake.client(), "proj").bind(GSA, "team-a", "job-1");
      assertThat(r).isInstanceOf(IamResult.Failed.class);
      assertThat(((IamResult.Failed) r).reason()).isEqualTo("PermissionDenied");
      assertThat(((IamResult.Failed) r).message()).contains("iam.serviceAccounts.setIamPolicy");
    }
  }

  @Test
  void classicNotFound() throws Exception {
    try (FakeIam fake = FakeIam.start()) {
      fake.failNextGet(Status.NOT_FOUND.withDescription("Service account does not exist"));
      IamResult r = new WorkloadIdentityBinder(fake.client(), "proj").bind(GSA, "team-a", "job-1");
      assertThat(r).isInstanceOf(IamResult.Failed.class);
      assertThat(((IamResult.Failed) r).reason()).isEqualTo("NotFound");
    }
  }

  private static final String PRINCIPAL =
      WorkloadIdentityMembers.directPrincipal("123456789", "proj", "team-a", "job-1");

  @Test
  void directPrincipalFormat() {
    assertThat(PRINCIPAL)
        .isEqualTo(
            "principal://iam.googleapis.com/projects/123456789/locations/global/"
                + "workloadIdentityPools/proj.svc.id.goog/subject/ns/team-a/sa/job-1");
  }

  @Test
  void bucketGrantAndRevokeKeepOtherMembers() throws Exception {
    try (FakeGcsIam gcs = FakeGcsIam.start()) {
      gcs.addMember("out", "roles/storage.objectUser", "user:someone@example.com");
      gcs.addMember("out", "roles/storage.admin", "group:admins@example.com");
      Storage storage = gcs.storage();
      BucketIamBinder binder = new BucketIamBinder(storage);

      assertThat(binder.grantOutput("out", PRINCIPAL)).isEqualTo(new IamResult.Done(true));
      assertThat(binder.grantOutput("out", PRINCIPAL)).isEqualTo(new IamResult.Done(false));
      assertThat(binder.grantDataset("data", PRINCIPAL)).isEqualTo(new IamResult.Done(true));
      assertThat(gcs.members("out", "roles/storage.objectUser"))
          .containsExactly("user:someone@example.com", PRINCIPAL);
      assertThat(gcs.members("data", "roles/storage.objectViewer")).containsExactly(PRINCIPAL);

      assertThat(binder.revoke("out", "roles/storage.objectUser", PRINCIPAL))
          .isEqualTo(new IamResult.Done(true));
      assertThat(binder.revoke("data", "roles/storage.objectViewer", PRINCIPAL))
          .isEqualTo(new IamResult.Done(true));
      assertThat(gcs.members("out", "roles/storage.objectUser"))
          .containsExactly("user:someone@example.com");
      assertThat(gcs.members("out", "roles/storage.admin"))
          .containsExactly("group:admins@example.com");
      assertThat(gcs.roles("data")).isEmpty();
    }
  }

  @Test
  void bucketRetriesOnEtagConflict() throws Exception {
    try (FakeGcsIam gcs = FakeGcsIam.start()) {
      gcs.concurrentWritesBeforeNextPuts(2);
      BucketIamBinder binder = new BucketIamBinder(gcs.storage());
      assertThat(binder.grantOutput("out", PRINCIPAL)).isEqualTo(new IamResult.Done(true));
      assertThat(gcs.puts()).isEqualTo(3);
      assertThat(gcs.members("out", "roles/storage.objectUser")).containsExactly(PRINCIPAL);
      assertThat(gcs.members("out", "roles/storage.legacyBucketReader")).hasSize(2);
    }
  }

  @Test
  void bucketPermissionDenied() throws Exception {
    try (FakeGcsIam gcs = FakeGcsIam.start()) {
      gcs.failNextPut(403);
      IamResult r = new BucketIamBinder(gcs.storage()).grantOutput("out", PRINCIPAL);
      assertThat(r).isInstanceOf(IamResult.Failed.class);
      assertThat(((IamResult.Failed) r).message()).contains("storage.buckets.setIamPolicy");
    }
  }
}
