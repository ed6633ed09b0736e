package e2e

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// cacheRow is one line of `srutest cache ls`.
type cacheRow struct {
	kind, key, desc string
	size            int64
	used            time.Time
}

var cacheRowRE = regexp.MustCompile(`^(\S+)\s+(\S+)\s+([\d.]+)([BKMG])\s+(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\s+(.*)$`)

func parseCacheLs(t *testing.T, out string) []cacheRow {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) == 0 || !regexp.MustCompile(`^KIND\s+KEY\s+SIZE\s+LAST USED\s+DESCRIPTION$`).MatchString(lines[0]) {
		t.Fatalf("cache ls: no header:\n%s", out)
	}
	var rows []cacheRow
	for _, l := range lines[1:] {
		m := cacheRowRE.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("cache ls: cannot parse %q", l)
		}
		n, _ := strconv.ParseFloat(m[3], 64)
		n *= map[string]float64{"B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[m[4]]
		used, err := time.ParseInLocation(time.DateTime, m[5], time.Local)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, cacheRow{kind: m[1], key: m[2], size: int64(n), used: used, desc: m[6]})
	}
	return rows
}

// diskSize is the bytes of the regular files under p (or p itself).
func diskSize(t *testing.T, p string) int64 {
	t.Helper()
	var n int64
	filepath.WalkDir(p, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			fi, _ := d.Info()
			n += fi.Size()
		}
		return nil
	})
	return n
}

// findEntry returns the one path under cache/sub whose name starts with key.
func findEntry(t *testing.T, cache, sub, key string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(cache, sub, key+"*"))
	if len(m) != 1 {
		t.Fatalf("%s entry %s: found %v", sub, key, m)
	}
	return m[0]
}

