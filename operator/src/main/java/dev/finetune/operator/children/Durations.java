package dev.finetune.operator.children;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses the durations of the API (such as 90m, 6h, 1h30m). */
public final class Durations {
  private static final Pattern DURATION = Pattern.compile("^(?:(\\d+)h)?(?:(\\d+)m)?(?:(\\d+)s)?$");

  private Durations() {}

  public static long parseSeconds(String text) {
    Matcher m = DURATION.matcher(text == null ? "" : text.trim());
    if (text == null || text.isBlank() || !m.matches()) {
      throw new IllegalArgumentException(
          "not a duration: \"" + text + "\" (expected e.g. 90m, 6h or 1h30m)");
    }
    long h = m.group(1) == null ? 0 : Long.parseLong(m.group(1));
    long min = m.group(2) == null ? 0 : Long.parseLong(m.group(2));
    long s = m.group(3) == null ? 0 : Long.parseLong(m.group(3));
    long total = h * 3600 + min * 60 + s;
    if (total <= 0) {
      throw new IllegalArgumentException("duration must be positive: \"" + text + "\"");
    }
    return total;
  }
}
