package dev.finetune.operator.gcp.storage;

import java.util.Objects;
import java.util.Optional;

/**
 * Metadata of a stored object.
 *
 * @param uri where it is
 * @param size size in bytes
 * @param generation the object generation (Cloud Storage); 0 where the store has none
 * @param crc32c base64 CRC32C as Cloud Storage reports it, or null
 * @param md5 base64 MD5 as Cloud Storage reports it, or null (absent for composite objects)
 */
public record ObjectInfo(GcsUri uri, long size, long generation, String crc32c, String md5) {
  public ObjectInfo {
    Objects.requireNonNull(uri, "uri");
  }

  public Optional<String> crc32cIfPresent() {
    return Optional.ofNullable(crc32c);
  }

  public Optional<String> md5IfPresent() {
    return Optional.ofNullable(md5);
  }
}
