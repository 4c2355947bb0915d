package dev.finetune.operator.eval;

import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * ROUGE scores identical to Google's {@code rouge-score} package ({@code
 * rouge_score.rouge_scorer.RougeScorer} with the default tokenizer and {@code
 * split_summaries=False}).
 *
 * <pre>{@code
 * RougeScorer scorer = new RougeScorer(Set.of(ROUGE1, ROUGE2, ROUGE_L, ROUGE_LSUM), true);
 * Map<RougeType, Score> scores = scorer.score(target, prediction);
 * }</pre>
 *
 * <p>Tokens are interned into dense integer ids per call (through a per-thread table that caches
 * stems, see {@link TokenTable}); n-gram clipping uses count arrays, rougeL the bit-parallel LCS
 * length and rougeLsum a two-row DP with one read-out bit per cell. Instances are thread-safe.
 */
public final class RougeScorer {

  private final EnumSet<RougeType> types;
  private final RougeTokenizer tokenizer;
  private final ThreadLocal<TokenTable> tables;

  /**
   * @param types the ROUGE types to compute (non-empty)
   * @param stem whether to apply the Porter stemmer to tokens longer than 3 characters
   */
  public RougeScorer(Collection<RougeType> types, boolean stem) {
    Objects.requireNonNull(types, "types");
    if (types.isEmpty()) {
      throw new IllegalArgumentException("at least one rouge type is required");
    }
    this.types = EnumSet.copyOf(types);
    this.tokenizer = new RougeTokenizer(stem);
    this.tables = ThreadLocal.withInitial(() -> new TokenTable(tokenizer));
  }

  /** Scorer for rouge1, rouge2, rougeL and rougeLsum. */
  public static RougeScorer standard(boolean stem) {
    return new RougeScorer(
        List.of(RougeType.ROUGE1, RougeType.ROUGE2, RougeType.ROUGE_L, RougeType.ROUGE_LSUM), stem);
  }

  /** The configured types, in {@link RougeType} order. */
  public Set<RougeType> types() {
    return Collections.unmodifiableSet(types);
  }

  public boolean stems() {
    return tokenizer.stems();
  }

  public RougeTokenizer tokenizer() {
    return tokenizer;
  }

  /**
   * Scores {@code prediction} against {@code target} (the reference).
   *
   * @return one {@link Score} per configured type, iterating in {@link RougeType} order
   */
  public Map<RougeType, Score> score(String target, String prediction) {
    Objects.requireNonNull(target, "target");
    Objects.requireNonNull(prediction, "prediction");
    TokenTable table = tables.get();
    table.beginCall();
    Tokens t = tokens(target, table);
    Tokens p = tokens(prediction, table);
    int vocabSize = table.idCount();
    EnumMap<RougeType, Score> result = new EnumMap<>(RougeType.class);
    for (RougeType type : types) {
      Score s;
      if (type == RougeType.ROUGE_L) {
        s = scoreLcs(t.ids, p.ids, vocabSize);
      } else if (type == RougeType.ROUGE_LSUM) {
        s = summaryLevelLcs(t.sentences(), p.sentences(), vocabSize);
      } else {
        s = scoreNgrams(t.ids, p.ids, type.ngramOrder(), vocabSize);
      }
      result.put(type, s);
    }
    return Collections.unmodifiableMap(result);
  }

  // ---------------------------------------------------------------------------------------------
  // Tokens

  /** Token ids of one text plus, per token, its line (sentence) index. */
  static final class Tokens {
    int[] ids = new int[16];
    int[] lines = new int[16];
    int size;

    void add(int id, int line) {
      if (size == ids.length) {
        ids = Arrays.copyOf(ids, size * 2);
        lines = Arrays.copyOf(lines, size * 2);
      }
      ids[size] = id;
      lines[size] = line;
      size++;
    }

    Tokens trim() {
      ids = Arrays.copyOf(ids, size);
      return this;
    }

    /** Non-empty {@code "\n"}-separated sentences (empty ones contribute nothing to rougeLsum). */
    int[][] sentences() {
      if (size == 0) {
        return new int[0][];
      }
      int count = 1;
      for (int i = 1; i < size; i++) {
        if (lines[i] != lines[i - 1]) {
          count++;
        }
      }
      int[][] out = new int[count][];
      int start = 0;
      int k = 0;
      for (int i = 1; i <= size; i++) {
        if (i == size || lines[i] != lines[i - 1]) {
          out[k++] = Arrays.copyOfRange(ids, start, i);
          start = i;
        }
      }
      return out;
    }
  }

  private static Tokens tokens(String text, TokenTable table) {
    Tokens tokens = new Tokens();
    RougeTokenizer.scan(
        text,
        (buf, len, hash, line) -> {
          int id = table.id(buf, len, hash);
          if (id >= 0) {
            tokens.add(id, line);
          }
        });
    return tokens.trim();
  }

