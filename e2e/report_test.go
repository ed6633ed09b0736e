package e2e

import (
	"bytes"
	"image"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/creack/pty"

	"github.com/srutest/srutest/internal/host"
	"github.com/srutest/srutest/internal/testutil"
	"github.com/srutest/srutest/report"
)

// TestE2ETerminalAndHTMLReport runs the join and keepalive-off cells of
// the host demo's last kernel (Debian: 6.12 cloud; Ubuntu: the series'
// newest generic) the way a person does — on a terminal — and looks at
// what they get: the live matrix while it runs, then the HTML report in
// headless Chromium (a screenshot, and one SVG track per subflow in the DOM
// Chromium parsed). Ubuntu packages Chromium only as a snap; where snapd
// cannot run (a container, a chroot) the browser half is skipped, saying so.
func TestE2ETerminalAndHTMLReport(t *testing.T) {
	skipUnlessE2E(t)
	p := needHost(t)
	if len(p.Demo) == 0 {
		testutil.Unavailable(t, "no demo kernels in this host's apt sources: %s", strings.Join(p.Problems, "; "))
	}
	k := p.Demo[len(p.Demo)-1]
	browser := ""
	for _, b := range []string{"chromium", "chromium-browser", "/snap/bin/chromium"} {
		if path, err := exec.LookPath(b); err == nil && !snapStub(path) {
			browser = path
			break
		}
	}
	if browser == "" && p.Distro != host.Ubuntu {
		testutil.Unavailable(t, "chromium not installed (make deps-test)")
	}
	out := t.TempDir()
	cmd := srutest(t, "run", hostPlan(t, "demo"), "--kernel-filter", k.Name, "--scenario", "join", "--scenario", "keepalive-off", "--out", out)
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 140})
	if err != nil {
		t.Fatal(err)
	}
	var screen bytes.Buffer
	io.Copy(&screen, tty) // until the child exits (EIO on Linux)
	tty.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("srutest run on a terminal: %v\n%s", err, screen.String())
	}
	s := screen.String()
	// Redrawn in place (cursor up), a spinner with elapsed time in the
	// running cell, the cell count reaching 2/2, and the log kept aside.
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`\x1b\[\d+A`),
		regexp.MustCompile(`[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] \d+\.\ds`),
		regexp.MustCompile(`2/2 cells`),
		regexp.MustCompile(regexp.QuoteMeta(k.Name) + `\s+.*PASS.*PASS`),
		regexp.MustCompile(`log in .*srutest\.log`),
	} {
		if !want.MatchString(s) {
			t.Errorf("terminal output lacks %q:\n%q", want, tail(s, 3000))
		}
	}
	if fi, err := os.Stat(filepath.Join(out, "srutest.log")); err != nil || fi.Size() == 0 {
		t.Errorf("progress log: %v", err)
	}

	run, err := report.Load(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if browser == "" {
		t.Skipf("terminal output checked; HTML report not looked at: %s packages Chromium only as a snap "+
			"(chromium-browser is a transitional deb that runs snap install) and no chromium snap is installed "+
			"(snap install chromium, where snapd runs; not in a chroot or container)", p.OS)
	}
	shot := filepath.Join(out, "report.png")
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync"}
	page := "file://" + filepath.Join(out, "index.html")
	chrome := func(args ...string) []byte {
		args = append(append(append([]string{}, base...), "--user-data-dir="+t.TempDir()), args...)
		c := exec.Command(browser, append(args, page)...)
		var stderr bytes.Buffer
		c.Stderr = &stderr
		o, err := c.Output()
		if err != nil {
			t.Fatalf("%s: %v\n%s", c, err, tail(stderr.String(), 2000))
		}
		return o
	}
	chrome("--window-size=1100,1300", "--screenshot="+shot)
	checkScreenshot(t, shot, 1100, 1300)

	// The DOM as Chromium built it: per cell figure, one SVG track per
	// subflow of the cell in results.json.
	dom := string(chrome("--dump-dom"))
	figures := regexp.MustCompile(`(?s)<figure class="tl" id="[^"]+"><figcaption><a href="#[^"]+">([^<]+)</a>.*?</figure>`).FindAllStringSubmatch(dom, -1)
	if len(figures) != 2 {
		t.Fatalf("%d timeline figures in the DOM, want 2 (join, keepalive-off)", len(figures))
	}
	for _, f := range figures {
		c, ok := run.Kernels[0].Cell(f[1])
		if !ok {
			t.Errorf("figure for unknown cell %q", f[1])
			continue
		}
		tracks := strings.Count(f[0], `class="track"`)
		if tracks != len(c.Subflows) || tracks == 0 {
			t.Errorf("%s: %d SVG tracks, %d subflows", c.Scenario, tracks, len(c.Subflows))
		}
		probes := 0
		for _, sf := range c.Subflows {
			probes += sf.Probes
		}
		if got := strings.Count(f[0], `class="probe"`); got != probes {
			t.Errorf("%s: %d probes drawn, %d counted", c.Scenario, got, probes)
		}
		if strings.Contains(f[0], "http://") && !strings.Contains(f[0], `xmlns="http://www.w3.org/2000/svg"`) {
			t.Errorf("%s: external reference in the timeline", c.Scenario)
		}
	}
	// Self-contained: no external assets anywhere on the page.
	if m := regexp.MustCompile(`(?i)(src|href)="(https?:)?//`).FindString(dom); m != "" {
		t.Errorf("page references an external asset: %s", m)
	}
}

// checkScreenshot: a PNG of the requested size that is not blank.
func checkScreenshot(t *testing.T, path string, w, h int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if b := img.Bounds(); b != image.Rect(0, 0, w, h) {
		t.Errorf("screenshot %v, want %dx%d", b, w, h)
	}
	colors := map[[3]uint32]bool{}
	for y := 0; y < h; y += 7 {
		for x := 0; x < w; x += 7 {
			r, g, b, _ := img.At(x, y).RGBA()
			colors[[3]uint32{r >> 8, g >> 8, b >> 8}] = true
		}
	}
	if len(colors) < 8 {
		t.Errorf("screenshot looks blank (%d colours)", len(colors))
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// snapStub reports whether path is Ubuntu's chromium-browser transitional
// wrapper (a shell script that asks for the snap), not a browser.
func snapStub(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil || len(b) > 1<<16 {
		return false // a real browser binary is far larger
	}
	return bytes.HasPrefix(b, []byte("#!")) && bytes.Contains(b, []byte("snap"))
}
