package dev.finetune.api.v1alpha1;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Categories;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Singular;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * One fine-tuning run: validate the data, get a GPU, train a LoRA adapter, evaluate it against the
 * base model. The spec is immutable after creation; a new run is a new object.
 */
@Group(FineTuneJob.GROUP)
@Version(FineTuneJob.VERSION)
@Kind("FineTuneJob")
@Plural("finetunejobs")
@Singular("finetunejob")
@ShortNames("ftj")
@Categories("finetune")
@AdditionalPrinterColumn(
    name = "Phase",
    jsonPath = ".status.phase",
    type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(
    name = "Progress",
    jsonPath = ".status.training.progress",
    type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(
    name = "Queue",
    jsonPath = ".status.training.queue.state",
    type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(
    name = "ROUGE-L",
    jsonPath = ".status.evaluation.metrics.rougeL.tuned",
    type = AdditionalPrinterColumn.Type.NUMBER)
@AdditionalPrinterColumn(
    name = "Delta",
    jsonPath = ".status.evaluation.metrics.rougeL.delta",
    type = AdditionalPrinterColumn.Type.NUMBER)
@AdditionalPrinterColumn(
    name = "Accelerator",
    jsonPath = ".status.hardware.accelerator",
    type = AdditionalPrinterColumn.Type.STRING,
    priority = 1)
@AdditionalPrinterColumn(
    name = "Nodes",
    jsonPath = ".status.training.nodesRunning",
    type = AdditionalPrinterColumn.Type.STRING,
    priority = 1)
@AdditionalPrinterColumn(
    name = "Age",
    jsonPath = ".metadata.creationTimestamp",
    type = AdditionalPrinterColumn.Type.DATE)
public class FineTuneJob extends CustomResource<FineTuneJobSpec, FineTuneJobStatus>
    implements Namespaced {
  public static final String GROUP = "finetune.dev";
  public static final String VERSION = "v1alpha1";

  @Override
  protected FineTuneJobStatus initStatus() {
    return new FineTuneJobStatus();
  }
}
