package agent

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ProcStat is the part of /proc/<pid>/stat the tests need to tell a
// zombie child from a running one.
type ProcStat struct {
	Pid   int
	Comm  string
	State byte // R, S, D, Z, T, …
	PPid  int
}

// ParseProcStat parses /proc/<pid>/stat. The command name is in
// parentheses and may itself contain spaces and parentheses, so the fields
// after it are found from the last ')'.
func ParseProcStat(data []byte) (ProcStat, error) {
	s := strings.TrimRight(string(data), "\n")
	open := strings.IndexByte(s, '(')
	close := strings.LastIndexByte(s, ')')
	if open < 1 || close < open {
		return ProcStat{}, errors.New("proc stat: no (comm)")
	}
	pid, err := strconv.Atoi(strings.TrimSpace(s[:open]))
	if err != nil || pid <= 0 {
		return ProcStat{}, fmt.Errorf("proc stat: bad pid %q", s[:open])
	}
	f := strings.Fields(s[close+1:])
	if len(f) < 2 || len(f[0]) != 1 {
		return ProcStat{}, errors.New("proc stat: no state and ppid after (comm)")
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil || ppid < 0 {
		return ProcStat{}, fmt.Errorf("proc stat: bad ppid %q", f[1])
	}
	return ProcStat{Pid: pid, Comm: s[open+1 : close], State: f[0][0], PPid: ppid}, nil
}
