package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/srutest/srutest/internal/testutil"
	"time"
)

// fakeDeb builds a Debian binary package (ar: debian-binary,
// control.tar.gz, data.tar.gz) holding files.
func fakeDeb(t *testing.T, pkg string, files map[string][]byte) []byte {
	t.Helper()
	tgz := func(files map[string][]byte) []byte {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		tw := tar.NewWriter(zw)
		names := make([]string, 0, len(files))
		for n := range files {
			names = append(names, n)
		}
		sort.Strings(names)
		dirs := map[string]bool{}
		for _, n := range names {
			for d := filepath.Dir(n); d != "." && !dirs[d]; d = filepath.Dir(d) {
				dirs[d] = true
			}
		}
		var ds []string
		for d := range dirs {
			ds = append(ds, d)
		}
		sort.Strings(ds)
		for _, d := range ds {
			tw.WriteHeader(&tar.Header{Name: "./" + d + "/", Mode: 0o755, Typeflag: tar.TypeDir})
		}
		for _, n := range names {
			tw.WriteHeader(&tar.Header{Name: "./" + n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg})
			tw.Write(files[n])
		}
		tw.Close()
		zw.Close()
		return buf.Bytes()
	}
	control := fmt.Sprintf("Package: %s\nVersion: 1.0\nArchitecture: amd64\nDescription: srutest e2e fixture\n", pkg)
	members := []struct {
		name string
		data []byte
	}{
		{"debian-binary", []byte("2.0\n")},
		{"control.tar.gz", tgz(map[string][]byte{"control": []byte(control)})},
		{"data.tar.gz", tgz(files)},
	}
	var ar bytes.Buffer
	ar.WriteString("!<arch>\n")
	for _, m := range members {
		fmt.Fprintf(&ar, "%-16s%-12d%-6d%-6d%-8s%-10d`\n", m.name, 0, 0, 0, "100644", len(m.data))
		ar.Write(m.data)
		if len(m.data)%2 == 1 {
			ar.WriteByte('\n')
		}
	}
	return ar.Bytes()
}

