package report

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// shards splits r the way `srutest run --shard i/n` does: kernel j (1-based)
// goes to shard ((j-1) mod n) + 1.
func shards(r *Run, n int) []*Run {
	out := make([]*Run, n)
	for i := range out {
		s := *r
		s.Kernels = nil
		s.Shard = itoaShard(i+1, n)
		s.Started = r.Started.Add(time.Duration(i) * time.Minute)
		s.Finished = r.Finished.Add(-time.Duration(n-1-i) * time.Minute)
		out[i] = &s
	}
	for j, k := range r.Kernels {
		out[j%n].Kernels = append(out[j%n].Kernels, k)
	}
	return out
}

func itoaShard(i, n int) string {
	return strings.Join([]string{string(rune('0' + i)), string(rune('0' + n))}, "/")
}

func TestMergeShardsRestoresRun(t *testing.T) {
	want := fixture(t)
	for _, n := range []int{1, 2, 4} {
		in := shards(fixture(t), n)
		// Inputs in any order: the shard labels put kernels back in order.
		in[0], in[len(in)-1] = in[len(in)-1], in[0]
		got, err := Merge(in...)
		if err != nil {
			t.Fatalf("%d shards: %v", n, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%d shards: merged run differs from the unsharded one:\n%+v", n, got.Kernels)
		}
	}
}

func TestMergeCellsOfOneKernel(t *testing.T) {
	a, b := fixture(t), fixture(t)
	a.Shard, b.Shard = "", ""
	a.Kernels, b.Kernels = a.Kernels[:1], b.Kernels[:1]
	a.Kernels[0].Cells = []Cell{a.Kernels[0].Cells[4], a.Kernels[0].Cells[1]}
	b.Kernels[0].Cells = []Cell{b.Kernels[0].Cells[3], b.Kernels[0].Cells[0], b.Kernels[0].Cells[2]}
	b.Kernels[0].Version, b.Kernels[0].Release = "", "" // not known in that shard: fine
	before := len(a.Kernels[0].Cells)
	m, err := Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range m.Kernels[0].Cells {
		got = append(got, c.Scenario)
	}
	if strings.Join(got, " ") != "connect fallback join keepalive-off keepalive-after-connect" {
		t.Errorf("cell order %v", got)
	}
	if len(a.Kernels[0].Cells) != before || m.Kernels[0].Release != "6.1.0-56-cloud-amd64" || len(m.Kernels[0].Timings) != 8 {
		t.Errorf("input modified or fields lost: %+v", m.Kernels[0])
	}
}

func TestMergeErrors(t *testing.T) {
	dup1, dup2 := fixture(t), fixture(t)
	dup1.Shard, dup2.Shard = "1/2", "2/2"
	dup1.Kernels = dup1.Kernels[4:5]
	dup2.Kernels = dup2.Kernels[3:5]
	_, err := Merge(dup1, dup2)
	var ce *ConflictError
	if !errors.As(err, &ce) || ce.Kernel != "noble-6.8-updates" || ce.Scenario != "connect" ||
		ce.First != "shard 1/2 (input 1)" || ce.Second != "shard 2/2 (input 2)" {
		t.Errorf("duplicate cell: %v", err)
	}
	if err != nil && err.Error() != "merge: noble-6.8-updates × connect is in both shard 1/2 (input 1) and shard 2/2 (input 2)" {
		t.Errorf("message: %v", err)
	}

	for name, mod := range map[string]func(a, b *Run){
		"run name":       func(a, b *Run) { b.Name = "other" },
		"series":         func(a, b *Run) { a.Series, b.Series = "noble", "jammy" },
		"bug":            func(a, b *Run) { b.Bug = "LP#1" },
		"schema":         func(a, b *Run) { b.Schema = 0 },
		"kernel spec":    func(a, b *Run) { b.Kernels[0].Spec = "deb:other.deb" },
		"kernel release": func(a, b *Run) { b.Kernels[0].Release = "6.1.0-57-cloud-amd64" },
	} {
		a, b := fixture(t), fixture(t)
		a.Kernels[0].Cells = a.Kernels[0].Cells[:2]
		b.Kernels = b.Kernels[:1]
		b.Kernels[0].Cells = b.Kernels[0].Cells[2:]
		mod(a, b)
		if _, err := Merge(a, b); err == nil {
			t.Errorf("%s conflict merged", name)
		} else if errors.As(err, &ce) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := Merge(); err == nil {
		t.Error("merge of nothing")
	}
}

func TestMergeRunFields(t *testing.T) {
	a, b := fixture(t), fixture(t)
	a.Kernels, b.Kernels = a.Kernels[:2], b.Kernels[2:]
	a.Host, b.Host = "runner-a", "runner-b"
	b.Accel = "kvm"
	b.Started = a.Started.Add(-time.Hour)
	a.Finished = b.Finished.Add(time.Hour)
	a.Series = ""
	b.Series = "noble"
	m, err := Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if m.Host != "runner-a,runner-b" || m.Accel != "tcg,kvm" || !m.Started.Equal(b.Started) || !m.Finished.Equal(a.Finished) || m.Series != "noble" || m.Shard != "" {
		t.Errorf("run fields: %+v", m)
	}
	if len(m.Kernels) != 6 || m.Kernels[2].Name != "6.12-revert-648de37416b3" {
		t.Errorf("kernel order: %d kernels", len(m.Kernels))
	}
}
