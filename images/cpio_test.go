package images

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/srutest/srutest/internal/testutil"
)

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		testutil.Unavailable(t, "%s not installed: %v (make deps)", name, err)
	}
	return p
}

// cpioList runs `cpio -t` on archive and returns the names.
func cpioList(t *testing.T, archive []byte) []string {
	t.Helper()
	cpio := needTool(t, "cpio")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, cpio, "-t", "--quiet")
	cmd.Stdin = bytes.NewReader(archive)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("cpio -t: %v: %s", err, errb.String())
	}
	return strings.Fields(string(out))
}

func TestCPIOReadableByCpio(t *testing.T) {
	var b bytes.Buffer
	cw := NewCPIOWriter(&b)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(cw.Bytes("init", 0o755, []byte("#!/bin/sh\necho hi\n")))
	must(cw.Bytes("/etc/srutest/modules", 0o644, []byte("/lib/modules/x/a.ko\n")))
	must(cw.Bytes("lib/modules/x/kernel/a.ko", 0o644, bytes.Repeat([]byte{0xAB}, 4097)))
	must(cw.Symlink("bin/sh", "busybox"))
	must(cw.Dir("tmp", 0o1777))
	must(cw.Dir("etc", 0o755)) // already there: no duplicate
	must(cw.CharDev("dev/console", 0o600, 5, 1))
	if err := cw.Bytes("init", 0o755, nil); err == nil {
		t.Fatal("duplicate entry accepted")
	}
	if err := cw.Bytes("../escape", 0o644, nil); err == nil {
		t.Fatal("bad name accepted")
	}
	must(cw.Close())
	if b.Len()%4 != 0 {
		t.Errorf("archive length %d not 4-aligned", b.Len())
	}
	got := cpioList(t, b.Bytes())
	want := []string{"init", "etc", "etc/srutest", "etc/srutest/modules", "lib", "lib/modules", "lib/modules/x",
		"lib/modules/x/kernel", "lib/modules/x/kernel/a.ko", "bin", "bin/sh", "tmp", "dev", "dev/console"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("cpio -t:\n got %v\nwant %v", got, want)
	}
	// Extract with GNU cpio and compare contents and link.
	dir := t.TempDir()
	cmd := exec.Command("cpio", "-i", "-d", "--quiet", "--no-absolute-filenames", "--nonmatching", "dev/console")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(b.Bytes())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cpio -i: %v: %s", err, out)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "lib/modules/x/kernel/a.ko")); !bytes.Equal(data, bytes.Repeat([]byte{0xAB}, 4097)) {
		t.Error("file content differs after cpio -i")
	}
	if l, _ := os.Readlink(filepath.Join(dir, "bin/sh")); l != "busybox" {
		t.Errorf("bin/sh -> %q", l)
	}
	if st, err := os.Stat(filepath.Join(dir, "init")); err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("init mode: %v %v", st, err)
	}
}

func TestCPIODeterministic(t *testing.T) {
	build := func() []byte {
		var b bytes.Buffer
		cw := NewCPIOWriter(&b)
		cw.Bytes("a/b", 0o644, []byte("x"))
		cw.Symlink("a/c", "b")
		cw.Close()
		return b.Bytes()
	}
	if !bytes.Equal(build(), build()) {
		t.Fatal("same input, different archive")
	}
}
