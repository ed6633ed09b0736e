// Package plan owns the run description: the strict YAML loader for series
// and demo files (jammy.yaml, noble.yaml, plucky.yaml, demo.yaml) and the
// expansion of a file into a kernels × scenarios plan, filtered and sharded.
//
// The loader is strict: unknown keys, wrong types, unknown scenario names and
// bad outcomes are errors that name the file and line, and nothing runs.
package plan

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// File is the parsed YAML document.
type File struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Bug         string `yaml:"bug"`
	Series      string `yaml:"series"`
	Archive     string `yaml:"archive"` // default Ubuntu archive URL for ubuntu entries
	// Keyring and MemoryMB are decoded only to be refused (validate): they
	// used to be accepted and ignored; --keyring and --memory set them.
	Keyring     string       `yaml:"keyring"`
	MemoryMB    int          `yaml:"memory_mb"`
	Scenarios   []Name       `yaml:"scenarios"` // default: all MPTCP scenarios
	Kernels     []KernelDecl `yaml:"kernels"`
	Reproducers []Repro      `yaml:"reproducers"`

	path string
}

// Name is a scenario name with the line it was written on.
type Name struct {
	Value string
	Line  int
}

// UnmarshalYAML keeps the line number for later validation errors.
func (n *Name) UnmarshalYAML(v *yaml.Node) error {
	if v.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: scenario name must be a string", v.Line)
	}
	n.Value, n.Line = v.Value, v.Line
	return nil
}

// KernelDecl is one kernel row: either a kernel spec string or an Ubuntu
// archive query.
type KernelDecl struct {
	Name   string      `yaml:"name"`
	Kernel string      `yaml:"kernel"` // any spec `srutest boot --kernel` accepts
	Ubuntu *UbuntuDecl `yaml:"ubuntu"`
	Role   string      `yaml:"role"` // before | after (SRU pocket comparison)
	Expect Expectation `yaml:"expect"`

	line int
}

// UbuntuDecl selects a kernel from an Ubuntu archive.
type UbuntuDecl struct {
	Series  string `yaml:"series"`
	Pocket  string `yaml:"pocket"` // release | updates | security | proposed | backports
	Flavour string `yaml:"flavour"`
	Meta    string `yaml:"meta"` // meta package, e.g. linux-image-generic
	ABI     string `yaml:"abi"`  // exact ABI instead of meta, e.g. 6.8.0-87
	Archive string `yaml:"archive"`
}

// Expectation maps scenario names to the expected outcome (default PASS).
type Expectation struct {
	ByScenario map[string]string
	lines      map[string]int
}

// UnmarshalYAML decodes a mapping and remembers lines for validation errors.
func (e *Expectation) UnmarshalYAML(v *yaml.Node) error {
	if v.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: expect must be a mapping of scenario: outcome", v.Line)
	}
	e.ByScenario = map[string]string{}
	e.lines = map[string]int{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		if val.Kind != yaml.ScalarNode {
			return fmt.Errorf("line %d: expected outcome for %q must be a string", val.Line, k.Value)
		}
		e.ByScenario[k.Value] = strings.ToUpper(val.Value)
		e.lines[k.Value] = k.Line
	}
	return nil
}

// UnmarshalYAML records the entry's line.
func (k *KernelDecl) UnmarshalYAML(v *yaml.Node) error {
	type plain KernelDecl
	var p plain
	if err := decodeStrict(v, &p); err != nil {
		return err
	}
	*k = KernelDecl(p)
	k.line = v.Line
	return nil
}

// Repro is a generic user reproducer: push files, run a command, exit code decides.
type Repro struct {
	Name    string        `yaml:"name"`
	Files   []string      `yaml:"files"`
	Command string        `yaml:"command"`
	Timeout time.Duration `yaml:"timeout"`

	line int
}

// UnmarshalYAML records the entry's line.
func (r *Repro) UnmarshalYAML(v *yaml.Node) error {
	type plain Repro
	var p plain
	if err := decodeStrict(v, &p); err != nil {
		return err
	}
	*r = Repro(p)
	r.line = v.Line
	return nil
}

// decodeStrict decodes a node with unknown fields rejected. yaml.Node.Decode
// has no KnownFields switch, so re-encode the node and use a Decoder; the
// line numbers are restored by offsetting from the node.
func decodeStrict(v *yaml.Node, out any) error {
	known := map[string]bool{}
	collectKeys(out, known)
	if v.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(v.Content); i += 2 {
			if !known[v.Content[i].Value] {
				return fmt.Errorf("line %d: unknown key %q", v.Content[i].Line, v.Content[i].Value)
			}
		}
	}
	return v.Decode(out)
}

