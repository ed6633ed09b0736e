package vm

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Temp dirs are named tempPrefix+random and hold ownerFile, the pid of the
// srutest process that made them. Close removes its dir; a srutest killed
// with SIGKILL cannot, and its QEMU dies with it (Pdeathsig), so the next
// launch in the same parent removes dirs whose owner is gone.
const (
	tempPrefix = "srutest-vm-"
	ownerFile  = "owner.pid"
	// ownerGrace protects a dir that was just created and has no owner
	// file yet.
	ownerGrace = time.Minute
)

// writeOwner records this process as the owner of dir.
func writeOwner(dir string) error {
	return os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o600)
}

// sweepStale removes temp dirs in parent whose owner process no longer
// exists, and returns how many it removed. A reused pid only keeps a stale
// dir around longer; a live owner's dir is never touched.
func sweepStale(parent string) int {
	ents, err := os.ReadDir(parent)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range ents {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), tempPrefix) {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			if info, err := e.Info(); err != nil || time.Since(info.ModTime()) < ownerGrace {
				continue
			}
		} else if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err != nil || pid <= 0 ||
			!errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			continue
		}
		if os.RemoveAll(dir) == nil {
			n++
		}
	}
	return n
}