  // ---------------------------------------------------------------------------------------------
  // rougeN

  /**
   * {@code _score_ngrams}: clipped n-gram overlap (the intersection of the two n-gram multisets).
   */
  static Score scoreNgrams(int[] target, int[] prediction, int n, int vocabSize) {
    int targetCount = Math.max(target.length - n + 1, 0);
    int predictionCount = Math.max(prediction.length - n + 1, 0);
    int intersection = 0;
    if (targetCount > 0 && predictionCount > 0) {
      int[] tg = target;
      int[] pg = prediction;
      int grams = vocabSize;
      // Level by level, give every k-gram a dense id from (id of its (k-1)-gram prefix, id of its
      // last token); both texts share the ids so equal n-grams get equal ids.
      for (int k = 2; k <= n; k++) {
        LongIntMap ids = new LongIntMap();
        tg = extend(tg, target, k, ids);
        pg = extend(pg, prediction, k, ids);
        grams = ids.size();
      }
      int[] counts = new int[grams];
      for (int g : tg) {
        counts[g]++;
      }
      for (int g : pg) {
        if (counts[g] > 0) {
          counts[g]--;
          intersection++;
        }
      }
    }
    double precision = (double) intersection / Math.max(predictionCount, 1);
    double recall = (double) intersection / Math.max(targetCount, 1);
    return Score.of(precision, recall);
  }