// Load reads and validates a plan file. known lists valid scenario names.
func Load(path string, known []string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	f, err := Parse(data, known)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.path = path
	return f, nil
}

// Parse decodes and validates YAML bytes.
func Parse(data []byte, known []string) (*File, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f File
	if err := dec.Decode(&f); err != nil {
		return nil, cleanYAMLError(err)
	}
	if err := f.validate(known); err != nil {
		return nil, err
	}
	return &f, nil
}

// cleanYAMLError drops the library's "yaml: unmarshal errors:" preamble so
// the message reads "line N: …".
func cleanYAMLError(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return errors.New(strings.Join(te.Errors, "; "))
	}
	return errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
}

var validOutcomes = map[string]bool{"PASS": true, "FAIL": true, "ERROR": true, "SKIP": true}

var validPockets = map[string]bool{"release": true, "updates": true, "security": true, "proposed": true, "backports": true}

func (f *File) validate(known []string) error {
	if f.Keyring != "" {
		return errors.New("keyring: is not read from plan files (it would be ignored): pass --keyring")
	}
	if f.MemoryMB != 0 {
		return errors.New("memory_mb: is not read from plan files (it would be ignored): pass --memory")
	}
	isKnown := map[string]bool{}
	for _, k := range known {
		isKnown[k] = true
	}
	for _, r := range f.Reproducers {
		if r.Name == "" || r.Command == "" {
			return fmt.Errorf("line %d: reproducer needs name and command", r.line)
		}
		if isKnown[r.Name] {
			return fmt.Errorf("line %d: reproducer name %q clashes with a built-in scenario", r.line, r.Name)
		}
		isKnown[r.Name] = true
	}
	for _, s := range f.Scenarios {
		if !isKnown[s.Value] {
			return fmt.Errorf("line %d: unknown scenario %q (known: %s)", s.Line, s.Value, strings.Join(sortedKeys(isKnown), ", "))
		}
	}
	if len(f.Kernels) == 0 {
		return errors.New("no kernels declared")
	}
	names := map[string]int{}
	for i := range f.Kernels {
		k := &f.Kernels[i]
		if (k.Kernel == "") == (k.Ubuntu == nil) {
			return fmt.Errorf("line %d: kernel entry needs exactly one of kernel: or ubuntu:", k.line)
		}
		if u := k.Ubuntu; u != nil {
			if u.Series == "" || u.Pocket == "" || u.Flavour == "" {
				return fmt.Errorf("line %d: ubuntu entry needs series, pocket and flavour", k.line)
			}
			if !validPockets[u.Pocket] {
				return fmt.Errorf("line %d: unknown pocket %q (release, updates, security, proposed, backports)", k.line, u.Pocket)
			}
			if (u.Meta == "") == (u.ABI == "") {
				return fmt.Errorf("line %d: ubuntu entry needs exactly one of meta: or abi:", k.line)
			}
		}
		if k.Name == "" {
			k.Name = k.Spec(f.Archive)
		}
		if prev, dup := names[k.Name]; dup {
			return fmt.Errorf("line %d: kernel name %q already used on line %d", k.line, k.Name, prev)
		}
		names[k.Name] = k.line
		if k.Role != "" && k.Role != "before" && k.Role != "after" {
			return fmt.Errorf("line %d: role must be before or after, not %q", k.line, k.Role)
		}
		for sc, out := range k.Expect.ByScenario {
			if !isKnown[sc] {
				return fmt.Errorf("line %d: expect: unknown scenario %q", k.Expect.lines[sc], sc)
			}
			if !validOutcomes[out] {
				return fmt.Errorf("line %d: expect: %q is not PASS, FAIL, ERROR or SKIP", k.Expect.lines[sc], out)
			}
		}
	}
	return f.checkDirNames(known)
}

// Spec returns the kernel spec string images.Builder understands.
func (k *KernelDecl) Spec(defaultArchive string) string {
	if k.Ubuntu == nil {
		return k.Kernel
	}
	u := k.Ubuntu
	parts := []string{"series=" + u.Series, "pocket=" + u.Pocket, "flavour=" + u.Flavour}
	if u.Meta != "" {
		parts = append(parts, "meta="+u.Meta)
	}
	if u.ABI != "" {
		parts = append(parts, "abi="+u.ABI)
	}
	archive := u.Archive
	if archive == "" {
		archive = defaultArchive
	}
	if archive != "" {
		parts = append(parts, "archive="+archive)
	}
	return "ubuntu:" + strings.Join(parts, ",")
}

// Path is the file the plan was loaded from ("" when parsed from bytes).
func (f *File) Path() string { return f.path }

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
