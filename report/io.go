package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Load reads results.json strictly: unknown fields and other schema
// versions are errors.
func Load(path string) (*Run, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var r Run
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("report: %s: %w", path, err)
	}
	if r.Schema != SchemaVersion {
		return nil, fmt.Errorf("report: %s: schema %d, this srutest reads %d", path, r.Schema, SchemaVersion)
	}
	return &r, nil
}

// Save writes r atomically (temp file + rename) as indented JSON.
func (r *Run) Save(path string) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if path == "/dev/stdout" {
		_, err := os.Stdout.Write(data)
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".results-*.json")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// ExitCode: 0 when every cell is as expected, 2 when an unexpected ERROR is
// present, 1 for any other mismatch.
func ExitCode(r *Run) int {
	code := 0
	for _, k := range r.Kernels {
		for _, c := range k.Cells {
			if c.Matches() {
				continue
			}
			if c.Outcome == Error {
				return 2
			}
			code = 1
		}
	}
	return code
}

// Scenarios returns the scenario columns in canonical order.
func (r *Run) Scenarios() []string {
	canon := []string{"connect", "fallback", "join", "keepalive-off", "keepalive-after-connect"}
	seen := map[string]bool{}
	var extra []string
	for _, k := range r.Kernels {
		for _, c := range k.Cells {
			if !seen[c.Scenario] {
				seen[c.Scenario] = true
				extra = append(extra, c.Scenario)
			}
		}
	}
	var out []string
	for _, s := range canon {
		if seen[s] {
			out = append(out, s)
		}
	}
	for _, s := range extra {
		if !contains(canon, s) {
			out = append(out, s)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Cell returns the cell of scenario s, if any.
func (k *Kernel) Cell(s string) (Cell, bool) {
	for _, c := range k.Cells {
		if c.Scenario == s {
			return c, true
		}
	}
	return Cell{}, false
}
