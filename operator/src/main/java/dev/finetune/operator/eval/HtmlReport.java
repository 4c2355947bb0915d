package dev.finetune.operator.eval;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The evaluation report: one self-contained HTML page (inline CSS and SVG, no script, no external
 * asset; a Content-Security-Policy forbids loading any) with the metric table and intervals, the
 * score distribution of the base and the tuned model per metric, the training loss curve, and the
 * examples that gained and lost most on the focus metric, side by side with the words that differ
 * from the reference marked. Everything that comes from data is HTML-escaped.
 */
public final class HtmlReport {

  /** Examples shown for the largest gains and for the largest losses. */
  public static final int EXAMPLES_SHOWN = 5;

  /** Characters of one text shown before it is cut. */
  static final int MAX_TEXT_CHARS = 4000;

  private static final int BINS = 10;

  private HtmlReport() {}

  /**
   * What the page shows.
   *
   * @param title e.g. the job's namespace/name
   * @param focus the metric whose per-example change picks the examples (the gate's, else the
   *     first)
   * @param gate the gate verdict with its numbers, or {@code null}
   * @param notes what a person should know about the data (ids that did not match), or {@code null}
   */
  public record Data(
      String title,
      Scoreboard scores,
      EvalMetric focus,
      String gate,
      String notes,
      TrainingHistory history) {}

  public static byte[] renderBytes(Data d) {
    return render(d).getBytes(StandardCharsets.UTF_8);
  }

  public static String render(Data d) {
    StringBuilder h = new StringBuilder(64 * 1024);
    h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n")
        .append(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';"
                + " style-src 'unsafe-inline'\">\n")
        .append("<title>")
        .append(esc(d.title()))
        .append(" - evaluation report</title>\n<style>")
        .append(CSS)
        .append("</style></head><body>\n");
    Scoreboard s = d.scores();
    h.append("<h1>")
        .append(esc(d.title()))
        .append("</h1>\n<p class=\"summary\">")
        .append(s.examples().size())
        .append(" examples")
        .append(s.withBaseline() ? ", base model against tuned model" : ", tuned model only")
        .append(". Intervals: ")
        .append(intervalText(s.bootstrap()))
        .append(".</p>\n");
    if (d.gate() != null) {
      h.append("<p class=\"gate\">Gate: ").append(esc(d.gate())).append("</p>\n");
    }
    if (d.notes() != null) {
      h.append("<p class=\"notes\">").append(esc(d.notes())).append("</p>\n");
    }
    metricTable(h, s);
    distributions(h, s);
    lossCurve(h, d.history() == null ? TrainingHistory.empty() : d.history());
    examples(h, d);
    h.append("</body></html>\n");
    return h.toString();
  }

  /** e.g. "95% paired bootstrap over examples, 1000 resamples, seed 42". */
  public static String intervalText(PairedBootstrap b) {
    return String.format(
        Locale.ROOT,
        "%s%% paired bootstrap of tuned minus baseline over examples, %d resamples, seed %d",
        trim(b.confidence() * 100),
        b.samples(),
        b.seed());
  }

  private static String trim(double v) {
    return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
  }

  private static void metricTable(StringBuilder h, Scoreboard s) {
    h.append("<h2>Metrics</h2>\n<table id=\"metrics\"><thead><tr><th>metric</th>")
        .append("<th>baseline</th><th>tuned</th><th>delta</th><th>95% interval of delta</th>")
        .append("<th>examples scored</th></tr></thead><tbody>\n");
    for (Scoreboard.MetricScores m : s.metrics().values()) {
      double delta = m.tunedMean() - m.baselineMean();
      h.append("<tr data-metric=\"")
          .append(esc(m.metric().id()))
          .append("\"><td>")
          .append(esc(m.metric().id()))
          .append("</td><td>")
          .append(num(m.baselineMean()))
          .append("</td><td>")
          .append(num(m.tunedMean()))
          .append("</td><td class=\"")
          .append(Double.isNaN(delta) ? "" : delta > 0 ? "up" : delta < 0 ? "down" : "")
          .append("\">")
          .append(signed(delta))
          .append("</td><td>");
      if (m.interval() != null) {
        boolean significant = m.interval().low() > 0 || m.interval().high() < 0;
        h.append("[")
            .append(signed(m.interval().low()))
            .append(", ")
            .append(signed(m.interval().high()))
            .append("]")
            .append(significant ? "" : " <span class=\"muted\">(includes 0)</span>");
      } else {
        h.append("&ndash;");
      }
      h.append("</td><td>").append(m.scored());
      if (m.notScored() > 0) {
        h.append(" <span class=\"muted\">(")
            .append(m.notScored())
            .append(" not scored: reference is not JSON)</span>");
      }
      if (!Double.isNaN(m.tunedPrecision())) {
        h.append(" <span class=\"muted\">tuned precision ")
            .append(num(m.tunedPrecision()))
            .append(", recall ")
            .append(num(m.tunedRecall()))
            .append("</span>");
      }
      h.append("</td></tr>\n");
    }
    h.append("</tbody></table>\n");
  }

