package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestBisectSeries(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "noble.yaml")
	os.WriteFile(file, []byte("name: noble\nseries: noble\nbug: LP#2125444\narchive: http://mirror.example/ubuntu\nkernels:\n  - name: k\n    ubuntu: {series: noble, pocket: updates, flavour: lowlatency, meta: linux-image-lowlatency}\n"), 0o644)
	for _, tc := range []struct {
		arg                              string
		series, flavour, archive, bugNum string
	}{
		{"jammy", "jammy", "", "", ""},
		{"ubuntu:series=plucky,pocket=updates,flavour=generic,meta=linux-image-virtual", "plucky", "generic", "", ""},
		{file, "noble", "lowlatency", "http://mirror.example/ubuntu", "2125444"},
	} {
		lq, bug, err := bisectSeries(tc.arg, &bisectFlags{source: "linux"})
		if err != nil {
			t.Errorf("%s: %v", tc.arg, err)
			continue
		}
		if lq.Series != tc.series || lq.Flavour != tc.flavour || lq.Archive != tc.archive || bugNumber(bug) != tc.bugNum || lq.Source != "linux" {
			t.Errorf("%s: %+v bug %q", tc.arg, lq, bug)
		}
	}
	if _, _, err := bisectSeries(filepath.Join(dir, "missing.yaml"), &bisectFlags{}); err == nil {
		t.Error("missing file accepted")
	}
	if _, _, err := bisectSeries("ubuntu:series=noble", &bisectFlags{}); err == nil {
		t.Error("incomplete ubuntu spec accepted")
	}
}
