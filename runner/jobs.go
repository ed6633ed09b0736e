package runner

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// guestOverheadMiB is what one QEMU process needs beyond its guest RAM
// (TCG translation cache, device models, the runner's own buffers).
const guestOverheadMiB = 512

// maxAutoCPUs caps the vCPUs GuestCPUs gives one guest: a guest runs at
// most five cells' processes at once (measured here only up to 2 vCPUs),
// and every vCPU makes the boot's SMP bring-up longer.
const maxAutoCPUs = 4

// GuestCPUs sizes each guest's vCPUs when guests run at once on this host
// with accelerator accel ("kvm" or "tcg", see vm.DetectAccel). Under KVM:
// the host's cores shared among them, at least 1, at most maxAutoCPUs.
// Under TCG: 1. A TCG SMP guest is not safe to test on: QEMU's
// multi-threaded TCG lets one vCPU run code another vCPU is rewriting, and
// the kernel's live patching (text_poke_bp: int3, then the new
// instruction) then traps on an int3 its handler no longer knows. Debian
// 6.12 generic with 2 vCPUs died that way in boot ("Oops: int3" in
// sched_clock_cpu as the sched_clock static key flipped) once in 60 boots
// with two guests on 2 cores, and in CI. It was faster: one 6.1 guest
// alone ran demo.yaml's five cells in 14.3–14.9 s with 2 vCPUs against
// 19.0–20.3 s with 1; --cpus still asks for that, at that risk.
func GuestCPUs(guests int, accel string) int {
	if accel != "kvm" {
		return 1
	}
	return guestCPUsFor(hostCores(), guests)
}

// hostCores is the CPUs this process may use: GOMAXPROCS, which Go sets
// from the CPU affinity and, in a container, from its cgroup's CPU limit
// (NumCPU sees every CPU of the node).
func hostCores() int { return runtime.GOMAXPROCS(0) }

func guestCPUsFor(cores, guests int) int {
	return min(max(cores/max(guests, 1), 1), maxAutoCPUs)
}

// DefaultJobs sizes how many kernels run at once from this host: one per
// host CPU (a TCG guest keeps one core busy; KVM guests idle, but boots and
// image builds still want a core each), no more than the available memory
// holds guests of guestMiB, and at least one. In a container "host" is its
// cgroup: CPUs from its CPU limit (hostCores), memory from its memory limit.
func DefaultJobs(guestMiB int) int {
	return jobsFor(hostCores(), memAvailableMiB(), guestMiB)
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

// memAvailableMiB reads MemAvailable from /proc/meminfo (0 if unknown),
// lowered to what this process's memory cgroup has left below its limit:
// a container sees the node's /proc/meminfo, and guests sized from that
// get the container killed at its limit.
func memAvailableMiB() int {
	avail := 0
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		avail = parseMemAvailable(data)
	}
	if left := cgroupMemLeftMiB(); left > 0 && (avail <= 0 || left < avail) {
		avail = left
	}
	return avail
}

// cgroupMemLeftMiB is the limit minus the usage of the memory cgroup this
// process sees at /sys/fs/cgroup (v2: memory.max, memory.current; v1:
// memory/memory.limit_in_bytes, memory.usage_in_bytes), 0 with no limit
// or when unknown.
func cgroupMemLeftMiB() int {
	for _, f := range [][2]string{
		{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"},
		{"/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"},
	} {
		limit, err1 := os.ReadFile(f[0])
		usage, err2 := os.ReadFile(f[1])
		if err1 == nil && err2 == nil {
			return parseCgroupMemLeft(string(limit), string(usage))
		}
	}
	return 0
}

// noMemLimit: cgroup v1 writes "no limit" as a huge page-aligned number
// (9223372036854771712 on x86-64), v2 as "max".
const noMemLimit = 1 << 60

func parseCgroupMemLeft(limit, usage string) int {
	l, err := strconv.ParseInt(strings.TrimSpace(limit), 10, 64)
	if err != nil || l <= 0 || l >= noMemLimit {
		return 0 // "max", garbage or no limit
	}
	u, err := strconv.ParseInt(strings.TrimSpace(usage), 10, 64)
	if err != nil || u < 0 {
		return 0
	}
	return int(max(l-u, 1<<20) >> 20) // at least 1 MiB: a limit is there, and it is full
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
