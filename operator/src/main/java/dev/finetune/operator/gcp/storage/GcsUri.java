package dev.finetune.operator.gcp.storage;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * A Cloud Storage location, {@code gs://bucket/object}. The object name may be empty, which denotes
 * the bucket itself or, for {@link ObjectStore#list}, "every object in the bucket".
 *
 * <p>Parsing is strict and its messages say what to change: bucket names follow the Cloud Storage
 * naming rules (3-63 characters, or up to 222 with dots; lowercase letters, digits, {@code -},
 * {@code _} and {@code .}; starting and ending with a letter or digit), object names are at most
 * 1024 UTF-8 bytes and contain no carriage return or line feed.
 */
public final class GcsUri {
  public static final String SCHEME = "gs://";

  private final String bucket;
  private final String object;

  private GcsUri(String bucket, String object) {
    this.bucket = bucket;
    this.object = object;
  }

  /** Builds a URI from parts, validating both. */
  public static GcsUri of(String bucket, String object) {
    Objects.requireNonNull(bucket, "bucket");
    Objects.requireNonNull(object, "object");
    String display = SCHEME + bucket + "/" + object;
    validateBucket(display, bucket);
    validateObject(display, object);
    return new GcsUri(bucket, object);
  }

  /** True when {@code s} starts with {@code gs://}; says nothing about whether it is valid. */
  public static boolean isGcsUri(String s) {
    return s != null && s.startsWith(SCHEME);
  }

  /**
   * Parses {@code gs://bucket/object} (or {@code gs://bucket} / {@code gs://bucket/}).
   *
   * @throws IllegalArgumentException with a message naming the input and what is wrong
   */
  public static GcsUri parse(String uri) {
    if (uri == null || uri.isBlank()) {
      throw new IllegalArgumentException("empty Cloud Storage URI; expected gs://bucket/object");
    }
    if (!uri.startsWith(SCHEME)) {
      throw new IllegalArgumentException(
          "\"" + uri + "\": not a Cloud Storage URI; expected gs://bucket/object");
    }
    String rest = uri.substring(SCHEME.length());
    int slash = rest.indexOf('/');
    String bucket = slash < 0 ? rest : rest.substring(0, slash);
    String object = slash < 0 ? "" : rest.substring(slash + 1);
    if (bucket.isEmpty()) {
      throw new IllegalArgumentException(
          "\"" + uri + "\": missing bucket name; expected gs://bucket/object");
    }
    validateBucket(uri, bucket);
    validateObject(uri, object);
    return new GcsUri(bucket, object);
  }

  private static void validateBucket(String uri, String bucket) {
    int max = bucket.indexOf('.') >= 0 ? 222 : 63;
    if (bucket.length() < 3 || bucket.length() > max) {
      throw new IllegalArgumentException(
          "\""
              + uri
              + "\": bucket name \""
              + bucket
              + "\" must be 3 to "
              + max
              + " characters long");
    }
    for (int i = 0; i < bucket.length(); i++) {
      char c = bucket.charAt(i);
      boolean ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
      ok |= c == '.';
      if (!ok) {
        throw new IllegalArgumentException(
            "\""
                + uri
                + "\": bucket name \""
                + bucket
                + "\" may only contain lowercase letters, digits, '-', '_' and '.'; found '"
                + c
                + "'");
      }
    }
    if (!isAlnum(bucket.charAt(0)) || !isAlnum(bucket.charAt(bucket.length() - 1))) {
      throw new IllegalArgumentException(
          "\""
              + uri
              + "\": bucket name \""
              + bucket
              + "\" must start and end with a letter or digit");
    }
  }

  private static boolean isAlnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  }

  private static void validateObject(String uri, String object) {
    if (object.indexOf('\r') >= 0 || object.indexOf('\n') >= 0) {
      throw new IllegalArgumentException(
          "\"" + uri + "\": object name must not contain a carriage return or line feed");
    }
    if (object.getBytes(StandardCharsets.UTF_8).length > 1024) {
      throw new IllegalArgumentException("\"" + uri + "\": object name is longer than 1024 bytes");
    }
  }

  public String bucket() {
    return bucket;
  }

  /** The object name; empty for a bucket-only URI. */
  public String object() {
    return object;
  }

  public boolean hasObject() {
    return !object.isEmpty();
  }

  /** The last path segment of the object name, e.g. {@code train.jsonl}. */
  public String fileName() {
    int slash = object.lastIndexOf('/');
    return slash < 0 ? object : object.substring(slash + 1);
  }

  /** This URI with {@code child} appended to the object name, separated by one slash. */
  public GcsUri resolve(String child) {
    if (object.isEmpty() || object.endsWith("/")) {
      return of(bucket, object + child);
    }
    return of(bucket, object + "/" + child);
  }

  /**
   * Requires an object name.
   *
   * @throws IllegalArgumentException when this URI names only a bucket
   */
  public GcsUri requireObject() {
    if (object.isEmpty()) {
      throw new IllegalArgumentException(
          "\"" + this + "\": names a bucket, not an object; expected gs://bucket/object");
    }
    return this;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof GcsUri other && bucket.equals(other.bucket) && object.equals(other.object);
  }

  @Override
  public int hashCode() {
    return bucket.hashCode() * 31 + object.hashCode();
  }

  @Override
  public String toString() {
    return SCHEME + bucket + "/" + object;
  }
}
