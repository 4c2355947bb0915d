package dev.finetune.operator.tenancy;

import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.IdentitySpec;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What a namespace's cluster admin gave it, checked against a job's spec before the operator reads,
 * creates or grants anything for it. Every {@code gs://} URI of the spec must resolve (see {@link
 * StorageLocation}) inside {@value StorageAllowList#ANNOTATION} and be written in canonical form,
 * in every identity mode; identity {@code mode: direct} grants roles on whole buckets, so there
 * each bucket must be allowed whole.
 */
public final class TenantPolicy {
  /** Opts a namespace in to the operator's own Hugging Face token (value {@code "true"}). */
  public static final String OPERATOR_HF_TOKEN_ANNOTATION = "finetune.dev/allow-operator-hf-token";

  /**
   * Prefix of the annotations only cluster admins may set (see deploy/base/tenancy-admission.yaml).
   */
  public static final String ANNOTATION_PREFIX = "finetune.dev/";

  public static final String NOT_ALLOWED = "NotAllowed";

  private TenantPolicy() {}

  /** One {@code gs://} URI of the spec and the condition a refusal of it is reported on. */
  public record Use(String field, String uri, String condition) {}

  /** A refusal: the condition type to set (or null for Ready alone) and a message to act on. */
  public record Refusal(String condition, String field, String message) {}

  public static List<Use> storageUses(FineTuneJob job) {
    List<Use> uses = new ArrayList<>();
    var spec = job.getSpec();
    if (spec.dataset != null) {
      add(uses, "spec.dataset.train", spec.dataset.train, "DatasetValid");
      add(uses, "spec.dataset.validation", spec.dataset.validation, "DatasetValid");
    }
    if (spec.model != null && StorageLocation.isStorageUri(spec.model.source)) {
      add(uses, "spec.model.source", spec.model.source, null);
    }
    add(uses, "spec.output", spec.output, null);
    return uses;
  }

  private static void add(List<Use> uses, String field, String uri, String condition) {
    if (uri != null) {
      uses.add(new Use(field, uri, condition));
    }
  }

  public static Optional<Refusal> check(FineTuneJob job, Map<String, String> nsAnnotations) {
    String ns = job.getMetadata().getNamespace();
    StorageAllowList allowed =
        StorageAllowList.parse(nsAnnotations.get(StorageAllowList.ANNOTATION));
    String hint =
        "; a cluster admin lists the locations a namespace may use in its annotation "
            + StorageAllowList.ANNOTATION
            + " (now: "
            + allowed.describe()
            + ")";
    Set<String> buckets = new LinkedHashSet<>();
    for (Use use : storageUses(job)) {
      StorageLocation.Parsed parsed = StorageLocation.parse(use.uri());
      if (parsed instanceof StorageLocation.Unusable u) {
        return Optional.of(
            new Refusal(
                use.condition(),
                use.field(),
                use.field() + " \"" + use.uri() + "\" does not name a location (" + u.why() + ")"));
      }
      StorageLocation location = ((StorageLocation.Resolved) parsed).location();
      if (!allowed.allows(location)) {
        String resolved =
            location.isCanonical(use.uri()) ? "" : " (it resolves to " + location.uri() + ")";
        return Optional.of(
            new Refusal(
                use.condition(),
                use.field(),
                use.field()
                    + " \""
                    + use.uri()
                    + "\""
                    + resolved
                    + " is outside the Cloud Storage locations namespace \""
                    + ns
                    + "\" may use"
                    + hint));
      }
      if (!location.isCanonical(use.uri())) {
        return Optional.of(
            new Refusal(
                use.condition(),
                use.field(),
                use.field()
                    + " \""
                    + use.uri()
                    + "\" is not in canonical form; write it as "
                    + location.uri()
                    + " (no percent-encoding, \"..\", \".\" or empty segments, lowercase bucket)"));
      }
      buckets.add(location.bucket());
    }
    IdentitySpec id = job.getSpec().identity;
    if (id != null && id.mode == IdentitySpec.Mode.DIRECT) {
      for (String bucket : buckets) {
        if (!allowed.allowsWholeBucket(bucket)) {
          return Optional.of(
              new Refusal(
                  "IdentityBound",
                  "spec.identity.mode",
                  "identity.mode direct grants storage roles on whole buckets, and namespace \""
                      + ns
                      + "\" may use only part of bucket "
                      + bucket
                      + hint
                      + "; use identity.gcpServiceAccount, or ask for gs://"
                      + bucket
                      + " as a whole"));
        }
      }
    }
    return Optional.empty();
  }

  /** True when the admin opted the namespace in to the operator's Hugging Face token. */
  public static boolean operatorTokenAllowed(Map<String, String> nsAnnotations) {
    return "true".equalsIgnoreCase(nsAnnotations.getOrDefault(OPERATOR_HF_TOKEN_ANNOTATION, ""));
  }
}
