package dev.finetune.operator.eval;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The report as a person sees it: rendered by headless Chromium (Debian's {@code chromium},
 * installed by hack/chromium/setup.sh when missing; the test fails when it cannot be had).
 */
class ReportChromiumTest {
  static String chromium;

  @TempDir static Path dir;

  @BeforeAll
  static void findChromium() throws Exception {
    Path script = repoRoot().resolve("hack/chromium/setup.sh");
    Process p =
        new ProcessBuilder("bash", script.toString())
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    assertThat(p.waitFor(15, TimeUnit.MINUTES)).isTrue();
    assertThat(p.exitValue())
        .as("hack/chromium/setup.sh could not find or install chromium")
        .isZero();
    String[] lines = out.split("\n");
    chromium = lines[lines.length - 1].strip();
    assertThat(Path.of(chromium)).exists();
  }

  static Path repoRoot() {
    Path p = Path.of("").toAbsolutePath();
    while (p != null && !Files.exists(p.resolve("hack/chromium/setup.sh"))) {
      p = p.getParent();
    }
    assertThat(p).as("repository root with hack/chromium/setup.sh").isNotNull();
    return p;
  }

  static String run(String... extra) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(chromium);
    cmd.addAll(
        List.of(
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--user-data-dir=" + dir.resolve("profile"),
            "--window-size=1280,2400",
            "--hide-scrollbars"));
    cmd.addAll(List.of(extra));
    Path log = Files.createTempFile(dir, "chromium-", ".log");
    Process p =
        new ProcessBuilder(cmd)
            .redirectError(log.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("chromium did not finish: " + Files.readString(log));
    }
    assertThat(p.exitValue()).as("chromium: %s", Files.readString(log)).isZero();
    return out;
  }

  static Path writeReport() throws IOException {
    Path html = dir.resolve("report.html");
    Files.write(html, HtmlReport.renderBytes(ReportFixtures.data()));
    return html;
  }

  @Test
  void theDomHasTheTablePlotsAndExamplesAndNoScript() throws Exception {
    String dom = run("--dump-dom", writeReport().toUri().toString());
    assertThat(count(dom, "<tr data-metric=")).isEqualTo(4);
    assertThat(count(dom, "<svg class=\"dist\"")).isEqualTo(4);
    assertThat(count(dom, "<rect class=\"tuned\"")).isEqualTo(40);
    assertThat(dom).contains("<polyline class=\"loss\"");
    assertThat(count(dom, "<section class=\"example\">")).isEqualTo(6); // 5 gains, 1 loss
    // The hostile prediction was parsed as text: no script or img element exists.
    assertThat(dom).doesNotContain("<script").doesNotContain("<img");
    assertThat(dom).contains("&lt;script&gt;alert('x')&lt;/script&gt;");
  }

  @Test
  void theScreenshotShowsBarsAndTheLossCurve() throws Exception {
    Path shot = dir.resolve("shot.png");
    run("--screenshot=" + shot, writeReport().toUri().toString());
    BufferedImage img = ImageIO.read(shot.toFile());
    assertThat(img).as("screenshot").isNotNull();
    int inked = 0;
    int tunedBlue = 0;
    int baseGrey = 0;
    int lossRed = 0;
    for (int y = 0; y < img.getHeight(); y++) {
      for (int x = 0; x < img.getWidth(); x++) {
        int rgb = img.getRGB(x, y) & 0xffffff;
        int r = rgb >> 16;
        int g = (rgb >> 8) & 0xff;
        int b = rgb & 0xff;
        if (rgb != 0xffffff) {
          inked++;
        }
        if (near(r, g, b, 0x1a, 0x73, 0xe8)) {
          tunedBlue++;
        }
        if (near(r, g, b, 0x9e, 0x9e, 0x9e)) {
          baseGrey++;
        }
        if (near(r, g, b, 0xd9, 0x30, 0x25)) {
          lossRed++;
        }
      }
    }
    int total = img.getWidth() * img.getHeight();
    assertThat(inked).as("non-white pixels").isGreaterThan(total / 50);
    assertThat(tunedBlue).as("tuned bars").isGreaterThan(500);
    assertThat(baseGrey).as("baseline bars").isGreaterThan(200);
    assertThat(lossRed).as("loss curve").isGreaterThan(300);
  }

  private static boolean near(int r, int g, int b, int er, int eg, int eb) {
    return Math.abs(r - er) < 12 && Math.abs(g - eg) < 12 && Math.abs(b - eb) < 12;
  }

  private static int count(String s, String needle) {
    Matcher m = Pattern.compile(Pattern.quote(needle)).matcher(s);
    int c = 0;
    while (m.find()) {
      c++;
    }
    return c;
  }
}
