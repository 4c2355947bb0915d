package dev.finetune.operator.gcp.iam;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.cloud.NoCredentials;
import com.google.cloud.storage.Storage;
import com.google.cloud.storage.StorageOptions;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;

/**
 * A small stand-in for the Cloud Storage JSON API's bucket IAM endpoints ({@code GET/PUT
 * /storage/v1/b/{bucket}/iam}), for the real storage client's HTTP transport. Policies carry an
 * etag that changes on every write; a PUT with a stale etag answers 412 Precondition Failed.
 */
public final class FakeGcsIam implements AutoCloseable {

  private static final Pattern PATH = Pattern.compile("/storage/v1/b/([^/]+)/iam");
  private static final ObjectMapper JSON = new ObjectMapper();

  private final HttpServer server;
  private final Map<String, ObjectNode> policies = new HashMap<>();
  private final Deque<Integer> putFaults = new ArrayDeque<>();
  private final AtomicInteger puts = new AtomicInteger();
  private int concurrentWrites;
  private int version;

  private FakeGcsIam() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/storage/v1/b/", this::handle);
    server.start();
  }

  public static FakeGcsIam start() throws IOException {
    return new FakeGcsIam();
  }

  public String endpoint() {
    return "http://localhost:" + server.getAddress().getPort();
  }

  /** A real storage client (JSON/HTTP transport) pointed at this fake. */
  public Storage storage() {
    return StorageOptions.http()
        .setHost(endpoint())
        .setProjectId("test-project")
        .setCredentials(NoCredentials.getInstance())
        .build()
        .getService();
  }

  // ---- test API ----

  public synchronized List<String> members(String bucket, String role) {
    List<String> out = new ArrayList<>();
    for (JsonNode b : policy(bucket).withArray("bindings")) {
      if (b.path("role").asText().equals(role)) {
        b.path("members").forEach(m -> out.add(m.asText()));
      }
    }
    return out;
  }

  public synchronized List<String> roles(String bucket) {
    List<String> out = new ArrayList<>();
    policy(bucket).withArray("bindings").forEach(b -> out.add(b.path("role").asText()));
    return out;
  }

  public synchronized void addMember(String bucket, String role, String member) {
    ObjectNode p = policy(bucket);
    ArrayNode bindings = p.withArray("bindings");
    for (JsonNode b : bindings) {
      if (b.path("role").asText().equals(role)) {
        ((ObjectNode) b).withArray("members").add(member);
        newEtag(p);
        return;
      }
    }
    ObjectNode b = bindings.addObject();
    b.put("role", role);
    b.putArray("members").add(member);
    newEtag(p);
  }

  /** The next {@code n} PUTs find the policy changed by another writer, so they answer 412. */
  public synchronized FakeGcsIam concurrentWritesBeforeNextPuts(int n) {
    concurrentWrites = n;
    return this;
  }

  /** The next PUT answers this HTTP status. */
  public synchronized FakeGcsIam failNextPut(int httpStatus) {
    putFaults.add(httpStatus);
    return this;
  }

  public int puts() {
    return puts.get();
  }

  // ---- HTTP ----

  private ObjectNode policy(String bucket) {
    return policies.computeIfAbsent(
        bucket,
        b -> {
          ObjectNode p = JSON.createObjectNode();
          p.put("kind", "storage#policy");
          p.put("resourceId", "projects/_/buckets/" + b);
          p.put("version", 1);
          p.putArray("bindings");
          newEtag(p);
          return p;
        });
  }

  private void newEtag(ObjectNode p) {
    p.put(
        "etag",
        Base64.getEncoder().encodeToString(("v" + (++version)).getBytes(StandardCharsets.UTF_8)));
  }

  private synchronized void handle(HttpExchange ex) throws IOException {
    try (ex) {
      handleRequest(ex);
    } catch (IOException | RuntimeException e) {
      send(ex, 500, error(500, String.valueOf(e.getMessage()).replace('"', '\'')));
    }
  }

  private void handleRequest(HttpExchange ex) throws IOException {
    {
      Matcher m = PATH.matcher(ex.getRequestURI().getPath());
      if (!m.matches()) {
        send(ex, 404, error(404, "Not Found"));
        return;
      }
      String bucket = m.group(1);
      switch (ex.getRequestMethod()) {
        case "GET" -> send(ex, 200, policy(bucket).toString());
        case "PUT" -> {
          puts.incrementAndGet();
          Integer fault = putFaults.poll();
          if (fault != null) {
            send(ex, fault, error(fault, "injected"));
            return;
          }
          if (concurrentWrites > 0) {
            concurrentWrites--;
            addMember(bucket, "roles/storage.legacyBucketReader", "user:other-writer@example.com");
          }
          InputStream in = ex.getRequestBody();
          if ("gzip".equalsIgnoreCase(ex.getRequestHeaders().getFirst("Content-Encoding"))) {
            in = new GZIPInputStream(in);
          }
          ObjectNode body = (ObjectNode) JSON.readTree(in);
          ObjectNode current = policy(bucket);
          String etag = body.path("etag").asText("");
          if (!etag.isEmpty() && !etag.equals(current.path("etag").asText())) {
            send(ex, 412, error(412, "Precondition Failed"));
            return;
          }
          ObjectNode stored = JSON.createObjectNode();
          stored.put("kind", "storage#policy");
          stored.put("resourceId", "projects/_/buckets/" + bucket);
          stored.put("version", body.path("version").asInt(1));
          stored.set(
              "bindings", body.has("bindings") ? body.get("bindings") : JSON.createArrayNode());
          newEtag(stored);
          policies.put(bucket, stored);
          send(ex, 200, stored.toString());
        }
        default -> send(ex, 405, error(405, "Method Not Allowed"));
      }
    }
  }

  private static String error(int code, String message) {
    return "{\"error\":{\"code\":"
        + code
        + ",\"message\":\""
        + message
        + "\",\"errors\":[{\"message\":\""
        + message
        + "\",\"reason\":\""
        + (code == 412 ? "conditionNotMet" : "error")
        + "\"}]}}";
  }

  private static void send(HttpExchange ex, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().add("Content-Type", "application/json; charset=UTF-8");
    ex.sendResponseHeaders(status, bytes.length);
    try (OutputStream os = ex.getResponseBody()) {
      os.write(bytes);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