  private static void distributions(StringBuilder h, Scoreboard s) {
    h.append("<h2>Score distributions</h2>\n<p class=\"legend\">")
        .append("<span class=\"swatch base\"></span> baseline ")
        .append("<span class=\"swatch tuned\"></span> tuned; examples per score bin</p>\n")
        .append("<div class=\"plots\">\n");
    for (Scoreboard.MetricScores m : s.metrics().values()) {
      int[] tuned = histogram(m.tuned());
      int[] base = m.baseline() == null ? null : histogram(m.baseline());
      int max = 1;
      for (int i = 0; i < BINS; i++) {
        max = Math.max(max, tuned[i]);
        if (base != null) {
          max = Math.max(max, base[i]);
        }
      }
      int width = 320;
      int height = 160;
      int left = 30;
      int bottom = 20;
      double binWidth = (width - left - 10) / (double) BINS;
      double plotHeight = height - bottom - 10;
      h.append("<figure><svg class=\"dist\" id=\"dist-")
          .append(esc(m.metric().id()))
          .append("\" xmlns=\"http://www.w3.org/2000/svg\" width=\"")
          .append(width)
          .append("\" height=\"")
          .append(height)
          .append("\" viewBox=\"0 0 ")
          .append(width)
          .append(' ')
          .append(height)
          .append("\" role=\"img\"><title>")
          .append(esc(m.metric().id()))
          .append(" per example</title>\n");
      axes(h, left, height - bottom, width - 10, 10);
      for (int i = 0; i < BINS; i++) {
        double x = left + i * binWidth;
        double w = base == null ? binWidth - 2 : (binWidth - 2) / 2;
        if (base != null) {
          bar(h, "base", x + 1, w, base[i] * plotHeight / max, height - bottom, base[i]);
        }
        bar(
            h,
            "tuned",
            x + 1 + (base == null ? 0 : w),
            w,
            tuned[i] * plotHeight / max,
            height - bottom,
            tuned[i]);
      }
      text(h, left, height - 5, "0");
      text(h, width - 18, height - 5, "1");
      text(h, 2, 18, Integer.toString(max));
      h.append("</svg><figcaption>")
          .append(esc(m.metric().id()))
          .append("</figcaption></figure>\n");
    }
    h.append("</div>\n");
  }

  private static int[] histogram(double[] v) {
    int[] bins = new int[BINS];
    for (double x : v) {
      int b = (int) Math.floor(Math.max(0, Math.min(1, x)) * BINS);
      bins[Math.min(b, BINS - 1)]++;
    }
    return bins;
  }

  private static void bar(
      StringBuilder h, String cls, double x, double w, double barHeight, double base, int count) {
    h.append(
        String.format(
            Locale.ROOT,
            "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"><title>%d</title></rect>\n",
            cls,
            x,
            base - barHeight,
            w,
            barHeight,
            count));
  }

  private static void axes(StringBuilder h, double x0, double y0, double x1, double y1) {
    h.append(
        String.format(
            Locale.ROOT,
            "<path class=\"axis\" d=\"M%.1f %.1f V%.1f M%.1f %.1f H%.1f\"/>\n",
            x0,
            y1,
            y0,
            x0,
            y0,
            x1));
  }

  private static void text(StringBuilder h, double x, double y, String t) {
    h.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", x, y, esc(t)));
  }

