package dev.finetune.operator.gcp.iam;

import com.google.api.gax.rpc.ApiException;
import com.google.api.gax.rpc.StatusCode;
import java.time.Duration;

/** Maps IAM API errors to {@link IamResult}. */
final class IamErrors {
  private IamErrors() {}

  static String clean(Throwable e) {
    if (e == null) {
      return "";
    }
    String m = e.getMessage() == null ? "" : e.getMessage();
    return m.replaceFirst("^io\\.grpc\\.StatusRuntimeException: ", "");
  }

  static IamResult map(ApiException e, String permissions, String target) {
    return map(e.getStatusCode().getCode(), clean(e), permissions, target);
  }

  static IamResult map(StatusCode.Code code, String msg, String permissions, String target) {
    IamResult r = classify(code, msg, permissions, target);
    String label =
        r instanceof IamResult.Retry retry
            ? retry.reason()
            : r instanceof IamResult.Failed f ? f.reason() : "Other";
    dev.finetune.operator.metrics.GoogleApiErrors.record("iam", label);
    return r;
  }

  private static IamResult classify(
      StatusCode.Code code, String msg, String permissions, String target) {
    return switch (code) {
      case PERMISSION_DENIED, UNAUTHENTICATED ->
          new IamResult.Failed(
              "PermissionDenied",
              "The operator's Google service account needs "
                  + permissions
                  + " for "
                  + target
                  + " ("
                  + msg
                  + "); see docs/gcp-permissions.md.");
      case NOT_FOUND ->
          new IamResult.Failed("NotFound", target + " failed: not found (" + msg + ")");
      case INVALID_ARGUMENT, FAILED_PRECONDITION ->
          new IamResult.Failed("InvalidArgument", target + " was rejected: " + msg);
      case ABORTED ->
          new IamResult.Retry(
              "ConcurrentModification",
              target + " raced another change (" + msg + ")",
              Duration.ofSeconds(5));
      default ->
          new IamResult.Retry(
              "Transient",
              target + " failed with " + code + " (" + msg + "); will retry.",
              Duration.ofSeconds(15));
    };
  }
}
