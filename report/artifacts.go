package report

import "path/filepath"

// RebaseArtifacts rewrites every cell's Artifacts directory, and that of
// each of its repeated runs, which are relative to the results.json in
// fromDir, to be relative to toDir: merge writes its output next to none
// of its inputs (CI downloads each shard's run directory side by side), and
// the reports link to the evidence through these paths. Absolute paths are
// kept; a path that cannot be made relative becomes absolute.
func (r *Run) RebaseArtifacts(fromDir, toDir string) {
	to := toDir
	if a, err := filepath.Abs(toDir); err == nil {
		to = a
	}
	rebase := func(p *string) {
		if *p == "" || filepath.IsAbs(*p) {
			return
		}
		abs := filepath.Join(fromDir, *p)
		if !filepath.IsAbs(abs) {
			if a, err := filepath.Abs(abs); err == nil {
				abs = a
			}
		}
		if rel, err := filepath.Rel(to, abs); err == nil {
			*p = filepath.ToSlash(rel)
		} else {
			*p = abs
		}
	}
	for ki := range r.Kernels {
		for ci := range r.Kernels[ki].Cells {
			c := &r.Kernels[ki].Cells[ci]
			rebase(&c.Artifacts)
			for i := range c.Repeats {
				rebase(&c.Repeats[i].Artifacts)
			}
		}
	}
}