// TestE2ECacheLsPrune boots a kernel into an empty cache, then checks that
// `srutest cache ls` shows what the boot left (the deb, the kernel layer,
// the image, with their sizes and a last use of now) and that `srutest
// cache prune` removes by age: nothing that was just used, exactly the
// aged entries with --older-than, everything with --older-than 0.
func TestE2ECacheLsPrune(t *testing.T) {
	skipUnlessE2E(t)
	cache := filepath.Join(t.TempDir(), "cache")
	sru := func(args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		cmd := srutest(t, append([]string{"--cache-dir", cache}, args...)...) // the last --cache-dir wins
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
		}
		t.Logf("%s", stdout.String())
		return stdout.String()
	}
	start := time.Now().Add(-time.Second).Truncate(time.Second)

	if rows := parseCacheLs(t, sru("cache", "ls")); len(rows) != 0 {
		t.Fatalf("empty cache lists %v", rows)
	}
	k := defaultKernel(t)
	release := strings.TrimSpace(sru("boot", "--kernel", k.Spec, "--", "uname -r"))
	// One deb entry per package of the spec, listed by its file name:
	// Debian's 6.1 cloud kernel is one deb, Ubuntu's generic kernel the
	// image, modules (and modules-extra) debs.
	debRE := regexp.MustCompile(`^linux-image-6\.1\.0-\d+-cloud-amd64-unsigned_.+_amd64\.deb$`)
	ndebs := 1
	if len(k.Packages) > 0 {
		var alt []string
		for _, p := range k.Packages {
			alt = append(alt, regexp.QuoteMeta(p))
		}
		debRE = regexp.MustCompile(`^(` + strings.Join(alt, "|") + `)_.+_amd64\.deb$`)
		ndebs = len(k.Packages)
	}

	rows := parseCacheLs(t, sru("cache", "ls"))
	byKind := map[string]cacheRow{}
	var debs []cacheRow
	for _, r := range rows {
		if r.kind == "index" {
			continue
		}
		if r.used.Before(start) || r.used.After(time.Now().Add(time.Minute)) {
			t.Errorf("%s %s: last used %v, but it was used by the boot that started at %v", r.kind, r.key, r.used, start)
		}
		if r.kind == "deb" {
			debs = append(debs, r)
			continue
		}
		if _, dup := byKind[r.kind]; dup {
			t.Errorf("two %s entries after one boot: %v", r.kind, rows)
		}
		byKind[r.kind] = r
	}
	if len(debs) != ndebs {
		t.Errorf("%d deb entries after one boot of %s, want %d: %v", len(debs), k.Spec, ndebs, rows)
	}
	paths := map[string]string{} // "deb <key>", "kernel", "image"
	check := func(name string, r cacheRow, path string) {
		t.Helper()
		paths[name] = path
		if r.kind != "deb" && !strings.Contains(r.desc, release) {
			t.Errorf("%s entry description %q does not name the release %s", r.kind, r.desc, release)
		}
		// ls rounds to one decimal of its unit.
		if disk := diskSize(t, path); r.size < disk*95/100 || r.size > disk*105/100 || disk < 1<<20 {
			t.Errorf("%s entry: ls says %d bytes, %d on disk", name, r.size, disk)
		}
	}
	for _, r := range debs {
		if !debRE.MatchString(r.key) {
			t.Errorf("deb entry is listed as %q, want its file name (%s)", r.key, debRE)
		}
		check("deb "+r.key, r, findEntry(t, cache, "debs/apt", r.key))
	}
	for _, kind := range []string{"kernel", "image"} {
		r, ok := byKind[kind]
		if !ok {
			t.Fatalf("no %s entry after a boot:\n%v", kind, rows)
		}
		dir := map[string]string{"kernel": "kernels", "image": "images"}[kind]
		check(kind, r, findEntry(t, cache, dir, r.key))
	}

	// Everything was just used: the default prune (7 days) keeps it all.
	if out := sru("cache", "prune"); out != "" {
		t.Errorf("prune removed fresh entries:\n%s", out)
	}
	// Age the debs and the kernel layer: only they go.
	old := time.Now().Add(-48 * time.Hour)
	aged := []cacheRow{byKind["kernel"]}
	aged = append(aged, debs...)
	for _, r := range aged {
		name := r.kind
		if r.kind == "deb" {
			name = "deb " + r.key
		}
		if err := os.Chtimes(paths[name], old, old); err != nil {
			t.Fatal(err)
		}
	}
	out := sru("cache", "prune", "--older-than", "24h")
	for _, r := range aged {
		name := r.kind
		if r.kind == "deb" {
			name = "deb " + r.key
		}
		if !strings.Contains(out, "removed "+r.kind+" "+r.key+" (") {
			t.Errorf("prune --older-than 24h did not report removing the %s", name)
		}
		if _, err := os.Stat(paths[name]); err == nil {
			t.Errorf("%s %s still on disk", name, paths[name])
		}
	}
	if strings.Contains(out, "removed image") {
		t.Errorf("prune --older-than 24h removed the image used minutes ago")
	}
	rows = parseCacheLs(t, sru("cache", "ls"))
	for _, r := range rows {
		if r.kind == "deb" || r.kind == "kernel" {
			t.Errorf("pruned entry still listed: %v", r)
		}
	}
	if _, err := os.Stat(paths["image"]); err != nil {
		t.Errorf("image entry gone after pruning others: %v", err)
	}

	// --older-than 0 empties it (resolver index caches are not entries
	// prune owns).
	out = sru("cache", "prune", "--older-than", "0")
	if !strings.Contains(out, "removed image "+byKind["image"].key) {
		t.Errorf("prune --older-than 0 did not remove the image")
	}
	for _, r := range parseCacheLs(t, sru("cache", "ls")) {
		if r.kind != "index" {
			t.Errorf("left after prune --older-than 0: %v", r)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(cache, "tmp")); len(ents) > 0 {
		t.Errorf("prune left %d entries in tmp/", len(ents))
	}
}
