package scenarios

import (
	"fmt"
	"strconv"
	"strings"
)

// A part is one command of a cell that runs with others in one guest
// shell. Each SSH exec costs the one-vCPU TCG guest a channel, a shell and
// the agent's bookkeeping (~50–60 ms alone, several times that with five
// cells at once); a cell used to make ~30 of them (17 commands, 12 pulls).
// Commands that follow each other without the host deciding anything in
// between now share one exec, framed so that each still has its own
// output and exit code in the cell's commands.log and artifacts.
type part struct {
	name string
	cmd  string
	// errFile, when set, is a guest file that takes the part's stderr
	// instead of its output (ss prints warnings such as "Failed to find
	// cgroup2 mount" that are not part of its table); what it holds is
	// framed after the exit line and comes back as partOutput.err.
	errFile string
}

// partOutput is what one part printed (stdout and stderr, in order) and
// its exit code. ran is false when the script stopped before the part.
type partOutput struct {
	out  []byte
	err  []byte // stderr, for parts with errFile
	code int
	ran  bool
}

const (
	partBegin  = "@@srutest-part "
	partEnd    = "@@srutest-exit "
	partErr    = "@@srutest-stderr "
	partErrEnd = "@@srutest-stderr-end "
)

// multiScript runs parts in order in one shell. Each part's stdout and
// stderr go, in order, between a begin line and an end line carrying its
// exit code; the newline printed before the end line is removed by
// splitParts, so a part's output is byte for byte what it printed. With
// stopOnFail the script ends at the first part that exits non-zero, with
// that code (the parts after it did not run). Part names are single
// words.
//
// A part runs in a brace group of the script's own shell, not in a
// subshell: a subshell is a fork, ~12 ms of a quiet one-vCPU TCG guest
// each, and a cell's parts that end in a shell builtin (its waits, kill)
// paid it ~6 times per cell, five cells at once. So a part must not call
// exit (that would end the script: splitParts then shows the part cut
// off, code -1) nor change shell options (a `set -e` would hold for every
// later part; setup, which uses it, is its own exec), and shell variables
// it sets are seen by later parts.
// For the same reason an errFile is left in the work dir (overwritten by
// the next run, removed with the cell's dir) instead of an rm per part.
func multiScript(stopOnFail bool, parts ...part) string {
	var b strings.Builder
	for _, p := range parts {
		redir := "2>&1"
		if p.errFile != "" {
			redir = "2>" + p.errFile
		}
		// The guest's uptime (a builtin read, no process) at both ends
		// puts each part's duration in commands.log.
		cmd := p.cmd
		if strings.TrimSpace(cmd) == "" {
			cmd = ":" // an empty brace group is a syntax error
		}
		fmt.Fprintf(&b, "read u _ </proc/uptime; echo \"%s%s $u\"\n{\n%s\n} %s\nrc=$?\nread u _ </proc/uptime; echo; echo \"%s%s $rc $u\"\n", partBegin, p.name, cmd, redir, partEnd, p.name)
		if p.errFile != "" {
			// Shell builtins only: no process for an empty stderr.
			fmt.Fprintf(&b, "if [ -s %[1]s ]; then echo '%[2]s%[3]s'; while IFS= read -r l || [ -n \"$l\" ]; do echo \"$l\"; done < %[1]s; echo '%[4]s%[3]s'; fi\n",
				p.errFile, partErr, p.name, partErrEnd)
		}
		if stopOnFail {
			b.WriteString("[ $rc = 0 ] || exit $rc\n")
		}
	}
	return b.String()
}

// splitParts cuts a multiScript's stdout into its parts' outputs by name.
// Text outside the frames (there is none unless the shell itself
// complained) is ignored; a part whose end line is missing (the guest
// command was cut off) has ran set and code -1.
func splitParts(stdout []byte) map[string]partOutput {
	res := map[string]partOutput{}
	var cur, errOf string
	var buf, errBuf []byte
	in := false
	for _, line := range strings.SplitAfter(string(stdout), "\n") {
		trimmed := strings.TrimSuffix(line, "\n")
		switch {
		case errOf != "" && trimmed == partErrEnd+errOf:
			p := res[errOf]
			p.err = errBuf
			res[errOf] = p
			errOf = ""
		case errOf != "":
			errBuf = append(errBuf, line...)
		case !in && cur != "" && trimmed == partErr+cur:
			errOf, errBuf = cur, nil
		case strings.HasPrefix(trimmed, partBegin) && !in:
			cur, _, _ = strings.Cut(strings.TrimPrefix(trimmed, partBegin), " ")
			buf, in = nil, true
			res[cur] = partOutput{code: -1, ran: true}
		case in && strings.HasPrefix(trimmed, partEnd+cur+" "):
			rc, _, _ := strings.Cut(strings.TrimPrefix(trimmed, partEnd+cur+" "), " ")
			code, err := strconv.Atoi(rc)
			if err != nil {
				code = -1
			}
			// Drop the newline echoed before the end line.
			buf = buf[:max(len(buf)-1, 0)]
			res[cur] = partOutput{out: buf, code: code, ran: true}
			in = false
		case in:
			buf = append(buf, line...)
		}
	}
	if in {
		res[cur] = partOutput{out: buf, code: -1, ran: true}
	}
	return res
}
