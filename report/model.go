// Package report owns the results model (results.json is canonical) and its
// renderers: terminal matrix, Markdown (Launchpad SRU comment), JUnit, HTML,
// plus compare (before/after) and merge (CI shards).
//
// report reads only this model: it never imports images, vm or scenarios.
package report

import "time"

// SchemaVersion is bumped when results.json changes incompatibly.
const SchemaVersion = 1

// Outcome is the verdict of one kernel × scenario cell.
type Outcome string

const (
	// Pass: the evidence shows the kernel behaves correctly.
	Pass Outcome = "PASS"
	// Fail: the evidence shows the kernel is wrong.
	Fail Outcome = "FAIL"
	// Error: harness, boot, panic, timeout, or the scenario setup was not achieved.
	Error Outcome = "ERROR"
	// Skip: not applicable (e.g. kernel without MPTCP).
	Skip Outcome = "SKIP"
)

// Run is one srutest run: the content of results.json.
type Run struct {
	Schema   int       `json:"schema"`
	Name     string    `json:"name"`             // e.g. YAML file base name or "adhoc"
	Bug      string    `json:"bug,omitempty"`    // bug under verification, e.g. "LP#2125444"
	Series   string    `json:"series,omitempty"` // Ubuntu series (jammy, noble, …) when known
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Host     string    `json:"host,omitempty"`
	Accel    string    `json:"accel,omitempty"` // "kvm" or "tcg"
	CPUs     int       `json:"vcpus,omitempty"` // vCPUs of each guest
	Shard    string    `json:"shard,omitempty"` // "i/n" when sharded
	Kernels  []Kernel  `json:"kernels"`
	// Pairs are the before/after comparisons the plan asked for (series
	// tracks); without them kernels are paired by Role (see Conclusions).
	Pairs []Pair `json:"pairs,omitempty"`
}

// Pair is one before/after comparison of a plan: the bug's history (the
// kernel before the fix against -updates) or the live SRU check (-updates
// against -proposed).
type Pair struct {
	Check  string   `json:"check"`           // "history" or "sru"
	Track  string   `json:"track,omitempty"` // e.g. noble-6.8
	Before string   `json:"before"`          // kernel names
	After  string   `json:"after"`
	Fixes  []string `json:"fixes,omitempty"` // scenarios the after kernel is meant to fix
}

// Kernel is one row of the matrix.
type Kernel struct {
	Name    string `json:"name"`              // label from YAML, or the spec
	Spec    string `json:"spec"`              // kernel spec as given (apt:…, deb:…, ubuntu:…)
	Role    string `json:"role,omitempty"`    // "before" / "after" for SRU pocket comparison
	Pocket  string `json:"pocket,omitempty"`  // e.g. noble-updates
	Version string `json:"version,omitempty"` // package version when known
	Release string `json:"release,omitempty"` // `uname -r` of the booted guest
	Error   string `json:"error,omitempty"`   // image/boot failure that made every cell ERROR
	// Skip says why every cell is SKIP without a boot: nothing to verify
	// (the -proposed pocket has no kernel newer than -updates).
	Skip    string   `json:"skip,omitempty"`
	Notes   []string `json:"notes,omitempty"` // resolver notes: end of life, index fallbacks
	Timings []Timing `json:"timings,omitempty"`
	Cells   []Cell   `json:"cells"`
}

// PhaseBootAndCells is the kernel timing from its first boot's start to
// the end of its last cell: what the kernel's row cost once its image was
// there (bench matrix compares it to the bare-boot floor).
const PhaseBootAndCells = "boot+cells"

// Timing is one named phase with its wall duration. A kernel's timings are,
// in order: the image build phases images.Builder ran for it ("resolve",
// "fetch", "kernel build" for source: specs, "extract", "initramfs",
// "unpack kernel" once per kernel layer; a cached layer skips its phases), "boot#<n>" for each guest boot (n counts
// from 1: a crash, --fresh-guest, a retried boot and each selftest script's
// fresh guest boot again), and PhaseBootAndCells.
// A cell's own time is Cell.Duration.
type Timing struct {
	Phase    string        `json:"phase"`
	Duration time.Duration `json:"duration_ns"`
}

