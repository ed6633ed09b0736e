package runner

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"strconv"
)

// guestOverheadMiB is what one QEMU process needs beyond its guest RAM
// (TCG translation cache, device models, the runner's own buffers).
const guestOverheadMiB = 512

// DefaultJobs sizes how many kernels run at once from this host: one per
// host CPU (a TCG guest keeps one core busy; KVM guests idle, but boots and
// image builds still want a core each), no more than the available memory
// holds guests of guestMiB, and at least one.
func DefaultJobs(guestMiB int) int {
	return jobsFor(runtime.NumCPU(), memAvailableMiB(), guestMiB)
}

// jobsFor is DefaultJobs' arithmetic; availMiB ≤ 0 means unknown (no
// memory bound).
func jobsFor(cpus, availMiB, guestMiB int) int {
	n := cpus
	if availMiB > 0 && guestMiB > 0 {
		n = min(n, availMiB/(guestMiB+guestOverheadMiB))
	}
	return max(n, 1)
}

// memAvailableMiB reads MemAvailable from /proc/meminfo (0 if unknown).
func memAvailableMiB() int {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	return parseMemAvailable(data)
}

func parseMemAvailable(meminfo []byte) int {
	sc := bufio.NewScanner(bytes.NewReader(meminfo))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) >= 2 && string(f[0]) == "MemAvailable:" {
			kb, err := strconv.Atoi(string(f[1]))
			if err != nil {
				return 0
			}
			return kb / 1024
		}
	}
	return 0
}
