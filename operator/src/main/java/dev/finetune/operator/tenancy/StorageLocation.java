package dev.finetune.operator.tenancy;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Locale;
import java.util.Optional;

/**
 * A {@code gs://} URI reduced to the location it names, the way the most lenient reader of it would
 * resolve it: scheme and bucket name lowercased, percent-encoding decoded (repeatedly, so {@code
 * %252F} is a slash too), backslashes taken as slashes, empty and {@code .} segments dropped and
 * {@code ..} resolved across the whole {@code bucket/object} path (as an HTTP client resolves
 * {@code storage.googleapis.com/bucket/../other}). A URI is used only when it is already in this
 * form; the allow-list is checked against the resolved location.
 *
 * @param bucket the bucket, lowercase
 * @param object the object name or prefix, without a leading slash; ends with {@code /} when the
 *     URI did; empty for the bucket itself
 */
public record StorageLocation(String bucket, String object) {
  public static final String SCHEME = "gs://";
  private static final int MAX_DECODE_PASSES = 4;

  /** The canonical URI: {@code gs://bucket/object} ({@code gs://bucket/} for a bucket). */
  public String uri() {
    return SCHEME + bucket + "/" + object;
  }

  /** True when {@code raw} is already this location's canonical form. */
  public boolean isCanonical(String raw) {
    return raw.equals(uri()) || (object.isEmpty() && raw.equals(SCHEME + bucket));
  }

  /** Whether {@code s} is meant as a Cloud Storage URI (scheme in any case). */
  public static boolean isStorageUri(String s) {
    return s != null && s.regionMatches(true, 0, SCHEME, 0, SCHEME.length());
  }

  /** What a URI resolves to, or why it does not name a location at all. */
  public sealed interface Parsed {}

  public record Resolved(StorageLocation location) implements Parsed {}

  public record Unusable(String why) implements Parsed {}

  public static Parsed parse(String raw) {
    if (!isStorageUri(raw)) {
      return new Unusable("not a gs:// URI");
    }
    String rest = raw.substring(SCHEME.length());
    for (int pass = 0; rest.indexOf('%') >= 0; pass++) {
      if (pass == MAX_DECODE_PASSES) {
        return new Unusable("too many levels of percent-encoding");
      }
      Optional<String> decoded = percentDecode(rest);
      if (decoded.isEmpty()) {
        return new Unusable("invalid percent-encoding");
      }
      rest = decoded.get();
    }
    for (int i = 0; i < rest.length(); i++) {
      if (Character.isISOControl(rest.charAt(i))) {
        return new Unusable("control character in the URI");
      }
    }
    rest = rest.replace('\\', '/');
    boolean trailingSlash = rest.endsWith("/");
    Deque<String> segments = new ArrayDeque<>();
    for (String seg : rest.split("/", -1)) {
      if (seg.isEmpty() || seg.equals(".")) {
        continue;
      }
      if (seg.equals("..")) {
        if (segments.isEmpty()) {
          return new Unusable("\"..\" climbs above the bucket");
        }
        segments.removeLast();
        continue;
      }
      segments.addLast(seg);
    }
    if (segments.isEmpty()) {
      return new Unusable("no bucket name");
    }
    String bucket = segments.removeFirst().toLowerCase(Locale.ROOT);
    String object = String.join("/", segments);
    if (!object.isEmpty() && trailingSlash) {
      object += "/";
    }
    return new Resolved(new StorageLocation(bucket, object));
  }

  private static Optional<String> percentDecode(String s) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(s.length());
    byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
    for (int i = 0; i < utf8.length; i++) {
      byte b = utf8[i];
      if (b != '%') {
        out.write(b);
        continue;
      }
      if (i + 2 >= utf8.length) {
        return Optional.empty();
      }
      int hi = Character.digit(utf8[i + 1], 16);
      int lo = Character.digit(utf8[i + 2], 16);
      if (hi < 0 || lo < 0) {
        return Optional.empty();
      }
      out.write((hi << 4) | lo);
      i += 2;
    }
    try {
      return Optional.of(
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(out.toByteArray()))
              .toString());
    } catch (CharacterCodingException e) {
      return Optional.empty();
    }
  }
}
