package report

import "path/filepath"

// RebaseArtifacts rewrites every cell's Artifacts directory, which is
// relative to the results.json in fromDir, to be relative to toDir: merge
// writes its output next to none of its inputs (CI downloads each shard's
// run directory side by side), and the reports link to the evidence
// through these paths. Absolute paths are kept; a path that cannot be made
// relative becomes absolute.
func (r *Run) RebaseArtifacts(fromDir, toDir string) {
	for ki := range r.Kernels {
		for ci := range r.Kernels[ki].Cells {
			c := &r.Kernels[ki].Cells[ci]
			if c.Artifacts == "" || filepath.IsAbs(c.Artifacts) {
				continue
			}
			abs := filepath.Join(fromDir, c.Artifacts)
			if !filepath.IsAbs(abs) {
				if a, err := filepath.Abs(abs); err == nil {
					abs = a
				}
			}
			to := toDir
			if a, err := filepath.Abs(toDir); err == nil {
				to = a
			}
			if rel, err := filepath.Rel(to, abs); err == nil {
				c.Artifacts = filepath.ToSlash(rel)
			} else {
				c.Artifacts = abs
			}
		}
	}
}
