package plan

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/srutest/srutest/report"
)

// Kernel is one kernel of the plan with the scenarios to run on it.
type Kernel struct {
	Name      string
	Spec      string
	Role      string
	Pocket    string // "<series>-<pocket>" for ubuntu entries
	Scenarios []Item
	// NewerThan, when set, is the spec of the kernel this one must be newer
	// than to be worth running (-proposed against -updates): the runner
	// resolves both first and, when there is nothing newer (or nothing at
	// all), makes every cell SKIP with that reason instead of booting.
	NewerThan string
	// AutoName: the name was made up from the spec (DefaultName); the
	// runner may replace it with one naming the resolved ABI.
	AutoName bool
}

// Item is one cell to run.
type Item struct {
	Scenario string
	Expected report.Outcome
}

// Plan is the expanded, filtered, sharded work list.
type Plan struct {
	Name        string
	Series      string
	Bug         string // e.g. "LP#2125444": titles the reports
	Kernels     []Kernel
	Reproducers []Repro
	Selftests   []Selftests // kernel selftest suites: their columns are added by the runner once built
	// Pairs are the before/after comparisons the conclusions judge
	// (tracks); legacy role: before/after kernels are paired by the report.
	Pairs []report.Pair
}

// Options narrow the plan.
type Options struct {
	Scenarios    []string // run only these (default: file's list, else Default)
	KernelFilter string   // substring of kernel name or spec
	// Checks selects what tracks expand to: CheckHistory, CheckSRU (nil:
	// both).
	Checks []string
	Shard  Shard
}

// Shard selects every n-th kernel (1-based index i of n). Kernels, not cells,
// are sharded: a guest boot is the expensive part, so a kernel's scenarios
// stay together.
type Shard struct{ Index, Count int }

// ParseShard parses "i/n".
func ParseShard(s string) (Shard, error) {
	if s == "" {
		return Shard{1, 1}, nil
	}
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 1 || i > n {
		return Shard{}, fmt.Errorf("shard %q: want i/n with 1 ≤ i ≤ n", s)
	}
	return Shard{i, n}, nil
}

// ShardAuto is the --shard value that takes the shard from the
// environment of a Kubernetes Indexed Job (see [ShardFromEnv]).
const ShardAuto = "auto"

// Environment of --shard auto. Kubernetes sets JOB_COMPLETION_INDEX
// (0-based) in every pod of an Indexed Job; the completions count is not
// exposed to the pod, so the manifest passes it as SRUTEST_SHARDS.
const (
	EnvCompletionIndex = "JOB_COMPLETION_INDEX"
	EnvShards          = "SRUTEST_SHARDS"
)

// ShardFromEnv is the shard of an Indexed Job pod: index
// JOB_COMPLETION_INDEX+1 of SRUTEST_SHARDS. getenv is os.Getenv in
// production. Both variables are required: a pod that would silently run
// the whole plan (or the wrong slice) is worse than one that fails.
func ShardFromEnv(getenv func(string) string) (Shard, error) {
	idx, count := getenv(EnvCompletionIndex), getenv(EnvShards)
	if idx == "" || count == "" {
		return Shard{}, fmt.Errorf("--shard auto needs %s (set by a Kubernetes Indexed Job) and %s (the Job's completions): got %q and %q",
			EnvCompletionIndex, EnvShards, idx, count)
	}
	i, err1 := strconv.Atoi(idx)
	n, err2 := strconv.Atoi(count)
	if err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("--shard auto: %s=%q, %s=%q: want 0 ≤ index < count", EnvCompletionIndex, idx, EnvShards, count)
	}
	return Shard{i + 1, n}, nil
}

