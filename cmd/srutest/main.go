// Command srutest is a kernel regression harness: it turns kernel packages
// into QEMU guests, runs the LP #2125444 MPTCP keepalive scenarios (and user
// reproducers) in them, and reports a kernel × scenario matrix.
//
// The same static binary is the guest's PID 1 (package agent): when it runs
// as PID 1 it never parses flags.
//
// Environment:
//
//	XDG_CACHE_HOME          cache root (images, debs, builds) — $XDG_CACHE_HOME/srutest
//	SRUTEST_PAIR            path of the static srutest-pair binary
//	SRUTEST_UBUNTU_ARCHIVE  Ubuntu archive/mirror URL (default http://archive.ubuntu.com/ubuntu)
//	SRUTEST_KVM             auto | on | off (default auto)
//	SRUTEST_CACHE_MAX       default of --cache-max (30G; 0 = no limit)
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/srutest/srutest/agent"
	"github.com/srutest/srutest/internal/termtext"
	"github.com/srutest/srutest/vm"
)

func main() {
	if os.Getpid() == 1 {
		agent.Main() // never returns
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRoot().ExecuteContext(ctx)
	stop()
	os.Exit(exitCode(err))
}

// exitError carries an exit code chosen by a command (e.g. the guest
// command's exit code, or the matrix verdict) without printing an error.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	// Errors and console lines quote the guest: print them without its
	// control characters (no escape sequences on the user's terminal).
	fmt.Fprintln(os.Stderr, "srutest:", termtext.Clean(err.Error()))
	if out := consoleOf(err); out != "" {
		fmt.Fprintf(os.Stderr, "srutest: last console lines:\n%s\n", indent(termtext.Clean(out), "  | "))
	}
	if errors.Is(err, context.Canceled) {
		return 130
	}
	return 1
}

// consoleOf returns the console excerpt a boot failure or guest crash
// carries (the error's text is only its title), or "".
func consoleOf(err error) string {
	var be *vm.BootError
	if errors.As(err, &be) {
		return strings.TrimSpace(be.Output)
	}
	var ce *vm.CrashError
	if errors.As(err, &ce) {
		return strings.TrimSpace(ce.Output)
	}
	return ""
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}
