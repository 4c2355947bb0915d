package dev.finetune.operator.gcp.storage;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * {@link ObjectStore} over a local directory: {@code gs://bucket/a/b.jsonl} is the file {@code
 * root/bucket/a/b.jsonl}; a bucket exists when its directory does. Generations are the file's
 * modification time in milliseconds; no checksums are reported.
 *
 * <p>For local paths (the CLI) use {@link #openFile(Path)}.
 */
public final class LocalObjectStore implements ObjectStore {
  private final Path root;

  public LocalObjectStore(Path root) {
    this.root = root.toAbsolutePath().normalize();
  }

  /** Opens a local file for streaming reading, with a message naming the path if it is absent. */
  public static InputStream openFile(Path file) throws IOException {
    try {
      return Files.newInputStream(file);
    } catch (NoSuchFileException e) {
      throw new NoSuchFileException(file.toString(), null, "file not found");
    }
  }

  private Path bucketDir(GcsUri uri) {
    return root.resolve(uri.bucket());
  }

  private Path pathOf(GcsUri uri) throws IOException {
    Path bucket = bucketDir(uri);
    Path p = bucket.resolve(uri.object()).normalize();
    if (!p.startsWith(bucket)) {
      throw new IOException(uri + ": object name escapes the bucket directory");
    }
    return p;
  }

  @Override
  public InputStream open(GcsUri uri) throws IOException {
    uri.requireObject();
    Path p = pathOf(uri);
    if (!Files.isDirectory(bucketDir(uri))) {
      throw ObjectNotFoundException.bucket(uri);
    }
    if (!Files.isRegularFile(p)) {
      throw ObjectNotFoundException.object(uri);
    }
    return Files.newInputStream(p);
  }

  @Override
  public Optional<ObjectInfo> stat(GcsUri uri) throws IOException {
    uri.requireObject();
    Path p = pathOf(uri);
    if (!Files.isRegularFile(p)) {
      return Optional.empty();
    }
    return Optional.of(
        new ObjectInfo(uri, Files.size(p), Files.getLastModifiedTime(p).toMillis(), null, null));
  }

  @Override
  public void write(GcsUri uri, byte[] content) throws IOException {
    uri.requireObject();
    if (!Files.isDirectory(bucketDir(uri))) {
      throw ObjectNotFoundException.bucket(uri);
    }
    Path p = pathOf(uri);
    Files.createDirectories(p.getParent());
    Path tmp = Files.createTempFile(p.getParent(), ".write-", ".tmp");
    try {
      Files.write(tmp, content);
      Files.move(tmp, p, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  @Override
  public List<GcsUri> list(GcsUri prefix) throws IOException {
    Path bucket = bucketDir(prefix);
    if (!Files.isDirectory(bucket)) {
      throw ObjectNotFoundException.bucket(prefix);
    }
    List<GcsUri> result = new ArrayList<>();
    try (Stream<Path> files = Files.walk(bucket)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        if (!Files.isRegularFile(p) || p.getFileName().toString().startsWith(".write-")) {
          continue;
        }
        String name =
            bucket.relativize(p).toString().replace(p.getFileSystem().getSeparator(), "/");
        if (name.startsWith(prefix.object())) {
          result.add(GcsUri.of(prefix.bucket(), name));
        }
      }
    }
    result.sort((a, b) -> a.object().compareTo(b.object()));
    return result;
  }
}