// Cell is one kernel × scenario verdict.
type Cell struct {
	Scenario  string        `json:"scenario"`
	Outcome   Outcome       `json:"outcome"`
	Expected  Outcome       `json:"expected"`
	Reason    string        `json:"reason"`              // one line: why this outcome
	Artifacts string        `json:"artifacts,omitempty"` // directory, relative to results.json
	Duration  time.Duration `json:"duration_ns"`
	Subflows  []Subflow     `json:"subflows,omitempty"`
	Subtests  []Subtest     `json:"subtests,omitempty"` // a kernel selftest script's TAP results
	Console   string        `json:"console,omitempty"`  // console excerpt on crash
	// Repeats lists every run of the cell when it ran more than once
	// (srutest run --repeat N), the first being the cell itself; Flaky is
	// set when their outcomes differ.
	Repeats []Repeat `json:"repeats,omitempty"`
	Flaky   bool     `json:"flaky,omitempty"`
}

// Repeated reports whether any cell ran more than once (--repeat N).
func (r *Run) Repeated() bool {
	for _, k := range r.Kernels {
		for _, c := range k.Cells {
			if len(c.Repeats) > 1 {
				return true
			}
		}
	}
	return false
}

// Repeat is one run of a repeated cell.
type Repeat struct {
	Outcome   Outcome `json:"outcome"`
	Reason    string  `json:"reason,omitempty"`
	Artifacts string  `json:"artifacts,omitempty"`
}

// Matches reports whether the cell came out as expected.
func (c Cell) Matches() bool { return c.Outcome == c.Expected }

// Subflow is the per-subflow evidence behind an MPTCP keepalive verdict.
type Subflow struct {
	Path        string   `json:"path"`  // "path1" / "path2"
	Kind        string   `json:"kind"`  // "initial", "mp_join", "tcp" (fallback)
	Local       string   `json:"local"` // ip:port
	Remote      string   `json:"remote"`
	TimerSeen   bool     `json:"timer_seen"` // ss showed timer:(keepalive,…)
	Probes      int      `json:"probes"`     // keepalive probes counted in the pcap
	IntervalSec float64  `json:"interval_s"` // median interval between probes
	Verdict     Outcome  `json:"verdict"`
	Notes       []string `json:"notes,omitempty"`
	// Timeline is the subflow's packets over time (the HTML report's probe
	// timeline); absent in results written before it existed.
	Timeline *Timeline `json:"timeline,omitempty"`
}

// Timeline is one subflow's captured packets over time. Times are seconds
// since the first packet of any capture of the cell, so the subflows of a
// cell share one time axis.
type Timeline struct {
	// End is the end of the capture: its last packet, or the capture
	// window counted from its first packet when that is later, so a silent
	// subflow shows its silence.
	End float64 `json:"end_s"`
	// IdleFrom is the last packet before the idle period (handshake,
	// greeting); the keepalive timer counts from there: the first probe is
	// expected at IdleFrom + Interval, each next one Interval after the
	// previous probe. Interval is 0 when no keepalive is expected
	// (keepalive-off).
	IdleFrom float64          `json:"idle_from_s"`
	Interval float64          `json:"expected_interval_s"`
	Packets  []TimelinePacket `json:"packets"`
	Omitted  int              `json:"omitted,omitempty"` // packets left out to bound the size
}

// TimelinePacket is one TCP segment of a subflow.
type TimelinePacket struct {
	T     float64 `json:"t"`
	Out   bool    `json:"out,omitempty"`   // client → server
	Kind  string  `json:"kind"`            // syn, synack, fin, rst, data, ack, probe
	Bytes int     `json:"bytes,omitempty"` // TCP payload
}

// Subtest is one TAP test line of a kernel selftest script (one cell per
// script; its subtests are listed here, and one JUnit testcase each).
type Subtest struct {
	Num      int           `json:"num"`
	Name     string        `json:"name"`
	Outcome  Outcome       `json:"outcome"`
	Reason   string        `json:"reason,omitempty"` // TAP directive text (SKIP/IGNORE/TODO reason)
	Duration time.Duration `json:"duration_ns,omitempty"`
}
