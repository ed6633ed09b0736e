package images

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/srutest/srutest/internal/testutil"
)

// testCacheDir is $SRUTEST_TEST_CACHE when set (shared across runs, so the
// real-kernel test downloads once), else a fresh temp dir.
func testCacheDir(t *testing.T) string {
	if d := os.Getenv("SRUTEST_TEST_CACHE"); d != "" {
		return d
	}
	return t.TempDir()
}

// TestRealDebianKernelsViaApt builds images from the real Debian kernels
// through apt: (glob resolution, apt-get download, deb extraction, module
// closure) and checks the needed modules are in as plain .ko. Slow-ish
// (downloads ~30 MB per kernel on a cold cache): skipped with -short.
func TestRealDebianKernelsViaApt(t *testing.T) {
	if testing.Short() {
		t.Skip("downloads real kernels: skipped with -short")
	}
	needTool(t, "apt-get")
	if _, err := collectHostTools(context.Background()); err != nil {
		testutil.Unavailable(t, "host tools: %v (make deps)", err)
	}
	cases := []struct {
		spec, relPrefix string
		modules         []string // must be in the image as modules
		builtin         []string // must be reported builtin
	}{
		{
			"apt:linux-image-6.1.0-*-cloud-amd64-unsigned", "6.1.0-",
			[]string{"virtio_pci", "virtio", "virtio_ring", "virtio_net", "net_failover", "failover", "veth", "inet_diag", "tcp_diag", "mptcp_diag", "sch_netem"},
			[]string{"af_packet"},
		},
		{
			"apt:linux-image-6.12.*+deb12-cloud-amd64-unsigned", "6.12.",
			[]string{"virtio_net", "net_failover", "failover", "veth", "inet_diag", "tcp_diag", "mptcp_diag", "sch_netem"},
			[]string{"virtio_pci", "af_packet"},
		},
	}
	dir := t.TempDir()
	agent := writeFile(t, dir, "agent", []byte("fake agent"))
	b := &Builder{CacheDir: testCacheDir(t), Agent: agent}
	for _, c := range cases {
		t.Run(c.relPrefix, func(t *testing.T) {
			var log bytes.Buffer
			b := *b
			b.Log = &log
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			img, err := b.Build(ctx, c.spec)
			if err != nil {
				t.Fatalf("%v\n%s", err, log.String())
			}
			t.Logf("%s → %s %s, timings %v, cached %v", c.spec, img.Release, img.Meta["packages"], img.Timings, img.Cached)
			if !strings.HasPrefix(img.Release, c.relPrefix) {
				t.Errorf("release %s", img.Release)
			}
			rel, err := bzImageReleaseFile(img.Kernel)
			if err != nil || rel != img.Release {
				t.Errorf("vmlinuz header release %q (%v), image says %q", rel, err, img.Release)
			}
			if img.Meta["missing_modules"] != "" {
				t.Errorf("missing modules: %s", img.Meta["missing_modules"])
			}
			if got := img.Meta["builtin_modules"]; got != strings.Join(c.builtin, ",") {
				t.Errorf("builtin %q, want %q", got, strings.Join(c.builtin, ","))
			}
			kj, err := readKernelJSON(filepath.Dir(img.Kernel))
			if err != nil {
				t.Fatal(err)
			}
			have := map[string]string{}
			for i, m := range kj.Modules {
				have[m] = kj.ModulePaths[i]
			}
			for _, m := range c.modules {
				p, ok := have[m]
				if !ok {
					t.Errorf("module %s not in image (have %v)", m, kj.Modules)
					continue
				}
				ko, err := os.ReadFile(filepath.Join(filepath.Dir(img.Kernel), "lib/modules", img.Release, p))
				if err != nil || !strings.HasSuffix(p, ".ko") || !bytes.HasPrefix(ko, []byte("\x7fELF")) {
					t.Errorf("module %s (%s) is not a plain .ko: %v", m, p, err)
					continue
				}
				mi, err := ReadModinfo(ko)
				if err != nil || !strings.HasPrefix(mi.Vermagic, img.Release+" ") {
					t.Errorf("module %s vermagic %q: %v", m, mi.Vermagic, err)
				}
			}
			// The second build is a pure cache hit.
			img2, err := b.Build(ctx, c.spec)
			if err != nil {
				t.Fatal(err)
			}
			if !img2.Cached || img2.Initrd != img.Initrd {
				t.Errorf("second build not cached: %+v", img2.Timings)
			}
		})
	}
}
