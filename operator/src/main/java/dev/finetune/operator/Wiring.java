package dev.finetune.operator;

import dev.finetune.operator.cost.PriceTable;
import dev.finetune.operator.dataset.DatasetValidationResult;
import dev.finetune.operator.gcp.iam.BucketIamBinder;
import dev.finetune.operator.gcp.iam.WorkloadIdentityBinder;
import dev.finetune.operator.gcp.nodepool.GkeNodePoolConfig;
import dev.finetune.operator.gcp.nodepool.GkeNodePoolManager;
import dev.finetune.operator.gcp.nodepool.NodePoolManager;
import dev.finetune.operator.gcp.nodepool.PoolStatus;
import dev.finetune.operator.gcp.storage.GcsUri;
import dev.finetune.operator.gcp.storage.GoogleCloudStorage;
import dev.finetune.operator.reconcile.Flow;
import dev.finetune.operator.reconcile.adapters.AsyncWork;
import dev.finetune.operator.reconcile.adapters.ExternalIdentityBinding;
import dev.finetune.operator.reconcile.adapters.GcpIdentityBinding;
import dev.finetune.operator.reconcile.adapters.GkeCapacity;
import dev.finetune.operator.reconcile.adapters.Lazy;
import dev.finetune.operator.reconcile.adapters.ModelSizing;
import dev.finetune.operator.reconcile.adapters.StorageDatasetCheck;
import dev.finetune.operator.reconcile.adapters.StorageEvaluation;
import dev.finetune.operator.reconcile.adapters.StorageProgressSource;
import dev.finetune.operator.reconcile.ports.Capacity;
import dev.finetune.operator.reconcile.ports.Evaluation;
import dev.finetune.operator.reconcile.ports.IdentityBinding;
import dev.finetune.operator.sizing.AcceleratorSizer;
import dev.finetune.operator.sizing.HubModelConfigSource;
import dev.finetune.operator.sizing.ModelSize;
import dev.finetune.operator.sizing.StorageModelConfigSource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.util.function.Supplier;

/** Chooses the implementation of each outside system from the operator configuration. */
public final class Wiring {
  private Wiring() {}

  /**
   * The Google clients the flow uses. Production builds them from Application Default Credentials
   * (the operator's own Workload Identity); tests pass clients of local stand-ins.
   */
  public record GcpClients(
      GoogleCloudStorage storage,
      Supplier<NodePoolManager> nodePools,
      Supplier<WorkloadIdentityBinder> serviceAccountIam) {

    public static GcpClients fromConfig(OperatorConfig config) {
      GoogleCloudStorage storage =
          config
              .storageEmulatorHost()
              .map(h -> GoogleCloudStorage.forEmulator(h, config.gcpProject()))
              .orElseGet(GoogleCloudStorage::fromEnvironment);
      return new GcpClients(
          storage,
          () -> {
            try {
              return GkeNodePoolManager.create(
                  GkeNodePoolConfig.of(
                      config.gcpProject(),
                      config.clusterLocation(),
                      config.clusterName(),
                      config.nodePools()));
            } catch (IOException e) {
              throw new UncheckedIOException(e);
            }
          },
          () -> {
            try {
              return new WorkloadIdentityBinder(
                  com.google.cloud.iam.admin.v1.IAMClient.create(), config.gcpProject());
            } catch (IOException e) {
              throw new UncheckedIOException(e);
            }
          });
    }
  }

  /**
   * How long a dataset validation, a model's config or an evaluation stays after it is handed out,
   * for a reconcile that failed before recording it: longer than the longest error backoff.
   */
  static final java.time.Duration KEEP_RESULTS = java.time.Duration.ofMinutes(15);

  public static Flow.Ports ports(OperatorConfig config) {
    return ports(config, GcpClients.fromConfig(config), prices(config));
  }

  /** The default price table with the overrides of the configuration (FINETUNE_PRICES). */
  public static PriceTable prices(OperatorConfig config) {
    return PriceTable.defaults().withOverrides(config.priceOverrides());
  }

  public static Flow.Ports ports(OperatorConfig config, GcpClients gcp, PriceTable prices) {
    GoogleCloudStorage store = gcp.storage();
    return new Flow.Ports(
        new StorageDatasetCheck(
            store,
            AsyncWork.<DatasetValidationResult>keeping("dataset-validation", 2, KEEP_RESULTS)),
        new ModelSizing(
            new AcceleratorSizer(prices),
            HubModelConfigSource.fromEnvironment(System.getenv()),
            new StorageModelConfigSource(
                uri -> {
                  try {
                    return store.open(GcsUri.parse(uri));
                  } catch (IOException e) {
                    throw new UncheckedIOException(e);
                  }
                }),
            AsyncWork.<ModelSize>keeping("model-config", 1, KEEP_RESULTS)),
        identity(config, gcp),
        capacity(config, gcp),
        new StorageProgressSource(store, config.progressPollInterval(), Clock.systemUTC()),
        new StorageEvaluation(
            store, AsyncWork.<Evaluation.Outcome>keeping("evaluation", 2, KEEP_RESULTS)),
        prices);
  }

  private static Capacity capacity(OperatorConfig config, GcpClients gcp) {
    return new GkeCapacity(
        Lazy.of(gcp.nodePools()),
        new AsyncWork<PoolStatus>("node-pools", 2),
        config.nodePoolIdleTtl(),
        Clock.systemUTC());
  }

  private static IdentityBinding identity(OperatorConfig config, GcpClients gcp) {
    if ("external".equals(config.iamMode())) {
      return new ExternalIdentityBinding();
    }
    return new GcpIdentityBinding(
        Lazy.of(gcp.serviceAccountIam()),
        Lazy.of(() -> new BucketIamBinder(gcp.storage().storage())),
        config.gcpProject(),
        config.gcpProjectNumber(),
        new AsyncWork<GcpIdentityBinding.Tagged>("iam", 2));
  }
}
