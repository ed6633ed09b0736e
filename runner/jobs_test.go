package runner

import "testing"

func TestJobsFor(t *testing.T) {
	for _, tc := range []struct {
		cpus, avail, guest, want int
	}{
		{2, 22000, 1024, 2}, // this machine: 2 cores, plenty of memory
		{16, 6000, 1024, 3}, // memory-bound: 6000 / 1536
		{16, 1000, 1024, 1}, // not even one guest fits: still one
		{8, 0, 1024, 8},     // memory unknown: cores decide
		{1, 64000, 2048, 1}, // one core
		{0, 64000, 1024, 1}, // nonsense input: at least one
	} {
		if got := jobsFor(tc.cpus, tc.avail, tc.guest); got != tc.want {
			t.Errorf("jobsFor(%d cpus, %d MiB, %d MiB guests) = %d, want %d", tc.cpus, tc.avail, tc.guest, got, tc.want)
		}
	}
}

func TestGuestCPUsFor(t *testing.T) {
	for _, tc := range []struct{ cores, guests, want int }{
		{2, 1, 2},  // this machine, one kernel (bisect, boot, a single --kernel)
		{2, 2, 1},  // this machine, the demo's two kernels at once
		{2, 3, 1},  // more guests than cores: never below one
		{8, 2, 4},  // plenty of cores: capped
		{64, 1, 4}, // capped
		{6, 4, 1},
		{2, 0, 2}, // nonsense input: as for one guest
		{0, 1, 1},
	} {
		if got := guestCPUsFor(tc.cores, tc.guests); got != tc.want {
			t.Errorf("guestCPUsFor(%d cores, %d guests) = %d, want %d", tc.cores, tc.guests, got, tc.want)
		}
	}
	// Under TCG every guest gets one vCPU, however many cores are idle.
	for _, guests := range []int{0, 1, 2, 8} {
		if got := GuestCPUs(guests, "tcg"); got != 1 {
			t.Errorf("GuestCPUs(%d, tcg) = %d, want 1", guests, got)
		}
	}
	if got, want := GuestCPUs(1, "kvm"), guestCPUsFor(hostCores(), 1); got != want {
		t.Errorf("GuestCPUs(1, kvm) = %d, want %d", got, want)
	}
}

func TestParseMemAvailable(t *testing.T) {
	meminfo := []byte("MemTotal:       24609276 kB\nMemFree:        21823084 kB\nMemAvailable:   22912344 kB\nBuffers:          123 kB\n")
	if got := parseMemAvailable(meminfo); got != 22375 {
		t.Errorf("got %d MiB", got)
	}
	if got := parseMemAvailable([]byte("MemTotal: 1 kB\n")); got != 0 {
		t.Errorf("no MemAvailable: got %d", got)
	}
}

func TestParseCgroupMemLeft(t *testing.T) {
	for _, tc := range []struct {
		limit, usage string
		want         int
	}{
		{"4294967296\n", "1073741824\n", 3072},               // v2, a 4 GiB pod using 1 GiB
		{"max\n", "1073741824\n", 0},                         // v2, no limit
		{"9223372036854771712\n", "5972451328\n", 0},         // v1, no limit (this machine)
		{"4294967296\n", "4294967296\n", 1},                  // full: a limit, nothing left
		{"4294967296\n", "5000000000\n", 1},                  // over it
		{"", "1", 0}, {"4294967296", "x", 0}, {"-1", "1", 0}, // garbage
	} {
		if got := parseCgroupMemLeft(tc.limit, tc.usage); got != tc.want {
			t.Errorf("parseCgroupMemLeft(%q, %q) = %d, want %d", tc.limit, tc.usage, got, tc.want)
		}
	}
	// A 4 GiB pod on a 256 GiB node: one 1 GiB guest, not the node's worth.
	if got := jobsFor(64, parseCgroupMemLeft("4294967296", "1073741824"), 1024); got != 2 {
		t.Errorf("jobs in a 4 GiB pod using 1 GiB: %d, want 2", got)
	}
}

func FuzzParseMemAvailable(f *testing.F) {
	f.Add([]byte("MemAvailable:   22912344 kB\n"))
	f.Add([]byte("MemAvailable:\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if parseMemAvailable(data) < 0 && !bytesHasMinus(data) {
			t.Errorf("negative without a minus sign")
		}
	})
}

func bytesHasMinus(b []byte) bool {
	for _, c := range b {
		if c == '-' {
			return true
		}
	}
	return false
}

func FuzzParseCgroupMemLeft(f *testing.F) {
	f.Add("4294967296\n", "1073741824\n")
	f.Add("max\n", "1\n")
	f.Add("9223372036854771712", "5972451328")
	f.Fuzz(func(t *testing.T, limit, usage string) {
		if got := parseCgroupMemLeft(limit, usage); got < 0 || got > 1<<40 {
			t.Errorf("parseCgroupMemLeft(%q, %q) = %d", limit, usage, got)
		}
	})
}
