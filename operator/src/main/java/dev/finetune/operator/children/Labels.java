package dev.finetune.operator.children;

import dev.finetune.api.v1alpha1.FineTuneJob;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/** Names and labels of everything the operator creates for a FineTuneJob. */
public final class Labels {
  public static final String MANAGED_BY = "app.kubernetes.io/managed-by";
  public static final String MANAGED_BY_VALUE = "finetune-operator";
  public static final String COMPONENT = "app.kubernetes.io/component";
  public static final String JOB_NAME = "finetune.dev/job-name";
  public static final String SELECTOR = MANAGED_BY + "=" + MANAGED_BY_VALUE;
  public static final String FIELD_MANAGER = "finetune-operator";

  /** Prefix of user labels that are not copied from the FineTuneJob to its children. */
  private static final String RESERVED_PREFIX = "app.kubernetes.io/";

  private Labels() {}

  /**
   * Name shared by a job's children (ServiceAccount, ConfigMap, Job). Kept within 52 characters so
   * that the Job's pods (name + 5 + 6 characters) and label values stay valid.
   */
  public static String childName(FineTuneJob job) {
    String base = job.getMetadata().getName();
    String name = base + "-trainer";
    if (name.length() <= 52) {
      return name;
    }
    return base.substring(0, 35).replaceAll("[.-]+$", "") + "-" + shortHash(base) + "-trainer";
  }

  /** Value of {@link #JOB_NAME}: the FineTuneJob's name, hashed when over 63 characters. */
  public static String jobNameValue(FineTuneJob job) {
    String name = job.getMetadata().getName();
    return name.length() <= 63
        ? name
        : name.substring(0, 50).replaceAll("[.-]+$", "") + "-" + shortHash(name);
  }

  /**
   * Labels of a child: the FineTuneJob's own labels (so cost allocation and selectors carry over)
   * plus the operator's.
   */
  public static Map<String, String> forChild(FineTuneJob job, String component) {
    Map<String, String> labels = new LinkedHashMap<>();
    if (job.getMetadata().getLabels() != null) {
      job.getMetadata().getLabels().entrySet().stream()
          .filter(e -> !e.getKey().startsWith(RESERVED_PREFIX))
          .forEach(e -> labels.put(e.getKey(), e.getValue()));
    }
    labels.put(MANAGED_BY, MANAGED_BY_VALUE);
    labels.put(COMPONENT, component);
    labels.put(JOB_NAME, jobNameValue(job));
    return labels;
  }

  static String shortHash(String s) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(d, 0, 4);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
