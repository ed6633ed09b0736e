package bench

import (
	"testing"
	"time"
)

func TestParseTimeline(t *testing.T) {
	out := `[    0.000000] Linux version 6.1.0-56-cloud-amd64
[    0.960163] Trying to unpack rootfs image as initramfs...
[    1.125776] Freeing initrd memory: 39804K
[    1.514365] Run /init as init process
` + TimelineSep + `
   1.682 agent started
   1.806 8 NIC modules loaded
   1.839 ssh listening
`
	got := ParseTimeline(out)
	want := []Step{
		{"kernel: initramfs unpack starts", 0.960163}, {"kernel: initramfs unpacked", 1.125776},
		{"kernel: runs /init", 1.514365}, {"agent: agent started", 1.682},
		{"agent: 8 NIC modules loaded", 1.806}, {"agent: ssh listening", 1.839},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("step %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	med := MedianTimeline([][]Step{{{"a", 1}, {"b", 2}}, {{"a", 3}, {"b", 4}}, {{"a", 2}}})
	if len(med) != 2 || med[0] != (Step{"a", 2}) || med[1] != (Step{"b", 3}) {
		t.Errorf("median timeline %+v", med)
	}
}

func TestSummarizeBoot(t *testing.T) {
	s := time.Second
	ds := []time.Duration{3 * s, 1 * s, 2 * s}
	if got := Median(ds); got != 2*s || ds[0] != 3*s {
		t.Errorf("Median %v (input now %v)", got, ds)
	}
	if got := Median([]time.Duration{4 * s, 1 * s, 2 * s, 3 * s}); got != 2500*time.Millisecond {
		t.Errorf("even Median %v", got)
	}
	if Median(nil) != 0 {
		t.Error("Median of nothing")
	}
	b := SummarizeBoot([]time.Duration{2 * s, 2 * s, 4 * s}, []time.Duration{2250 * time.Millisecond, 9 * s, 2 * s})
	if b.Floor != 2*s || b.Ready != 2250*time.Millisecond || b.Ratio != 1.125 || !b.OK {
		t.Errorf("at target: %+v", b)
	}
	if b := SummarizeBoot([]time.Duration{2 * s}, []time.Duration{2400 * time.Millisecond}); b.OK {
		t.Errorf("above target: %+v", b)
	}
	if got := Secs([]time.Duration{1500 * time.Millisecond, 2 * s}); got != "1.50 2.00" {
		t.Errorf("Secs %q", got)
	}
}

func TestHostSteps(t *testing.T) {
	got := HostSteps(map[string]time.Duration{
		"close": 300 * time.Millisecond, "boot_to_ssh": 2500 * time.Millisecond,
		"agent_ready": 2200 * time.Millisecond, "unknown": time.Second,
	})
	want := []Step{{"agent's ready line on the console", 2.2}, {"ssh handshake done (SSH-ready)", 2.5}, {"close: guest gone (duration)", 0.3}}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("step %d: %v, want %v", i, got[i], want[i])
		}
	}
}
