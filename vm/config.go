package vm

import (
	"fmt"
	"io"
	"os"
	"time"
)

// Config describes one machine. Kernel, Initrd, HostKey and ClientKey are
// required; every other field has a default.
type Config struct {
	// QEMU is the emulator binary (default "qemu-system-x86_64").
	QEMU string
	// Kernel and Initrd are the paths passed to -kernel and -initrd.
	Kernel, Initrd string
	// Append holds extra kernel command-line arguments, added after ours.
	Append []string
	// MemoryMB is the guest RAM (default 512).
	MemoryMB int
	// CPUs is the number of vCPUs (default 1).
	CPUs int
	// KVM is "auto" (use KVM when /dev/kvm is usable, see [KVMUsable]),
	// "on" or "off". Empty means $SRUTEST_KVM, else "auto".
	KVM string
	// HostKey is the guest's host key in authorized_keys format; the SSH
	// client accepts no other.
	HostKey string
	// ClientKey is the path of the PEM private key used to log in as root.
	ClientKey string
	// BootTimeout bounds QEMU start to SSH ready. Zero means 60 s × [Scale];
	// an explicit value is used as is (not scaled).
	BootTimeout time.Duration
	// Dir is the parent of the machine's private temp dir (default
	// os.TempDir()). The temp dir, console log included, is removed by Close.
	Dir string
	// Log receives one-line progress messages; may be nil.
	Log io.Writer
	// ExtraArgs are appended to the QEMU command line.
	ExtraArgs []string
}

const (
	defaultQEMU        = "qemu-system-x86_64"
	defaultMemoryMB    = 512
	defaultCPUs        = 1
	defaultBootTimeout = 60 * time.Second
)

// Scale is the timeout multiplier for an accelerator: 1 under KVM, 3 under
// TCG (measured here: a Debian 6.1 kernel reaches userspace in ~1.7 s under
// TCG; the factor leaves room for a loaded CI host). Callers scale their own
// guest-side deadlines with it.
func Scale(accel string) time.Duration {
	if accel == "kvm" {
		return 1
	}
	return 3
}

// withDefaults fills in defaults and validates the required fields.
func (c Config) withDefaults() (Config, error) {
	if c.QEMU == "" {
		c.QEMU = defaultQEMU
	}
	if c.MemoryMB <= 0 {
		c.MemoryMB = defaultMemoryMB
	}
	if c.CPUs <= 0 {
		c.CPUs = defaultCPUs
	}
	if c.KVM == "" {
		c.KVM = os.Getenv("SRUTEST_KVM")
	}
	if c.KVM == "" {
		c.KVM = "auto"
	}
	switch c.KVM {
	case "auto", "on", "off":
	default:
		return c, fmt.Errorf("vm: config: KVM must be auto, on or off, not %q", c.KVM)
	}
	if c.Dir == "" {
		c.Dir = os.TempDir()
	}
	for _, f := range []struct{ name, val string }{
		{"Kernel", c.Kernel}, {"Initrd", c.Initrd}, {"ClientKey", c.ClientKey},
	} {
		if f.val == "" {
			return c, fmt.Errorf("vm: config: %s is required", f.name)
		}
		if _, err := os.Stat(f.val); err != nil {
			return c, fmt.Errorf("vm: config: %s: %w", f.name, err)
		}
	}
	if c.HostKey == "" {
		return c, fmt.Errorf("vm: config: HostKey is required")
	}
	return c, nil
}

// DetectAccel resolves a KVM setting ("auto", "on", "off", or empty for
// $SRUTEST_KVM/auto) to the accelerator QEMU will use: "kvm" or "tcg".
// "on" yields "kvm" even when KVM is not usable (QEMU will then fail
// loudly rather than silently running slower).
func DetectAccel(kvm string) string {
	if kvm == "" {
		kvm = os.Getenv("SRUTEST_KVM")
	}
	switch kvm {
	case "on":
		return "kvm"
	case "off":
		return "tcg"
	}
	if err := KVMUsable(); err != nil {
		return "tcg"
	}
	return "kvm"
}
