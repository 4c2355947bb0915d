package dev.finetune.operator.it;

import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The CRDs of the two capacity APIs, installed into the local control plane: the
 * ProvisioningRequest CRD of the cluster autoscaler, from its Go module (downloaded once with `go
 * mod download` and cached under ~/.cache/finetune-operator/), and the hand-written ComputeClass
 * schema of src/test/resources/crds (GKE does not publish its CRD as a file).
 */
final class CapacityCrds {
  static final String AUTOSCALER_APIS =
      "k8s.io/autoscaler/cluster-autoscaler/apis@v0.0.0-20240830133931-adfbe7e45277";
  static final String PR_CRD = "config/crd/autoscaling.x-k8s.io_provisioningrequests.yaml";

  private CapacityCrds() {}

  static void install(KubernetesClient client) throws IOException, InterruptedException {
    apply(client, Files.readString(provisioningRequestCrd(), StandardCharsets.UTF_8));
    try (InputStream in =
        CapacityCrds.class.getResourceAsStream("/crds/computeclasses.cloud.google.com.yaml")) {
      apply(client, new String(in.readAllBytes(), StandardCharsets.UTF_8));
    }
  }

  /** The cached CRD file; fetched from the Go module proxy when it is not cached yet. */
  static Path provisioningRequestCrd() throws IOException, InterruptedException {
    Path cache =
        Path.of(
            System.getProperty("user.home"),
            ".cache/finetune-operator/provisioningrequest-crd-"
                + AUTOSCALER_APIS.substring(AUTOSCALER_APIS.indexOf('@') + 1));
    Path file = cache.resolve("autoscaling.x-k8s.io_provisioningrequests.yaml");
    if (Files.isRegularFile(file)) {
      return file;
    }
    ProcessBuilder pb =
        new ProcessBuilder("go", "mod", "download", "-json", AUTOSCALER_APIS)
            .directory(Files.createTempDirectory("go-mod").toFile())
            .redirectErrorStream(true);
    pb.environment().put("GOFLAGS", "-mod=mod");
    Process p;
    try {
      p = pb.start();
    } catch (IOException e) {
      throw new IllegalStateException(
          "the ProvisioningRequest CRD comes from the Go module "
              + AUTOSCALER_APIS
              + " and needs the go tool on PATH",
          e);
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0) {
      throw new IllegalStateException("go mod download " + AUTOSCALER_APIS + " failed: " + out);
    }
    Matcher m = Pattern.compile("\"Dir\":\\s*\"([^\"]+)\"").matcher(out);
    if (!m.find()) {
      throw new IllegalStateException("go mod download printed no Dir: " + out);
    }
    Path source = Path.of(m.group(1)).resolve(PR_CRD);
    Files.createDirectories(cache);
    Path tmp = Files.createTempFile(cache, "crd", ".yaml");
    Files.copy(source, tmp, StandardCopyOption.REPLACE_EXISTING);
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
    return file;
  }

  private static void apply(KubernetesClient client, String yaml) {
    CustomResourceDefinition crd =
        client.getKubernetesSerialization().unmarshal(yaml, CustomResourceDefinition.class);
    client.resource(crd).fieldManager("finetune-it").forceConflicts().serverSideApply();
    client
        .apiextensions()
        .v1()
        .customResourceDefinitions()
        .withName(crd.getMetadata().getName())
        .waitUntilCondition(
            c ->
                c.getStatus() != null
                    && c.getStatus().getConditions() != null
                    && c.getStatus().getConditions().stream()
                        .anyMatch(
                            x -> "Established".equals(x.getType()) && "True".equals(x.getStatus())),
            60,
            TimeUnit.SECONDS);
  }
}
