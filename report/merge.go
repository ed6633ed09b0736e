package report

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// ConflictError says two merge inputs hold the same kernel × scenario cell.
type ConflictError struct {
	Kernel, Scenario string
	First, Second    string // the inputs, e.g. `shard 1/2 (input 1)`
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("merge: %s × %s is in both %s and %s", e.Kernel, e.Scenario, e.First, e.Second)
}

// Merge combines the results of CI shards of one run into one Run without
// modifying its inputs. All inputs must have the same name (and series and
// bug when set). Kernels with the same name merge their cells, which must
// be disjoint (else *ConflictError naming both inputs) and must describe the
// same kernel (spec, role, pocket, version and release agree where set).
// Cells are sorted in canonical scenario order. Kernels keep the order of
// first appearance, except that complete shards 1/n…n/n (from `srutest run
// --shard`, which deals kernels round-robin) are interleaved back into plan
// order. Started is the earliest start, Finished the latest end; hosts and
// accelerators that differ are listed comma-separated; Shard is cleared.
func Merge(runs ...*Run) (*Run, error) {
	if len(runs) == 0 {
		return nil, fmt.Errorf("merge: no runs")
	}
	for i, r := range runs {
		if r == nil {
			return nil, fmt.Errorf("merge: input %d is nil", i+1)
		}
		if r.Schema != SchemaVersion {
			return nil, fmt.Errorf("merge: %s: schema %d, want %d", inputLabel(runs, i), r.Schema, SchemaVersion)
		}
	}
	first := runs[0]
	out := &Run{Schema: SchemaVersion, Name: first.Name}
	for i, r := range runs {
		label := inputLabel(runs, i)
		if r.Name != out.Name {
			return nil, fmt.Errorf("merge: %s is run %q, %s is run %q", inputLabel(runs, 0), out.Name, label, r.Name)
		}
		if err := agree("series", &out.Series, r.Series, label); err != nil {
			return nil, err
		}
		if err := agree("bug", &out.Bug, r.Bug, label); err != nil {
			return nil, err
		}
		for _, p := range r.Pairs {
			if !slices.ContainsFunc(out.Pairs, func(q Pair) bool { return q.Check == p.Check && q.Before == p.Before && q.After == p.After }) {
				out.Pairs = append(out.Pairs, p)
			}
		}
		out.Host = addUnique(out.Host, r.Host)
		out.Accel = addUnique(out.Accel, r.Accel)
		out.CPUs = max(out.CPUs, r.CPUs) // shards on different hosts may differ: the most
		if !r.Started.IsZero() && (out.Started.IsZero() || r.Started.Before(out.Started)) {
			out.Started = r.Started
		}
		if r.Finished.After(out.Finished) {
			out.Finished = r.Finished
		}
	}

	byName := map[string]int{}  // kernel name → index in out.Kernels
	from := map[[2]string]int{} // kernel, scenario → input index
	for _, ri := range mergeOrder(runs) {
		r, label := runs[ri.run], inputLabel(runs, ri.run)
		k := r.Kernels[ri.kernel]
		i, ok := byName[k.Name]
		if !ok {
			byName[k.Name] = len(out.Kernels)
			nk := k
			nk.Cells = nil
			nk.Timings = slices.Clone(k.Timings)
			out.Kernels = append(out.Kernels, nk)
			i = len(out.Kernels) - 1
		} else if err := mergeKernel(&out.Kernels[i], k, label); err != nil {
			return nil, err
		}
		dst := &out.Kernels[i]
		for _, c := range k.Cells {
			key := [2]string{k.Name, c.Scenario}
			if prev, dup := from[key]; dup {
				return nil, &ConflictError{Kernel: k.Name, Scenario: c.Scenario, First: inputLabel(runs, prev), Second: label}
			}
			from[key] = ri.run
			dst.Cells = append(dst.Cells, c)
		}
	}
	for i := range out.Kernels {
		sortCells(out.Kernels[i].Cells)
	}
	return out, nil
}

// mergeKernel folds k (same name) into dst.
func mergeKernel(dst *Kernel, k Kernel, label string) error {
	for _, f := range []struct {
		what string
		dst  *string
		v    string
	}{{"spec", &dst.Spec, k.Spec}, {"role", &dst.Role, k.Role}, {"pocket", &dst.Pocket, k.Pocket},
		{"version", &dst.Version, k.Version}, {"release", &dst.Release, k.Release}} {
		if err := agree("kernel "+k.Name+" "+f.what, f.dst, f.v, label); err != nil {
			return err
		}
	}
	if k.Error != "" && !strings.Contains(dst.Error, k.Error) {
		dst.Error = strings.TrimPrefix(dst.Error+"; "+k.Error, "; ")
	}
	dst.Timings = append(dst.Timings, k.Timings...)
	return nil
}

// agree sets *dst to v when *dst is empty and fails when both are set and
// differ.
func agree(what string, dst *string, v, label string) error {
	switch {
	case v == "" || *dst == v:
	case *dst == "":
		*dst = v
	default:
		return fmt.Errorf("merge: %s is %q in %s, %q before", what, v, label, *dst)
	}
	return nil
}

func addUnique(list, v string) string {
	if v == "" || slices.Contains(strings.Split(list, ","), v) {
		return list
	}
	if list == "" {
		return v
	}
	return list + "," + v
}

func inputLabel(runs []*Run, i int) string {
	if s := runs[i].Shard; s != "" {
		return fmt.Sprintf("shard %s (input %d)", s, i+1)
	}
	return fmt.Sprintf("input %d", i+1)
}

type kernelRef struct{ run, kernel int }

// mergeOrder lists the kernels of all inputs (placeholders skipped) in
// input order, or interleaved round-robin when the inputs are exactly the
// shards 1/n … n/n.
func mergeOrder(runs []*Run) []kernelRef {
	lists := make([][]kernelRef, len(runs))
	for ri, r := range runs {
		for ki, k := range r.Kernels {
			if k.Name != "" || len(k.Cells) > 0 {
				lists[ri] = append(lists[ri], kernelRef{ri, ki})
			}
		}
	}
	if idx, ok := completeShards(runs); ok {
		sorted := make([][]kernelRef, len(runs))
		for ri, i := range idx {
			sorted[i-1] = lists[ri]
		}
		var out []kernelRef
		for round := 0; ; round++ {
			added := false
			for _, l := range sorted {
				if round < len(l) {
					out = append(out, l[round])
					added = true
				}
			}
			if !added {
				return out
			}
		}
	}
	var out []kernelRef
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// completeShards returns each input's shard index when the inputs are
// shards 1/n … n/n, each exactly once.
func completeShards(runs []*Run) ([]int, bool) {
	idx := make([]int, len(runs))
	for ri, r := range runs {
		a, b, ok := strings.Cut(r.Shard, "/")
		i, err1 := strconv.Atoi(a)
		n, err2 := strconv.Atoi(b)
		if !ok || err1 != nil || err2 != nil || n != len(runs) || i < 1 || i > n {
			return nil, false
		}
		idx[ri] = i
	}
	check := slices.Clone(idx)
	sort.Ints(check)
	for i, v := range check {
		if v != i+1 {
			return nil, false
		}
	}
	return idx, true
}
