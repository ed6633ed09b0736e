package images

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/srutest/srutest/internal/host"
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

// TestRealDebianKernelsViaApt builds images from the real kernels of the
// host's distribution through apt: (Debian: the 6.1 and 6.12 cloud kernels
// by glob; Ubuntu: the series' newest generic kernel, image + modules +
// modules-extra debs; apt-get download, deb extraction, module closure) and
// checks the needed modules are in as plain .ko. Slow-ish (downloads ~30 MB
// per Debian kernel, ~100 MB per Ubuntu one, on a cold cache): skipped with
// -short.
func TestRealDebianKernelsViaApt(t *testing.T) {
	if testing.Short() {
		t.Skip("downloads real kernels: skipped with -short")
	}
	needTool(t, "apt-get")
	if _, err := collectHostTools(context.Background()); err != nil {
		testutil.Unavailable(t, "host tools: %v (make deps)", err)
	}
	cases := realKernelCases(t)
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
			// img.Kernel is what QEMU boots: the unpacked vmlinux when the
			// kernel has a PVH entry, else the bzImage. The bzImage stays
			// beside it either way and carries the release in its header.
			kdir := filepath.Dir(img.Kernel)
			rel, err := bzImageReleaseFile(filepath.Join(kdir, fileKernel))
			if err != nil || rel != img.Release {
				t.Errorf("vmlinuz header release %q (%v), image says %q", rel, err, img.Release)
			}
			switch filepath.Base(img.Kernel) {
			case fileVmlinux:
				if k, err := os.ReadFile(img.Kernel); err != nil || !bytes.HasPrefix(k, []byte("\x7fELF")) {
					t.Errorf("boot kernel %s is not an ELF vmlinux (%v)", img.Kernel, err)
				}
			case fileKernel:
				why, _ := os.ReadFile(filepath.Join(kdir, fileVmlinuxNone))
				t.Logf("boots the bzImage: %s", strings.TrimSpace(string(why)))
			default:
				t.Errorf("boot kernel %s is neither vmlinux nor vmlinuz", img.Kernel)
			}
			if img.Meta["missing_modules"] != "" {
				t.Errorf("missing modules: %s", img.Meta["missing_modules"])
			}
			if got := img.Meta["builtin_modules"]; got != strings.Join(c.builtin, ",") {
				t.Errorf("builtin %q, want %q", got, strings.Join(c.builtin, ","))
			}
			kj, err := readKernelJSON(kdir)
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
				ko, err := os.ReadFile(filepath.Join(kdir, "lib/modules", img.Release, p))
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

// realKernelCase is one real kernel and what its packaging is known to hold.
type realKernelCase struct {
	spec, relPrefix string
	modules         []string // must be in the image as modules
	builtin         []string // must be reported builtin, in NeededModules order
}

// ubuntuBuiltin is, per series, which NeededModules the generic kernel has
// built in (its modules.builtin: 6.8.0-151 on noble, 5.15.0-204 on jammy,
// 7.0.0-44 on resolute, read 2026-11-30); the rest must come from the debs.
var ubuntuBuiltin = map[string][]string{
	"jammy":    {"virtio_pci", "af_packet"},
	"noble":    {"virtio_pci", "virtio_net", "af_packet"},
	"resolute": {"virtio_pci", "virtio_net", "af_packet"},
}

// realKernelCases are the host's real kernels: Debian's 6.1 and 6.12 cloud
// kernels, or the Ubuntu series' newest generic kernel.
func realKernelCases(t *testing.T) []realKernelCase {
	t.Helper()
	p, err := host.Detect(context.Background())
	if err != nil {
		testutil.Unavailable(t, "host: %v", err)
	}
	switch p.Distro {
	case host.Debian:
		return []realKernelCase{
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
	case host.Ubuntu:
		builtin, ok := ubuntuBuiltin[p.Series]
		if !ok || len(p.Boot) == 0 {
			testutil.Unavailable(t, "no known Ubuntu %s generic kernel packaging (or none in apt: %q)", p.Series, p.Problems)
		}
		var modules []string
		for _, m := range NeededModules {
			if !slices.Contains(builtin, m) {
				modules = append(modules, m)
			}
		}
		if !slices.Contains(builtin, "virtio_net") {
			modules = append(modules, "net_failover", "failover")
		}
		k := p.Boot[0]
		abi := strings.TrimSuffix(strings.TrimPrefix(k.Release, "^"), "$")
		abi = strings.ReplaceAll(abi, `\`, "")
		return []realKernelCase{{k.Spec, abi, modules, builtin}}
	}
	testutil.Unavailable(t, "host %s is neither Debian nor Ubuntu", p.OS)
	return nil
}
