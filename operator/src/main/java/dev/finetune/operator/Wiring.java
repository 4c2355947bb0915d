package dev.finetune.operator;

import dev.finetune.operator.dataset.DatasetValidationResult;
import dev.finetune.operator.gcp.storage.GoogleCloudStorage;
import dev.finetune.operator.gcp.storage.ObjectStore;
import dev.finetune.operator.reconcile.Flow;
import dev.finetune.operator.reconcile.adapters.AsyncWork;
import dev.finetune.operator.reconcile.adapters.ExternalIdentityBinding;
import dev.finetune.operator.reconcile.adapters.StorageDatasetCheck;
import dev.finetune.operator.reconcile.adapters.StorageEvaluation;
import dev.finetune.operator.reconcile.adapters.StorageProgressSource;
import dev.finetune.operator.reconcile.ports.Evaluation;
import java.time.Clock;

/** Chooses the implementation of each outside system from the operator configuration. */
public final class Wiring {
  private Wiring() {}

  public static ObjectStore storage(OperatorConfig config) {
    return config
        .storageEmulatorHost()
        .map(h -> GoogleCloudStorage.forEmulator(h, config.gcpProject()))
        .orElseGet(GoogleCloudStorage::fromEnvironment);
  }

  public static Flow.Ports ports(OperatorConfig config) {
    ObjectStore store = storage(config);
    Flow.Ports ports =
        Flow.Ports.notImplemented()
            .withDataset(
                new StorageDatasetCheck(
                    store, new AsyncWork<DatasetValidationResult>("dataset-validation", 2)))
            .withEvaluation(
                new StorageEvaluation(store, new AsyncWork<Evaluation.Outcome>("evaluation", 2)))
            .withProgress(
                new StorageProgressSource(store, config.progressPollInterval(), Clock.systemUTC()));
    if ("external".equals(config.iamMode())) {
      ports = ports.withIdentity(new ExternalIdentityBinding());
    }
    return ports;
  }
}
