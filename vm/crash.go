package vm

import (
	"bytes"
	"regexp"
	"strings"
)

// printkPrefix matches what printk puts before a message on the console:
// an optional "<level>", the "[  12.345678]" timestamp and, with
// CONFIG_PRINTK_CALLER, a "[  T123]" caller id.
var printkPrefix = regexp.MustCompile(`^(<\d+>)?(\[\s*\d+\.\d+\])?(\[\s*[TC]\d+\])?\s*`)

// crashPatterns match the first line of a kernel crash report, after
// [printkPrefix] is removed. Each is anchored where the kernel's format
// allows it, so that ordinary log lines mentioning the words do not match.
var crashPatterns = []*regexp.Regexp{
	regexp.MustCompile(`^Kernel panic - not syncing`),
	regexp.MustCompile(`kernel BUG at `),
	// "BUG: kernel NULL pointer dereference", "watchdog: BUG: soft lockup - CPU#0 stuck".
	regexp.MustCompile(`^(\S+: )?BUG: `),
	// "Oops: 0000 [#1] SMP PTI", "Oops: general protection fault, …" (6.12).
	regexp.MustCompile(`^Oops\b`),
	// Kernel-mode GPF. A userspace GPF is logged as "traps: prog[pid] general
	// protection fault ip:…" and is not a kernel crash: it does not match.
	regexp.MustCompile(`^general protection fault`),
	// "WARNING: CPU: 0 PID: 1 at net/mptcp/…", "WARNING: possible circular locking dependency detected".
	regexp.MustCompile(`^WARNING: `),
	regexp.MustCompile(`soft lockup - CPU#`),
	regexp.MustCompile(`hard LOCKUP`),
	// hung_task: "INFO: task kworker/0:1:12 blocked for more than 120 seconds."
	regexp.MustCompile(`^INFO: task .* blocked for more than \d+ seconds`),
	// RCU stalls: "rcu: INFO: rcu_preempt self-detected stall on CPU",
	// "rcu: INFO: rcu_sched detected stalls on CPUs/tasks:".
	regexp.MustCompile(`^(rcu: )?INFO: rcu_\w+ (self-)?detected stall`),
}

// callTrace is a stack dump. It is a crash sign on its own (a crashed
// kernel may lose the header line), but a header above it makes a better
// title.
var callTrace = regexp.MustCompile(`^Call Trace:`)

// maxTitle bounds a title: it is shown in one matrix cell.
const maxTitle = 160

// consoleMessage strips the printk prefix and trailing CR from one line.
func consoleMessage(line []byte) []byte {
	line = bytes.TrimRight(line, "\r\n")
	return printkPrefix.ReplaceAll(line, nil)
}

// isCrashLine reports whether one console line is a crash sign (a header
// or a Call Trace).
func isCrashLine(line []byte) bool {
	msg := consoleMessage(line)
	if callTrace.Match(msg) {
		return true
	}
	for _, re := range crashPatterns {
		if re.Match(msg) {
			return true
		}
	}
	return false
}

// ParseCrash classifies a console log: the title of the first kernel crash
// in it and true, or "" and false. A crash header (BUG:, Oops, panic,
// WARNING:, GPF, soft/hard lockup, hung task, RCU stall) wins over a bare
// Call Trace, whose title then names the first frame.
func ParseCrash(console []byte) (title string, ok bool) {
	lines := bytes.Split(console, []byte("\n"))
	trace := -1
	for i, line := range lines {
		msg := consoleMessage(line)
		for _, re := range crashPatterns {
			if re.Match(msg) {
				return crashTitle(string(msg)), true
			}
		}
		if trace < 0 && callTrace.Match(msg) {
			trace = i
		}
	}
	if trace < 0 {
		return "", false
	}
	title = "Call Trace"
	for _, line := range lines[trace+1:] {
		frame := strings.TrimSpace(string(consoleMessage(line)))
		frame = strings.TrimPrefix(frame, "? ")
		if frame == "" || strings.HasPrefix(frame, "<") {
			continue // "<TASK>", "<IRQ>"
		}
		title += ": " + frame
		break
	}
	return crashTitle(title), true
}

// crashTitle makes one printable, bounded line.
func crashTitle(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
	s = strings.TrimSpace(s)
	if len(s) > maxTitle {
		s = strings.ToValidUTF8(s[:maxTitle], "") + "…"
	}
	return s
}

// tailLines returns the last n lines of b (without a trailing newline).
func tailLines(b []byte, n int) string {
	b = bytes.TrimRight(b, "\n")
	if n <= 0 || len(b) == 0 {
		return ""
	}
	i := len(b)
	for k := 0; k < n; k++ {
		j := bytes.LastIndexByte(b[:i], '\n')
		if j < 0 {
			return string(b)
		}
		i = j
	}
	return string(b[i+1:])
}

// crashExcerpt returns the console from a few lines before the first crash
// line on, at most maxLines lines, or false when there is no crash line.
// A bare tail would cut a long report's head (the title and the trace start
// are what a reader needs).
func crashExcerpt(console []byte, before, maxLines int) (string, bool) {
	lines := bytes.Split(bytes.TrimRight(console, "\n"), []byte("\n"))
	first := -1
	for i, line := range lines {
		if isCrashLine(line) {
			first = i
			break
		}
	}
	if first < 0 {
		return "", false
	}
	start := max(0, first-before)
	end := min(len(lines), start+maxLines)
	return string(bytes.Join(lines[start:end], []byte("\n"))), true
}
