package dev.finetune.operator;

import dev.finetune.operator.gcp.nodepool.Accelerator;
import io.fabric8.kubernetes.api.model.Quantity;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Reads the operator's settings (the environment, filled from its ConfigMap) and checks each value.
 * Every bad value is collected, so one start reports them all, each naming the key and the value.
 */
public final class ConfigKeys {
  static final Pattern SERVICE_ACCOUNT =
      Pattern.compile("[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z0-9.-]+\\.iam\\.gserviceaccount\\.com");
  static final Pattern ZONE = Pattern.compile("[a-z]+-[a-z]+[0-9]+-[a-z]");
  static final Pattern RESERVATION = Pattern.compile("[a-z]([-a-z0-9]{0,61}[a-z0-9])?");
  private static final Pattern PRICE_KEY =
      Pattern.compile("(?:price\\.)?([a-z0-9-]+)\\.(gpu|vm)\\.(ondemand|spot|flexstart)");

  private ConfigKeys() {}

  /** The operator's configuration has values it cannot use; the message names each one. */
  public static final class InvalidConfig extends IllegalArgumentException {
    private final List<String> problems;

    InvalidConfig(List<String> problems) {
      super(
          "invalid operator configuration (ConfigMap finetune-operator):\n  "
              + String.join("\n  ", problems));
      this.problems = List.copyOf(problems);
    }

    public List<String> problems() {
      return problems;
    }
  }

  static final class Reader {
    private final Map<String, String> env;
    private final List<String> problems = new ArrayList<>();

    Reader(Map<String, String> env) {
      this.env = env;
    }

    void check() {
      if (!problems.isEmpty()) {
        throw new InvalidConfig(problems);
      }
    }

    private String raw(String key) {
      String v = env.get(key);
      return v == null ? null : v.trim();
    }

    private void bad(String key, String value, String expected) {
      problems.add(key + "=\"" + value + "\": " + expected);
    }

    String string(String key, String def) {
      String v = raw(key);
      if (v == null || v.isEmpty()) {
        return def;
      }
      return v;
    }

    String matching(String key, String def, Pattern pattern, String expected) {
      String v = string(key, def);
      if (!v.isEmpty() && !pattern.matcher(v).matches()) {
        bad(key, v, "expected " + expected);
        return def;
      }
      return v;
    }

    String oneOf(String key, String def, Set<String> allowed) {
      String v = string(key, def);
      if (!allowed.contains(v)) {
        bad(key, v, "expected one of " + new TreeSet<>(allowed));
        return def;
      }
      return v;
    }

    int integer(String key, int def, int min, int max) {
      String v = raw(key);
      if (v == null || v.isEmpty()) {
        return def;
      }
      try {
        int i = Integer.parseInt(v);
        if (i < min || i > max) {
          bad(key, v, "expected a whole number from " + min + " to " + max);
          return def;
        }
        return i;
      } catch (NumberFormatException e) {
        bad(key, v, "expected a whole number from " + min + " to " + max);
        return def;
      }
    }

    boolean bool(String key, boolean def) {
      String v = raw(key);
      if (v == null || v.isEmpty()) {
        return def;
      }
      String l = v.toLowerCase(Locale.ROOT);
      if (!l.equals("true") && !l.equals("false")) {
        bad(key, v, "expected true or false");
        return def;
      }
      return Boolean.parseBoolean(l);
    }

    Duration duration(String key, String def, Duration min, Duration max) {
      String v = string(key, def);
      String range =
          "an ISO-8601 duration such as PT30S"
              + (min == null ? "" : ", at least " + min)
              + (max == null ? "" : ", at most " + max);
      try {
        Duration d = Duration.parse(v);
        if ((min != null && d.compareTo(min) < 0) || (max != null && d.compareTo(max) > 0)) {
          bad(key, v, "expected " + range);
          return Duration.parse(def);
        }
        return d;
      } catch (DateTimeParseException e) {
        bad(key, v, "expected " + range);
        return Duration.parse(def);
      }
    }

