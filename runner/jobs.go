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

// maxAutoCPUs caps the vCPUs GuestCPUs gives one guest: five cells at once
// keep two or three vCPUs busy at most, and every vCPU makes the boot's
// SMP bring-up longer.
const maxAutoCPUs = 4

// GuestCPUs sizes each guest's vCPUs when guests run at once on this host:
// the host's cores shared among them, at least 1, at most maxAutoCPUs.
// Under TCG a busy vCPU is a busy host thread, and a guest running five
// cells at once is busy the whole time: one guest alone on a 2-core host
// ran demo.yaml's five 6.1 cells in 14.3–14.9 s with 2 vCPUs against
// 19.0–20.3 s with 1; two guests with 2 vCPUs each on the same 2 cores
// were slower than with 1 each (23.7–24.0 s against 21.2–22.8 s).
func GuestCPUs(guests int) int { return guestCPUsFor(runtime.NumCPU(), guests) }

func guestCPUsFor(cores, guests int) int {
	return min(max(cores/max(guests, 1), 1), maxAutoCPUs)
}

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
