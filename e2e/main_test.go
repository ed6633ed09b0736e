// Package e2e holds end-to-end tests that run the real srutest binary against
// real kernels of the host's distribution under QEMU (KVM when usable, TCG
// otherwise): which ones is the host's choice (internal/host, `srutest
// host`) — on Debian the 6.1 and 6.12 kernels and linux-source-6.12, on
// Ubuntu the series' GA and newest kernels and its linux-source.
//
// They need root-free QEMU, apt-get (for apt: kernels), busybox-static,
// iproute2 and tcpdump on the host: `make deps`. Tests skip with a reason
// when QEMU is missing and are skipped under -short, except those that
// need no QEMU (TestE2EBadKernelInput), which run with the unit tests.
//
// Environment:
//
//	SRUTEST_TEST_CACHE  cache dir shared between test runs (default: a
//	                    srutest-test dir under the user cache dir), so debs
//	                    are downloaded once
package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/srutest/srutest/internal/host"
	"github.com/srutest/srutest/internal/testutil"
)

var (
	binDir     string // holds srutest and srutest-pair, built static
	cacheDir   string
	scratchDir string // shared by the tests of one run, removed at the end
)

// hostProfile is what this host's apt offers (detected once in TestMain);
// hostErr why it could not be read.
var (
	hostProfile *host.Profile
	hostErr     error
)

// needHost stops t unless the host is Debian or Ubuntu with its profile
// read.
func needHost(t *testing.T) *host.Profile {
	t.Helper()
	switch {
	case hostErr != nil:
		testutil.Unavailable(t, "host: %v", hostErr)
	case !hostProfile.Supported():
		testutil.Unavailable(t, "host %s is neither Debian nor Ubuntu: no kernels to pick", hostProfile.OS)
	}
	return hostProfile
}

// defaultKernel is the kernel most tests boot: on Debian the 6.1 cloud
// kernel, on Ubuntu the series' newest generic kernel.
func defaultKernel(t *testing.T) host.Kernel {
	t.Helper()
	p := needHost(t)
	if len(p.Boot) == 0 {
		testutil.Unavailable(t, "no kernel in this host's apt sources: %s", strings.Join(p.Problems, "; "))
	}
	return p.Boot[0]
}

// releaseRE is the uname -r pattern of k.
func releaseRE(k host.Kernel) *regexp.Regexp { return regexp.MustCompile(k.Release) }

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "srutest-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binDir = dir
	if scratchDir, err = os.MkdirTemp("", "srutest-e2e-scratch-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(scratchDir)
	for _, pkg := range []string{"srutest", "srutest-pair"} {
		// As make build builds them (-s -w: see the Makefile).
		cmd := exec.Command("go", "build", "-ldflags=-s -w", "-o", filepath.Join(dir, pkg), "../cmd/"+pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", pkg, err, out)
			return 1
		}
	}
	cacheDir = os.Getenv("SRUTEST_TEST_CACHE")
	if cacheDir == "" {
		uc, err := os.UserCacheDir()
		if err != nil {
			uc = os.TempDir()
		}
		cacheDir = filepath.Join(uc, "srutest-test")
	}
	hostProfile, hostErr = host.Detect(context.Background())
	return m.Run()
}

func skipUnlessE2E(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: boots real kernels under QEMU; skipped with -short")
	}
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		testutil.Unavailable(t, "qemu-system-x86_64 not installed (make deps)")
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		testutil.Unavailable(t, "apt-get not available: apt: kernels cannot be fetched")
	}
}

// srutest runs the built binary with the shared test cache.
func srutest(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "srutest"), append([]string{"--cache-dir", cacheDir}, args...)...)
	cmd.Env = append(os.Environ(), "SRUTEST_PAIR="+filepath.Join(binDir, "srutest-pair"))
	t.Logf("$ %s", cmd.String())
	return cmd
}
