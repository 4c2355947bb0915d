package dev.finetune.operator.reconcile;

import io.fabric8.kubernetes.client.KubernetesClientException;

/** One line a person can act on, from an exception out of a reconcile. */
final class ReconcileErrors {
  private static final int MAX = 900;

  private ReconcileErrors() {}

  static String describe(Throwable e) {
    KubernetesClientException k = find(e);
    String text;
    if (k != null && k.getCode() > 0) {
      String kind =
          switch (k.getCode()) {
            case 401 -> "Unauthorized";
            case 403 -> "Forbidden (check the operator's RBAC in deploy/base/rbac.yaml)";
            case 404 -> "NotFound";
            case 409 -> "Conflict";
            case 422 -> "Invalid (rejected by the API server or an admission policy)";
            case 429 -> "TooManyRequests";
            default -> k.getCode() >= 500 ? "API server error" : "HTTP error";
          };
      String detail =
          k.getStatus() != null && k.getStatus().getMessage() != null
              ? k.getStatus().getMessage()
              : String.valueOf(k.getMessage());
      text = kind + " (" + k.getCode() + "): " + detail;
    } else {
      Throwable root = e;
      while (root.getCause() != null && root.getCause() != root) {
        root = root.getCause();
      }
      text = root.getClass().getSimpleName() + ": " + root.getMessage();
    }
    return text.length() > MAX ? text.substring(0, MAX) : text;
  }

  private static KubernetesClientException find(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof KubernetesClientException k) {
        return k;
      }
      if (t.getCause() == t) {
        break;
      }
    }
    return null;
  }
}
