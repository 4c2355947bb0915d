package dev.finetune.operator.eval;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.StringReader;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class HtmlReportTest {

  @Test
  void predictionsAreEscapedSoAScriptIsText() throws Exception {
    String html = HtmlReport.render(ReportFixtures.data());
    assertThat(html).doesNotContain("<script").doesNotContain("<img");
    assertThat(html).contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
  }

  @Test
  void selfContained() throws Exception {
    String html = HtmlReport.render(ReportFixtures.data());
    // Nothing is loaded from elsewhere, and the policy forbids it anyway.
    assertThat(html).doesNotContainPattern("(?i)<[^>]*\\s(src|href)\\s*=");
    assertThat(html).doesNotContain("url(").doesNotContain("@import");
    assertThat(html).contains("Content-Security-Policy\" content=\"default-src 'none'");
  }

  @Test
  void theTableHasEveryMetricWithItsInterval() throws Exception {
    HtmlReport.Data d = ReportFixtures.data();
    String html = HtmlReport.render(d);
    for (EvalMetric m : d.scores().metrics().keySet()) {
      assertThat(html).contains("<tr data-metric=\"" + m.id() + "\">");
      assertThat(html).contains("id=\"dist-" + m.id() + "\"");
    }
    Scoreboard.MetricScores f = d.scores().metrics().get(EvalMetric.JSON_FIELD_MATCH);
    assertThat(html)
        .contains(
            String.format(
                java.util.Locale.ROOT, "[%+.4f, %+.4f]", f.interval().low(), f.interval().high()));
  }

  @Test
  void largestGainsAndLossesSideBySideWithDifferencesMarked() throws Exception {
    String html = HtmlReport.render(ReportFixtures.data());
    String losses = html.substring(html.indexOf("<div id=\"losses\">"));
    // e7 is the only example that got worse; it is shown with its hostile prediction marked.
    assertThat(losses).contains("<h3>id e7: jsonFieldMatch 1.0000 &rarr; 0.0000 (-1.0000)</h3>");
    assertThat(losses)
        .contains("<mark>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&lt;img</mark>");
    String gains =
        html.substring(html.indexOf("<div id=\"gains\">"), html.indexOf("<div id=\"losses\">"));
    Matcher m = Pattern.compile("<section class=\"example\">").matcher(gains);
    int count = 0;
    while (m.find()) {
      count++;
    }
    assertThat(count).isEqualTo(HtmlReport.EXAMPLES_SHOWN);
    // Gains: the baseline's missing "city" is marked, the tuned answer (== reference) is not.
    assertThat(gains).contains("<td class=\"tuned\">{&quot;name&quot;:");
    assertThat(gains).doesNotContain("<td class=\"tuned\"><mark>");
  }

  @Test
  void lossCurveIsDrawnFromTheHistoryAndRepeatedStepsKeepTheLastLine() throws Exception {
    TrainingHistory h =
        TrainingHistory.read(
            new StringReader(
                "{\"step\": 1, \"loss\": 2.0}\n{\"step\": 2, \"loss\": 1.5}\nnot json\n"
                    + "{\"step\": 2, \"loss\": 1.4, \"attempt\": 2}\n{\"step\": 3, \"loss\": 1.0}\n"));
    assertThat(h.points()).extracting(TrainingHistory.Point::loss).containsExactly(2.0, 1.4, 1.0);
    String html = HtmlReport.render(ReportFixtures.data());
    assertThat(html).contains("<svg id=\"loss\"").contains("<polyline class=\"loss\"");
    assertThat(html).contains("40 steps; final loss");
    HtmlReport.Data d = ReportFixtures.data();
    String none =
        HtmlReport.render(
            new HtmlReport.Data(
                d.title(), d.scores(), d.focus(), null, null, TrainingHistory.empty()));
    assertThat(none).contains("id=\"loss-missing\"").doesNotContain("<svg id=\"loss\"");
  }
}
