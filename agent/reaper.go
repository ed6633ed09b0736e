package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Reaper reaps the orphans that PID 1 inherits (tcpdump started with '&',
// "ip netns exec" children, a shell's background jobs) without stealing
// the exit status of the agent's own commands.
//
// The choice: a global wait4(-1) on SIGCHLD would race with exec.Cmd.Wait
// and make it fail with ECHILD, losing the exit code. Instead the agent
// registers every child it starts (Start holds the lock across
// exec.Cmd.Start, so a child cannot exit and be reaped before it is
// registered) and, on each SIGCHLD, scans /proc for zombies whose parent is
// this process and reaps only those not registered, by pid, with WNOHANG.
// Registered children are reaped by their own exec.Cmd.Wait, then
// unregistered with Done. The scan costs one /proc walk per SIGCHLD burst,
// which is nothing next to the fork that caused it.
//
// A nil *Reaper is valid: it starts commands and never reaps (a process
// that is not PID 1 and not a subreaper has no orphans to reap).
type Reaper struct {
	mu    sync.Mutex
	owned map[int]bool
	proc  string // /proc
	self  int
}

// NewReaper returns a reaper for the calling process's children.
func NewReaper() *Reaper {
	return &Reaper{owned: map[int]bool{}, proc: "/proc", self: os.Getpid()}
}

// Start starts cmd and registers its pid as owned by a caller who will Wait.
func (r *Reaper) Start(cmd *exec.Cmd) error {
	if r == nil {
		return cmd.Start()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return err
	}
	r.owned[cmd.Process.Pid] = true
	return nil
}

// Done unregisters cmd after its Wait returned.
func (r *Reaper) Done(cmd *exec.Cmd) {
	if r == nil || cmd.Process == nil {
		return
	}
	r.mu.Lock()
	delete(r.owned, cmd.Process.Pid)
	r.mu.Unlock()
}

// Run reaps orphans on every SIGCHLD until ctx ends. One scan runs at once
// so that orphans from before Run are not missed.
func (r *Reaper) Run(ctx context.Context) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, unix.SIGCHLD)
	defer signal.Stop(ch)
	for {
		r.ReapOrphans()
		select {
		case <-ctx.Done():
			return
		case <-ch:
		}
	}
}

// ReapOrphans reaps every zombie child that no caller owns and returns
// their pids.
func (r *Reaper) ReapOrphans() []int {
	pids := r.children()
	r.mu.Lock()
	defer r.mu.Unlock()
	var reaped []int
	for _, pid := range pids {
		if r.owned[pid] {
			continue
		}
		data, err := os.ReadFile(filepath.Join(r.proc, strconv.Itoa(pid), "stat"))
		if err != nil {
			continue // gone meanwhile
		}
		st, err := ParseProcStat(data)
		if err != nil || st.State != 'Z' || st.PPid != r.self {
			continue
		}
		var ws unix.WaitStatus
		if got, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil); err == nil && got == pid {
			reaped = append(reaped, pid)
		}
	}
	return reaped
}

// children lists the candidates: this process's children from
// /proc/<self>/task/*/children (CONFIG_PROC_CHILDREN), else every pid in
// /proc. Under TCG the difference matters: a guest has ~70 kernel threads,
// and reading each one's stat on every SIGCHLD made the /proc walk a
// large part of the agent's CPU while five cells ran at once. The
// children file may miss a child that is exiting while it is read; that
// zombie is reaped at the next SIGCHLD scan.
func (r *Reaper) children() []int {
	tasks, _ := filepath.Glob(filepath.Join(r.proc, strconv.Itoa(r.self), "task", "*", "children"))
	var pids []int
	found := false
	for _, t := range tasks {
		data, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		found = true
		for _, f := range strings.Fields(string(data)) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids = append(pids, pid)
			}
		}
	}
	if found {
		return pids
	}
	ents, err := os.ReadDir(r.proc)
	if err != nil {
		return nil
	}
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// ProcStat is the part of /proc/<pid>/stat the reaper needs.
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
