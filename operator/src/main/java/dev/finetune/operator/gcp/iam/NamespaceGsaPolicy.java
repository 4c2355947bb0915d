package dev.finetune.operator.gcp.iam;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Which Google service accounts a namespace's jobs may use, from the namespace annotation {@value
 * #ANNOTATION}.
 *
 * <p>The annotation holds emails separated by commas, spaces or newlines. An entry may use {@code
 * *} in the part before {@code @} to match any characters other than {@code @}, e.g. {@code
 * *@team-a.iam.gserviceaccount.com} or {@code trainer-*@proj.iam.gserviceaccount.com}; the domain
 * after {@code @} must be literal. Matching is case-insensitive. A missing or empty annotation
 * allows nothing.
 */
public final class NamespaceGsaPolicy {

  public static final String ANNOTATION = "finetune.dev/allowed-gcp-service-accounts";

  private NamespaceGsaPolicy() {}

  /** The decision and, when refused, the message for the job's condition. */
  public record Decision(boolean allowed, String message) {}

  /** Entries of the annotation value, in order. */
  public static List<String> entries(String annotationValue) {
    if (annotationValue == null) {
      return List.of();
    }
    return Arrays.stream(annotationValue.split("[,\\s]+"))
        .map(String::trim)
        .filter(s -> !s.isEmpty())
        .toList();
  }

  public static Decision evaluate(String namespace, String annotationValue, String requestedGsa) {
    List<String> allowed = entries(annotationValue);
    String gsa = requestedGsa == null ? "" : requestedGsa.trim();
    if (!gsa.isEmpty() && allowed.stream().anyMatch(p -> matches(p, gsa))) {
      return new Decision(true, "namespace \"" + namespace + "\" may use \"" + gsa + "\"");
    }
    String hint = " (ask a cluster admin to add it to the namespace annotation " + ANNOTATION + ")";
    if (allowed.isEmpty()) {
      return new Decision(
          false,
          "namespace \""
              + namespace
              + "\" may not use any Google service account; \""
              + gsa
              + "\" is not allowed"
              + hint);
    }
    return new Decision(
        false,
        "namespace \""
            + namespace
            + "\" may use only "
            + allowed
            + "; \""
            + gsa
            + "\" is not allowed"
            + hint);
  }

  static boolean matches(String pattern, String gsa) {
    int at = pattern.indexOf('@');
    if (at < 0 || pattern.indexOf('*', at) >= 0) {
      return false; // a domain is required and must be literal
    }
    String p = pattern.toLowerCase(Locale.ROOT);
    String g = gsa.toLowerCase(Locale.ROOT);
    if (!p.contains("*")) {
      return p.equals(g);
    }
    String[] parts = p.split("\\*", -1);
    StringBuilder re = new StringBuilder(Pattern.quote(parts[0]));
    for (int i = 1; i < parts.length; i++) {
      re.append("[^@]*").append(Pattern.quote(parts[i]));
    }
    return Pattern.compile(re.toString()).matcher(g).matches();
  }
}
