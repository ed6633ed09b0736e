package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/srutest/srutest/plan"
)

// Paths in a plan file are relative to the plan, not to where srutest runs.
func TestLoadPlanPathsRelativeToPlan(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "p.yaml")
	yaml := `name: p
kernels:
  - name: local
    kernel: bzimage:build/bzImage
  - name: src
    kernel: source:/usr/src/linux.tar.xz,revert=patches/fix.patch
  - name: debian
    kernel: apt:linux-image-6.1.0-*-cloud-amd64-unsigned
reproducers:
  - name: repro
    files: [repro.sh, /abs/helper]
    command: sh repro.sh
`
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := loadPlan(path, plan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"bzimage:" + filepath.Join(dir, "build/bzImage"),
		"source:/usr/src/linux.tar.xz,revert=" + filepath.Join(dir, "patches/fix.patch"),
		"apt:linux-image-6.1.0-*-cloud-amd64-unsigned",
	}
	for i, k := range p.Kernels {
		if k.Spec != want[i] {
			t.Errorf("kernel %s: spec %q, want %q", k.Name, k.Spec, want[i])
		}
	}
	if f := p.Reproducers[0].Files; f[0] != filepath.Join(dir, "repro.sh") || f[1] != "/abs/helper" {
		t.Errorf("reproducer files %q", f)
	}
}
