package vm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseCrash(t *testing.T) {
	tests := []struct {
		file  string
		title string // "" = no crash
	}{
		{"debian-6.1-clean-boot.log", ""},
		{"constructed-noise-only.log", ""},
		{"debian-6.1-noroot-panic.log", "Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)"},
		{"debian-6.12-noroot-panic.log", "Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)"},
		{"debian-6.1-sysrq-c.log", "Kernel panic - not syncing: sysrq triggered crash"},
		{"debian-6.12-sysrq-c.log", "Kernel panic - not syncing: sysrq triggered crash"},
		{"constructed-6.1-null-deref.log", "BUG: kernel NULL pointer dereference, address: 0000000000000008"},
		{"constructed-6.12-warning.log", "WARNING: CPU: 0 PID: 301 at net/mptcp/protocol.c:1371 mptcp_sendmsg_frag+0x6d4/0x7b0"},
		{"constructed-6.1-soft-lockup.log", "watchdog: BUG: soft lockup - CPU#0 stuck for 26s! [srutest-pair:311]"},
		{"constructed-6.1-hung-task.log", "INFO: task kworker/u2:1:45 blocked for more than 120 seconds."},
		{"constructed-5.15-gpf.log", "general protection fault, probably for non-canonical address 0xdead000000000122: 0000 [#1] SMP NOPTI"},
		{"constructed-6.12-bug-at.log", "kernel BUG at net/core/skbuff.c:212!"},
		{"constructed-6.8-rcu-stall.log", "rcu: INFO: rcu_preempt self-detected stall on CPU"},
		{"constructed-bare-call-trace.log", "Call Trace: dump_stack_lvl+0x44/0x5c"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			title, ok := ParseCrash(data)
			if ok != (tt.title != "") || title != tt.title {
				t.Errorf("ParseCrash = %q, %v; want %q", title, ok, tt.title)
			}
			// The watcher's line test must agree with the whole-log parser.
			any := false
			for _, line := range strings.Split(string(data), "\n") {
				any = any || isCrashLine([]byte(line))
			}
			if any != ok {
				t.Errorf("isCrashLine on some line = %v, ParseCrash ok = %v", any, ok)
			}
		})
	}
}

func TestParseCrashLines(t *testing.T) {
	tests := []struct {
		log, title string
	}{
		{"[    5.000000][  T123] BUG: unable to handle page fault for address: ffffed1000000000\r\n", "BUG: unable to handle page fault for address: ffffed1000000000"},
		{"<4>[ 1.0] WARNING: possible circular locking dependency detected\n", "WARNING: possible circular locking dependency detected"},
		{"[ 9.1] Oops: general protection fault, probably for non-canonical address 0x6b6b6b6b6b6b6b6b: 0000 [#1] PREEMPT SMP NOPTI\n", "Oops: general protection fault, probably for non-canonical address 0x6b6b6b6b6b6b6b6b: 0000 [#1] PREEMPT SMP NOPTI"},
		{"[ 3.3] NMI watchdog: Watchdog detected hard LOCKUP on cpu 1\n", "NMI watchdog: Watchdog detected hard LOCKUP on cpu 1"},
		{"[ 3.3] rcu: INFO: rcu_sched detected stalls on CPUs/tasks:\n", "rcu: INFO: rcu_sched detected stalls on CPUs/tasks:"},
		{"Call Trace:\n", "Call Trace"},
		{"[ 1.0] WARNING: " + strings.Repeat("x", 300) + "\n", "WARNING: " + strings.Repeat("x", maxTitle-len("WARNING: ")) + "…"},
		{"[ 1.0] segfault at 0 ip 0000 sp 0000 error 4\n", ""},
		{"[ 1.0] Booting paravirtualized kernel on bare hardware\n", ""},
		{"", ""},
	}
	for _, tt := range tests {
		title, ok := ParseCrash([]byte(tt.log))
		if ok != (tt.title != "") || title != tt.title {
			t.Errorf("ParseCrash(%q) = %q, %v; want %q", tt.log, title, ok, tt.title)
		}
	}
}

func TestTailLines(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"a\nb\nc\n", 2, "b\nc"},
		{"a\nb\nc", 2, "b\nc"},
		{"a\nb\nc\n", 5, "a\nb\nc"},
		{"a\nb\nc\n", 0, ""},
		{"", 3, ""},
	}
	for _, tt := range tests {
		if got := tailLines([]byte(tt.in), tt.n); got != tt.want {
			t.Errorf("tailLines(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func FuzzParseCrash(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.log")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("Call Trace:\n <TASK>\n"))
	f.Add([]byte("[  1.0] BUG: \xff\x00\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		title, ok := ParseCrash(data)
		if !ok {
			if title != "" {
				t.Fatalf("no crash but title %q", title)
			}
			return
		}
		if title == "" || !utf8.ValidString(title) || strings.ContainsAny(title, "\n\r\x00") ||
			len(title) > maxTitle+len("…") {
			t.Fatalf("bad title %q", title)
		}
		found := false
		for _, line := range strings.Split(string(data), "\n") {
			found = found || isCrashLine([]byte(line))
		}
		if !found {
			t.Fatalf("ParseCrash found %q but no line is a crash line", title)
		}
	})
}

func TestCrashExcerpt(t *testing.T) {
	data, err := os.ReadFile("testdata/debian-6.1-sysrq-c.log")
	if err != nil {
		t.Fatal(err)
	}
	got, ok := crashExcerpt(data, 2, 10)
	lines := strings.Split(got, "\n")
	if !ok || len(lines) != 10 || !strings.Contains(lines[2], "Kernel panic - not syncing: sysrq triggered crash") ||
		!strings.Contains(got, "Call Trace:") {
		t.Errorf("excerpt:\n%s", got)
	}
	if _, ok := crashExcerpt([]byte("a\nb\n"), 2, 10); ok {
		t.Error("excerpt from a clean log")
	}
}