  private static void lossCurve(StringBuilder h, TrainingHistory history) {
    h.append("<h2>Training loss</h2>\n");
    List<TrainingHistory.Point> pts = new ArrayList<>();
    for (TrainingHistory.Point p : history.points()) {
      if (Double.isFinite(p.loss())) {
        pts.add(p);
      }
    }
    if (pts.isEmpty()) {
      h.append("<p class=\"muted\" id=\"loss-missing\">No progress history (metrics.jsonl) with")
          .append(" losses was found.</p>\n");
      return;
    }
    int width = 640;
    int height = 240;
    int left = 50;
    int bottom = 25;
    long minStep = pts.get(0).step();
    long maxStep = pts.get(pts.size() - 1).step();
    double minLoss = Double.POSITIVE_INFINITY;
    double maxLoss = Double.NEGATIVE_INFINITY;
    for (TrainingHistory.Point p : pts) {
      minLoss = Math.min(minLoss, p.loss());
      maxLoss = Math.max(maxLoss, p.loss());
    }
    double stepSpan = Math.max(1, maxStep - minStep);
    double lossSpan = maxLoss > minLoss ? maxLoss - minLoss : 1;
    double plotW = width - left - 10;
    double plotH = height - bottom - 10;
    h.append("<svg id=\"loss\" class=\"curve\" xmlns=\"http://www.w3.org/2000/svg\" width=\"")
        .append(width)
        .append("\" height=\"")
        .append(height)
        .append("\" viewBox=\"0 0 ")
        .append(width)
        .append(' ')
        .append(height)
        .append("\" role=\"img\"><title>training loss per step</title>\n");
    axes(h, left, height - bottom, width - 10, 10);
    h.append("<polyline class=\"loss\" points=\"");
    for (TrainingHistory.Point p : pts) {
      double x = left + (p.step() - minStep) / stepSpan * plotW;
      double y = 10 + (maxLoss - p.loss()) / lossSpan * plotH;
      h.append(String.format(Locale.ROOT, "%.1f,%.1f ", x, y));
    }
    h.append("\"/>\n");
    text(h, 2, 18, num(maxLoss));
    text(h, 2, height - bottom, num(minLoss));
    text(h, left, height - 6, "step " + minStep);
    text(h, width - 80, height - 6, "step " + maxStep);
    h.append("</svg>\n");
    TrainingHistory.Point last = pts.get(pts.size() - 1);
    double tps = 0;
    int tpsCount = 0;
    for (TrainingHistory.Point p : history.points()) {
      if (Double.isFinite(p.tokensPerSecond())) {
        tps += p.tokensPerSecond();
        tpsCount++;
      }
    }
    h.append("<p class=\"muted\">")
        .append(pts.size())
        .append(" steps; final loss ")
        .append(num(last.loss()));
    if (Double.isFinite(last.learningRate())) {
      h.append(", final learning rate ")
          .append(esc(String.format(Locale.ROOT, "%.3g", last.learningRate())));
    }
    if (tpsCount > 0) {
      h.append(", mean ")
          .append(String.format(Locale.ROOT, "%.1f", tps / tpsCount))
          .append(" tokens/s");
    }
    h.append(".</p>\n");
  }

  private static void examples(StringBuilder h, Data d) {
    Scoreboard s = d.scores();
    Scoreboard.MetricScores m = s.metrics().get(d.focus());
    if (m == null) {
      m = s.metrics().values().iterator().next();
    }
    int k = m.scored();
    Integer[] order = new Integer[k];
    double[] change = new double[k];
    for (int i = 0; i < k; i++) {
      order[i] = i;
      change[i] = m.baseline() == null ? m.tuned()[i] : m.tuned()[i] - m.baseline()[i];
    }
    Arrays.sort(order, Comparator.comparingDouble((Integer i) -> change[i]).thenComparing(i -> i));
    String metric = esc(m.metric().id());
    if (m.baseline() != null) {
      h.append("<h2>Largest gains on ").append(metric).append("</h2>\n<div id=\"gains\">\n");
      int shown = 0;
      for (int j = k - 1; j >= 0 && shown < EXAMPLES_SHOWN && change[order[j]] > 0; j--, shown++) {
        example(h, s, m, order[j], change[order[j]]);
      }
      if (shown == 0) {
        h.append("<p class=\"muted\">No example improved.</p>\n");
      }
      h.append("</div>\n<h2>Largest losses on ")
          .append(metric)
          .append("</h2>\n<div id=\"losses\">\n");
      shown = 0;
      for (int j = 0; j < k && shown < EXAMPLES_SHOWN && change[order[j]] < 0; j++, shown++) {
        example(h, s, m, order[j], change[order[j]]);
      }
      if (shown == 0) {
        h.append("<p class=\"muted\">No example got worse.</p>\n");
      }
      h.append("</div>\n");
    } else {
      h.append("<h2>Lowest-scoring examples on ")
          .append(metric)
          .append("</h2>\n<div id=\"losses\">\n");
      for (int j = 0; j < Math.min(k, EXAMPLES_SHOWN); j++) {
        example(h, s, m, order[j], Double.NaN);
      }
      h.append("</div>\n");
    }
  }

