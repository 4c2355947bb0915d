package dev.finetune.operator.sizing;

import java.io.IOException;

/** Which Hugging Face token reads a job's model: its own, the operator's (opt-in), or none. */
public sealed interface HubToken {
  /** The job's own token, from its {@code model.tokenSecretRef} in its namespace. */
  record Own(String value) implements HubToken {
    @Override
    public String toString() {
      return "Own[redacted]";
    }
  }

  /** The operator's token; only for namespaces a cluster admin opted in. */
  record OperatorWide() implements HubToken {}

  /** Anonymous. */
  record None() implements HubToken {}

  /** Decides (and reads, off the reconcile thread) the token for one job. */
  @FunctionalInterface
  interface Resolver {
    HubToken resolve() throws IOException;

    Resolver NONE = None::new;
  }
}
