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
	Shard    string    `json:"shard,omitempty"` // "i/n" when sharded
	Kernels  []Kernel  `json:"kernels"`
}

// Kernel is one row of the matrix.
type Kernel struct {
	Name    string   `json:"name"`              // label from YAML, or the spec
	Spec    string   `json:"spec"`              // kernel spec as given (apt:…, deb:…, ubuntu:…)
	Role    string   `json:"role,omitempty"`    // "before" / "after" for SRU pocket comparison
	Pocket  string   `json:"pocket,omitempty"`  // e.g. noble-updates
	Version string   `json:"version,omitempty"` // package version when known
	Release string   `json:"release,omitempty"` // `uname -r` of the booted guest
	Error   string   `json:"error,omitempty"`   // image/boot failure that made every cell ERROR
	Timings []Timing `json:"timings,omitempty"`
	Cells   []Cell   `json:"cells"`
}

// PhaseBootAndCells is the kernel timing from its first boot's start to
// the end of its last cell: what the kernel's row cost once its image was
// there (bench matrix compares it to the bare-boot floor).
const PhaseBootAndCells = "boot+cells"

// Timing is one named phase with its wall duration.
type Timing struct {
	Phase    string        `json:"phase"` // resolve, fetch, image, boot, scenario:<name>
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
	Console   string        `json:"console,omitempty"` // console excerpt on crash
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
}
