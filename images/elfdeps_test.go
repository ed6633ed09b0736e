package images

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// ReadELFDeps on the host's /usr/bin/ss agrees with ldd (when present) on
// which libraries are needed.
func TestReadELFDepsSS(t *testing.T) {
	bin := "/usr/bin/ss"
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("iproute2 not installed: %v", err)
	}
	d, err := ReadELFDeps(bin, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Interp != "/lib64/ld-linux-x86-64.so.2" {
		t.Errorf("interp %q", d.Interp)
	}
	var ours []string
	for _, l := range d.Libs {
		if !filepath.IsAbs(l) {
			t.Errorf("relative lib path %q", l)
		}
		if _, err := os.Stat(l); err != nil {
			t.Error(err)
		}
		ours = append(ours, filepath.Base(l))
	}
	if !contains(ours, "libc.so.6") {
		t.Fatalf("libc.so.6 not found among %v", ours)
	}
	ldd, err := exec.LookPath("ldd")
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, ldd, bin).Output()
	if err != nil {
		t.Fatalf("ldd: %v", err)
	}
	var theirs []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[1] == "=>":
			theirs = append(theirs, f[0])
		case len(f) == 2 && filepath.IsAbs(f[0]): // the loader, needed by libc
			theirs = append(theirs, filepath.Base(f[0]))
		}
	}
	sort.Strings(ours)
	sort.Strings(theirs)
	if strings.Join(ours, " ") != strings.Join(theirs, " ") {
		t.Errorf("libraries differ from ldd:\n ours %v\n ldd  %v", ours, theirs)
	}
}

func TestReadELFDepsMissingLib(t *testing.T) {
	if _, err := os.Stat("/usr/bin/ss"); err != nil {
		t.Skip("iproute2 not installed")
	}
	_, err := ReadELFDeps("/usr/bin/ss", []string{t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "/usr/bin/ss needs lib") || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("err = %v, want a missing library named", err)
	}
	if _, err := ReadELFDeps(filepath.Join("testdata", "README.md"), nil); err == nil {
		t.Fatal("non-ELF accepted")
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
