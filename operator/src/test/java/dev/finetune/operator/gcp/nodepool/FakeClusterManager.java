package dev.finetune.operator.gcp.nodepool;

import com.google.api.gax.core.NoCredentialsProvider;
import com.google.api.gax.grpc.GrpcTransportChannel;
import com.google.api.gax.rpc.FixedTransportChannelProvider;
import com.google.cloud.container.v1.ClusterManagerClient;
import com.google.cloud.container.v1.ClusterManagerSettings;
import com.google.container.v1.ClusterManagerGrpc;
import com.google.container.v1.CreateNodePoolRequest;
import com.google.container.v1.DeleteNodePoolRequest;
import com.google.container.v1.GetNodePoolRequest;
import com.google.container.v1.GetOperationRequest;
import com.google.container.v1.ListNodePoolsRequest;
import com.google.container.v1.ListNodePoolsResponse;
import com.google.container.v1.ListOperationsRequest;
import com.google.container.v1.ListOperationsResponse;
import com.google.container.v1.NodePool;
import com.google.container.v1.Operation;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * A stateful in-process stand-in for the GKE ClusterManager API, enough for node pool lifecycle.
 *
 * <p>createNodePool adds the pool as PROVISIONING and returns a RUNNING operation; the operation
 * finishes (pool RUNNING, or failed if {@link #failNextCreateOperation} was set) once it has been
 * observed {@link #completeOperationsAfterPolls(int) N} times, where an observation is a
 * getOperation of it, a listOperations, or a getNodePool of its pool. deleteNodePool marks the pool
 * STOPPING and removes it the same way.
 *
 * <p>Usage: {@code try (var fake = FakeClusterManager.start()) { var client = fake.client(); ... }}
 */
public final class FakeClusterManager extends ClusterManagerGrpc.ClusterManagerImplBase
    implements AutoCloseable {

  /** RPCs faults can be injected into. */
  public enum Rpc {
    CREATE,
    DELETE,
    GET_POOL,
    LIST_POOLS,
    GET_OPERATION,
    LIST_OPERATIONS
  }

  private final Map<String, NodePool> pools = new LinkedHashMap<>();
  private final Map<String, OpState> operations = new LinkedHashMap<>();
  private final Map<Rpc, Deque<Status>> faults = new EnumMap<>(Rpc.class);
  private final Map<Rpc, java.util.concurrent.atomic.AtomicInteger> calls =
      new java.util.concurrent.ConcurrentHashMap<>();
  private final Deque<com.google.rpc.Status> operationFailures = new ArrayDeque<>();
  private final List<Consumer<NodePool>> readyListeners = new CopyOnWriteArrayList<>();
  private final List<BiConsumer<NodePool, Integer>> scaleUpListeners = new CopyOnWriteArrayList<>();
  private final AtomicInteger createCalls = new AtomicInteger();
  private final AtomicInteger deleteCalls = new AtomicInteger();
  private final AtomicInteger opSeq = new AtomicInteger();
  private volatile int pollsToComplete = 2;
  private volatile boolean poolVisibleWhileCreating = true;
  private Server server;
  private ManagedChannel channel;
  private ClusterManagerClient client;

  private static final class OpState {
    Operation op;
    int polls;
    String poolKey;
    NodePool pendingPool;
    com.google.rpc.Status failure;
  }

  /** Starts the fake on a fresh in-process server. */
  public static FakeClusterManager start() throws IOException {
    FakeClusterManager fake = new FakeClusterManager();
    String name = InProcessServerBuilder.generateName();
    fake.server =
        InProcessServerBuilder.forName(name).directExecutor().addService(fake).build().start();
    fake.channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    return fake;
  }

  /** Client settings pointing at this fake (no credentials, the operator's call deadlines). */
  public ClusterManagerSettings settings() throws IOException {
    return GkeNodePoolManager.applyQuickDeadlines(
            ClusterManagerSettings.newBuilder()
                .setTransportChannelProvider(
                    FixedTransportChannelProvider.create(GrpcTransportChannel.create(channel)))
                .setCredentialsProvider(NoCredentialsProvider.create()))
        .build();
  }

  /** A shared client for this fake, closed with it. */
  public synchronized ClusterManagerClient client() throws IOException {
    if (client == null) {
      client = ClusterManagerClient.create(settings());
    }
    return client;
  }

  // ---- test API ----

  /** Current pools, keyed by full resource name. */
  public synchronized Map<String, NodePool> pools() {
    return Map.copyOf(pools);
  }

  /** The pool called {@code poolName} (any cluster). */
  public synchronized Optional<NodePool> pool(String poolName) {
    return pools.values().stream().filter(p -> p.getName().equals(poolName)).findFirst();
  }

  public synchronized List<Operation> operations() {
    return operations.values().stream().map(s -> s.op).toList();
  }

  /** How many calls of {@code rpc} arrived (faulted ones too). */
  public int calls(Rpc rpc) {
    var n = calls.get(rpc);
    return n == null ? 0 : n.get();
  }

  public int createCalls() {
    return createCalls.get();
  }

  public int deleteCalls() {
    return deleteCalls.get();
  }

  /** Operations finish after this many observations (default 2). */
  public FakeClusterManager completeOperationsAfterPolls(int n) {
    this.pollsToComplete = n;
    return this;
  }

  /** When false, a pool being created is only visible through its operation. */
  public FakeClusterManager poolVisibleWhileCreating(boolean visible) {
    this.poolVisibleWhileCreating = visible;
    return this;
  }

  /** The next call of {@code rpc} fails with {@code status}. */
  public synchronized FakeClusterManager failNext(Rpc rpc, Status status) {
    faults.computeIfAbsent(rpc, r -> new ArrayDeque<>()).add(status);
    return this;
  }

  /** The next createNodePool RPC fails with {@code status}. */
  public FakeClusterManager failNextCreate(Status status) {
    return failNext(Rpc.CREATE, status);
  }

  /**
   * The next create operation is accepted but finishes DONE with this error, leaving the pool in
   * ERROR (as GKE does when, e.g., the zone is out of stock).
   */
  public synchronized FakeClusterManager failNextCreateOperation(Status status) {
    operationFailures.add(
        com.google.rpc.Status.newBuilder()
            .setCode(status.getCode().value())
            .setMessage(status.getDescription() == null ? "" : status.getDescription())
            .build());
    return this;
  }

  /** Called when a pool becomes RUNNING. */
  public FakeClusterManager onPoolReady(Consumer<NodePool> listener) {
    readyListeners.add(listener);
    return this;
  }

  /** Called by {@link #scaleUp}: the owner's tests can, e.g., register Node objects. */
  public FakeClusterManager onScaleUp(BiConsumer<NodePool, Integer> listener) {
    scaleUpListeners.add(listener);
    return this;
  }

  /** Simulates the cluster autoscaler adding {@code nodes} nodes to a RUNNING pool. */
  public void scaleUp(String poolName, int nodes) {
    NodePool p =
        pool(poolName).orElseThrow(() -> new IllegalArgumentException("no pool " + poolName));
    scaleUpListeners.forEach(l -> l.accept(p, nodes));
  }

  /** Adds a pool directly (e.g. one not managed by the operator). */
  public synchronized void putPool(String clusterName, NodePool pool) {
    pools.put(clusterName + "/nodePools/" + pool.getName(), pool);
  }

  /** Finishes every running operation now. */
  public void completeAllOperations() {
    List<NodePool> readied = new ArrayList<>();
    synchronized (this) {
      for (OpState s : operations.values()) {
        if (s.op.getStatus() != Operation.Status.DONE) {
          finish(s, readied);
        }
      }
    }
    readied.forEach(p -> readyListeners.forEach(l -> l.accept(p)));
  }

  // ---- gRPC ----

  @Override
  public void createNodePool(CreateNodePoolRequest req, StreamObserver<Operation> out) {
    createCalls.incrementAndGet();
    org.slf4j.LoggerFactory.getLogger(FakeClusterManager.class)
        .info("createNodePool {} #{}", req.getNodePool().getName(), createCalls.get());
    Operation op;
    synchronized (this) {
      if (fault(Rpc.CREATE, out)) {
        return;
      }
      String key = req.getParent() + "/nodePools/" + req.getNodePool().getName();
      if (pools.containsKey(key) || pendingCreate(key)) {
        out.onError(
            Status.ALREADY_EXISTS.withDescription("Already exists: " + key).asRuntimeException());
        return;
      }
      NodePool pool =
          req.getNodePool().toBuilder()
              .setStatus(NodePool.Status.PROVISIONING)
              .setSelfLink("https://container.googleapis.com/v1/" + key)
              .build();
      OpState s = newOp(Operation.Type.CREATE_NODE_POOL, key, req.getParent());
      s.pendingPool = pool;
      s.failure = operationFailures.poll();
      if (poolVisibleWhileCreating) {
        pools.put(key, pool);
      }
      op = s.op;
    }
    reply(out, op);
  }

  @Override
  public void deleteNodePool(DeleteNodePoolRequest req, StreamObserver<Operation> out) {
    deleteCalls.incrementAndGet();
    Operation op;
    synchronized (this) {
      if (fault(Rpc.DELETE, out)) {
        return;
      }
      NodePool pool = pools.get(req.getName());
      if (pool == null) {
        out.onError(notFound(req.getName()));
        return;
      }
      pools.put(req.getName(), pool.toBuilder().setStatus(NodePool.Status.STOPPING).build());
      String parent = req.getName().substring(0, req.getName().indexOf("/nodePools/"));
      op = newOp(Operation.Type.DELETE_NODE_POOL, req.getName(), parent).op;
    }
    reply(out, op);
  }

  @Override
  public void getNodePool(GetNodePoolRequest req, StreamObserver<NodePool> out) {
    List<NodePool> readied = new ArrayList<>();
    NodePool pool;
    synchronized (this) {
      if (fault(Rpc.GET_POOL, out)) {
        return;
      }
      for (OpState s : List.copyOf(operations.values())) {
        if (s.poolKey.equals(req.getName())) {
          poll(s, readied);
        }
      }
      pool = pools.get(req.getName());
    }
    readied.forEach(p -> readyListeners.forEach(l -> l.accept(p)));
    if (pool == null) {
      out.onError(notFound(req.getName()));
    } else {
      reply(out, pool);
    }
  }

  @Override
  public void listNodePools(ListNodePoolsRequest req, StreamObserver<ListNodePoolsResponse> out) {
    ListNodePoolsResponse resp;
    synchronized (this) {
      if (fault(Rpc.LIST_POOLS, out)) {
        return;
      }
      String prefix = req.getParent() + "/nodePools/";
      resp =
          ListNodePoolsResponse.newBuilder()
              .addAllNodePools(
                  pools.entrySet().stream()
                      .filter(e -> e.getKey().startsWith(prefix))
                      .map(Map.Entry::getValue)
                      .toList())
              .build();
    }
    reply(out, resp);
  }

  @Override
  public void getOperation(GetOperationRequest req, StreamObserver<Operation> out) {
    List<NodePool> readied = new ArrayList<>();
    Operation op;
    synchronized (this) {
      if (fault(Rpc.GET_OPERATION, out)) {
        return;
      }
      OpState s = operations.get(req.getName());
      if (s == null) {
        out.onError(notFound(req.getName()));
        return;
      }
      poll(s, readied);
      op = s.op;
    }
    readied.forEach(p -> readyListeners.forEach(l -> l.accept(p)));
    reply(out, op);
  }

  @Override
  public void listOperations(
      ListOperationsRequest req, StreamObserver<ListOperationsResponse> out) {
    List<NodePool> readied = new ArrayList<>();
    ListOperationsResponse resp;
    synchronized (this) {
      if (fault(Rpc.LIST_OPERATIONS, out)) {
        return;
      }
      for (OpState s : List.copyOf(operations.values())) {
        poll(s, readied);
      }
      resp =
          ListOperationsResponse.newBuilder()
              .addAllOperations(
                  operations.values().stream()
                      .filter(s -> s.op.getName().startsWith(req.getParent() + "/"))
                      .map(s -> s.op)
                      .toList())
              .build();
    }
    readied.forEach(p -> readyListeners.forEach(l -> l.accept(p)));
    reply(out, resp);
  }

  // ---- internals ----

  private boolean pendingCreate(String key) {
    return operations.values().stream()
        .anyMatch(
            s ->
                s.poolKey.equals(key)
                    && s.op.getOperationType() == Operation.Type.CREATE_NODE_POOL
                    && s.op.getStatus() != Operation.Status.DONE);
  }

  private OpState newOp(Operation.Type type, String poolKey, String clusterName) {
    String location = clusterName.substring(0, clusterName.indexOf("/clusters/"));
    String name = location + "/operations/operation-" + opSeq.incrementAndGet();
    OpState s = new OpState();
    s.poolKey = poolKey;
    s.op =
        Operation.newBuilder()
            .setName(name)
            .setOperationType(type)
            .setStatus(Operation.Status.RUNNING)
            .setSelfLink("https://container.googleapis.com/v1/" + name)
            .setTargetLink("https://container.googleapis.com/v1/" + poolKey)
            .setStartTime(String.format("%s-%06d", Instant.EPOCH, opSeq.get()))
            .build();
    operations.put(name, s);
    return s;
  }

  private void poll(OpState s, List<NodePool> readied) {
    if (s.op.getStatus() == Operation.Status.DONE) {
      return;
    }
    s.polls++;
    if (s.polls >= pollsToComplete) {
      finish(s, readied);
    }
  }

  private void finish(OpState s, List<NodePool> readied) {
    Operation.Builder done =
        s.op.toBuilder().setStatus(Operation.Status.DONE).setEndTime(Instant.now().toString());
    if (s.op.getOperationType() == Operation.Type.CREATE_NODE_POOL) {
      if (s.failure != null) {
        done.setError(s.failure).setStatusMessage(s.failure.getMessage());
        pools.put(
            s.poolKey,
            s.pendingPool.toBuilder()
                .setStatus(NodePool.Status.ERROR)
                .setStatusMessage(s.failure.getMessage())
                .build());
      } else {
        NodePool ready = s.pendingPool.toBuilder().setStatus(NodePool.Status.RUNNING).build();
        pools.put(s.poolKey, ready);
        readied.add(ready);
      }
    } else if (s.op.getOperationType() == Operation.Type.DELETE_NODE_POOL) {
      pools.remove(s.poolKey);
    }
    s.op = done.build();
  }

  private boolean fault(Rpc rpc, StreamObserver<?> out) {
    calls
        .computeIfAbsent(rpc, r -> new java.util.concurrent.atomic.AtomicInteger())
        .incrementAndGet();
    Deque<Status> q = faults.get(rpc);
    Status st = q == null ? null : q.poll();
    if (st != null) {
      out.onError(st.asRuntimeException());
      return true;
    }
    return false;
  }

  private static StatusRuntimeException notFound(String name) {
    return Status.NOT_FOUND.withDescription("Not found: " + name).asRuntimeException();
  }

  private static <T> void reply(StreamObserver<T> out, T value) {
    out.onNext(value);
    out.onCompleted();
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
