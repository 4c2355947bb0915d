package dev.finetune.operator.reconcile.steps;

import java.util.Arrays;
import java.util.List;

/**
 * The cluster admin's list of Google service accounts a namespace may use, from the namespace
 * annotation finetune.dev/allowed-gcp-service-accounts (emails separated by commas, spaces or
 * newlines). No annotation means none is allowed.
 */
public final class NamespacePolicy {
  private NamespacePolicy() {}

  public record Verdict(boolean allowed, String message) {}

  public static List<String> parse(String annotation) {
    if (annotation == null || annotation.isBlank()) {
      return List.of();
    }
    return Arrays.stream(annotation.split("[,\\s]+"))
        .map(String::trim)
        .filter(s -> !s.isEmpty())
        .map(s -> s.toLowerCase(java.util.Locale.ROOT))
        .toList();
  }

  public static Verdict check(String namespace, String annotation, String gcpServiceAccount) {
    List<String> allowed = parse(annotation);
    String requested = gcpServiceAccount.toLowerCase(java.util.Locale.ROOT);
    if (allowed.contains(requested)) {
      return new Verdict(true, "allowed by namespace " + namespace);
    }
    String list =
        allowed.isEmpty() ? "none (the annotation is missing or empty)" : allowed.toString();
    return new Verdict(
        false,
        String.format(
            "namespace %s may use only %s; %s is not allowed. A cluster admin can add it to the"
                + " namespace annotation %s",
            namespace, list, gcpServiceAccount, BindIdentityStep.ALLOWED_ANNOTATION));
  }
}
