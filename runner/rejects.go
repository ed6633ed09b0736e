package runner

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/srutest/srutest/images"
	"github.com/srutest/srutest/plan"
	"github.com/srutest/srutest/report"
)

// patchCells turns a source: build whose patch does not apply into the
// kernel's cells: ERROR (nothing was booted, so nothing was tested) whose
// reason is the backporter's answer, "<patch> does not apply to <tree>",
// with the rejected hunks copied into the kernel's artifacts. It returns
// false when err is another failure.
func (r *Runner) patchCells(err error, kr *report.Kernel, items []plan.Item, kdir string) bool {
	var pe *images.PatchError
	if !errors.As(err, &pe) {
		return false
	}
	reason := pe.Verdict()
	rel := ""
	if data, rerr := os.ReadFile(pe.Rejects); rerr == nil {
		dst := filepath.Join(kdir, "rejects.txt")
		if os.WriteFile(dst, data, 0o644) == nil {
			if p, err := filepath.Rel(r.Out, kdir); err == nil {
				rel = p
				reason = pe.Verdict() + " (rejected hunks: " + filepath.Join(p, "rejects.txt") + ")"
			}
		}
	}
	kr.Error = reason
	for _, it := range items {
		kr.Cells = append(kr.Cells, report.Cell{Scenario: it.Scenario, Outcome: report.Error, Expected: it.Expected, Reason: reason, Artifacts: rel})
	}
	return true
}
