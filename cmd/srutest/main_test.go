package main

import (
	"fmt"
	"testing"

	"github.com/srutest/srutest/vm"
)

func TestConsoleOf(t *testing.T) {
	be := &vm.BootError{Title: "qemu exited", Output: "[ 1.0] Linux\nSRUTEST-AGENT-ERROR: network\n"}
	if got := consoleOf(fmt.Errorf("boot: %w", be)); got != "[ 1.0] Linux\nSRUTEST-AGENT-ERROR: network" {
		t.Errorf("BootError: %q", got)
	}
	if got := consoleOf(&vm.CrashError{Title: "BUG", Output: "Call Trace:\n"}); got != "Call Trace:" {
		t.Errorf("CrashError: %q", got)
	}
	if got := consoleOf(fmt.Errorf("plain")); got != "" {
		t.Errorf("plain error: %q", got)
	}
	if got := indent("a\nb", "  | "); got != "  | a\n  | b" {
		t.Errorf("indent: %q", got)
	}
}
