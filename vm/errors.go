package vm

import (
	"errors"
	"fmt"
)

// ErrHostKeyMismatch is wrapped (inside an [*InfraError]) when the guest
// presents a host key other than the pinned [Config.HostKey].
var ErrHostKeyMismatch = errors.New("vm: guest host key does not match the pinned key")

// ErrExited is wrapped when QEMU is gone while an operation needed it.
var ErrExited = errors.New("vm: qemu exited")

// BootError says the guest did not reach SSH: QEMU exited, a crash was seen
// on the console, or the boot deadline passed. Output is the console tail.
type BootError struct {
	Title  string
	Output string
}

func (e *BootError) Error() string { return "vm: boot failed: " + e.Title }

// CrashError says a kernel crash was seen on the console (or the guest
// vanished) after the machine had booted. Output is the console tail.
type CrashError struct {
	Title  string
	Output string
}

func (e *CrashError) Error() string { return "vm: guest crashed: " + e.Title }

// InfraError is a host-side failure: QEMU missing, no port, SSH setup or
// authentication, host key mismatch, QMP trouble. Op says what was being done.
type InfraError struct {
	Op  string
	Err error
}

func (e *InfraError) Error() string { return fmt.Sprintf("vm: %s: %v", e.Op, e.Err) }

// Unwrap returns the underlying error.
func (e *InfraError) Unwrap() error { return e.Err }

func infra(op string, err error) error { return &InfraError{Op: op, Err: err} }
