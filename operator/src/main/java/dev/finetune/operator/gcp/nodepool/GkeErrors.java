package dev.finetune.operator.gcp.nodepool;

import com.google.api.gax.rpc.ApiException;
import com.google.api.gax.rpc.StatusCode;
import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Maps GKE errors (failed RPCs, failed operations, pools in ERROR) to a {@link PoolStatus} with a
 * condition reason and a message a user can act on.
 */
public final class GkeErrors {

  public static final String QUOTA_EXCEEDED = "QuotaExceeded";
  public static final String STOCKOUT = "Stockout";
  public static final String TRANSIENT = "Transient";
  public static final String PERMISSION_DENIED = "PermissionDenied";
  public static final String INVALID_ARGUMENT = "InvalidArgument";

  static final Duration QUOTA_BASE = Duration.ofMinutes(5);
  static final Duration QUOTA_CAP = Duration.ofHours(1);
  static final Duration STOCKOUT_BASE = Duration.ofMinutes(1);
  static final Duration STOCKOUT_CAP = Duration.ofMinutes(30);
  static final Duration TRANSIENT_BASE = Duration.ofSeconds(10);
  static final Duration TRANSIENT_CAP = Duration.ofMinutes(5);

  private static final Pattern[] QUOTA_NAME = {
    Pattern.compile("resource \"?'?([A-Z0-9_]+)\"?'?"),
    Pattern.compile("[Qq]uota '([A-Za-z0-9_]+)'"),
    Pattern.compile(
        "\\b([A-Z0-9_]*(?:GPUS|CPUS|_SSD_TOTAL_GB|DISKS_TOTAL_GB|IN_USE_ADDRESSES))\\b"),
  };

  private GkeErrors() {}

  /**
   * Maps a failed RPC.
   *
   * @param e the exception from the client
   * @param permission the IAM permission the call needs, named in PermissionDenied messages
   * @param target what was being done, e.g. {@code creating node pool ft-l4-x1 in cluster c}
   * @param attempt retry count kept by the caller, for the backoff
   */
  public static PoolStatus map(ApiException e, String permission, String target, int attempt) {
    return map(e.getStatusCode().getCode(), cleanMessage(e), permission, target, attempt);
  }

  /** The exception message without the transport's exception class prefix. */
  public static String cleanMessage(Throwable e) {
    String m = e.getMessage() == null ? "" : e.getMessage();
    return m.replaceFirst("^io\\.grpc\\.StatusRuntimeException: ", "");
  }

  /** Converts a numeric google.rpc code (as in a failed operation) to a gax code. */
  public static StatusCode.Code codeOf(int rpcCode) {
    for (StatusCode.Code c : StatusCode.Code.values()) {
      if (c.ordinal() == rpcCode) {
        return c;
      }
    }
    return StatusCode.Code.UNKNOWN;
  }

  /** Maps an error given as a status code and message (also used for failed operations). */
  public static PoolStatus map(
      StatusCode.Code code, String message, String permission, String target, int attempt) {
    PoolStatus s = classify(code, message, permission, target, attempt);
    String label =
        s instanceof PoolStatus.WaitingForCapacity w
            ? w.reason()
            : s instanceof PoolStatus.Failed f ? f.reason() : "Other";
    dev.finetune.operator.metrics.GoogleApiErrors.record("container", label);
    return s;
  }

  private static PoolStatus classify(
      StatusCode.Code code, String message, String permission, String target, int attempt) {
    String msg = message == null ? "" : message;
    String lower = msg.toLowerCase(Locale.ROOT);
    if (isStockout(lower)) {
      return PoolStatus.waiting(
          STOCKOUT,
          "GKE has no "
              + "capacity for this GPU in the zone right now while "
              + target
              + " ("
              + msg
              + "); retrying with backoff. Consider other zones (node locations), a different"
              + " accelerator, or spot capacity.",
          Backoff.delay(attempt, STOCKOUT_BASE, STOCKOUT_CAP));
    }
    if (isQuota(code, lower)) {
      String quota = quotaName(msg);
      return PoolStatus.waiting(
          QUOTA_EXCEEDED,
          "Quota "
              + (quota == null ? "" : quota + " ")
              + "exceeded while "
              + target
              + " ("
              + msg
              + "). Request a quota increase"
              + (quota == null ? "" : " for " + quota)
              + " in the Google Cloud console (IAM & Admin > Quotas) or pick another"
              + " accelerator or region; retrying with backoff.",
          Backoff.delay(attempt, QUOTA_BASE, QUOTA_CAP));
    }
    switch (code) {
      case UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL, ABORTED, RESOURCE_EXHAUSTED, UNKNOWN:
        return PoolStatus.waiting(
            TRANSIENT,
            "GKE returned " + code + " while " + target + " (" + msg + "); retrying.",
            Backoff.delay(attempt, TRANSIENT_BASE, TRANSIENT_CAP));
      case FAILED_PRECONDITION:
        // GKE answers FAILED_PRECONDITION while another operation runs on the cluster.
        return PoolStatus.waiting(
            TRANSIENT,
            "GKE refused the request while "
                + target
                + " ("
                + msg
                + "); probably another cluster operation is running, retrying.",
            Backoff.delay(attempt, TRANSIENT_BASE, TRANSIENT_CAP));
      case PERMISSION_DENIED:
        return new PoolStatus.Failed(
            PERMISSION_DENIED,
            "The operator's Google service account lacks "
                + permission
                + " while "
                + target
                + " ("
                + msg
                + "). Grant it the custom roles hack/gcp-setup.sh creates (docs/gcp-setup.md);"
                + " every permission is listed in docs/gcp-permissions.md.");
      case UNAUTHENTICATED:
        return new PoolStatus.Failed(
            "Unauthenticated",
            "The operator could not authenticate to GKE while "
                + target
                + " ("
                + msg
                + "); check the operator's Workload Identity setup.");
      case INVALID_ARGUMENT:
        return new PoolStatus.Failed(
            INVALID_ARGUMENT, "GKE rejected the request while " + target + ": " + msg);
      case NOT_FOUND:
        return new PoolStatus.Failed(
            "NotFound",
            "GKE reported NOT_FOUND while "
                + target
                + " ("
                + msg
                + "); check the configured project, location and cluster.");
      default:
        return new PoolStatus.Failed(
            code.name(), "GKE returned " + code + " while " + target + ": " + msg);
    }
  }

  /**
   * Maps the message of a pool in ERROR or of a finished operation with no status code: stockout
   * and quota text are recognised, anything else fails.
   */
  public static PoolStatus mapMessage(String message, String target, int attempt) {
    return map(StatusCode.Code.UNKNOWN, message, "", target, attempt)
                instanceof PoolStatus.WaitingForCapacity w
            && !w.reason().equals(TRANSIENT)
        ? w
        : new PoolStatus.Failed(
            "NodePoolError", "Node pool error while " + target + ": " + message);
  }

  static boolean isStockout(String lower) {
    return lower.contains("zone_resource_pool_exhausted")
        || lower.contains("does not have enough resources available")
        || lower.contains("stockout");
  }

  static boolean isQuota(StatusCode.Code code, String lower) {
    return lower.contains("quota")
        && (code == StatusCode.Code.RESOURCE_EXHAUSTED
            || lower.contains("exceed")
            || lower.contains("insufficient"));
  }

  /** The quota metric named in a GCE/GKE quota message, e.g. {@code NVIDIA_L4_GPUS}. */
  static String quotaName(String message) {
    for (Pattern p : QUOTA_NAME) {
      Matcher m = p.matcher(message);
      if (m.find()) {
        return m.group(1);
      }
    }
    return null;
  }
}
