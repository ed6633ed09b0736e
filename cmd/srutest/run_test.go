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

func TestParseGuestTimeline(t *testing.T) {
	out := `[    0.000000] Linux version 6.1.0-56-cloud-amd64
[    0.960163] Trying to unpack rootfs image as initramfs...
[    1.125776] Freeing initrd memory: 39804K
[    1.514365] Run /init as init process
` + timelineSep + `
   1.682 agent started
   1.806 8 NIC modules loaded
   1.839 ssh listening
`
	got := parseGuestTimeline(out)
	want := []guestStep{
		{"kernel: initramfs unpack starts", 0.960163}, {"kernel: initramfs unpacked", 1.125776},
		{"kernel: runs /init", 1.514365}, {"agent: agent started", 1.682},
		{"agent: 8 NIC modules loaded", 1.806}, {"agent: ssh listening", 1.839},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("step %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	med := medianTimeline([][]guestStep{{{"a", 1}, {"b", 2}}, {{"a", 3}, {"b", 4}}, {{"a", 2}}})
	if len(med) != 2 || med[0] != (guestStep{"a", 2}) || med[1] != (guestStep{"b", 3}) {
		t.Errorf("median timeline %+v", med)
	}
}
