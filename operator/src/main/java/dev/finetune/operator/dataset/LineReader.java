package dev.finetune.operator.dataset;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.util.concurrent.CancellationException;
import java.util.function.BooleanSupplier;

/**
 * Splits a byte stream into physical lines at {@code \n}, hashing every byte read.
 *
 * <p>Lines that fit in the read buffer are returned in place (no copy); a line spanning reads is
 * assembled in a growable buffer capped at {@code maxLineBytes}. A longer line is not buffered: its
 * bytes are counted and dropped, and {@link #tooLong()} is set. Memory is therefore bounded by
 * {@link #BUFFER_SIZE} plus {@code maxLineBytes}, whatever the file size.
 *
 * <p>The returned line excludes the {@code \n}; a trailing {@code \r} is left to the caller.
 */
final class LineReader {
  static final int BUFFER_SIZE = 256 * 1024;

  private static final VarHandle LONGS =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  private static final long NEWLINES = 0x0A0A0A0A0A0A0A0AL;
  private static final long ONES = 0x0101010101010101L;
  private static final long HIGH_BITS = 0x8080808080808080L;

  /** Thrown when the stream is longer than the configured maximum. */
  static final class FileTooLargeException extends IOException {
    FileTooLargeException(long limit) {
      super("file is larger than the limit of " + limit + " bytes");
    }
  }

  private final InputStream in;
  private final MessageDigest digest;
  private final int maxLineBytes;
  private final long maxFileBytes;
  private final BooleanSupplier cancelled;

  private final byte[] buf = new byte[BUFFER_SIZE];
  private int pos;
  private int limit;
  private boolean eof;
  private byte[] lineBuf = new byte[8192];
  private long bytesRead;
  private long lineNumber;

  private byte[] lineArray;
  private int lineStart;
  private int lineLength;
  private long lineTotalLength;
  private boolean tooLong;

  LineReader(
      InputStream in,
      MessageDigest digest,
      int maxLineBytes,
      long maxFileBytes,
      BooleanSupplier cancelled) {
    this.in = in;
    this.digest = digest;
    this.maxLineBytes = maxLineBytes;
    this.maxFileBytes = maxFileBytes;
    this.cancelled = cancelled;
  }

  /** Advances to the next line; false at end of stream. */
  boolean next() throws IOException {
    boolean spanning = false;
    long total = 0;
    int assembled = 0;
    boolean over = false;
    while (true) {
      if (pos >= limit && !fill()) {
        if (!spanning) {
          return false;
        }
        return finish(lineBuf, 0, assembled, total, over);
      }
      int nl = indexOfNewline(buf, pos, limit);
      int end = nl < 0 ? limit : nl;
      int n = end - pos;
      if (nl >= 0 && !spanning) {
        int start = pos;
        pos = nl + 1;
        return finish(buf, start, n, n, n > maxLineBytes);
      }
      total += n;
      if (!over) {
        if (total > maxLineBytes) {
          over = true;
          assembled = 0;
        } else {
          ensureLineCapacity(assembled + n);
          System.arraycopy(buf, pos, lineBuf, assembled, n);
          assembled += n;
        }
      }
      spanning = true;
      if (nl >= 0) {
        pos = nl + 1;
        return finish(lineBuf, 0, assembled, total, over);
      }
      pos = end;
    }
  }

  private boolean finish(byte[] array, int start, int length, long total, boolean over) {
    lineNumber++;
    lineArray = array;
    lineStart = start;
    lineLength = over ? 0 : length;
    lineTotalLength = total;
    tooLong = over;
    return true;
  }

  private static int indexOfNewline(byte[] a, int from, int to) {
    int i = from;
    // Eight bytes at a time: a zero byte in (word ^ 0x0A..) marks a '\n'. Little-endian, so the
    // lowest flagged byte is the first newline (false positives can only follow a true one).
    for (; i + 8 <= to; i += 8) {
      long v = ((long) LONGS.get(a, i)) ^ NEWLINES;
      long t = (v - ONES) & ~v & HIGH_BITS;
      if (t != 0) {
        return i + (Long.numberOfTrailingZeros(t) >>> 3);
      }
    }
    for (; i < to; i++) {
      if (a[i] == '\n') {
        return i;
      }
    }
    return -1;
  }

  private void ensureLineCapacity(int needed) {
    if (needed > lineBuf.length) {
      int size = (int) Math.min((long) maxLineBytes, Math.max(needed, 2L * lineBuf.length));
      byte[] bigger = new byte[size];
      System.arraycopy(lineBuf, 0, bigger, 0, lineBuf.length);
      lineBuf = bigger;
    }
  }

  private boolean fill() throws IOException {
    if (eof) {
      return false;
    }
    if (cancelled.getAsBoolean() || Thread.currentThread().isInterrupted()) {
      throw new CancellationException("dataset validation cancelled");
    }
    int n;
    try {
      do {
        n = in.read(buf, 0, buf.length);
      } while (n == 0);
    } catch (InterruptedIOException e) {
      CancellationException ce = new CancellationException("dataset validation interrupted");
      ce.initCause(e);
      throw ce;
    }
    if (n < 0) {
      eof = true;
      pos = limit = 0;
      return false;
    }
    digest.update(buf, 0, n);
    bytesRead += n;
    if (bytesRead > maxFileBytes) {
      throw new FileTooLargeException(maxFileBytes);
    }
    pos = 0;
    limit = n;
    return true;
  }

  /** Drops the (possibly large) assembly buffer so a long line does not pin memory afterwards. */
  void trimBuffers() {
    if (lineBuf.length > 1024 * 1024) {
      lineBuf = new byte[8192];
    }
  }

  byte[] array() {
    return lineArray;
  }

  int start() {
    return lineStart;
  }

  /** Length of the line's bytes in {@link #array()}; 0 when {@link #tooLong()}. */
  int length() {
    return lineLength;
  }

  /** Length of the line in the file, excluding {@code \n}, even when it was too long to keep. */
  long totalLength() {
    return lineTotalLength;
  }

  boolean tooLong() {
    return tooLong;
  }

  long lineNumber() {
    return lineNumber;
  }

  long bytesRead() {
    return bytesRead;
  }
}
