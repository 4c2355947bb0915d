package dev.finetune.operator.tenancy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The Cloud Storage locations a namespace may use, from the namespace annotation {@value
 * #ANNOTATION}: entries {@code gs://bucket} (the whole bucket) or {@code gs://bucket/prefix/}
 * (objects under that folder), separated by commas, spaces or newlines. Entries are normalised like
 * the URIs they are checked against; a prefix matches whole path segments only, so {@code
 * gs://ok-bucket} does not allow {@code gs://ok-bucket-evil} and {@code gs://b/team} does not allow
 * {@code gs://b/team-other/}. Entries that do not resolve to a location are ignored. A missing or
 * empty annotation allows nothing.
 */
public final class StorageAllowList {
  public static final String ANNOTATION = "finetune.dev/allowed-gcs-prefixes";

  private final List<StorageLocation> entries;
  private final String raw;

  private StorageAllowList(List<StorageLocation> entries, String raw) {
    this.entries = List.copyOf(entries);
    this.raw = raw;
  }

  public static StorageAllowList parse(String annotationValue) {
    List<StorageLocation> entries = new ArrayList<>();
    if (annotationValue != null) {
      Arrays.stream(annotationValue.split("[,\\s]+"))
          .filter(s -> !s.isEmpty())
          .map(StorageLocation::parse)
          .filter(p -> p instanceof StorageLocation.Resolved)
          .map(p -> ((StorageLocation.Resolved) p).location())
          .map(StorageAllowList::asFolder)
          .forEach(entries::add);
    }
    return new StorageAllowList(entries, annotationValue == null ? "" : annotationValue.strip());
  }

  /** {@code gs://b/prefix} as an entry means the folder {@code prefix/}. */
  private static StorageLocation asFolder(StorageLocation l) {
    return l.object().isEmpty() || l.object().endsWith("/")
        ? l
        : new StorageLocation(l.bucket(), l.object() + "/");
  }

  public boolean isEmpty() {
    return entries.isEmpty();
  }

  public List<StorageLocation> entries() {
    return entries;
  }

  /** The annotation as written, for messages. */
  public String describe() {
    return raw.isEmpty() ? "(none)" : raw;
  }

  /** True when some entry contains {@code location} (the folder itself included). */
  public boolean allows(StorageLocation location) {
    return entries.stream().anyMatch(e -> contains(e, location));
  }

  /** True when the whole bucket is allowed (an entry {@code gs://bucket}). */
  public boolean allowsWholeBucket(String bucket) {
    return entries.stream().anyMatch(e -> e.bucket().equals(bucket) && e.object().isEmpty());
  }

  static boolean contains(StorageLocation entry, StorageLocation l) {
    if (!entry.bucket().equals(l.bucket())) {
      return false;
    }
    if (entry.object().isEmpty()) {
      return true;
    }
    String folder = entry.object(); // ends with "/"
    return l.object().startsWith(folder)
        || l.object().equals(folder.substring(0, folder.length() - 1));
  }
}
