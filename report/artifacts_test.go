package report

import "testing"

func TestRebaseArtifacts(t *testing.T) {
	r := &Run{Kernels: []Kernel{{Name: "k", Cells: []Cell{
		{Scenario: "a", Artifacts: "k/a"},
		{Scenario: "b"},
		{Scenario: "c", Artifacts: "/abs/k/c"},
	}}}}
	r.RebaseArtifacts("shards/shard-1", "merged")
	want := []string{"../shards/shard-1/k/a", "", "/abs/k/c"}
	for i, c := range r.Kernels[0].Cells {
		if c.Artifacts != want[i] {
			t.Errorf("cell %s: %q, want %q", c.Scenario, c.Artifacts, want[i])
		}
	}
	// A repeated cell's runs each have their own evidence.
	r3 := &Run{Kernels: []Kernel{{Cells: []Cell{{Artifacts: "k/a", Repeats: []Repeat{{Artifacts: "k/a"}, {Artifacts: "k/a/repeat-2"}}}}}}}
	r3.RebaseArtifacts("shards/shard-1", "merged")
	if got := r3.Kernels[0].Cells[0].Repeats[1].Artifacts; got != "../shards/shard-1/k/a/repeat-2" {
		t.Errorf("repeat: %q", got)
	}
	// Same directory: unchanged.
	r2 := &Run{Kernels: []Kernel{{Cells: []Cell{{Artifacts: "k/a"}}}}}
	r2.RebaseArtifacts("out", "out/")
	if got := r2.Kernels[0].Cells[0].Artifacts; got != "k/a" {
		t.Errorf("same dir: %q", got)
	}
}
