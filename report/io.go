package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// SchemaError says a results file was written by an incompatible srutest.
type SchemaError struct {
	Path string
	Got  int // 0 when the file has no schema field
	Want int
}

func (e *SchemaError) Error() string {
	if e.Got == 0 {
		return fmt.Sprintf("report: %s: no schema version (not a srutest results.json?)", e.Path)
	}
	return fmt.Sprintf("report: %s: schema version %d, this srutest reads version %d", e.Path, e.Got, e.Want)
}

// Load reads a results.json strictly: the schema version must be
// SchemaVersion, unknown fields, trailing data and invalid outcomes are
// errors (see Validate). Errors name the file.
func Load(path string) (*Run, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("report: load: %w", err)
	}
	return Decode(path, data)
}

// Decode is Load on bytes already read; name is used in errors.
func Decode(name string, data []byte) (*Run, error) {
	// The schema is checked first so that a file from another srutest
	// version says so, rather than naming the first field it does not know.
	// json.Unmarshal also rejects trailing data after the object.
	var head struct {
		Schema int `json:"schema"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("report: %s: %w", name, err)
	}
	if head.Schema != SchemaVersion {
		return nil, &SchemaError{Path: name, Got: head.Schema, Want: SchemaVersion}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var r Run
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("report: %s: %w", name, err)
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("report: %s: %w", name, err)
	}
	return &r, nil
}

// Validate checks what the renderers rely on: known outcomes, a scenario
// name on every cell, at most one cell per scenario and kernel, and a name
// on every kernel that has cells. A kernel with neither name nor cells is a
// placeholder the runner saves for a kernel that has not finished yet.
func (r *Run) Validate() error {
	for i, k := range r.Kernels {
		if k.Name == "" {
			if len(k.Cells) == 0 {
				continue
			}
			return fmt.Errorf("kernel #%d has cells but no name", i+1)
		}
		seen := map[string]bool{}
		for _, c := range k.Cells {
			if c.Scenario == "" {
				return fmt.Errorf("kernel %q: cell without a scenario name", k.Name)
			}
			if seen[c.Scenario] {
				return fmt.Errorf("kernel %q: scenario %q appears twice", k.Name, c.Scenario)
			}
			seen[c.Scenario] = true
			if !c.Outcome.Valid() {
				return fmt.Errorf("%s × %s: outcome %q is not PASS, FAIL, ERROR or SKIP", k.Name, c.Scenario, c.Outcome)
			}
			if !c.Expected.Valid() {
				return fmt.Errorf("%s × %s: expected outcome %q is not PASS, FAIL, ERROR or SKIP", k.Name, c.Scenario, c.Expected)
			}
		}
	}
	return nil
}

// Valid reports whether o is one of the four outcomes.
func (o Outcome) Valid() bool {
	switch o {
	case Pass, Fail, Error, Skip:
		return true
	}
	return false
}

// WriteJSON writes r as indented JSON, the results.json format.
func (r *Run) WriteJSON(w io.Writer) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("report: encode: %w", err)
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

// Save writes r as indented JSON to path atomically: a temp file in the
// same directory, synced, then renamed over path, so a reader never sees a
// half-written file and a failed save leaves no temp file. "-" and
// "/dev/stdout" write to standard output.
func (r *Run) Save(path string) error {
	if path == "-" || path == "/dev/stdout" {
		return r.WriteJSON(os.Stdout)
	}
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("report: save %s: %w", path, err)
	}
	keep := false
	defer func() {
		if !keep {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("report: save %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("report: save %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("report: save %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("report: save %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("report: save %s: %w", path, err)
	}
	keep = true
	return nil
}
