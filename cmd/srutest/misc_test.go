package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/srutest/srutest/vm"
)

func TestShortKeys(t *testing.T) {
	hex := strings.Repeat("0123456789abcdef", 4)
	for in, want := range map[string]string{
		hex: "0123456789ab",
		"linux-image-6.1.0-56-cloud-amd64-unsigned_6.1.192-2_amd64.deb": "linux-image-6.1.0-56-cloud-amd64-unsigned_6.1.192-2_amd64.deb",
		"prune-123456789": "prune-123456789",
		"abc":             "abc",
	} {
		if got := short(in); got != want {
			t.Errorf("short(%q) = %q, want %q", in, got, want)
		}
	}
}

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
