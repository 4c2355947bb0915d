package dev.finetune.operator.capacity;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * One entry of the ComputeClass priority list that the cluster admin sets in the operator's
 * configuration (FINETUNE_COMPUTE_CLASS_PRIORITIES): {@code reservation:NAME}, {@code spot}, {@code
 * on-demand} or {@code flex-start}, tried by GKE in that order. Reservations come only from here,
 * never from a FineTuneJob, so a tenant cannot make its job consume another team's reservation.
 */
public sealed interface CapacityPriority {
  /** Reservation names as Compute Engine spells them. */
  Pattern RESERVATION_NAME = Pattern.compile("[a-z]([-a-z0-9]{0,61}[a-z0-9])?");

  String DEFAULT = "spot,on-demand,flex-start";

  /** A specific Compute Engine reservation (on-demand VMs that consume it). */
  record Reservation(String name) implements CapacityPriority {
    @Override
    public String toString() {
      return "reservation:" + name;
    }
  }

  /** Spot VMs. */
  record Spot() implements CapacityPriority {
    @Override
    public String toString() {
      return "spot";
    }
  }

  /** On-demand VMs, no reservation. */
  record OnDemand() implements CapacityPriority {
    @Override
    public String toString() {
      return "on-demand";
    }
  }

  /** Flex-start VMs (Dynamic Workload Scheduler). */
  record FlexStart() implements CapacityPriority {
    @Override
    public String toString() {
      return "flex-start";
    }
  }

  /**
   * Parses a comma separated list.
   *
   * @throws IllegalArgumentException naming the first entry that is not one of the four forms, a
   *     repeated entry, or an empty list
   */
  static List<CapacityPriority> parseList(String value) {
    List<CapacityPriority> out = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (String raw : value.split(",")) {
      String e = raw.trim().toLowerCase(Locale.ROOT);
      if (e.isEmpty()) {
        continue;
      }
      CapacityPriority p = parse(e);
      if (!seen.add(p.toString())) {
        throw new IllegalArgumentException(e + " is listed twice");
      }
      out.add(p);
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException("the list is empty");
    }
    return List.copyOf(out);
  }

  private static CapacityPriority parse(String e) {
    switch (e) {
      case "spot":
        return new Spot();
      case "on-demand":
        return new OnDemand();
      case "flex-start":
        return new FlexStart();
      default:
        if (e.startsWith("reservation:")) {
          String name = e.substring("reservation:".length()).trim();
          if (RESERVATION_NAME.matcher(name).matches()) {
            return new Reservation(name);
          }
          throw new IllegalArgumentException(
              "reservation name \""
                  + name
                  + "\" is not a Compute Engine reservation name (lower case letters, digits,"
                  + " hyphens)");
        }
        throw new IllegalArgumentException(
            "\"" + e + "\" is not one of reservation:NAME, spot, on-demand, flex-start");
    }
  }
}
