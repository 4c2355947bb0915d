package dev.finetune.operator.eval;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RougeTokenizerTest {

  private final RougeTokenizer plain = new RougeTokenizer(false);
  private final RougeTokenizer stemming = new RougeTokenizer(true);

  @Test
  void lowercasesAndSplitsOnNonAlphanumerics() {
    assertThat(plain.tokenize("Hello, World! It's 3.14 -- v1.2_x"))
        .containsExactly("hello", "world", "it", "s", "3", "14", "v1", "2", "x");
  }

  @Test
  void emptyAndSeparatorOnlyTextsHaveNoTokens() {
    assertThat(plain.tokenize("")).isEmpty();
    assertThat(plain.tokenize("  \n\t ... !!! ")).isEmpty();
  }

  @Test
  void nonAsciiLettersAreSeparators() {
    assertThat(plain.tokenize("café naïve 日本語 straße"))
        .containsExactly("caf", "na", "ve", "stra", "e");
    assertThat(plain.tokenize("日本語")).isEmpty();
  }

  @Test
  void charactersWhoseLowercaseIsAsciiFollowPython() {
    // Python: "\u0130".lower() == "i\u0307" (an i followed by a separator), "\u212a".lower() ==
    // "k".
    assertThat(plain.tokenize("\u0130stanbul")).containsExactly("i", "stanbul");
    assertThat(plain.tokenize("x\u0130")).containsExactly("xi");
    assertThat(plain.tokenize("\u212Aelvin")).containsExactly("kelvin");
  }

  @Test
  void stemsOnlyTokensLongerThanThreeCharacters() {
    // "ies" (3 chars) stays; "ties" (4 chars) is stemmed.
    assertThat(stemming.tokenize("ies ties was does running runs ran"))
        .containsExactly("ies", "tie", "was", "doe", "run", "run", "ran");
    assertThat(plain.tokenize("running runs")).containsExactly("running", "runs");
  }

  @Test
  void irregularFormsUseNltkExtensions() {
    assertThat(stemming.tokenize("Dying LYING skies news"))
        .containsExactly("die", "lie", "sky", "news");
  }

  @Test
  void validTokenCheck() {
    assertThat(RougeTokenizer.isValidToken("abc123")).isTrue();
    assertThat(RougeTokenizer.isValidToken("")).isFalse();
    assertThat(RougeTokenizer.isValidToken("ab-c")).isFalse();
    assertThat(RougeTokenizer.isValidToken("Abc")).isFalse();
  }
}
