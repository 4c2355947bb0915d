package dev.finetune.operator.sizing;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;

/**
 * Reads {@code config.json} from the Hugging Face Hub: {@code GET
 * ${HF_ENDPOINT:-https://huggingface.co}/{org}/{name}/resolve/{revision}/config.json}, with a
 * bearer token when given (gated models).
 */
public class HubModelConfigSource implements ModelConfigSource {

  public static final String DEFAULT_ENDPOINT = "https://huggingface.co";

  private final HttpClient http;
  private final String endpoint;
  private final String token;

  public HubModelConfigSource(HttpClient http, String endpoint, String token) {
    this.http = http;
    this.endpoint =
        (endpoint == null || endpoint.isBlank() ? DEFAULT_ENDPOINT : endpoint)
            .replaceAll("/+$", "");
    this.token = token == null || token.isBlank() ? null : token;
  }

  /** Endpoint from {@code HF_ENDPOINT}, token from {@code HF_TOKEN}, if set. */
  public static HubModelConfigSource fromEnvironment(Map<String, String> env) {
    return new HubModelConfigSource(
        HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(10))
            .followRedirects(HttpClient.Redirect.NORMAL)
            .build(),
        env.get("HF_ENDPOINT"),
        env.get("HF_TOKEN"));
  }

  @Override
  public HubModelConfigSource withToken(String token) {
    return new HubModelConfigSource(http, endpoint, token);
  }

  public URI configUri(String model, String revision) {
    String[] parts = model.split("/");
    if (parts.length != 2 || parts[0].isBlank() || parts[1].isBlank()) {
      throw new IllegalArgumentException("Hub model id must be org/name, not \"" + model + "\"");
    }
    String rev = revision == null || revision.isBlank() ? "main" : revision;
    return URI.create(
        endpoint
            + "/"
            + enc(parts[0])
            + "/"
            + enc(parts[1])
            + "/resolve/"
            + enc(rev)
            + "/config.json");
  }

  @Override
  public ModelConfig fetch(String model, String revision) throws IOException {
    URI uri = configUri(model, revision);
    HttpRequest.Builder req = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30)).GET();
    if (token != null) {
      req.header("Authorization", "Bearer " + token);
    }
    HttpResponse<InputStream> resp;
    try {
      resp = http.send(req.build(), HttpResponse.BodyHandlers.ofInputStream());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted fetching " + uri, e);
    }
    try (InputStream body = resp.body()) {
      int code = resp.statusCode();
      if (code == 401 || code == 403) {
        throw new IOException(
            "Hub refused " + uri + " (HTTP " + code + "); the model may be gated: set a token");
      }
      if (code == 404) {
        throw new IOException("no config.json at " + uri + " (HTTP 404)");
      }
      if (code / 100 != 2) {
        throw new IOException("fetching " + uri + " failed with HTTP " + code);
      }
      return ModelConfig.parse(body);
    }
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }
}