  private static void example(
      StringBuilder h, Scoreboard s, Scoreboard.MetricScores m, int k, double change) {
    Scoreboard.Example ex = s.examples().get(m.exampleAt(k));
    h.append("<section class=\"example\"><h3>id ")
        .append(esc(ex.id()))
        .append(": ")
        .append(esc(m.metric().id()))
        .append(' ');
    if (m.baseline() != null) {
      h.append(num(m.baseline()[k])).append(" &rarr; ");
    }
    h.append(num(m.tuned()[k]));
    if (!Double.isNaN(change)) {
      h.append(" (").append(signed(change)).append(")");
    }
    h.append("</h3>\n<table class=\"side\"><thead><tr><th>prompt</th><th>reference</th>");
    if (s.withBaseline()) {
      h.append("<th>baseline</th>");
    }
    h.append("<th>tuned</th></tr></thead><tbody><tr><td class=\"prompt\">");
    if (ex.prompt() == null) {
      h.append("<span class=\"muted\">not recorded</span>");
    } else {
      h.append(esc(cut(ex.prompt())));
    }
    h.append("</td><td class=\"reference\">").append(esc(cut(ex.reference()))).append("</td>");
    if (s.withBaseline()) {
      h.append("<td class=\"baseline\">");
      marked(h, ex.reference(), ex.baseline());
      h.append("</td>");
    }
    h.append("<td class=\"tuned\">");
    marked(h, ex.reference(), ex.tuned());
    h.append("</td></tr></tbody></table></section>\n");
  }

  private static void marked(StringBuilder h, String reference, String prediction) {
    String shown = cut(prediction);
    for (TextDiff.Span span : TextDiff.against(reference, shown)) {
      if (span.differs()) {
        h.append("<mark>").append(esc(span.text())).append("</mark>");
      } else {
        h.append(esc(span.text()));
      }
    }
  }

  private static String cut(String text) {
    if (text.length() <= MAX_TEXT_CHARS) {
      return text;
    }
    return text.substring(0, MAX_TEXT_CHARS)
        + " ... ("
        + (text.length() - MAX_TEXT_CHARS)
        + " more characters)";
  }

  private static String num(double v) {
    return Double.isNaN(v) ? "&ndash;" : String.format(Locale.ROOT, "%.4f", v);
  }

  private static String signed(double v) {
    return Double.isNaN(v) ? "&ndash;" : String.format(Locale.ROOT, "%+.4f", v);
  }

  /** Escapes text for HTML element content and quoted attribute values. */
  public static String esc(String s) {
    if (s == null) {
      return "";
    }
    StringBuilder b = null;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      String r =
          switch (c) {
            case '&' -> "&amp;";
            case '<' -> "&lt;";
            case '>' -> "&gt;";
            case '"' -> "&quot;";
            case '\'' -> "&#39;";
            default -> null;
          };
      if (r != null) {
        if (b == null) {
          b = new StringBuilder(s.length() + 16).append(s, 0, i);
        }
        b.append(r);
      } else if (b != null) {
        b.append(c);
      }
    }
    return b == null ? s : b.toString();
  }

  private static final String CSS =
      "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;background:#fff}"
          + "table{border-collapse:collapse;margin:.5em 0}"
          + "th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
          + "th{background:#f2f2f2}.up{color:#0a7a2f}.down{color:#b3261e}.muted{color:#777}"
          + ".plots{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0}"
          + "figcaption{text-align:center;font-size:12px}"
          + "rect.base{fill:#9e9e9e}rect.tuned{fill:#1a73e8}"
          + ".swatch{display:inline-block;width:12px;height:12px;vertical-align:middle}"
          + ".swatch.base{background:#9e9e9e}.swatch.tuned{background:#1a73e8}"
          + "path.axis{stroke:#444;fill:none}polyline.loss{stroke:#d93025;stroke-width:2;fill:none}"
          + "svg text{font-size:11px;fill:#444}"
          + "table.side td{white-space:pre-wrap;font-family:ui-monospace,monospace;max-width:28em;"
          + "word-break:break-word}"
          + "mark{background:#ffd7d5}.gate{font-weight:bold}";

  /** The metric the examples are chosen by: the gate's, else the first one scored. */
  public static EvalMetric focus(Map<EvalMetric, ?> metrics, EvalMetric gateMetric) {
    if (gateMetric != null && metrics.containsKey(gateMetric)) {
      return gateMetric;
    }
    return metrics.keySet().iterator().next();
  }
}
