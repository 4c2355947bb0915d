package dev.finetune.operator.dataset;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/** Strict UTF-8 validation (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF). */
final class Utf8 {
  private static final VarHandle LONGS =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  private static final long HIGH_BITS = 0x8080808080808080L;

  private Utf8() {}

  /** Index of the first byte of the first invalid sequence in {@code a[from, to)}, or -1. */
  static int firstInvalid(byte[] a, int from, int to) {
    int i = from;
    // ASCII fast path, eight bytes at a time.
    while (i + 8 <= to && (((long) LONGS.get(a, i)) & HIGH_BITS) == 0) {
      i += 8;
    }
    while (i < to) {
      int b = a[i] & 0xff;
      if (b < 0x80) {
        i++;
        if (i + 8 <= to && (((long) LONGS.get(a, i)) & HIGH_BITS) == 0) {
          i += 8;
        }
        continue;
      }
      int start = i;
      if (b < 0xC2) {
        return start; // continuation byte without a lead, or overlong 2-byte lead
      } else if (b < 0xE0) {
        if (i + 1 >= to || !cont(a[i + 1])) {
          return start;
        }
        i += 2;
      } else if (b < 0xF0) {
        if (i + 2 >= to || !cont(a[i + 1]) || !cont(a[i + 2])) {
          return start;
        }
        int b1 = a[i + 1] & 0xff;
        if ((b == 0xE0 && b1 < 0xA0) || (b == 0xED && b1 >= 0xA0)) {
          return start; // overlong, or a UTF-16 surrogate
        }
        i += 3;
      } else if (b < 0xF5) {
        if (i + 3 >= to || !cont(a[i + 1]) || !cont(a[i + 2]) || !cont(a[i + 3])) {
          return start;
        }
        int b1 = a[i + 1] & 0xff;
        if ((b == 0xF0 && b1 < 0x90) || (b == 0xF4 && b1 >= 0x90)) {
          return start; // overlong, or above U+10FFFF
        }
        i += 4;
      } else {
        return start;
      }
    }
    return -1;
  }

  private static boolean cont(byte b) {
    return (b & 0xC0) == 0x80;
  }
}
