package dev.finetune.operator.gcp.iam;

import com.google.api.gax.core.NoCredentialsProvider;
import com.google.api.gax.grpc.GrpcTransportChannel;
import com.google.api.gax.rpc.FixedTransportChannelProvider;
import com.google.cloud.iam.admin.v1.IAMClient;
import com.google.cloud.iam.admin.v1.IAMSettings;
import com.google.iam.v1.Binding;
import com.google.iam.v1.GetIamPolicyRequest;
import com.google.iam.v1.Policy;
import com.google.iam.v1.SetIamPolicyRequest;
import com.google.protobuf.ByteString;
import io.grpc.BindableService;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A stateful in-process stand-in for the IAM admin API's service-account policy methods ({@code
 * google.iam.admin.v1.IAM/GetIamPolicy} and {@code SetIamPolicy}).
 *
 * <p>Each policy carries an etag that changes on every write; setIamPolicy with a stale etag fails
 * with ABORTED, as IAM does on concurrent changes. The generated gRPC service base class is not
 * published for this API, so the service is defined here from the method names.
 */
public final class FakeIam implements BindableService, AutoCloseable {

  static final String SERVICE = "google.iam.admin.v1.IAM";

  private final Map<String, Policy> policies = new HashMap<>();
  private final Deque<Status> getFaults = new ArrayDeque<>();
  private final Deque<Status> setFaults = new ArrayDeque<>();
  private final AtomicInteger setCalls = new AtomicInteger();
  private int concurrentWrites;
  private final AtomicReference<CountDownLatch> hold = new AtomicReference<>();
  private volatile boolean unavailable;
  private int version;
  private Server server;
  private ManagedChannel channel;
  private IAMClient client;

  public static FakeIam start() throws IOException {
    FakeIam fake = new FakeIam();
    String name = InProcessServerBuilder.generateName();
    fake.server =
        InProcessServerBuilder.forName(name).directExecutor().addService(fake).build().start();
    fake.channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    return fake;
  }

  public synchronized IAMClient client() throws IOException {
    if (client == null) {
      client =
          IAMClient.create(
              IAMSettings.newBuilder()
                  .setTransportChannelProvider(
                      FixedTransportChannelProvider.create(GrpcTransportChannel.create(channel)))
                  .setCredentialsProvider(NoCredentialsProvider.create())
                  .build());
    }
    return client;
  }

  // ---- test API ----

  /** The stored policy of {@code resource} (empty policy if none). */
  public synchronized Policy policy(String resource) {
    return policies.getOrDefault(resource, Policy.getDefaultInstance());
  }

  /** Members of {@code role} on {@code resource}. */
  public synchronized List<String> members(String resource, String role) {
    return policy(resource).getBindingsList().stream()
        .filter(b -> b.getRole().equals(role))
        .flatMap(b -> b.getMembersList().stream())
        .toList();
  }

  /** Stores a policy (new etag). */
  public synchronized void putPolicy(String resource, Policy policy) {
    policies.put(resource, withNewEtag(policy));
  }

  /** Adds a member directly, as another writer would (new etag). */
  public synchronized void addMember(String resource, String role, String member) {
    Policy p = policy(resource);
    Policy.Builder b = p.toBuilder().clearBindings();
    boolean found = false;
    for (Binding x : p.getBindingsList()) {
      if (x.getRole().equals(role)) {
        x = x.toBuilder().addMembers(member).build();
        found = true;
      }
      b.addBindings(x);
    }
    if (!found) {
      b.addBindings(Binding.newBuilder().setRole(role).addMembers(member));
    }
    policies.put(resource, withNewEtag(b.build()));
  }

  /**
   * The next {@code n} setIamPolicy calls find the policy changed by someone else after the caller
   * read it, so their etag is stale and they fail with ABORTED.
   */
  public synchronized FakeIam concurrentWritesBeforeNextSets(int n) {
    this.concurrentWrites = n;
    return this;
  }

  public synchronized FakeIam failNextGet(Status status) {
    getFaults.add(status);
    return this;
  }

  public synchronized FakeIam failNextSet(Status status) {
    setFaults.add(status);
    return this;
  }

  public int setCalls() {
    return setCalls.get();
  }

  /** The next setIamPolicy call waits for {@code latch} before it is applied. */
  public FakeIam holdNextSet(CountDownLatch latch) {
    hold.set(latch);
    return this;
  }