// String renders the shard as "i/n" ("" for the whole run).
func (s Shard) String() string {
	if s.Count <= 1 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// Expand turns a file into a plan. defaults is the scenario list used when
// neither the file nor opts name any.
func (f *File) Expand(opts Options, defaults []string) (*Plan, error) {
	p := &Plan{Name: f.Name, Series: f.Series, Bug: f.Bug}
	// Reproducer files are named relative to the plan file.
	for _, r := range f.Reproducers {
		r.Files = slices.Clone(r.Files)
		for i, file := range r.Files {
			if f.path != "" && !filepath.IsAbs(file) {
				r.Files[i] = filepath.Join(filepath.Dir(f.path), file)
			}
		}
		p.Reproducers = append(p.Reproducers, r)
	}
	if p.Name == "" && f.path != "" {
		p.Name = strings.TrimSuffix(baseName(f.path), ".yaml")
	}
	scen := defaults
	suites := f.selftestNames()
	var listedSuites []string // suites the file's scenarios: list names
	if len(f.Scenarios) > 0 {
		scen = nil
		for _, s := range f.Scenarios {
			if slices.Contains(suites, s.Value) {
				listedSuites = append(listedSuites, s.Value)
				continue
			}
			scen = append(scen, s.Value)
		}
		suites = listedSuites
	}
	for _, r := range f.Reproducers {
		if len(f.Scenarios) == 0 {
			scen = append(scen, r.Name)
		}
	}
	keep := suites
	if len(opts.Scenarios) > 0 {
		keep = nil
		for _, s := range opts.Scenarios {
			if slices.Contains(suites, s) {
				keep = append(keep, s)
			}
		}
	}
	p.Selftests = f.expandSelftests(keep)
	if len(opts.Scenarios) > 0 {
		allowed := map[string]bool{}
		for _, s := range scen {
			allowed[s] = true
		}
		var picked []string
		for _, s := range opts.Scenarios {
			if slices.Contains(suites, s) {
				continue // a selftest suite, kept above
			}
			if !allowed[s] {
				return nil, fmt.Errorf("scenario %q is not part of this plan (have: %s)", s, strings.Join(append(scen, suites...), ", "))
			}
			picked = append(picked, s)
		}
		scen = picked
	}
	shard := opts.Shard
	if shard.Count == 0 {
		shard = Shard{1, 1}
	}
	checks := opts.Checks
	if len(checks) == 0 {
		checks = []string{CheckHistory, CheckSRU}
	}
	var all []trackKernel
	for _, k := range f.Kernels {
		spec := k.Spec(f.Archive)
		pk := Kernel{Name: k.Name, Spec: spec, Role: k.Role, AutoName: k.Name == DefaultName(spec) && k.Ubuntu != nil && k.Ubuntu.ABI == ""}
		if k.Ubuntu != nil {
			pk.Pocket = k.Ubuntu.Series
			if k.Ubuntu.Pocket != "release" {
				pk.Pocket += "-" + k.Ubuntu.Pocket
			}
		}
		for _, s := range scen {
			exp := report.Pass
			if o, ok := k.Expect.ByScenario[s]; ok {
				exp = report.Outcome(o)
			}
			pk.Scenarios = append(pk.Scenarios, Item{Scenario: s, Expected: exp})
		}
		all = append(all, trackKernel{Kernel: pk})
	}
	for i := range f.Tracks {
		all = append(all, f.Tracks[i].kernels(f.Archive, scen, checks)...)
	}
	idx := 0
	for _, k := range all {
		if opts.KernelFilter != "" && !strings.Contains(k.Name, opts.KernelFilter) && !strings.Contains(k.Spec, opts.KernelFilter) {
			continue
		}
		idx++
		// Every shard knows every comparison, so merged shards conclude.
		p.Pairs = append(p.Pairs, k.pairs...)
		if (idx-1)%shard.Count != shard.Index-1 {
			continue
		}
		p.Kernels = append(p.Kernels, k.Kernel)
	}
	if idx == 0 {
		return nil, fmt.Errorf("no kernel matches filter %q", opts.KernelFilter)
	}
	return p, nil
}

// Adhoc builds a plan from kernel specs given on the command line: every
// scenario of known on each kernel, or only those of scen, each of which
// must be one of known.
func Adhoc(specs, scen, known []string) (*Plan, error) {
	for _, s := range scen {
		if !slices.Contains(known, s) {
			return nil, fmt.Errorf("unknown scenario %q (see srutest scenarios)", s)
		}
	}
	if len(scen) == 0 {
		scen = known
	}
	p := &Plan{Name: "adhoc"}
	for _, s := range specs {
		name := DefaultName(s)
		k := Kernel{Name: name, Spec: s, AutoName: name != s && !strings.Contains(s, "abi=")}
		for _, sc := range scen {
			k.Scenarios = append(k.Scenarios, Item{Scenario: sc, Expected: report.Pass})
		}
		p.Kernels = append(p.Kernels, k)
	}
	return p, nil
}

func baseName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}
