package dev.finetune.operator.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import dev.finetune.api.v1alpha1.FineTuneJob;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class RecentWritesTest {
  private static FineTuneJob version(String uid, String rv) {
    FineTuneJob j = new FineTuneJob();
    j.setMetadata(
        new ObjectMetaBuilder()
            .withNamespace("team-a")
            .withName("job")
            .withUid(uid)
            .withResourceVersion(rv)
            .build());
    return j;
  }

  @Test
  void anOlderVersionFromTheWatchGivesTheLastWrittenOne() {
    RecentWrites recent = new RecentWrites();
    FineTuneJob v3 = version("u1", "3");
    FineTuneJob v4 = version("u1", "4");
    FineTuneJob v5 = version("u1", "5");
    recent.wrote(v3, v4);
    recent.wrote(v4, v5);

    // The watch delivers the version before the last write (and then the one before that).
    assertThat(recent.freshest(version("u1", "4"))).isSameAs(v5);
    assertThat(recent.freshest(version("u1", "3"))).isSameAs(v5);
    assertThat(recent.staleReadsAvoided()).isEqualTo(2);
  }

  @Test
  void theWrittenVersionOrANewerOneEndsTheOverride() {
    RecentWrites recent = new RecentWrites();
    FineTuneJob v5 = version("u1", "5");
    recent.wrote(version("u1", "4"), v5);

    FineTuneJob caughtUp = version("u1", "5");
    assertThat(recent.freshest(caughtUp)).isSameAs(caughtUp);
    // JOSDK's cache handed out the written version; the older watch event still on its way
    // evicts that, and the reconcile after it would start from version 4.
    assertThat(recent.freshest(version("u1", "4"))).isSameAs(v5);
    assertThat(recent.staleReadsAvoided()).isEqualTo(1);

    recent.wrote(version("u1", "5"), version("u1", "6"));
    // Someone else wrote (an annotation, the deletion): a version never seen here wins.
    FineTuneJob theirs = version("u1", "9");
    assertThat(recent.freshest(theirs)).isSameAs(theirs);
    assertThat(recent.size()).isZero();
    assertThat(recent.freshest(version("u1", "5")))
        .extracting(j -> j.getMetadata().getResourceVersion())
        .isEqualTo("5");
    assertThat(recent.staleReadsAvoided()).isEqualTo(1);
  }

  @Test
  void aVersionOlderThanTheLastWriteThatWasNeverSeenHereIsOlderToo() {
    RecentWrites recent = new RecentWrites();
    // Created at 98, JOSDK's finalizer write made 99 (never seen by the reconciler), the
    // reconcile from 99 wrote 100. The watch then hands out 98 (the creation) once more.
    FineTuneJob v100 = version("u1", "100");
    recent.wrote(version("u1", "99"), v100);
    assertThat(recent.freshest(version("u1", "98"))).isSameAs(v100);
    assertThat(recent.staleReadsAvoided()).isEqualTo(1);
    // A longer number is newer, whatever its first digit.
    FineTuneJob v1000 = version("u1", "1000");
    assertThat(recent.freshest(v1000)).isSameAs(v1000);
    assertThat(recent.size()).isZero();
    assertThat(recent.freshest(version("u1", "99")).getMetadata().getResourceVersion())
        .isEqualTo("99");
  }

  @Test
  void versionsThatAreNotIntegersAreToldApartOnlyByWhatWasSeenHere() {
    assertThat(RecentWrites.compare("98", "100")).isEqualTo(-1);
    assertThat(RecentWrites.compare("100", "99")).isEqualTo(1);
    assertThat(RecentWrites.compare("100", "100")).isZero();
    assertThat(RecentWrites.compare("0100", "99")).isEqualTo(RecentWrites.NOT_COMPARABLE);
    assertThat(RecentWrites.compare("a1", "99")).isEqualTo(RecentWrites.NOT_COMPARABLE);

    RecentWrites recent = new RecentWrites();
    FineTuneJob c = version("u1", "c");
    recent.wrote(version("u1", "b"), c);
    assertThat(recent.freshest(version("u1", "b"))).isSameAs(c);
    FineTuneJob unseen = version("u1", "a");
    assertThat(recent.freshest(unseen)).isSameAs(unseen);
  }

  @Test
  void aJobCreatedAgainUnderTheSameNameIsAnotherObject() {
    RecentWrites recent = new RecentWrites();
    recent.wrote(version("u1", "4"), version("u1", "5"));
    FineTuneJob other = version("u2", "4");
    assertThat(recent.freshest(other)).isSameAs(other);
  }

  @Test
  void writesAreForgottenAfterAWhileSoDoneJobsHoldNoMemory() {
    AtomicLong now = new AtomicLong();
    RecentWrites recent = new RecentWrites(now::get);
    recent.wrote(version("u1", "1"), version("u1", "2"));
    now.addAndGet(RecentWrites.KEEP_NANOS + 1);
    for (int i = 0; i < 256; i++) {
      recent.wrote(
          version("u2", Integer.toString(10 + i)), version("u2", Integer.toString(11 + i)));
    }
    assertThat(recent.size()).isEqualTo(1);
    assertThat(recent.freshest(version("u1", "1")))
        .extracting(j -> j.getMetadata().getResourceVersion())
        .isEqualTo("1");
  }
}