  /** Ids of the k-grams of {@code tokens}, given the ids of its (k-1)-grams. */
  private static int[] extend(int[] prefixes, int[] tokens, int k, LongIntMap ids) {
    int[] out = new int[tokens.length - k + 1];
    for (int i = 0; i < out.length; i++) {
      out[i] = ids.idOf(((long) prefixes[i] << 32) | tokens[i + k - 1]);
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------------
  // rougeL

  /** {@code _score_lcs}. */
  static Score scoreLcs(int[] target, int[] prediction, int vocabSize) {
    if (target.length == 0 || prediction.length == 0) {
      return Score.ZERO;
    }
    int lcs = lcsLength(target, prediction, vocabSize);
    double precision = (double) lcs / prediction.length;
    double recall = (double) lcs / target.length;
    return Score.of(precision, recall);
  }

  /**
   * Length of the longest common subsequence of two id sequences (ids in {@code [0, vocabSize)}),
   * with the bit-parallel algorithm of Allison-Dix/Hyyrö: O(m * n / 64) word operations.
   */
  static int lcsLength(int[] a, int[] b, int vocabSize) {
    if (a.length > b.length) {
      int[] tmp = a;
      a = b;
      b = tmp;
    }
    int m = a.length;
    if (m == 0) {
      return 0;
    }
    int words = (m + 63) >>> 6;
    // Match masks: bit i of the mask of token x is set when a[i] == x.
    int[] slot = new int[vocabSize];
    Arrays.fill(slot, -1);
    int distinct = 0;
    for (int x : a) {
      if (slot[x] < 0) {
        slot[x] = distinct++;
      }
    }
    long[] masks = new long[distinct * words];
    for (int i = 0; i < m; i++) {
      masks[slot[a[i]] * words + (i >>> 6)] |= 1L << (i & 63);
    }
    long[] v = new long[words];
    Arrays.fill(v, -1L);
    for (int x : b) {
      int s = slot[x];
      if (s < 0) {
        continue;
      }
      int off = s * words;
      long carry = 0;
      for (int k = 0; k < words; k++) {
        long vk = v[k];
        long u = vk & masks[off + k];
        long sum = vk + u + carry;
        carry = ((vk & u) | ((vk | u) & ~sum)) >>> 63;
        v[k] = sum | (vk & ~u);
      }
    }
    int ones = 0;
    for (int k = 0; k < words - 1; k++) {
      ones += Long.bitCount(v[k]);
    }
    int tail = m - ((words - 1) << 6);
    long tailMask = tail == 64 ? -1L : (1L << tail) - 1;
    ones += Long.bitCount(v[words - 1] & tailMask);
    return m - ones;
  }

  /** Reference dynamic-programming LCS length, as {@code _lcs_table}; used in tests. */
  static int lcsLengthDp(int[] a, int[] b) {
    int cols = b.length;
    int[] prev = new int[cols + 1];
    int[] cur = new int[cols + 1];
    for (int x : a) {
      for (int j = 1; j <= cols; j++) {
        if (x == b[j - 1]) {
          cur[j] = prev[j - 1] + 1;
        } else {
          cur[j] = Math.max(prev[j], cur[j - 1]);
        }
      }
      int[] tmp = prev;
      prev = cur;
      cur = tmp;
    }
    return prev[cols];
  }

  // ---------------------------------------------------------------------------------------------
  // rougeLsum

  /**
   * {@code _summary_level_lcs}: for every reference sentence, the union of one LCS (as chosen by
   * {@code _backtrack_norec}) with every candidate sentence; hits are counted against token counts
   * of both summaries so a token is never matched more often than it occurs.
   */
  static Score summaryLevelLcs(int[][] refSentences, int[][] candSentences, int vocabSize) {
    int m = 0;
    for (int[] s : refSentences) {
      m += s.length;
    }
    int n = 0;
    for (int[] s : candSentences) {
      n += s.length;
    }
    if (m == 0 || n == 0) {
      return Score.ZERO;
    }
    int[] countsRef = new int[vocabSize];
    int[] countsCand = new int[vocabSize];
    for (int[] s : refSentences) {
      for (int t : s) {
        countsRef[t]++;
      }
    }
    for (int[] s : candSentences) {
      for (int t : s) {
        countsCand[t]++;
      }
    }
    LcsTable table = new LcsTable();
    // inRef[t] == stamp when token t occurs in the current reference sentence.
    int[] inRef = new int[vocabSize];
    int hits = 0;
    int stamp = 0;
    for (int[] ref : refSentences) {
      stamp++;
      for (int t : ref) {
        inRef[t] = stamp;
      }
      boolean[] inUnion = new boolean[ref.length];
      int covered = 0;
      for (int[] cand : candSentences) {
        if (covered == ref.length) {
          break; // the union cannot grow any further
        }
        if (sharesToken(cand, inRef, stamp)) {
          covered += table.markLcs(ref, cand, inUnion);
        }
      }
      for (int i = 0; i < ref.length; i++) {
        if (inUnion[i]) {
          int t = ref[i];
          if (countsCand[t] > 0 && countsRef[t] > 0) {
            hits++;
            countsCand[t]--;
            countsRef[t]--;
          }
        }
      }
    }
    double recall = (double) hits / m;
    double precision = (double) hits / n;
    return Score.of(precision, recall);
  }

  private static boolean sharesToken(int[] sentence, int[] marks, int stamp) {
    for (int t : sentence) {
      if (marks[t] == stamp) {
        return true;
      }
    }
    return false;
  }

  /**
   * {@code _lcs_table} + {@code _backtrack_norec} for one pair of sentences, reusable across calls.
   *
   * <p>Only two rows of the DP table are kept; for the read-out, each cell stores one bit: whether
   * {@code t[i][j-1] > t[i-1][j]}, which is the only comparison {@code _backtrack_norec} makes
   * (matches are recognised from the tokens themselves). This keeps long sentences affordable: a
   * 10,000 x 10,000 token pair needs 12.5 MB instead of 400 MB.
   */
  static final class LcsTable {
    private int[] prev = new int[64];
    private int[] cur = new int[64];
    private long[] left = new long[64];

    /**
     * Marks, in {@code inRef}, the reference indices of the LCS that rouge-score reads out.
     *
     * @return the number of indices newly marked
     */
    int markLcs(int[] ref, int[] can, boolean[] inRef) {
      int rows = ref.length;
      int cols = can.length;
      if (rows == 0 || cols == 0) {
        return 0;
      }
      long cells = (long) rows * cols;
      long words = (cells + 63) >>> 6;
      if (words > Integer.MAX_VALUE - 8) {
        throw new IllegalArgumentException(
            "sentences too long for rougeLsum: " + rows + " x " + cols + " tokens");
      }
      if (left.length < words) {
        left = new long[(int) Math.max(words, Math.min(Integer.MAX_VALUE - 8, left.length * 2L))];
      } else {
        Arrays.fill(left, 0, (int) words, 0L);
      }
      if (prev.length < cols + 1) {
        prev = new int[cols + 1];
        cur = new int[cols + 1];
      }
      int[] p = prev;
      int[] c = cur;
      Arrays.fill(p, 0, cols + 1, 0);
      c[0] = 0;
      long bit = 0;
      for (int i = 1; i <= rows; i++) {
        int r = ref[i - 1];
        for (int j = 1; j <= cols; j++, bit++) {
          if (r == can[j - 1]) {
            c[j] = p[j - 1] + 1;
          } else {
            int l = c[j - 1];
            int u = p[j];
            if (l > u) {
              left[(int) (bit >>> 6)] |= 1L << bit;
              c[j] = l;
            } else {
              c[j] = u;
            }
          }
        }
        int[] tmp = p;
        p = c;
        c = tmp;
      }
      int added = 0;
      int i = rows;
      int j = cols;
      while (i > 0 && j > 0) {
        if (ref[i - 1] == can[j - 1]) {
          if (!inRef[i - 1]) {
            inRef[i - 1] = true;
            added++;
          }
          i--;
          j--;
        } else {
          long at = (long) (i - 1) * cols + (j - 1);
          if ((left[(int) (at >>> 6)] & (1L << at)) != 0) {
            j--;
          } else {
            i--;
          }
        }
      }
      return added;
    }
  }
}
