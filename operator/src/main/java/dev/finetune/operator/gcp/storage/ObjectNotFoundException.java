package dev.finetune.operator.gcp.storage;

import java.io.FileNotFoundException;

/** The object, or the bucket it would live in, does not exist. */
public class ObjectNotFoundException extends FileNotFoundException {
  private final GcsUri uri;
  private final boolean bucketMissing;

  private ObjectNotFoundException(GcsUri uri, boolean bucketMissing, String message) {
    super(message);
    this.uri = uri;
    this.bucketMissing = bucketMissing;
  }

  /** {@code gs://b/x.jsonl: object not found}. */
  public static ObjectNotFoundException object(GcsUri uri) {
    return new ObjectNotFoundException(uri, false, uri + ": object not found");
  }

  /** {@code gs://b/x.jsonl: bucket "b" not found}. */
  public static ObjectNotFoundException bucket(GcsUri uri) {
    return new ObjectNotFoundException(
        uri, true, uri + ": bucket \"" + uri.bucket() + "\" not found");
  }

  public GcsUri uri() {
    return uri;
  }

  public boolean bucketMissing() {
    return bucketMissing;
  }
}
