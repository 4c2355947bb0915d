package dev.finetune.operator.eval;

import java.util.Arrays;
import java.util.HashMap;

/**
 * Per-thread interning of raw tokens into dense per-call ids, without allocating for tokens seen
 * before.
 *
 * <p>Each distinct raw token (lowercased chars) is stored once with a pointer to its final token
 * (after stemming and the validity check). Final tokens carry the id they were given in the current
 * scoring call, identified by a stamp, so different raw tokens with the same stem ("cats", "cat")
 * share an id and ids restart at 0 for every call. Not thread-safe: {@link RougeScorer} keeps one
 * per thread.
 */
final class TokenTable {

  /** Above this many raw tokens the table is cleared at the start of a call. */
  private static final int MAX_ENTRIES = 1 << 18;

  /** A final token and its id in the current call. */
  static final class Final {
    final String token;
    int stamp = -1;
    int id;

    Final(String token) {
      this.token = token;
    }
  }

  /** Marker for raw tokens that rouge-score drops. */
  private static final Final DROPPED = new Final("");

  private final RougeTokenizer tokenizer;
  private char[][] keys = new char[1024][];
  private int[] hashes = new int[1024];
  private Final[] finals = new Final[1024];
  private int size;
  private final HashMap<String, Final> byToken = new HashMap<>();
  private int stamp;
  private int nextId;

  TokenTable(RougeTokenizer tokenizer) {
    this.tokenizer = tokenizer;
  }

  /** Starts a scoring call: ids restart at 0. */
  void beginCall() {
    if (size > MAX_ENTRIES || stamp == Integer.MAX_VALUE) {
      clear();
    }
    stamp++;
    nextId = 0;
  }

  /** Number of ids handed out in the current call. */
  int idCount() {
    return nextId;
  }

  /** Id of the raw token {@code buf[0..len)} in the current call, or -1 if it is dropped. */
  int id(char[] buf, int len, int hash) {
    int mask = keys.length - 1;
    int slot = mix(hash) & mask;
    Final f;
    while (true) {
      char[] k = keys[slot];
      if (k == null) {
        f = insert(slot, buf, len, hash);
        break;
      }
      if (hashes[slot] == hash && k.length == len && Arrays.equals(k, 0, len, buf, 0, len)) {
        f = finals[slot];
        break;
      }
      slot = (slot + 1) & mask;
    }
    if (f == DROPPED) {
      return -1;
    }
    if (f.stamp != stamp) {
      f.stamp = stamp;
      f.id = nextId++;
    }
    return f.id;
  }

  private Final insert(int slot, char[] buf, int len, int hash) {
    String token = tokenizer.finish(new String(buf, 0, len));
    Final f = token == null ? DROPPED : byToken.computeIfAbsent(token, Final::new);
    keys[slot] = Arrays.copyOf(buf, len);
    hashes[slot] = hash;
    finals[slot] = f;
    size++;
    if (size * 2 > keys.length) {
      grow();
    }
    return f;
  }

  private static int mix(int h) {
    h *= 0x9E3779B9;
    return h ^ (h >>> 16);
  }

  private void grow() {
    char[][] oldKeys = keys;
    int[] oldHashes = hashes;
    Final[] oldFinals = finals;
    int capacity = keys.length * 2;
    keys = new char[capacity][];
    hashes = new int[capacity];
    finals = new Final[capacity];
    int mask = capacity - 1;
    for (int i = 0; i < oldKeys.length; i++) {
      if (oldKeys[i] != null) {
        int slot = mix(oldHashes[i]) & mask;
        while (keys[slot] != null) {
          slot = (slot + 1) & mask;
        }
        keys[slot] = oldKeys[i];
        hashes[slot] = oldHashes[i];
        finals[slot] = oldFinals[i];
      }
    }
  }

  private void clear() {
    keys = new char[1024][];
    hashes = new int[1024];
    finals = new Final[1024];
    size = 0;
    byToken.clear();
    stamp = 0;
  }
}
