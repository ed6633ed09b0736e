package bench

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// BootRatioTarget is the boot benchmark's target (issue 10): boot to
// SSH-ready within 1.15× the bare boot to a userspace marker, measured in
// the same run.
const BootRatioTarget = 1.15

// Boot is one `bench boot` measurement: medians of interleaved boots.
type Boot struct {
	Floor, Ready time.Duration // medians: bare boot to marker, boot to SSH-ready
	Ratio        float64       // Ready / Floor
	OK           bool          // Ratio within BootRatioTarget
}

// SummarizeBoot takes the medians of the marker (floor) and SSH-ready boot
// times and their ratio.
func SummarizeBoot(floor, ready []time.Duration) Boot {
	b := Boot{Floor: Median(floor), Ready: Median(ready)}
	b.Ratio = b.Ready.Seconds() / b.Floor.Seconds()
	b.OK = b.Ratio <= BootRatioTarget
	return b
}

// TimelineSep separates the guest's dmesg from the agent's boot.log in the
// output of the command the boot benchmark runs in the guest.
const TimelineSep = "--- srutest boot.log ---"

// Step is a point of the guest's boot in its own uptime.
type Step struct {
	Step   string
	Uptime float64 // seconds
}

// ParseTimeline picks the kernel's initramfs and /init lines out of dmesg
// and takes the agent's boot.log ("  1.682 agent started") as is.
func ParseTimeline(out string) []Step {
	var steps []Step
	dmesg, agent, _ := strings.Cut(out, TimelineSep)
	for _, l := range strings.Split(dmesg, "\n") {
		var name string
		switch {
		case strings.Contains(l, "Trying to unpack rootfs image as initramfs"):
			name = "kernel: initramfs unpack starts"
		case strings.Contains(l, "Freeing initrd memory"):
			name = "kernel: initramfs unpacked"
		case strings.Contains(l, "Run /init as init process"):
			name = "kernel: runs /init"
		default:
			continue
		}
		open, close := strings.Index(l, "["), strings.Index(l, "]")
		if open < 0 || close < open {
			continue
		}
		if up, err := strconv.ParseFloat(strings.TrimSpace(l[open+1:close]), 64); err == nil {
			steps = append(steps, Step{name, up})
		}
	}
	for _, l := range strings.Split(agent, "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		if up, err := strconv.ParseFloat(f[0], 64); err == nil {
			steps = append(steps, Step{"agent: " + strings.Join(f[1:], " "), up})
		}
	}
	return steps
}

// hostSteps names the vm.Machine timings HostSteps reports, in boot order.
var hostSteps = []struct{ key, step string }{
	{"qmp_ready", "qmp connected"},
	{"agent_ready", "agent's ready line on the console"},
	{"boot_to_ssh", "ssh handshake done (SSH-ready)"},
	{"close", "close: guest gone (duration)"},
}

// HostSteps turns a machine's timings (vm.Machine.Timings: wall time from
// QEMU's start, close as its own duration) into steps, in boot order.
func HostSteps(t map[string]time.Duration) []Step {
	var out []Step
	for _, h := range hostSteps {
		if d, ok := t[h.key]; ok {
			out = append(out, Step{h.step, d.Seconds()})
		}
	}
	return out
}

// MedianTimeline is the per-step median over runs, in first-run order.
func MedianTimeline(runs [][]Step) []Step {
	var order []string
	vals := map[string][]time.Duration{}
	for _, r := range runs {
		for _, s := range r {
			if _, ok := vals[s.Step]; !ok {
				order = append(order, s.Step)
			}
			vals[s.Step] = append(vals[s.Step], time.Duration(s.Uptime*float64(time.Second)))
		}
	}
	var out []Step
	for _, name := range order {
		out = append(out, Step{name, Median(vals[name]).Seconds()})
	}
	return out
}

// Median is the median of ds (the mean of the middle two for an even
// count), 0 for none; ds is not reordered.
func Median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Secs lists durations in seconds with two decimals, space-separated.
func Secs(ds []time.Duration) string {
	var parts []string
	for _, d := range ds {
		parts = append(parts, fmt.Sprintf("%.2f", d.Seconds()))
	}
	return strings.Join(parts, " ")
}
