package runner

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/srutest/srutest/plan"
	"github.com/srutest/srutest/report"
)

// Every results.json a shard saves — the partial one after a kernel and the
// final one — records the shard, so merge can interleave shards back into
// plan order (issue 9 item 7: the shard used to be set only after the last
// save).
func TestShardRecordedInEverySave(t *testing.T) {
	var shards []*report.Run
	for i := 1; i <= 2; i++ {
		w := &fakeWorld{t: t}
		out := t.TempDir()
		r := w.runner(out)
		r.Shard = fmt.Sprintf("%d/2", i)
		var partial []string
		r.OnKernel = func(report.Kernel) {
			saved, err := report.Load(filepath.Join(out, "results.json"))
			if err != nil {
				t.Error(err)
				return
			}
			partial = append(partial, saved.Shard)
		}
		// Kernels k0…k4 dealt round-robin as plan.Expand does for shard i/2.
		p := &plan.Plan{Name: "t", Reproducers: []plan.Repro{repro("a", "FAKE-EXIT-0")}}
		for k := i - 1; k < 5; k += 2 {
			p.Kernels = append(p.Kernels, plan.Kernel{Name: fmt.Sprintf("k%d", k), Spec: "bzimage:/x", Scenarios: []plan.Item{{Scenario: "a", Expected: report.Pass}}})
		}
		if _, err := r.Run(context.Background(), p); err != nil {
			t.Fatal(err)
		}
		for _, s := range partial {
			if s != r.Shard {
				t.Errorf("partial results.json of shard %s says shard %q", r.Shard, s)
			}
		}
		saved, err := report.Load(filepath.Join(out, "results.json"))
		if err != nil {
			t.Fatal(err)
		}
		if saved.Shard != r.Shard {
			t.Errorf("results.json of shard %s says shard %q", r.Shard, saved.Shard)
		}
		shards = append(shards, saved)
	}
	// Given in reverse, the shards still merge into plan order.
	merged, err := report.Merge(shards[1], shards[0])
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range merged.Kernels {
		if k.Name != fmt.Sprintf("k%d", i) {
			t.Errorf("merged kernel %d is %s, want k%d", i, k.Name, i)
		}
	}
}