  /** While on, every call fails with UNAVAILABLE, as when Google Cloud cannot be reached. */
  public FakeIam unavailable(boolean on) {
    unavailable = on;
    return this;
  }

  /** Every member of {@code role} on any resource. */
  public synchronized List<String> allMembers(String role) {
    return policies.values().stream()
        .flatMap(p -> p.getBindingsList().stream())
        .filter(b -> b.getRole().equals(role))
        .flatMap(b -> b.getMembersList().stream())
        .toList();
  }

  // ---- gRPC ----

  private synchronized void getIamPolicy(GetIamPolicyRequest req, StreamObserver<Policy> out) {
    Status fault = unavailable ? Status.UNAVAILABLE.withDescription("IAM unreachable") : null;
    if (fault == null) {
      fault = getFaults.poll();
    }
    if (fault != null) {
      out.onError(fault.asRuntimeException());
      return;
    }
    Policy p = policies.get(req.getResource());
    if (p == null) {
      p = withNewEtag(Policy.newBuilder().setVersion(1).build());
      policies.put(req.getResource(), p);
    }
    out.onNext(p);
    out.onCompleted();
  }

  private void setIamPolicy(SetIamPolicyRequest req, StreamObserver<Policy> out) {
    CountDownLatch latch = hold.getAndSet(null);
    if (latch != null) {
      try {
        latch.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    setLocked(req, out);
  }

  private synchronized void setLocked(SetIamPolicyRequest req, StreamObserver<Policy> out) {
    setCalls.incrementAndGet();
    Status fault = unavailable ? Status.UNAVAILABLE.withDescription("IAM unreachable") : null;
    if (fault == null) {
      fault = setFaults.poll();
    }
    if (fault != null) {
      out.onError(fault.asRuntimeException());
      return;
    }
    String resource = req.getResource();
    if (concurrentWrites > 0) {
      concurrentWrites--;
      addMember(resource, "roles/iam.serviceAccountTokenCreator", "user:other-writer@example.com");
    }
    Policy current = policy(resource);
    if (!req.getPolicy().getEtag().isEmpty()
        && !req.getPolicy().getEtag().equals(current.getEtag())) {
      out.onError(
          Status.ABORTED
              .withDescription(
                  "There were concurrent policy changes. Please retry the whole read-modify-write"
                      + " with exponential backoff.")
              .asRuntimeException());
      return;
    }
    Policy stored = withNewEtag(req.getPolicy());
    policies.put(resource, stored);
    out.onNext(stored);
    out.onCompleted();
  }

  private Policy withNewEtag(Policy p) {
    return p.toBuilder().setEtag(ByteString.copyFromUtf8("etag-" + (++version))).build();
  }

  @Override
  public ServerServiceDefinition bindService() {
    MethodDescriptor<GetIamPolicyRequest, Policy> get =
        MethodDescriptor.<GetIamPolicyRequest, Policy>newBuilder()
            .setType(MethodDescriptor.MethodType.UNARY)
            .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "GetIamPolicy"))
            .setRequestMarshaller(ProtoUtils.marshaller(GetIamPolicyRequest.getDefaultInstance()))
            .setResponseMarshaller(ProtoUtils.marshaller(Policy.getDefaultInstance()))
            .build();
    MethodDescriptor<SetIamPolicyRequest, Policy> set =
        MethodDescriptor.<SetIamPolicyRequest, Policy>newBuilder()
            .setType(MethodDescriptor.MethodType.UNARY)
            .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "SetIamPolicy"))
            .setRequestMarshaller(ProtoUtils.marshaller(SetIamPolicyRequest.getDefaultInstance()))
            .setResponseMarshaller(ProtoUtils.marshaller(Policy.getDefaultInstance()))
            .build();
    return ServerServiceDefinition.builder(SERVICE)
        .addMethod(get, ServerCalls.asyncUnaryCall(this::getIamPolicy))
        .addMethod(set, ServerCalls.asyncUnaryCall(this::setIamPolicy))
        .build();
  }

  @Override
  public void close() {
    if (client != null) {
      client.close();
    }
    if (channel != null) {
      channel.shutdownNow();
    }
    if (server != null) {
      server.shutdownNow();
    }
  }
}
