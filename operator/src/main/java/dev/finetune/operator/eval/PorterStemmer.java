package dev.finetune.operator.eval;

import java.util.Map;

/**
 * Port of NLTK's {@code nltk.stem.porter.PorterStemmer} in its default {@code NLTK_EXTENSIONS}
 * mode, which is the stemmer used by Google's {@code rouge-score} package.
 *
 * <p>The structure intentionally mirrors the Python implementation step by step (including its
 * rule-list semantics: the first rule whose suffix matches decides, whether or not its condition
 * holds) so that the two can be compared line by line. The input is expected to be lowercase; like
 * NLTK, the word is lowercased before stemming.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class PorterStemmer {

  /** NLTK_EXTENSIONS irregular forms: surface form to stem. */
  private static final Map<String, String> POOL =
      Map.ofEntries(
          Map.entry("sky", "sky"),
          Map.entry("skies", "sky"),
          Map.entry("dying", "die"),
          Map.entry("lying", "lie"),
          Map.entry("tying", "tie"),
          Map.entry("news", "news"),
          Map.entry("innings", "inning"),
          Map.entry("inning", "inning"),
          Map.entry("outings", "outing"),
          Map.entry("outing", "outing"),
          Map.entry("cannings", "canning"),
          Map.entry("canning", "canning"),
          Map.entry("howe", "howe"),
          Map.entry("proceed", "proceed"),
          Map.entry("exceed", "exceed"),
          Map.entry("succeed", "succeed"));

  /** Returns the stem of {@code word}. */
  public String stem(String word) {
    String stem = word.toLowerCase(java.util.Locale.ROOT);
    String irregular = POOL.get(stem);
    if (irregular != null) {
      return irregular;
    }
    if (word.length() <= 2) {
      return stem;
    }
    stem = step1a(stem);
    stem = step1b(stem);
    stem = step1c(stem);
    stem = step2(stem);
    stem = step3(stem);
    stem = step4(stem);
    stem = step5a(stem);
    stem = step5b(stem);
    return stem;
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  private static boolean isVowelLetter(char c) {
    return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
  }

  /** NLTK {@code _is_consonant}: 'y' is a consonant at position 0 or after a vowel. */
  static boolean isConsonant(CharSequence word, int i) {
    // Resolve a run of 'y's iteratively (equivalent to NLTK's recursion).
    boolean negate = false;
    while (i > 0 && word.charAt(i) == 'y') {
      negate = !negate;
      i--;
    }
    char c = word.charAt(i);
    boolean consonant = !isVowelLetter(c);
    return consonant != negate;
  }

  /** NLTK {@code _measure}: the number of "vc" sequences in the consonant/vowel form. */
  static int measure(CharSequence stem) {
    int n = stem.length();
    int count = 0;
    boolean prevConsonant = true;
    boolean prevIsVowel = false;
    for (int i = 0; i < n; i++) {
      char c = stem.charAt(i);
      boolean consonant;
      if (isVowelLetter(c)) {
        consonant = false;
      } else if (c == 'y') {
        consonant = i == 0 || !prevConsonant;
      } else {
        consonant = true;
      }
      if (consonant && prevIsVowel) {
        count++;
      }
      prevIsVowel = !consonant;
      prevConsonant = consonant;
    }
    return count;
  }

  private static boolean hasPositiveMeasure(CharSequence stem) {
    return measure(stem) > 0;
  }

  static boolean containsVowel(CharSequence stem) {
    for (int i = 0; i < stem.length(); i++) {
      if (!isConsonant(stem, i)) {
        return true;
      }
    }
    return false;
  }

  /** Condition *d: ends with a double consonant. */
  static boolean endsDoubleConsonant(String word) {
    int n = word.length();
    return n >= 2 && word.charAt(n - 1) == word.charAt(n - 2) && isConsonant(word, n - 1);
  }

  /** Condition *o (with the NLTK extension for two-letter words). */
  static boolean endsCvc(String word) {
    int n = word.length();
    if (n >= 3
        && isConsonant(word, n - 3)
        && !isConsonant(word, n - 2)
        && isConsonant(word, n - 1)) {
      char last = word.charAt(n - 1);
      if (last != 'w' && last != 'x' && last != 'y') {
        return true;
      }
    }
    return n == 2 && !isConsonant(word, 0) && isConsonant(word, 1);
  }

  private static String dropSuffix(String word, int suffixLength) {
    return word.substring(0, word.length() - suffixLength);
  }

  @FunctionalInterface
  private interface Condition {
    boolean test(String stem);
  }

  private record Rule(String suffix, String replacement, Condition condition) {}

  /**
   * NLTK {@code _apply_rule_list}: the first rule whose suffix matches decides the outcome. The
   * pseudo-suffix {@code "*d"} matches words ending with a double consonant.
   */
  private static String applyRuleList(String word, Rule... rules) {
    for (Rule rule : rules) {
      if (rule.suffix.equals("*d")) {
        if (endsDoubleConsonant(word)) {
          String stem = dropSuffix(word, 2);
          if (rule.condition == null || rule.condition.test(stem)) {
            return stem + rule.replacement;
          }
          return word;
        }
        continue;
      }
      if (word.endsWith(rule.suffix)) {
        String stem = dropSuffix(word, rule.suffix.length());
        if (rule.condition == null || rule.condition.test(stem)) {
          return stem + rule.replacement;
        }
        return word;
      }
    }
    return word;
  }

  // ---------------------------------------------------------------------------------------------
  // Steps

  static String step1a(String word) {
    if (word.endsWith("ies") && word.length() == 4) {
      return dropSuffix(word, 3) + "ie";
    }
    return applyRuleList(
        word,
        new Rule("sses", "ss", null),
        new Rule("ies", "i", null),
        new Rule("ss", "ss", null),
        new Rule("s", "", null));
  }

  static String step1b(String word) {
    if (word.endsWith("ied")) {
      if (word.length() == 4) {
        return dropSuffix(word, 3) + "ie";
      }
      return dropSuffix(word, 3) + "i";
    }
    if (word.endsWith("eed")) {
      String stem = dropSuffix(word, 3);
      if (measure(stem) > 0) {
        return stem + "ee";
      }
      return word;
    }
    String intermediate = null;
    if (word.endsWith("ed")) {
      String candidate = dropSuffix(word, 2);
      if (containsVowel(candidate)) {
        intermediate = candidate;
      }
    }
    if (intermediate == null && word.endsWith("ing")) {
      String candidate = dropSuffix(word, 3);
      if (containsVowel(candidate)) {
        intermediate = candidate;
      }
    }
    if (intermediate == null) {
      return word;
    }
    // intermediate is non-empty here because it contains a vowel.
    char last = intermediate.charAt(intermediate.length() - 1);
    return applyRuleList(
        intermediate,
        new Rule("at", "ate", null),
        new Rule("bl", "ble", null),
        new Rule("iz", "ize", null),
        new Rule("*d", String.valueOf(last), stem -> last != 'l' && last != 's' && last != 'z'),
        new Rule("", "e", stem -> measure(stem) == 1 && endsCvc(stem)));
  }

  static String step1c(String word) {
    return applyRuleList(
        word,
        new Rule("y", "i", stem -> stem.length() > 1 && isConsonant(stem, stem.length() - 1)));
  }

  private static final Rule[] STEP2_RULES = {
    new Rule("ational", "ate", PorterStemmer::hasPositiveMeasure),
    new Rule("tional", "tion", PorterStemmer::hasPositiveMeasure),
    new Rule("enci", "ence", PorterStemmer::hasPositiveMeasure),
    new Rule("anci", "ance", PorterStemmer::hasPositiveMeasure),
    new Rule("izer", "ize", PorterStemmer::hasPositiveMeasure),
    new Rule("bli", "ble", PorterStemmer::hasPositiveMeasure),
    new Rule("alli", "al", PorterStemmer::hasPositiveMeasure),
    new Rule("entli", "ent", PorterStemmer::hasPositiveMeasure),
    new Rule("eli", "e", PorterStemmer::hasPositiveMeasure),
    new Rule("ousli", "ous", PorterStemmer::hasPositiveMeasure),
    new Rule("ization", "ize", PorterStemmer::hasPositiveMeasure),
    new Rule("ation", "ate", PorterStemmer::hasPositiveMeasure),
    new Rule("ator", "ate", PorterStemmer::hasPositiveMeasure),
    new Rule("alism", "al", PorterStemmer::hasPositiveMeasure),
    new Rule("iveness", "ive", PorterStemmer::hasPositiveMeasure),
    new Rule("fulness", "ful", PorterStemmer::hasPositiveMeasure),
    new Rule("ousness", "ous", PorterStemmer::hasPositiveMeasure),
    new Rule("aliti", "al", PorterStemmer::hasPositiveMeasure),
    new Rule("iviti", "ive", PorterStemmer::hasPositiveMeasure),
    new Rule("biliti", "ble", PorterStemmer::hasPositiveMeasure),
    new Rule("fulli", "ful", PorterStemmer::hasPositiveMeasure),
    // NLTK: the measure is taken on word[:-3], i.e. the stem plus its trailing "l".
    new Rule("logi", "log", stem -> hasPositiveMeasure(stem + "l")),
  };

  static String step2(String word) {
    if (word.endsWith("alli") && hasPositiveMeasure(dropSuffix(word, 4))) {
      return step2(dropSuffix(word, 4) + "al");
    }
    return applyRuleList(word, STEP2_RULES);
  }

  private static final Rule[] STEP3_RULES = {
    new Rule("icate", "ic", PorterStemmer::hasPositiveMeasure),
    new Rule("ative", "", PorterStemmer::hasPositiveMeasure),
    new Rule("alize", "al", PorterStemmer::hasPositiveMeasure),
    new Rule("iciti", "ic", PorterStemmer::hasPositiveMeasure),
    new Rule("ical", "ic", PorterStemmer::hasPositiveMeasure),
    new Rule("ful", "", PorterStemmer::hasPositiveMeasure),
    new Rule("ness", "", PorterStemmer::hasPositiveMeasure),
  };

  static String step3(String word) {
    return applyRuleList(word, STEP3_RULES);
  }

  private static boolean measureGt1(String stem) {
    return measure(stem) > 1;
  }

  private static final Rule[] STEP4_RULES = {
    new Rule("al", "", PorterStemmer::measureGt1),
    new Rule("ance", "", PorterStemmer::measureGt1),
    new Rule("ence", "", PorterStemmer::measureGt1),
    new Rule("er", "", PorterStemmer::measureGt1),
    new Rule("ic", "", PorterStemmer::measureGt1),
    new Rule("able", "", PorterStemmer::measureGt1),
    new Rule("ible", "", PorterStemmer::measureGt1),
    new Rule("ant", "", PorterStemmer::measureGt1),
    new Rule("ement", "", PorterStemmer::measureGt1),
    new Rule("ment", "", PorterStemmer::measureGt1),
    new Rule("ent", "", PorterStemmer::measureGt1),
    new Rule(
        "ion",
        "",
        stem -> {
          // NLTK evaluates stem[-1] only when the measure test passed, which implies a
          // non-empty stem.
          if (measure(stem) <= 1) {
            return false;
          }
          char last = stem.charAt(stem.length() - 1);
          return last == 's' || last == 't';
        }),
    new Rule("ou", "", PorterStemmer::measureGt1),
    new Rule("ism", "", PorterStemmer::measureGt1),
    new Rule("ate", "", PorterStemmer::measureGt1),
    new Rule("iti", "", PorterStemmer::measureGt1),
    new Rule("ous", "", PorterStemmer::measureGt1),
    new Rule("ive", "", PorterStemmer::measureGt1),
    new Rule("ize", "", PorterStemmer::measureGt1),
  };

  static String step4(String word) {
    return applyRuleList(word, STEP4_RULES);
  }

  static String step5a(String word) {
    if (word.endsWith("e")) {
      String stem = dropSuffix(word, 1);
      int m = measure(stem);
      if (m > 1) {
        return stem;
      }
      if (m == 1 && !endsCvc(stem)) {
        return stem;
      }
    }
    return word;
  }

  static String step5b(String word) {
    // NLTK: the measure is taken on word[:-1] (the word without its final "l").
    return applyRuleList(word, new Rule("ll", "l", stem -> measure(stem + "l") > 1));
  }
}
