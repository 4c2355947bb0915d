package dev.finetune.operator.eval;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The tokenizer of {@code rouge_score.tokenize.tokenize}:
 *
 * <ol>
 *   <li>lowercase the text (Python {@code str.lower()});
 *   <li>replace every run of characters outside {@code [a-z0-9]} with a space, so non-ASCII text
 *       yields no tokens;
 *   <li>split on whitespace;
 *   <li>optionally apply the NLTK Porter stemmer to tokens longer than 3 characters;
 *   <li>drop tokens that are empty or do not match {@code ^[a-z0-9]+$}.
 * </ol>
 *
 * <p>Steps 1 and 2 are fused into a single character scan. Under Python's Unicode lowercasing, the
 * only characters outside {@code [A-Za-z0-9]} whose lowercase form contains an ASCII letter or
 * digit are U+0130 (LATIN CAPITAL LETTER I WITH DOT ABOVE, lowercased to {@code "i\u0307"}, i.e.
 * "i" followed by a separator) and U+212A (KELVIN SIGN, lowercased to "k"); both are handled
 * explicitly. Stems are cached; instances are thread-safe.
 */
public final class RougeTokenizer {

  /** Upper bound on cached stems so a long-running process cannot grow the cache unboundedly. */
  private static final int MAX_CACHED_STEMS = 200_000;

  private static final PorterStemmer STEMMER = new PorterStemmer();

  /** Shared across tokenizer instances: stems are a pure function of the token. */
  private static final ConcurrentHashMap<String, String> STEM_CACHE = new ConcurrentHashMap<>();

  private final boolean stem;

  public RougeTokenizer(boolean stem) {
    this.stem = stem;
  }

  public boolean stems() {
    return stem;
  }

  /** Tokenizes {@code text}; the result is an unmodifiable list. */
  public List<String> tokenize(String text) {
    List<String> out = new ArrayList<>();
    scan(
        text,
        (buf, len, hash, line) -> {
          String t = finish(new String(buf, 0, len));
          if (t != null) {
            out.add(t);
          }
        });
    return Collections.unmodifiableList(out);
  }

  /**
   * Receives the raw (lowercased, not yet stemmed) tokens in order, with their {@link
   * String#hashCode()} and the index of the {@code "\n"}-separated line they are on. The buffer is
   * reused: consume it before returning.
   */
  @FunctionalInterface
  interface RawTokenSink {
    void accept(char[] buf, int len, int hash, int line);
  }

  /**
   * Maps a character to its contribution after lowercasing and non-alphanumeric replacement: the
   * lowercase ASCII letter/digit, or 0 for a separator.
   */
  private static char fold(char c) {
    if (c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
      return c;
    }
    if (c >= 'A' && c <= 'Z') {
      return (char) (c + ('a' - 'A'));
    }
    if (c == '\u212A') {
      return 'k';
    }
    return 0;
  }

  /**
   * Scans {@code text} and emits its raw tokens. Tokens never span a line break, so the line index
   * lets the caller split into {@code rougeLsum} sentences without tokenizing twice.
   */
  static void scan(String text, RawTokenSink sink) {
    int n = text.length();
    char[] buf = new char[32];
    int len = 0;
    int hash = 0;
    int line = 0;
    for (int i = 0; i <= n; i++) {
      char c = i < n ? text.charAt(i) : 0;
      char f = i < n ? fold(c) : 0;
      boolean dottedI = c == '\u0130';
      if (dottedI) {
        // lower("\u0130") == "i\u0307": an "i" that ends the current token.
        f = 'i';
      }
      if (f != 0) {
        if (len == buf.length) {
          buf = Arrays.copyOf(buf, buf.length * 2);
        }
        buf[len++] = f;
        hash = 31 * hash + f;
        if (!dottedI) {
          continue;
        }
      }
      if (len > 0) {
        sink.accept(buf, len, hash, line);
        len = 0;
        hash = 0;
      }
      if (c == '\n') {
        line++;
      }
    }
  }

  /**
   * Stems a raw token when configured and applies the {@code VALID_TOKEN} check.
   *
   * @return the final token, or {@code null} if rouge-score would drop it
   */
  String finish(String raw) {
    String t = raw;
    if (stem && t.length() > 3) {
      t = stemOf(t);
    }
    return isValidToken(t) ? t : null;
  }

  static String stemOf(String token) {
    String cached = STEM_CACHE.get(token);
    if (cached != null) {
      return cached;
    }
    String s = STEMMER.stem(token);
    if (STEM_CACHE.size() < MAX_CACHED_STEMS) {
      STEM_CACHE.putIfAbsent(token, s);
    }
    return s;
  }

  /** {@code VALID_TOKEN_RE = ^[a-z0-9]+$}. */
  static boolean isValidToken(String t) {
    if (t.isEmpty()) {
      return false;
    }
    for (int i = 0; i < t.length(); i++) {
      char c = t.charAt(i);
      if (!(c >= 'a' && c <= 'z' || c >= '0' && c <= '9')) {
        return false;
      }
    }
    return true;
  }
}
