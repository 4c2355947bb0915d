package dev.finetune.operator.capacity;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceList;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.MixedOperation;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;

/** Clients of the two capacity APIs, named without API discovery. */
public final class CapacityApis {
  public static final ResourceDefinitionContext COMPUTE_CLASS =
      new ResourceDefinitionContext.Builder()
          .withGroup("cloud.google.com")
          .withVersion("v1")
          .withKind(ComputeClasses.KIND)
          .withPlural("computeclasses")
          .withNamespaced(false)
          .build();

  public static final ResourceDefinitionContext PROVISIONING_REQUEST =
      new ResourceDefinitionContext.Builder()
          .withGroup("autoscaling.x-k8s.io")
          .withVersion("v1")
          .withKind(FlexStart.KIND)
          .withPlural("provisioningrequests")
          .withNamespaced(true)
          .build();

  private CapacityApis() {}

  public static MixedOperation<
          GenericKubernetesResource,
          GenericKubernetesResourceList,
          Resource<GenericKubernetesResource>>
      computeClasses(KubernetesClient client) {
    return client.genericKubernetesResources(COMPUTE_CLASS);
  }

  public static MixedOperation<
          GenericKubernetesResource,
          GenericKubernetesResourceList,
          Resource<GenericKubernetesResource>>
      provisioningRequests(KubernetesClient client) {
    return client.genericKubernetesResources(PROVISIONING_REQUEST);
  }
}
