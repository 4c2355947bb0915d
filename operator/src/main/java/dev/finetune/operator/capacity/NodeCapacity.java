package dev.finetune.operator.capacity;

import java.util.Map;

/**
 * The kind of capacity a node is, read from the labels GKE puts on it: spot ({@code
 * cloud.google.com/gke-spot=true}), a reservation ({@code cloud.google.com/reservation-name}),
 * flex-start ({@code cloud.google.com/gke-flex-start=true}), else on-demand.
 */
public record NodeCapacity(String kind, String reservation) {
  public static final String SPOT = "spot";
  public static final String RESERVATION = "reservation";
  public static final String FLEX_START = "flex-start";
  public static final String ON_DEMAND = "on-demand";

  public static final String SPOT_LABEL = "cloud.google.com/gke-spot";
  public static final String RESERVATION_LABEL = "cloud.google.com/reservation-name";

  public static NodeCapacity of(Map<String, String> labels) {
    Map<String, String> l = labels == null ? Map.of() : labels;
    if ("true".equals(l.get(SPOT_LABEL))) {
      return new NodeCapacity(SPOT, null);
    }
    if ("true".equals(l.get(FlexStart.FLEX_START_LABEL))) {
      return new NodeCapacity(FLEX_START, null);
    }
    String reservation = l.get(RESERVATION_LABEL);
    if (reservation != null && !reservation.isBlank()) {
      return new NodeCapacity(RESERVATION, reservation);
    }
    return new NodeCapacity(ON_DEMAND, null);
  }
}