// cacheListing lists every path under dir with its type and size: what
// "the cache is unchanged" compares (mtimes are left out: a cache hit
// touches its entry on purpose).
func cacheListing(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		size := fi.Size()
		if fi.IsDir() {
			size = 0
		}
		lines = append(lines, fmt.Sprintf("%s %s %d", rel, fi.Mode(), size))
		return nil
	})
	if err != nil {
		t.Fatalf("list cache %s: %v", dir, err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestE2EBadKernelInput feeds `srutest boot --kernel` inputs that cannot
// become an image. Each must fail fast (no hang, e.g. on a FIFO nobody
// writes), exit non-zero with an error that names the file and says what is
// wrong, and leave the cache exactly as it was. No QEMU is needed: nothing
// gets that far, and the cache is seeded with --qemu pointing nowhere.
func TestE2EBadKernelInput(t *testing.T) {
	const rel = "6.1.0-0-e2e-fake"
	dir := t.TempDir()
	cache := filepath.Join(dir, "cache")
	write := func(name string, data []byte) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	run := func(t *testing.T, args ...string) (string, time.Duration, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(binDir, "srutest"), append([]string{"--cache-dir", cache, "--qemu", filepath.Join(dir, "no-qemu-here")}, args...)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "TMPDIR="+dir)
		t.Logf("$ %s", strings.Join(cmd.Args, " "))
		start := time.Now()
		out, err := cmd.CombinedOutput()
		if ctx.Err() != nil {
			t.Fatalf("srutest hung (killed after %v):\n%s", time.Since(start), out)
		}
		t.Logf("%s", out)
		return string(out), time.Since(start), err
	}

	// A kernel package that builds: its image is the cache's seed.
	vmlinuz := make([]byte, 96<<10) // incompressible, so a cut lands inside data.tar
	rand.Read(vmlinuz)
	good := fakeDeb(t, "linux-image-"+rel, map[string][]byte{"boot/vmlinuz-" + rel: vmlinuz})
	goodPath := write("good.deb", good)
	out, _, err := run(t, "boot", "--kernel", "./good.deb")
	if strings.Contains(out, "host tool missing") {
		testutil.Unavailable(t, "initramfs host tools missing (make deps): %s", out)
	}
	if err == nil || !strings.Contains(out, "no-qemu-here") {
		t.Fatalf("seed build: want a failure to start the missing QEMU, got %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(cache, "images")); len(ents) != 1 {
		t.Fatalf("seed build left %d image entries, want 1", len(ents))
	}

	write("text.deb", []byte("hello, I am not a package\n"))
	write("empty.deb", nil)
	write("cut.deb", good[:len(good)*2/3])
	write("busybox.deb", fakeDeb(t, "busybox", map[string][]byte{"bin/busybox": []byte("\x7fELF")}))
	if err := os.Mkdir(filepath.Join(dir, "dir.deb"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "gone.deb"), filepath.Join(dir, "dangling.deb")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.deb"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A modules tree as a kernel package ships it: no modules.dep (depmod
	// runs at install time).
	modRoot := filepath.Join(dir, "root")
	write("root/lib/modules/"+rel+"/kernel/drivers/net/virtio_net.ko", []byte("\x7fELF"))
	write("root/lib/modules/"+rel+"/modules.order", []byte("kernel/drivers/net/virtio_net.ko\n"))
	vmlPath := write("root/boot/vmlinuz-"+rel, vmlinuz)

	type tc struct {
		name   string
		kernel string
		want   []string // all must appear in the output (file name, what is wrong)
	}
	cases := []tc{
		{"not a deb", "./text.deb", []string{"text.deb", "not a Debian package"}},
		{"empty file", "./empty.deb", []string{"empty.deb", "not a Debian package"}},
		{"truncated deb", "./cut.deb", []string{"cut.deb", "truncated"}},
		{"deb without a kernel", "./busybox.deb", []string{"busybox.deb", "no kernel image"}},
		{"missing file", "./nope.deb", []string{"nope.deb", "no such file"}},
		{"directory for a deb", "./dir.deb", []string{"dir.deb", "not a regular file"}},
		{"dangling symlink", "./dangling.deb", []string{"dangling.deb", "dangling symlink to", "gone.deb"}},
		{"fifo for a deb", "./fifo.deb", []string{"fifo.deb", "not a regular file"}},
		{"good deb plus bad one", "deb:" + goodPath + ",./text.deb", []string{"text.deb", "not a Debian package"}},
		{"modules tree without modules.dep", "dir:" + vmlPath + "," + modRoot, []string{filepath.Join("lib/modules", rel), "no modules.dep"}},
		{"modules root missing", "dir:" + vmlPath + "," + filepath.Join(dir, "noroot"), []string{"noroot", "no such file"}},
		{"modules root is a file", "dir:" + vmlPath + "," + goodPath, []string{"good.deb", "not a directory"}},
		{"vmlinuz is a directory", "dir:" + filepath.Join(dir, "dir.deb") + "," + modRoot, []string{"dir.deb", "not a regular file"}},
		{"vmlinuz is a fifo", "dir:" + filepath.Join(dir, "fifo.deb") + "," + modRoot, []string{"fifo.deb", "not a regular file"}},
		{"not a bzImage", "bzimage:" + goodPath, []string{"good.deb", "not a bzImage"}},
		{"bzimage is a fifo", "bzimage:" + filepath.Join(dir, "fifo.deb"), []string{"fifo.deb", "not a regular file"}},
		{"malformed spec", "dir:only-one-path", []string{"dir:only-one-path", "want dir:<vmlinuz>,<modules-root>"}},
	}
	if _, err := exec.LookPath("apt-cache"); err == nil {
		cases = append(cases, tc{"unknown apt package", "apt:srutest-no-such-package", []string{"srutest-no-such-package", "unknown apt package"}})
	}

	before := cacheListing(t, cache)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, took, err := run(t, "boot", "--kernel", c.kernel)
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() == 0 {
				t.Fatalf("want a non-zero exit, got %v", err)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("output does not say %q", w)
				}
			}
			if strings.Contains(out, "no-qemu-here") {
				t.Errorf("bad input got as far as starting QEMU")
			}
			if strings.Contains(out, "goroutine ") || strings.Contains(out, "panic:") {
				t.Errorf("srutest panicked")
			}
			if took > 30*time.Second {
				t.Errorf("took %v to reject bad input", took)
			}
			if after := cacheListing(t, cache); after != before {
				t.Errorf("cache changed:\n--- before\n%s\n--- after\n%s", before, after)
			}
		})
	}
}
