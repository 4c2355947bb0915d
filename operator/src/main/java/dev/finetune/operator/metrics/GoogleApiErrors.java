package dev.finetune.operator.metrics;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiConsumer;

/**
 * Where the Google adapters report an error they classified (api: container, iam; reason: the
 * reason the operator gives it, a fixed set). The running operator's metrics listen here.
 */
public final class GoogleApiErrors {
  private static final List<BiConsumer<String, String>> LISTENERS = new CopyOnWriteArrayList<>();

  private GoogleApiErrors() {}

  public static void record(String api, String reason) {
    for (BiConsumer<String, String> l : LISTENERS) {
      l.accept(api, reason);
    }
  }

  static void listen(BiConsumer<String, String> listener) {
    LISTENERS.add(listener);
  }

  static void unlisten(BiConsumer<String, String> listener) {
    LISTENERS.remove(listener);
  }
}
