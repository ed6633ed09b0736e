package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A directory stands for its */results.json, without the merge output.
func TestMergeInputs(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"shard-1", "shard-2", "merged", "empty"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
		if d != "empty" {
			if err := os.WriteFile(filepath.Join(dir, d, "results.json"), []byte("{}"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, err := mergeInputs([]string{dir, filepath.Join(dir, "shard-1", "results.json")}, filepath.Join(dir, "merged", "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "shard-1/results.json"), filepath.Join(dir, "shard-2/results.json"), filepath.Join(dir, "shard-1/results.json")}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("inputs %q, want %q", got, want)
	}
	if _, err := mergeInputs([]string{filepath.Join(dir, "empty")}, "x.json"); err == nil {
		t.Error("a directory without results accepted")
	}
}
