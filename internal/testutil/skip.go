// Package testutil holds test helpers shared across srutest packages: skips
// that say why.
package testutil

import (
	"os"
	"os/exec"
	"testing"
)

// RequiredEnv, when set (make test-e2e sets it), turns the skips below
// that are about a missing host prerequisite into failures: in CI the
// end-to-end path must run, not quietly skip.
const RequiredEnv = "SRUTEST_E2E_REQUIRED"

// Unavailable skips tb because a prerequisite is missing — or fails it when
// RequiredEnv is set. The message says what is missing and how to get it.
func Unavailable(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if os.Getenv(RequiredEnv) != "" {
		tb.Fatalf("required ("+RequiredEnv+" is set) but unavailable: "+format, args...)
	}
	tb.Skipf(format, args...)
}

// SkipWithoutQEMU skips tb unless qemu-system-x86_64 (or $SRUTEST_QEMU) can
// be found.
func SkipWithoutQEMU(tb testing.TB) string {
	tb.Helper()
	name := os.Getenv("SRUTEST_QEMU")
	if name == "" {
		name = "qemu-system-x86_64"
	}
	path, err := exec.LookPath(name)
	if err != nil {
		Unavailable(tb, "no QEMU: %v (apt-get install qemu-system-x86)", err)
	}
	return path
}

// SkipShort skips tb under go test -short, saying what it would have done.
func SkipShort(tb testing.TB, what string) {
	tb.Helper()
	if testing.Short() {
		tb.Skipf("-short: skipping %s", what)
	}
}

// TestKernel returns $SRUTEST_TEST_KERNEL (a vmlinuz to boot in tests) or
// skips tb.
func TestKernel(tb testing.TB) string {
	tb.Helper()
	k := os.Getenv("SRUTEST_TEST_KERNEL")
	if k == "" {
		Unavailable(tb, "SRUTEST_TEST_KERNEL not set (path of a vmlinuz; make test-e2e sets it with scripts/test-kernel.sh)")
	}
	if _, err := os.Stat(k); err != nil {
		Unavailable(tb, "SRUTEST_TEST_KERNEL: %v", err)
	}
	return k
}
