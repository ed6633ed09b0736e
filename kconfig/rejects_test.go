package kconfig_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/srutest/srutest/internal/testutil"
)

// The fix as it reads on a tree: sync_socket_options before and after.
const (
	before = "\tif (ssk->sk_prot->keepalive) {\n\t\tif (sock_flag(sk, SOCK_KEEPOPEN))\n\t\t\tssk->sk_prot->keepalive(ssk, 1);\n\t\telse\n\t\t\tssk->sk_prot->keepalive(ssk, 0);\n\t}\n"
	after  = "\tkeep_open = sock_flag(sk, SOCK_KEEPOPEN);\n\tif (ssk->sk_prot->keepalive)\n\t\tssk->sk_prot->keepalive(ssk, keep_open);\n\tsock_valbool_flag(ssk, SOCK_KEEPOPEN, keep_open);\n"
	patch  = "--- a/net/mptcp/sockopt.c\n+++ b/net/mptcp/sockopt.c\n@@ -1,6 +1,4 @@\n" +
		"-\tif (ssk->sk_prot->keepalive) {\n-\t\tif (sock_flag(sk, SOCK_KEEPOPEN))\n-\t\t\tssk->sk_prot->keepalive(ssk, 1);\n-\t\telse\n-\t\t\tssk->sk_prot->keepalive(ssk, 0);\n-\t}\n" +
		"+\tkeep_open = sock_flag(sk, SOCK_KEEPOPEN);\n+\tif (ssk->sk_prot->keepalive)\n+\t\tssk->sk_prot->keepalive(ssk, keep_open);\n+\tsock_valbool_flag(ssk, SOCK_KEEPOPEN, keep_open);\n"
)

// A patch that does not apply (or revert) stops build-kernel.sh with exit
// 3 before any configuring or compiling, leaving <out>/rejects.txt: what a
// backporter needs (patch's verdict, whether the tree already has the
// change, the rejected hunks), and the tree as it was.
func TestBuildScriptRejects(t *testing.T) {
	needBuildTools(t)
	for _, tc := range []struct {
		name, tree, mode string
		want             []string
	}{
		{"fix on a fixed tree", after, "--patch", []string{"patch p.patch: does not apply to", "the tree already carries this change", "FAILED", "@@ -1,6 +1,4 @@"}},
		{"revert from a tree without the fix", before, "--revert", []string{"revert p.patch: does not apply (in reverse) to", "the tree does not carry this change", "FAILED"}},
		{"fix on a different tree", "\tsomething else\n", "--patch", []string{"patch p.patch: does not apply to", "FAILED", "-\tif (ssk->sk_prot->keepalive) {"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tree := filepath.Join(dir, "tree")
			for name, body := range map[string]string{"Makefile": "all:\n", "Kconfig": "", "net/mptcp/sockopt.c": tc.tree} {
				os.MkdirAll(filepath.Dir(filepath.Join(tree, name)), 0o755)
				if err := os.WriteFile(filepath.Join(tree, name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			p := filepath.Join(dir, "p.patch")
			os.WriteFile(p, []byte(patch), 0o644)
			out := filepath.Join(dir, "out")
			cmd := exec.Command("bash", "build-kernel.sh", "--source", tree, "--out", out, "--cache", filepath.Join(dir, "cache"), tc.mode, p)
			output, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 3 {
				t.Fatalf("exit: %v, want 3\n%s", err, output)
			}
			rej, err := os.ReadFile(filepath.Join(out, "rejects.txt"))
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(rej), w) {
					t.Errorf("rejects.txt lacks %q:\n%s", w, rej)
				}
			}
			if got, _ := os.ReadFile(filepath.Join(tree, "net/mptcp/sockopt.c")); string(got) != tc.tree {
				t.Errorf("tree changed:\n%s", got)
			}
		})
	}
}

// needBuildTools stops t unless the tools build-kernel.sh checks for are
// installed.
func needBuildTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"make", "gcc", "ld", "flex", "bison", "bc", "perl", "patch", "flock"} {
		if _, err := exec.LookPath(tool); err != nil {
			testutil.Unavailable(t, "%s not installed (scripts/install-deps.sh --kernel-build)", tool)
		}
	}
}
