package dev.finetune.operator.gcp.storage;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;

/**
 * A recording pass-through in front of fake-gcs-server: the operator's real Cloud Storage client
 * talks to it, it forwards every request unchanged and keeps {@code METHOD decoded-path?query} of
 * each, so tests can count what was read, written or granted (bucket IAM is {@code /iam}).
 */
public final class RecordingGcsProxy implements AutoCloseable {
  private static final Set<String> HOP =
      Set.of("host", "connection", "content-length", "expect", "upgrade", "transfer-encoding");
  private final HttpServer server;
  private final String upstream;
  private final HttpClient http = HttpClient.newHttpClient();
  private final List<String> requests = new CopyOnWriteArrayList<>();

  public RecordingGcsProxy(String upstream) throws IOException {
    this.upstream = upstream.replaceAll("/+$", "");
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.setExecutor(Executors.newCachedThreadPool());
    server.createContext("/", this::forward);
    server.start();
  }

  public String endpoint() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  /** Every request so far, {@code METHOD path?query} with the path percent-decoded. */
  public List<String> requests() {
    return List.copyOf(requests);
  }

  /** Requests whose decoded path or query contains {@code marker}. */
  public List<String> requestsMentioning(String marker) {
    return requests.stream().filter(r -> r.contains(marker)).toList();
  }

  private void forward(HttpExchange ex) throws IOException {
    URI uri = ex.getRequestURI();
    String raw = uri.getRawPath() + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery());
    requests.add(ex.getRequestMethod() + " " + URLDecoder.decode(raw, StandardCharsets.UTF_8));
    try (InputStream in = ex.getRequestBody()) {
      byte[] body = in.readAllBytes();
      HttpRequest.Builder req =
          HttpRequest.newBuilder(URI.create(upstream + raw))
              .method(
                  ex.getRequestMethod(),
                  body.length == 0
                      ? HttpRequest.BodyPublishers.noBody()
                      : HttpRequest.BodyPublishers.ofByteArray(body));
      ex.getRequestHeaders()
          .forEach(
              (k, vs) -> {
                if (!HOP.contains(k.toLowerCase(Locale.ROOT))) {
                  vs.forEach(v -> req.header(k, v));
                }
              });
      HttpResponse<byte[]> resp = http.send(req.build(), HttpResponse.BodyHandlers.ofByteArray());
      resp.headers()
          .map()
          .forEach(
              (k, vs) -> {
                if (!HOP.contains(k.toLowerCase(Locale.ROOT)) && !k.startsWith(":")) {
                  vs.forEach(v -> ex.getResponseHeaders().add(k, v.replace(upstream, endpoint())));
                }
              });
      byte[] out = resp.body();
      boolean empty = out.length == 0 || "HEAD".equals(ex.getRequestMethod());
      ex.sendResponseHeaders(resp.statusCode(), empty ? -1 : out.length);
      if (!empty) {
        try (OutputStream os = ex.getResponseBody()) {
          os.write(out);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      ex.sendResponseHeaders(502, -1);
    } finally {
      ex.close();
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
