package runner

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/srutest/srutest/images"
	"github.com/srutest/srutest/plan"
	"github.com/srutest/srutest/report"
)

// A source: build whose patch does not apply is the backporter's answer:
// every cell ERROR with "<patch> does not apply to <tree>" and the rejected
// hunks copied into the kernel's artifacts; nothing is booted.
func TestPatchDoesNotApply(t *testing.T) {
	rej := filepath.Join(t.TempDir(), "rejects.txt")
	if err := os.WriteFile(rej, []byte("patch 648de37416b3.patch: does not apply to x\n@@ -1512,13 +1512,12 @@\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	r := &Runner{Out: out,
		Build: func(context.Context, string) (*images.Image, error) {
			return nil, &images.PatchError{Patch: "/p/648de37416b3.patch", Tree: "linux-source-6.8.0 6.8.0-31.31", Rejects: rej}
		},
		Boot: nil, // never reached
	}
	p := &plan.Plan{Name: "t", Kernels: []plan.Kernel{{Name: "noble GA+fix", Spec: "source:ubuntu:noble,patch=/p/648de37416b3.patch",
		Scenarios: []plan.Item{{Scenario: "connect", Expected: report.Pass}, {Scenario: "join", Expected: report.Pass}}}}}
	run, err := r.Run(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	k := run.Kernels[0]
	if len(k.Cells) != 2 {
		t.Fatalf("%d cells", len(k.Cells))
	}
	for _, c := range k.Cells {
		if c.Outcome != report.Error || !strings.HasPrefix(c.Reason, "648de37416b3.patch does not apply to linux-source-6.8.0 6.8.0-31.31 (rejected hunks: noble_GA+fix/rejects.txt)") {
			t.Errorf("%s: %s %q", c.Scenario, c.Outcome, c.Reason)
		}
		data, err := os.ReadFile(filepath.Join(out, c.Artifacts, "rejects.txt"))
		if err != nil || !strings.Contains(string(data), "@@ -1512") {
			t.Errorf("%s: rejects artifact: %v", c.Scenario, err)
		}
	}
}
