package dev.finetune.operator.eval;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Word-level difference of a prediction against its reference, for people: which words of the
 * prediction are not part of their longest common subsequence with the reference. Above {@link
 * #MAX_LCS_WORDS} words on either side, a word counts as matching when it occurs anywhere in the
 * reference (linear instead of quadratic).
 */
public final class TextDiff {
  static final int MAX_LCS_WORDS = 1000;

  private TextDiff() {}

  /** A run of text, and whether it differs from the reference. */
  public record Span(String text, boolean differs) {}

  /** The prediction split into words and the whitespace between them, each marked. */
  public static List<Span> against(String reference, String prediction) {
    List<String> pred = split(prediction);
    List<String> refWords = words(split(reference));
    List<Integer> predWordAt = new ArrayList<>();
    for (int i = 0; i < pred.size(); i++) {
      if (!pred.get(i).isBlank()) {
        predWordAt.add(i);
      }
    }
    boolean[] matched = new boolean[pred.size()];
    if (predWordAt.size() <= MAX_LCS_WORDS && refWords.size() <= MAX_LCS_WORDS) {
      int a = predWordAt.size();
      int b = refWords.size();
      int[][] t = new int[a + 1][b + 1];
      for (int i = a - 1; i >= 0; i--) {
        String w = pred.get(predWordAt.get(i));
        for (int j = b - 1; j >= 0; j--) {
          t[i][j] =
              w.equals(refWords.get(j)) ? t[i + 1][j + 1] + 1 : Math.max(t[i + 1][j], t[i][j + 1]);
        }
      }
      int i = 0;
      int j = 0;
      while (i < a && j < b) {
        if (pred.get(predWordAt.get(i)).equals(refWords.get(j))) {
          matched[predWordAt.get(i)] = true;
          i++;
          j++;
        } else if (t[i + 1][j] >= t[i][j + 1]) {
          i++;
        } else {
          j++;
        }
      }
    } else {
      Set<String> ref = new HashSet<>(refWords);
      for (int i : predWordAt) {
        matched[i] = ref.contains(pred.get(i));
      }
    }
    List<Span> out = new ArrayList<>();
    for (int i = 0; i < pred.size(); i++) {
      String s = pred.get(i);
      out.add(new Span(s, !s.isBlank() && !matched[i]));
    }
    return out;
  }

  /** Words and whitespace runs, alternating, in order; concatenated they give back the text. */
  static List<String> split(String text) {
    List<String> out = new ArrayList<>();
    int start = 0;
    for (int i = 1; i <= text.length(); i++) {
      if (i == text.length()
          || Character.isWhitespace(text.charAt(i)) != Character.isWhitespace(text.charAt(i - 1))) {
        if (i > start) {
          out.add(text.substring(start, i));
        }
        start = i;
      }
    }
    return out;
  }

  private static List<String> words(List<String> parts) {
    List<String> out = new ArrayList<>();
    for (String p : parts) {
      if (!p.isBlank()) {
        out.add(p);
      }
    }
    return out;
  }
}
