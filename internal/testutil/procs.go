package testutil

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// ProcsWithEnv returns the pids of live processes (zombies excluded) whose
// environment holds the exact entry kv ("KEY=value"). Tests tag the
// children they cause with a unique entry and look for survivors with it:
// every descendant inherits the environment, whatever its name.
func ProcsWithEnv(kv string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	want := []byte(kv)
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue
		}
		found := false
		for _, v := range bytes.Split(env, []byte{0}) {
			if bytes.Equal(v, want) {
				found = true
				break
			}
		}
		if !found {
			continue
		}
		if st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil {
			if i := bytes.LastIndexByte(st, ')'); i > 0 && i+2 < len(st) && st[i+2] == 'Z' {
				continue
			}
		}
		pids = append(pids, pid)
	}
	return pids
}

// WaitNoProcsWithEnv fails tb unless every process tagged with kv is gone
// within d (the kernel delivers SIGKILL at once; d covers a loaded host).
// Survivors are killed before failing, so one failure leaves no mess.
func WaitNoProcsWithEnv(tb testing.TB, kv string, d time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for {
		left := ProcsWithEnv(kv)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			var desc []string
			for _, pid := range left {
				cmd, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
				desc = append(desc, strconv.Itoa(pid)+" "+string(bytes.ReplaceAll(cmd, []byte{0}, []byte{' '})))
				if p, err := os.FindProcess(pid); err == nil {
					p.Kill()
				}
			}
			tb.Fatalf("%d processes outlived srutest after %s: %q", len(left), d, desc)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
