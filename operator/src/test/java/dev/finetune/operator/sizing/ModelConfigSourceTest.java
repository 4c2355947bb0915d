package dev.finetune.operator.sizing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.http.HttpClient;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ModelConfigSourceTest {

  private HttpServer server;
  private final List<String> requests = new CopyOnWriteArrayList<>();
  private final List<String> auth = new CopyOnWriteArrayList<>();
  private byte[] mistral;

  @BeforeEach
  void start() throws IOException {
    try (InputStream in = getClass().getResourceAsStream("mistral-7b-v0.1-config.json")) {
      mistral = in.readAllBytes();
    }
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext(
        "/",
        ex -> {
          requests.add(ex.getRequestURI().getPath());
          String a = ex.getRequestHeaders().getFirst("Authorization");
          auth.add(a == null ? "" : a);
          String path = ex.getRequestURI().getPath();
          int status;
          byte[] body;
          if (path.equals("/mistralai/Mistral-7B-v0.1/resolve/main/config.json")) {
            status = 200;
            body = mistral;
          } else if (path.startsWith("/meta-llama/")) {
            status = "Bearer hf_secret".equals(a) ? 200 : 401;
            body = status == 200 ? mistral : "{}".getBytes();
          } else {
            status = 404;
            body = "Entry not found".getBytes();
          }
          ex.sendResponseHeaders(status, body.length);
          ex.getResponseBody().write(body);
          ex.close();
        });
    server.start();
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  private String endpoint() {
    return "http://localhost:" + server.getAddress().getPort();
  }

  @Test
  void fetchesFromTheHubEndpoint() throws Exception {
    HubModelConfigSource hub =
        new HubModelConfigSource(HttpClient.newHttpClient(), endpoint() + "/", null);
    ModelConfig c = hub.fetch("mistralai/Mistral-7B-v0.1", null);
    assertThat(c.paramCount()).isEqualTo(7_241_732_096L);
    assertThat(requests).containsExactly("/mistralai/Mistral-7B-v0.1/resolve/main/config.json");
    assertThat(auth).containsExactly("");
  }

  @Test
  void sendsTheTokenForGatedModels() throws Exception {
    HubModelConfigSource anon =
        new HubModelConfigSource(HttpClient.newHttpClient(), endpoint(), "");
    assertThatThrownBy(() -> anon.fetch("meta-llama/Llama-2-7b-hf", "main"))
        .hasMessageContaining("HTTP 401")
        .hasMessageContaining("gated");
    HubModelConfigSource withToken =
        HubModelConfigSource.fromEnvironment(
            Map.of("HF_ENDPOINT", endpoint(), "HF_TOKEN", "hf_secret"));
    assertThat(withToken.fetch("meta-llama/Llama-2-7b-hf", "abc123").numKeyValueHeads())
        .isEqualTo(8);
    assertThat(requests).last().isEqualTo("/meta-llama/Llama-2-7b-hf/resolve/abc123/config.json");
    assertThat(auth).last().isEqualTo("Bearer hf_secret");
  }

  @Test
  void missingConfig() {
    HubModelConfigSource hub =
        new HubModelConfigSource(HttpClient.newHttpClient(), endpoint(), null);
    assertThatThrownBy(() -> hub.fetch("org/none", "main")).hasMessageContaining("HTTP 404");
    assertThatThrownBy(() -> hub.fetch("not-an-id", "main")).hasMessageContaining("org/name");
  }

  @Test
  void defaultEndpointIsHuggingFace() {
    assertThat(HubModelConfigSource.fromEnvironment(Map.of()).configUri("google/gemma-2b", null))
        .hasToString("https://huggingface.co/google/gemma-2b/resolve/main/config.json");
  }

  @Test
  void storageSourceAppendsConfigJson() throws Exception {
    List<String> opened = new CopyOnWriteArrayList<>();
    StorageModelConfigSource gcs =
        new StorageModelConfigSource(
            uri -> {
              opened.add(uri);
              return new ByteArrayInputStream(mistral);
            });
    assertThat(gcs.fetch("gs://models/mistral-7b/", null).hiddenSize()).isEqualTo(4096);
    assertThat(opened).containsExactly("gs://models/mistral-7b/config.json");
  }

  /** Sizing reads a gated model with the job's own token, the operator's only when opted in. */
  @Test
  void sizingUsesTheJobsTokenNotTheOperators() throws Exception {
    var sizing =
        new dev.finetune.operator.reconcile.adapters.ModelSizing(
            new AcceleratorSizer(dev.finetune.operator.cost.PriceTable.defaults()),
            new HubModelConfigSource(HttpClient.newHttpClient(), endpoint(), "hf_operator"),
            (m, r) -> {
              throw new IOException("no storage here");
            },
            new dev.finetune.operator.reconcile.adapters.AsyncWork<>("t", 1));
    dev.finetune.api.v1alpha1.FineTuneJob job = dev.finetune.operator.Fixtures.job("team", "gated");
    job.getSpec().model.source = "hf://meta-llama/Llama-2-7b-hf";
    job.getSpec().model.parameters = null;
    java.util.Map<HubToken.Resolver, String> cases = new java.util.LinkedHashMap<>();
    cases.put(() -> new HubToken.Own("hf_secret"), "Bearer hf_secret");
    cases.put(HubToken.None::new, "");
    cases.put(HubToken.OperatorWide::new, "Bearer hf_operator");
    int n = 0;
    for (var c : cases.entrySet()) {
      job.getMetadata().setUid("uid-" + n++);
      auth.clear();
      dev.finetune.operator.reconcile.ports.AcceleratorSizing.Outcome o;
      do {
        o = sizing.size(job, c.getKey());
      } while (o instanceof dev.finetune.operator.reconcile.ports.AcceleratorSizing.Running);
      assertThat(auth).containsExactly(c.getValue());
    }
  }
}