    List<String> list(String key) {
      String v = raw(key);
      if (v == null || v.isEmpty()) {
        return List.of();
      }
      return Arrays.stream(v.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    }

    List<String> listMatching(String key, Pattern pattern, String expected) {
      List<String> items = list(key);
      List<String> wrong = items.stream().filter(i -> !pattern.matcher(i).matches()).toList();
      if (!wrong.isEmpty()) {
        bad(key, raw(key), "expected " + expected + "; not: " + String.join(", ", wrong));
        return List.of();
      }
      return items;
    }

    /** A Kubernetes quantity such as 8Gi; empty when unset. */
    String quantity(String key) {
      String v = raw(key);
      if (v == null || v.isEmpty()) {
        return "";
      }
      try {
        if (Quantity.getAmountInBytes(new Quantity(v)).signum() <= 0) {
          bad(key, v, "expected a positive quantity such as 8Gi");
          return "";
        }
        return v;
      } catch (IllegalArgumentException | ArithmeticException e) {
        bad(key, v, "expected a quantity such as 8Gi");
        return "";
      }
    }

    /**
     * Price overrides: {@code key=value} entries separated by commas or new lines; keys like {@code
     * nvidia-l4.gpu.spot} (an accelerator, gpu or vm, ondemand or spot), values USD per GPU-hour.
     */
    Map<String, String> prices(String key) {
      String v = raw(key);
      Map<String, String> out = new LinkedHashMap<>();
      if (v == null || v.isEmpty()) {
        return out;
      }
      for (String entry : v.split("[,\\n]")) {
        String e = entry.trim();
        if (e.isEmpty() || e.startsWith("#")) {
          continue;
        }
        int eq = e.indexOf('=');
        if (eq < 0) {
          eq = e.indexOf(':');
        }
        if (eq <= 0) {
          bad(key, e, "expected an entry like nvidia-l4.gpu.spot=0.22");
          continue;
        }
        String k = e.substring(0, eq).trim().toLowerCase(Locale.ROOT);
        String value = e.substring(eq + 1).trim();
        var m = PRICE_KEY.matcher(k);
        if (!m.matches()) {
          bad(
              key,
              e,
              "expected a key like <accelerator>.(gpu|vm).(ondemand|spot|flexstart), e.g."
                  + " nvidia-l4.gpu.spot");
          continue;
        }
        try {
          Accelerator.fromId(m.group(1));
        } catch (IllegalArgumentException ex) {
          bad(key, e, "unknown accelerator " + m.group(1) + "; known: " + acceleratorIds());
          continue;
        }
        double d;
        try {
          d = Double.parseDouble(value);
        } catch (NumberFormatException ex) {
          bad(key, e, "expected a price in USD per GPU-hour, a number >= 0");
          continue;
        }
        if (d < 0 || Double.isNaN(d) || Double.isInfinite(d)) {
          bad(key, e, "expected a price in USD per GPU-hour, a number >= 0");
          continue;
        }
        out.put(k, value);
      }
      return Map.copyOf(out);
    }

    /** The ComputeClass priority list: reservation:NAME, spot, on-demand, flex-start. */
    List<dev.finetune.operator.capacity.CapacityPriority> priorities(String key, String def) {
      String v = string(key, def);
      try {
        return dev.finetune.operator.capacity.CapacityPriority.parseList(v);
      } catch (IllegalArgumentException e) {
        bad(
            key,
            v,
            "expected a comma separated list of reservation:NAME, spot, on-demand, flex-start"
                + " (such as reservation:l4-team,spot,on-demand,flex-start): "
                + e.getMessage());
        return dev.finetune.operator.capacity.CapacityPriority.parseList(def);
      }
    }

    private static List<String> acceleratorIds() {
      return Arrays.stream(Accelerator.values()).map(Accelerator::id).toList();
    }
  }
}
