package dev.finetune.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Observed state of a FineTuneJob, written only by the operator. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class FineTuneJobStatus {
  @JsonPropertyDescription(
      "Pending, Validating, Provisioning, Training, Evaluating, Succeeded or Failed.")
  public Phase phase;

  @JsonPropertyDescription("The metadata.generation this status describes.")
  public Long observedGeneration;

  @JsonPropertyDescription("One line on what is happening now, or why the job failed.")
  public String message;

  @JsonPropertyDescription(
      "kstatus-style conditions: DatasetValid, AcceleratorSelected, IdentityBound, CapacityReady,"
          + " TrainingComplete, EvaluationComplete, QualityGatePassed and Ready; kstatus's"
          + " Reconciling and Stalled (abnormal-true); CleanupBlocked while IAM grants cannot be"
          + " released.")
  public List<Condition> conditions = new ArrayList<>();

  @JsonPropertyDescription("What validation found in the data.")
  public DatasetStatus dataset;

  @JsonPropertyDescription("The accelerator chosen, where, and why.")
  public HardwareStatus hardware;

  @JsonPropertyDescription("Progress of the trainer.")
  public TrainingStatus training;

  @JsonPropertyDescription("ROUGE of the base and the tuned model, and the gate verdict.")
  public EvaluationStatus evaluation;

  @JsonPropertyDescription("Where the results are.")
  public OutputStatus output;

  @JsonPropertyDescription("GPU time used and its estimated price.")
  public CostStatus cost;

  @JsonPropertyDescription(
      "The IAM grants made for this job, recorded before they are made and removed once they"
          + " are released (at the end of the run or on deletion).")
  public IdentityStatus identity;

  @JsonPropertyDescription("When the operator first saw the job (RFC 3339).")
  public String startTime;

  @JsonPropertyDescription("When the job reached Succeeded or Failed (RFC 3339).")
  public String completionTime;

  /** Lifecycle phases. */
  public enum Phase {
    Pending,
    Validating,
    Provisioning,
    Training,
    Evaluating,
    Succeeded,
    Failed;

    public boolean terminal() {
      return this == Succeeded || this == Failed;
    }
  }

  /** Dataset validation results. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class DatasetStatus {
    @JsonPropertyDescription("Detected or declared record format.")
    public String format;

    @JsonPropertyDescription("Valid training examples.")
    public Long trainExamples;

    @JsonPropertyDescription("Valid evaluation examples (validation file or held-out split).")
    public Long validationExamples;

    @JsonPropertyDescription("Characters in all examples.")
    public Long characters;

    @JsonPropertyDescription("Estimated tokens in all examples.")
    public Long estimatedTokens;

    @JsonPropertyDescription("sha256 of the training object as read.")
    public String trainSha256;

    @JsonPropertyDescription("sha256 of the validation object as read.")
    public String validationSha256;

    @JsonPropertyDescription("Number of invalid lines.")
    public Long errorCount;

    @JsonPropertyDescription("The first errors, as file:line: field: reason.")
    public List<String> errors;
  }

  /** Accelerator decision. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class HardwareStatus {
    public String accelerator;
    public Integer count;
    public String machineType;
    public Boolean spot;
    public String nodePool;

    @JsonPropertyDescription("Nodes training together (hardware.nodes), each with count GPUs.")
    public Integer nodes;

    @JsonPropertyDescription("Why this accelerator was chosen, with the memory estimate.")
    public String reason;

    @JsonPropertyDescription(
        "How the trainer uses the GPUs: ddp (every GPU holds the whole model) or fsdp (the weights"
            + " are sharded over the GPUs, for a model no single GPU holds).")
    public String strategy;

    @JsonPropertyDescription(
        "The capacity the trainer actually got, read from the labels of the node its pod runs"
            + " on: spot (cloud.google.com/gke-spot), reservation"
            + " (cloud.google.com/reservation-name), flex-start (cloud.google.com/gke-flex-start),"
            + " else on-demand. The cost is priced at this capacity.")
    public String capacity;

    @JsonPropertyDescription("The Compute Engine reservation the trainer's node consumes, if any.")
    public String reservation;

    @JsonPropertyDescription("The node the trainer pod runs (or last ran) on.")
    public String node;

    @JsonPropertyDescription(
        "The GKE ComputeClass the trainer pod selects (hardware.provisioning: computeClass).")
    public String computeClass;

    @JsonPropertyDescription(
        "The ProvisioningRequest (autoscaling.x-k8s.io/v1) asking Dynamic Workload Scheduler for"
            + " the trainer's nodes (hardware.provisioning: flexStart).")
    public String provisioningRequest;
  }

  /** Trainer progress. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class TrainingStatus {
    @JsonPropertyDescription("Name of the batch/v1 Job running the trainer.")
    public String jobName;

    @JsonPropertyDescription(
        "Several nodes: trainer pods running of hardware.nodes, such as 2/2 (absent for one node).")
    public String nodesRunning;

    @JsonPropertyDescription(
        "Trainer pods started, including restarts after preemption. Never goes down, also when"
            + " the pods of earlier attempts are garbage-collected.")
    public Integer attempts;

    @JsonPropertyDescription(
        "Trainer pods evicted by spot preemption or node maintenance (monotonic).")
    public Integer preemptions;

    @JsonPropertyDescription("Failed trainer pods, not counting preemptions (monotonic).")
    public Integer failures;

    @JsonPropertyDescription(
        "GPU-seconds of the trainer pods that have ended (monotonic); running pods are added"
            + " when they end.")
    public Double gpuSeconds;

    @JsonPropertyDescription(
        "UIDs of existing trainer pods already counted; a UID ending in /ended had its end"
            + " counted too. Pods that are gone are dropped from the list, never from the"
            + " counters.")
    public List<String> countedPods;

    public Long step;
    public Long totalSteps;
    public Double epoch;

    @JsonPropertyDescription("Percent done, such as 42%.")
    public String progress;

    public Double loss;
    public Double evalLoss;
    public Double tokensPerSecond;

    @JsonPropertyDescription("Newest resumable checkpoint.")
    public String lastCheckpoint;

    @JsonPropertyDescription("Estimated completion time (RFC 3339).")
    public String eta;

    @JsonPropertyDescription("When the trainer last reported progress (RFC 3339).")
    public String updatedAt;

    @JsonPropertyDescription(
        "Kueue admission of the trainer Job (spec.queue): queue, state and Kueue's message.")
    public QueueStatus queue;
  }

  /** Where the trainer Job stands in Kueue. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class QueueStatus {
    @JsonPropertyDescription("The LocalQueue of spec.queue.")
    public String localQueue;

    @JsonPropertyDescription("The ClusterQueue the LocalQueue points to, as Kueue reports it.")
    public String clusterQueue;

    @JsonPropertyDescription(
        "Queued (suspended, waiting for quota), Admitted (Kueue let it start), QueueNotFound"
            + " (no such LocalQueue in the namespace) or KueueNotInstalled.")
    public String state;

    @JsonPropertyDescription("Kueue's Workload for the trainer Job.")
    public String workload;

    @JsonPropertyDescription(
        "Kueue's own words on the Workload (QuotaReserved, Admitted or Evicted condition).")
    public String message;

    @JsonPropertyDescription(
        "Times Kueue admitted the trainer Job; more than one after a preemption by Kueue"
            + " (monotonic).")
    public Integer admissions;

    @JsonPropertyDescription("When the job last started waiting in the queue (RFC 3339).")
    public String queuedSince;
  }

  /** Evaluation results. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class EvaluationStatus {
    @JsonPropertyDescription("Examples scored.")
    public Integer examples;

    @JsonPropertyDescription(
        "Per metric: baseline, tuned and delta of the mean score (F-measure for ROUGE, F1 for"
            + " jsonFieldMatch), with the confidence interval of the delta.")
    public Map<String, MetricResult> metrics = new LinkedHashMap<>();

    @JsonPropertyDescription(
        "How the delta intervals were computed, e.g. 95% paired bootstrap over examples, 1000"
            + " resamples, seed 42.")
    public String interval;

    @JsonPropertyDescription("Passed, Failed or NotConfigured.")
    public String gate;

    @JsonPropertyDescription("The gate verdict with its numbers.")
    public String gateMessage;

    @JsonPropertyDescription("Where the predictions are.")
    public String predictionsUri;

    @JsonPropertyDescription(
        "The evaluation report (one self-contained HTML file): metrics with intervals, score"
            + " distributions, loss curve, and the examples that gained and lost most.")
    public String reportUri;
  }

  /** One metric's result. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class MetricResult {
    @JsonPropertyDescription("Mean score of the base model.")
    public Double baseline;

    @JsonPropertyDescription("Mean score of the tuned model.")
    public Double tuned;

    @JsonPropertyDescription("tuned minus baseline.")
    public Double delta;

    @JsonPropertyDescription("Lower end of the confidence interval of delta.")
    public Double deltaLow;

    @JsonPropertyDescription("Upper end of the confidence interval of delta.")
    public Double deltaHigh;

    @JsonPropertyDescription("jsonFieldMatch: the tuned model's mean precision.")
    public Double precision;

    @JsonPropertyDescription("jsonFieldMatch: the tuned model's mean recall.")
    public Double recall;

    @JsonPropertyDescription(
        "Examples scored for this metric, when fewer than evaluation.examples (jsonFieldMatch"
            + " scores only examples whose reference is JSON).")
    public Integer scored;

    @JsonPropertyDescription(
        "Examples not scored for this metric (jsonFieldMatch: the reference is not JSON).")
    public Integer notScored;
  }

  /** Result locations. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class OutputStatus {
    @JsonPropertyDescription(
        "The adapter's prefix (adapter_model.safetensors, adapter_config.json, tokenizer); set"
            + " once the operator has seen the files there.")
    public String adapterUri;

    @JsonPropertyDescription("Total size in bytes of the objects under adapterUri.")
    public Long adapterBytes;

    @JsonPropertyDescription("The run's manifest.json; set once the operator has seen it.")
    public String manifestUri;

    @JsonPropertyDescription("Size in bytes of manifest.json.")
    public Long manifestBytes;

    @JsonPropertyDescription("The exact model commit trained on, from manifest.json.")
    public String resolvedRevision;
  }

  /** The IAM grants of a job. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class IdentityStatus {
    @JsonPropertyDescription("Grants made (or being made) and not yet released.")
    public List<Grant> grants;

    @JsonPropertyDescription("When the grants were released (RFC 3339).")
    public String releasedAt;
  }

  /** One IAM grant: member gets role on resource. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Grant {
    @JsonPropertyDescription("serviceAccount (a Google service account) or bucket.")
    public String kind;

    @JsonPropertyDescription("The service account email or the bucket name.")
    public String resource;

    public String role;
    public String member;

    public Grant() {}

    public Grant(String kind, String resource, String role, String member) {
      this.kind = kind;
      this.resource = resource;
      this.role = role;
      this.member = member;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Grant g
          && java.util.Objects.equals(kind, g.kind)
          && java.util.Objects.equals(resource, g.resource)
          && java.util.Objects.equals(role, g.role)
          && java.util.Objects.equals(member, g.member);
    }

    @Override
    public int hashCode() {
      return java.util.Objects.hash(kind, resource, role, member);
    }

    @Override
    public String toString() {
      return member + " " + role + " on " + kind + " " + resource;
    }
  }

  /** Cost. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class CostStatus {
    public Double gpuHours;

    @JsonPropertyDescription("Estimated price in USD from the operator's price table.")
    public Double estimatedUsd;
  }
}
