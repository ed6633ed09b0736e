// Package testutil holds test helpers shared across srutest packages: skips
// that say why.
package testutil

import (
	"os"
	"os/exec"
	"testing"
)

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
		tb.Skipf("no QEMU: %v (apt-get install qemu-system-x86)", err)
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
		tb.Skip("SRUTEST_TEST_KERNEL not set (path of a vmlinuz with virtio-net and serial console built in or not needed)")
	}
	if _, err := os.Stat(k); err != nil {
		tb.Skipf("SRUTEST_TEST_KERNEL: %v", err)
	}
	return k
}
