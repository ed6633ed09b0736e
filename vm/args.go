package vm

import (
	"strconv"
	"strings"
)

// A Device is one QEMU feature: the QEMU arguments it needs and the kernel
// command-line arguments that go with them. The command line is a pure
// function of the [Config] and its devices (see [BuildArgs]).
type Device interface {
	Cmdline() []string
	KArgs() []string
}

// Accel selects the accelerator and the matching CPU model: "kvm" runs
// -cpu host, anything else TCG with -cpu max (every feature TCG emulates,
// e.g. RDRAND, so the guest's CRNG seeds at once) minus ERMS and FSRM.
// Those two make the kernel copy with "rep movsb", which TCG executes one
// byte per loop iteration; without them it uses 8-byte moves. Measured on
// Debian 6.1 cloud: unpacking the 40 MB initramfs takes ~175 ms instead of
// ~305 ms, and the bare boot floor gets faster too.
type Accel string

// tcgCPU is the TCG CPU model; see [Accel].
const tcgCPU = "max,-erms,-fsrm"

// Cmdline implements [Device].
func (a Accel) Cmdline() []string {
	if a == "kvm" {
		return []string{"-accel", "kvm", "-cpu", "host"}
	}
	return []string{"-accel", "tcg", "-cpu", tcgCPU}
}

// KArgs implements [Device].
func (a Accel) KArgs() []string { return nil }

// SerialFile sends the first serial port to a file and makes it the console.
type SerialFile struct{ Path string }

// Cmdline implements [Device]. The "file:" legacy syntax takes the rest of
// the string verbatim, so the path needs no escaping.
func (s SerialFile) Cmdline() []string { return []string{"-serial", "file:" + s.Path} }

// KArgs implements [Device].
func (s SerialFile) KArgs() []string { return []string{"console=ttyS0"} }

// QMPSocket serves QMP on a unix socket that QEMU creates (and does not
// wait on: the guest starts at once).
type QMPSocket struct{ Path string }

// Cmdline implements [Device]. "unix:" options are parsed as QemuOpts, where
// a literal comma is written ",,".
func (q QMPSocket) Cmdline() []string {
	return []string{"-qmp", "unix:" + strings.ReplaceAll(q.Path, ",", ",,") + ",server=on,wait=off"}
}

// KArgs implements [Device].
func (q QMPSocket) KArgs() []string { return nil }

// UserNet is a virtio-net NIC on slirp with restrict=on (the guest reaches
// nothing outside) and one host forward bound to 127.0.0.1 only.
type UserNet struct {
	HostPort  int // 127.0.0.1:HostPort on the host …
	GuestPort int // … forwards to this guest TCP port (22 for SSH)
}

// Cmdline implements [Device].
func (u UserNet) Cmdline() []string {
	return []string{"-nic", "user,model=virtio-net-pci,restrict=on,hostfwd=tcp:127.0.0.1:" +
		strconv.Itoa(u.HostPort) + "-:" + strconv.Itoa(u.GuestPort)}
}

// KArgs implements [Device].
func (u UserNet) KArgs() []string { return nil }

// baseKArgs make any kernel crash end the guest at once, as syzkaller does:
// an oops becomes a panic, a panic reboots immediately, and QEMU's
// -no-reboot turns that reboot into a QEMU exit. The console watcher still
// classifies and quotes the crash.
//
// no_timer_check skips the boot-time check that the timer interrupt is
// routed through the IO-APIC: under TCG on a loaded host the ticks come
// late and the kernel panics "IO-APIC + timer doesn't work!" (seen on
// Ubuntu 6.8.0-100 and 6.14.0-15 with host load ~30 on 2 cores) — a
// harness failure, not the kernel's. VM images set it for the same reason.
//
// norandmaps turns off address-space randomisation for the guest's
// processes (randomize_va_space=0 from the first exec on). Under TCG, QEMU
// finds an already translated block by guest virtual and physical address,
// so with randomised mappings every exec of ss, nstat, ip or tcpdump
// translates ld.so, libc and its other libraries afresh; with fixed ones
// the second exec reuses the first one's translation. Measured in a 6.1
// cloud guest (one vCPU, 10 execs each): ss -tn 123 → 39 ms, nstat -asz
// 99 → 25 ms, tcpdump --version 81 → 51 ms. The scenarios under test do not
// depend on user-space layout; a reproducer that needs ASLR can turn it back
// on with "echo 2 > /proc/sys/kernel/randomize_va_space".
var baseKArgs = []string{"oops=panic", "panic=-1", "no_timer_check", "norandmaps"}

// BuildArgs returns QEMU's arguments (without argv[0]) for cfg and devices.
// It is pure: cfg is used as given (defaults are not applied here).
func BuildArgs(cfg Config, devices ...Device) []string {
	args := []string{
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-machine", "q35",
		"-m", strconv.Itoa(cfg.MemoryMB),
		"-smp", strconv.Itoa(cfg.CPUs),
	}
	kargs := []string{}
	for _, d := range devices {
		args = append(args, d.Cmdline()...)
		kargs = append(kargs, d.KArgs()...)
	}
	kargs = append(kargs, baseKArgs...)
	kargs = append(kargs, cfg.Append...)
	args = append(args, "-kernel", cfg.Kernel)
	if cfg.Initrd != "" {
		args = append(args, "-initrd", cfg.Initrd)
	}
	args = append(args, "-append", strings.Join(kargs, " "))
	return append(args, cfg.ExtraArgs...)
}
