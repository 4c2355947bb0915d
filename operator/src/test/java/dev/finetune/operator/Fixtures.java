package dev.finetune.operator;

import dev.finetune.api.v1alpha1.DatasetSpec;
import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.FineTuneJobSpec;
import dev.finetune.api.v1alpha1.HardwareSpec;
import dev.finetune.api.v1alpha1.IdentitySpec;
import dev.finetune.api.v1alpha1.ModelSpec;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;

/** FineTuneJobs for tests, as a user would write them. */
public final class Fixtures {
  private Fixtures() {}

  public static FineTuneJob job(String namespace, String name) {
    FineTuneJob job = new FineTuneJob();
    job.setMetadata(
        new ObjectMetaBuilder()
            .withName(name)
            .withNamespace(namespace)
            .withUid("0b1c2d3e-0000-4000-8000-" + String.format("%012d", Math.abs(name.hashCode())))
            .withGeneration(1L)
            .build());
    FineTuneJobSpec spec = new FineTuneJobSpec();
    spec.model = new ModelSpec();
    spec.model.source = "hf://google/gemma-3-1b-it";
    spec.model.revision = "main";
    spec.dataset = new DatasetSpec();
    spec.dataset.train = "gs://ft-data/support/train.jsonl";
    spec.dataset.validation = "gs://ft-data/support/eval.jsonl";
    spec.dataset.format = DatasetSpec.Format.AUTO;
    spec.hardware = new HardwareSpec();
    spec.hardware.accelerator = HardwareSpec.Accelerator.NVIDIA_L4;
    spec.hardware.count = 1;
    spec.hardware.spot = true;
    spec.hardware.provisioning = HardwareSpec.Provisioning.EXISTING;
    spec.hardware.maxRuntime = "6h";
    spec.identity = new IdentitySpec();
    spec.identity.mode = IdentitySpec.Mode.SERVICE_ACCOUNT;
    spec.identity.gcpServiceAccount = "trainer@proj-1.iam.gserviceaccount.com";
    spec.output = "gs://ft-out/runs/" + name + "/";
    job.setSpec(spec);
    return job;
  }

  public static FineTuneJob copy(FineTuneJob job) {
    return Serialization.clone(job);
  }
}
