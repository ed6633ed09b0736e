package selftests

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/srutest/srutest/internal/testutil"
)

// A linux-source tarball compressed with bzip2 (Ubuntu's form) unpacks
// through tar with lbzip2 when the host has it and with tar's own -j when
// it does not; either way only the members a selftest build reads come out.
func TestExtractSourceBzip2(t *testing.T) {
	for _, tool := range []string{"tar", "bzip2"} {
		if _, err := exec.LookPath(tool); err != nil {
			testutil.Unavailable(t, "%s not installed: the selftest build unpacks kernel tarballs with it (make deps-test)", tool)
		}
	}
	src := t.TempDir()
	tree := filepath.Join(src, "linux-source-6.8.0")
	for name, data := range map[string]string{
		"Makefile":               "VERSION = 6\n",
		"Kbuild":                 "\n",
		"Kconfig":                "\n",
		"scripts/kallsyms.c":     "\n",
		"include/linux/mptcp.h":  "\n",
		"arch/x86/entry/entry.S": "\n",
		"tools/testing/selftests/net/mptcp/Makefile": "TEST_PROGS := diag.sh\n",
		"tools/testing/selftests/net/mptcp/diag.sh":  "#!/bin/bash\n",
		"Documentation/index.rst":                    "not needed\n",
	} {
		p := filepath.Join(tree, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tarball := filepath.Join(t.TempDir(), "linux-source-6.8.0.tar.bz2")
	if out, err := exec.Command("tar", "-cjf", tarball, "-C", src, "linux-source-6.8.0").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v: %s", err, out)
	}
	// A PATH without lbzip2: tar, bzip2 and what they need, by link.
	noL := t.TempDir()
	for _, tool := range []string{"tar", "bzip2", "sh"} {
		p, _ := exec.LookPath(tool)
		if err := os.Symlink(p, filepath.Join(noL, tool)); err != nil {
			t.Fatal(err)
		}
	}
	cases := map[string]string{"without lbzip2": noL}
	if _, err := exec.LookPath("lbzip2"); err == nil {
		cases["with lbzip2"] = os.Getenv("PATH")
	}
	for name, path := range cases {
		t.Run(name, func(t *testing.T) {
			t.Setenv("PATH", path)
			want := "-j"
			if strings.Contains(name, "with ") {
				want = "--use-compress-program=lbzip2"
			}
			if got := bzip2Flag(); got != want {
				t.Errorf("bzip2Flag() = %q, want %q", got, want)
			}
			dir := t.TempDir()
			top, err := extractSource(context.Background(), tarball, dir)
			if err != nil {
				t.Fatal(err)
			}
			if top != filepath.Join(dir, "linux-source-6.8.0") {
				t.Errorf("top %s", top)
			}
			if b, err := os.ReadFile(filepath.Join(top, "tools/testing/selftests/net/mptcp/Makefile")); err != nil || string(b) != "TEST_PROGS := diag.sh\n" {
				t.Errorf("selftest Makefile: %q, %v", b, err)
			}
			if _, err := os.Stat(filepath.Join(top, "Documentation")); err == nil {
				t.Error("Documentation was extracted: only a selftest build's members should be")
			}
		})
	}
}
