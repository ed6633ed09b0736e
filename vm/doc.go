// Package vm boots a kernel and initramfs under QEMU and drives the guest
// over SSH and SFTP. It owns everything QEMU: the command line (a pure
// function of small [Device] values, see [BuildArgs]), KVM detection, the
// QEMU process and its cleanup, the QMP monitor, the serial console and the
// kernel-crash watcher on it. It knows nothing about what runs in the guest.
//
// A [Machine] is started with [Start], which returns once an authenticated
// SSH session to the guest works, and is always ended with [Machine.Close].
// Errors callers branch on are typed:
//
//   - [*BootError]: the guest never reached SSH (QEMU exited, a crash was seen
//     on the console, or the boot deadline passed). Carries the console tail.
//   - [*CrashError]: a kernel crash line (BUG:, Oops, panic, WARNING:, soft
//     lockup, hung task, Call Trace, …) was seen while the guest was running,
//     or the guest vanished unexpectedly.
//   - [*InfraError]: the host side failed (QEMU missing, no free port, SSH
//     authentication, host key mismatch — see [ErrHostKeyMismatch]).
//
// Timeouts are scaled: a boot deadline that is not set explicitly is
// 60 s × [Scale] of the accelerator (1 under KVM, 3 under TCG).
//
// Environment: SRUTEST_KVM (auto|on|off) is the default for [Config.KVM]
// when the field is empty.
//
// Process hygiene: QEMU runs in its own process group with a parent-death
// signal (SIGKILL), so a killed srutest leaves no QEMU behind. Exactly one
// goroutine reaps it. Every file lives in a private temp dir that is removed
// on every path out of [Start] and by [Machine.Close].
package vm
