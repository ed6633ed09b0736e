package host

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// installDeps runs scripts/install-deps.sh for the host whose os-release is
// testdata/<osrel>/os-release, with apt's tools replaced by fakes: nothing
// is installed (dpkg-query), apt-cache policy answers from
// testdata/policy/<policy[pkg]> (real captures) or else with a candidate,
// and apt-get install only records what it was asked for.
func installDeps(t *testing.T, osrel string, policy map[string]string, args ...string) (stdout, stderr string, installed []string, err error) {
	t.Helper()
	dir := t.TempDir()
	testdata, _ := filepath.Abs("testdata")
	log := filepath.Join(dir, "apt-get.log")
	var cases strings.Builder
	for pkg, f := range policy {
		cases.WriteString("\t" + pkg + ") cat " + filepath.Join(testdata, "policy", f) + " ;;\n")
	}
	fakes := map[string]string{
		"dpkg-query": "exit 1\n",
		"sudo":       `exec "$@"` + "\n",
		"go":         "exit 0\n",
		"apt-get":    `[ "$1" = update ] && exit 0` + "\n" + `echo "$@" >>` + log + "\n",
		"apt-cache": `[ "$1" = policy ] || exit 2
shift
for p in "$@"; do
	case "$p" in
` + cases.String() + `	*) printf '%s:\n  Installed: (none)\n  Candidate: 1.0\n' "$p" ;;
	esac
done
`,
	}
	for name, body := range fakes {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("bash", append([]string{"../../scripts/install-deps.sh"}, args...)...)
	cmd.Env = []string{"PATH=" + dir + ":/usr/bin:/bin", "SRUTEST_OS_RELEASE=" + filepath.Join(testdata, osrel, "os-release"), "LC_ALL=C"}
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	if b, rerr := os.ReadFile(log); rerr == nil {
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if f := strings.Fields(l); len(f) > 0 && f[0] == "install" {
				for _, a := range f[1:] {
					if !strings.HasPrefix(a, "-") {
						installed = append(installed, a)
					}
				}
			}
		}
	}
	return o.String(), e.String(), installed, err
}

// TestInstallDepsPackages: which packages install-deps asks for, per
// distribution (the os-release fixtures of real hosts).
func TestInstallDepsPackages(t *testing.T) {
	for _, tc := range []struct {
		osrel      string
		want, not  []string
		kernelArgs bool
	}{
		{"bookworm", []string{"qemu-system-x86", "busybox-static", "linux-source-6.12", "chromium", "libelf-dev"}, []string{"linux-source"}, true},
		// Ubuntu ships Chromium only as a snap: no chromium deb to ask for.
		{"noble", []string{"qemu-system-x86", "busybox-static", "linux-source", "bzip2", "libelf-dev"}, []string{"linux-source-6.12", "chromium", "chromium-browser"}, true},
		{"jammy", []string{"linux-source", "bzip2"}, []string{"linux-source-6.12", "chromium"}, true},
		{"resolute", []string{"linux-source", "bzip2"}, []string{"linux-source-6.12", "chromium"}, true},
		// Without --kernel-build/--selftests: no kernel source, no browser.
		{"noble", []string{"qemu-system-x86", "tcpdump"}, []string{"linux-source", "bc", "chromium"}, false},
		{"bookworm", []string{"qemu-system-x86", "tcpdump"}, []string{"linux-source-6.12", "bc", "chromium"}, false},
	} {
		args := []string{"--list"}
		if tc.kernelArgs {
			args = append(args, "--kernel-build", "--selftests")
		}
		out, stderr, _, err := installDeps(t, tc.osrel, nil, args...)
		if err != nil {
			t.Errorf("%s %v: %v\n%s", tc.osrel, args, err, stderr)
			continue
		}
		pkgs := strings.Fields(out)
		for _, p := range tc.want {
			if !slices.Contains(pkgs, p) {
				t.Errorf("%s %v: %s not asked for: %v", tc.osrel, args, p, pkgs)
			}
		}
		for _, p := range tc.not {
			if slices.Contains(pkgs, p) {
				t.Errorf("%s %v: %s asked for: %v", tc.osrel, args, p, pkgs)
			}
		}
	}
}

// TestInstallDepsInstalls: on noble, where apt has no chromium candidate
// (real apt-cache policy capture), install-deps installs the rest and does
// not stop on chromium; on a bookworm whose apt does not know
// linux-source-6.12 (the capture of an apt without it), it names the
// package and where it lives and installs nothing.
func TestInstallDepsInstalls(t *testing.T) {
	_, stderr, installed, err := installDeps(t, "noble", map[string]string{"chromium": "noble-chromium.txt"}, "--kernel-build", "--selftests")
	if err != nil {
		t.Fatalf("noble: %v\n%s", err, stderr)
	}
	for _, p := range []string{"linux-source", "bzip2", "qemu-system-x86", "iptables"} {
		if !slices.Contains(installed, p) {
			t.Errorf("noble: %s not installed: %v", p, installed)
		}
	}

	_, stderr, installed, err = installDeps(t, "bookworm", map[string]string{"linux-source-6.12": "noble-linux-source-6.12.txt"}, "--kernel-build")
	if err == nil {
		t.Fatal("bookworm without linux-source-6.12: exit 0")
	}
	for _, want := range []string{"install-deps: not in this host's apt sources (Debian GNU/Linux 12 (bookworm)):",
		"  linux-source-6.12 (in bookworm-security (or bookworm-backports))"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if len(installed) > 0 {
		t.Errorf("installed %v before saying what is missing", installed)
	}

	_, stderr, _, err = installDeps(t, "fedora", nil)
	if err == nil || !strings.Contains(stderr, "neither Debian nor Ubuntu") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("fedora: %v, stderr %q, want one line and a failure", err, stderr)
	}
}
