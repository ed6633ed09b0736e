package plan

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// SelftestDecl declares a kernel selftest suite (the `selftests:` key):
// where the selftests come from, the target and which of its scripts run.
// Each script becomes one column of the matrix on every kernel.
//
//	selftests:
//	  - target: net/mptcp
//	    source: /usr/src/linux-source-6.12.tar.xz   # tarball, linux-source .deb or tree
//	    tests: [mptcp_sockopt.sh, diag.sh]           # default: all of TEST_PROGS
//	    timeout_scale: 3                             # multiplies the settings timeout
//	  - target: net/mptcp                            # or Ubuntu's linux-source from the archive:
//	    ubuntu: {series: noble, pocket: updates, version: 6.8.0-151.151}
type SelftestDecl struct {
	Name   string `yaml:"name"`   // column prefix; default: the target's last element (mptcp)
	Source string `yaml:"source"` // kernel source tarball, linux-source .deb or tree (relative to the plan)
	// Ubuntu takes the tree instead from the series' linux-source-<x.y.z>
	// package in an Ubuntu archive (fetched and verified like the kernels).
	Ubuntu *SelftestUbuntu `yaml:"ubuntu"`
	Target string          `yaml:"target"` // e.g. net/mptcp
	// Tests are the scripts to run (default: all of the target's
	// TEST_PROGS), each one column; an entry may carry the script's own
	// arguments, "mptcp_join.sh -f -e" (its test groups), so a script too
	// long for one timeout runs as several honest columns.
	Tests []string `yaml:"tests"`
	// Timeout replaces the target's settings timeout for every script;
	// TimeoutScale multiplies it (e.g. for TCG, where everything is slower).
	Timeout      time.Duration `yaml:"timeout"`
	TimeoutScale float64       `yaml:"timeout_scale"`
	// Jobs is how many scripts run at once, each in its own guest
	// (default 1).
	Jobs int `yaml:"jobs"`
	// Expect maps script names to the expected outcome (default PASS).
	Expect Expectation `yaml:"expect"`

	line int
}

// UnmarshalYAML records the entry's line.
func (s *SelftestDecl) UnmarshalYAML(v *yaml.Node) error {
	type plain SelftestDecl
	var p plain
	if err := decodeStrict(v, &p); err != nil {
		return err
	}
	*s = SelftestDecl(p)
	s.line = v.Line
	return nil
}

// SelftestUbuntu names Ubuntu's kernel source package, linux-source-<x.y.z>:
// the one of series in pocket, at Version or the newest there. For the tree
// an ubuntu: kernel was built from, give the kernel's series and pocket and
// the version of its linux-image (ABI 6.8.0-151 → 6.8.0-151.151). The
// archive is the kernels' (the plan's archive:, else --archive) unless set.
type SelftestUbuntu struct {
	Series  string `yaml:"series"`
	Pocket  string `yaml:"pocket"`  // release (default) | updates | security | proposed
	Version string `yaml:"version"` // exact package version; default the newest in the pocket
	Archive string `yaml:"archive"`

	line int
}

// UnmarshalYAML rejects unknown keys and records the line.
func (u *SelftestUbuntu) UnmarshalYAML(v *yaml.Node) error {
	type plain SelftestUbuntu
	var p plain
	if err := decodeStrict(v, &p); err != nil {
		return err
	}
	*u = SelftestUbuntu(p)
	u.line = v.Line
	return nil
}

// Spec is the source spec the image builder resolves:
// ubuntu:<series>[-<pocket>][@<version>].
func (u *SelftestUbuntu) Spec() string {
	s := "ubuntu:" + u.Series
	if u.Pocket != "" && u.Pocket != "release" {
		s += "-" + u.Pocket
	}
	if u.Version != "" {
		s += "@" + u.Version
	}
	return s
}

var (
	selftestSeries  = regexp.MustCompile(`^[a-z][a-z0-9]*$`)
	selftestVersion = regexp.MustCompile(`^[0-9][0-9A-Za-z.+~-]*$`)
	// The pockets a linux-source package is looked up in (backports carries
	// no kernel tree).
	selftestPockets = map[string]bool{"release": true, "updates": true, "security": true, "proposed": true}
)

func (u *SelftestUbuntu) validate() error {
	if !selftestSeries.MatchString(u.Series) {
		return fmt.Errorf("line %d: selftests ubuntu: series %q: want a series name such as noble", u.line, u.Series)
	}
	if u.Pocket != "" && !selftestPockets[u.Pocket] {
		return fmt.Errorf("line %d: selftests ubuntu: unknown pocket %q (release, updates, security, proposed)", u.line, u.Pocket)
	}
	if u.Version != "" && !selftestVersion.MatchString(u.Version) {
		return fmt.Errorf("line %d: selftests ubuntu: version %q is not a package version such as 6.8.0-151.151", u.line, u.Version)
	}
	if u.Archive != "" && !strings.HasPrefix(u.Archive, "http://") && !strings.HasPrefix(u.Archive, "https://") {
		return fmt.Errorf("line %d: selftests ubuntu: archive %q is not an http(s) URL", u.line, u.Archive)
	}
	return nil
}

// Selftests is a suite of the expanded plan.
type Selftests struct {
	Name   string
	Source string // absolute or relative to the working directory; "" with SourceSpec
	// SourceSpec names a source package for the image builder to fetch
	// instead ("ubuntu:noble-updates@6.8.0-151.151"), from SourceArchive
	// ("" = the resolver's own).
	SourceSpec    string
	SourceArchive string
	Target        string
	Tests         []string // empty: all of TEST_PROGS (known after the build)
	Timeout       time.Duration
	TimeoutScale  float64
	Jobs          int
	Expect        map[string]string // script → outcome
}

// Column is the matrix column (scenario name) of one script of the suite.
func (s Selftests) Column(script string) string { return s.Name + ":" + script }

// selftestArg is one argument of a test entry ("mptcp_join.sh -f -e":
// the script's own test-group options). The guest's shell sees it as is.
var selftestArg = regexp.MustCompile(`^[A-Za-z0-9_.,=+-]+$`)

var selftestTarget = regexp.MustCompile(`^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$`)

func (f *File) validateSelftests(isKnown map[string]bool) error {
	names := map[string]int{}
	for i := range f.Selftests {
		s := &f.Selftests[i]
		if (s.Source == "") == (s.Ubuntu == nil) || s.Target == "" {
			return fmt.Errorf("line %d: selftests entry needs a target and one of source or ubuntu", s.line)
		}
		if s.Ubuntu != nil {
			if err := s.Ubuntu.validate(); err != nil {
				return err
			}
		}
		if !selftestTarget.MatchString(s.Target) || strings.Contains(s.Target, "..") {
			return fmt.Errorf("line %d: selftests target %q is not a path below tools/testing/selftests", s.line, s.Target)
		}
		if s.Name == "" {
			s.Name = s.Target[strings.LastIndexByte(s.Target, '/')+1:]
		}
		if strings.ContainsAny(s.Name, ": ") {
			return fmt.Errorf("line %d: selftests name %q must not contain ':' or spaces", s.line, s.Name)
		}
		if prev, dup := names[s.Name]; dup {
			return fmt.Errorf("line %d: selftests name %q already used on line %d", s.line, s.Name, prev)
		}
		if isKnown[s.Name] {
			return fmt.Errorf("line %d: selftests name %q clashes with a scenario", s.line, s.Name)
		}
		names[s.Name] = s.line
		if s.Timeout < 0 || s.TimeoutScale < 0 || s.Jobs < 0 {
			return fmt.Errorf("line %d: selftests timeout, timeout_scale and jobs must not be negative", s.line)
		}
		seen, dirs := map[string]bool{}, map[string]string{}
		for i, t := range s.Tests {
			f := strings.Fields(t)
			if len(f) == 0 || strings.Contains(f[0], "/") {
				return fmt.Errorf("line %d: selftests test %q must be a script name of the target", s.line, t)
			}
			for _, a := range f[1:] {
				if !selftestArg.MatchString(a) {
					return fmt.Errorf("line %d: selftests test %q: argument %q: only letters, digits and -_.,=+ (the script's own options)", s.line, t, a)
				}
			}
			// One spelling per entry: it is the column name and the
			// expect: key.
			s.Tests[i] = strings.Join(f, " ")
			if seen[s.Tests[i]] {
				return fmt.Errorf("line %d: selftests test %q listed twice", s.line, t)
			}
			seen[s.Tests[i]] = true
			// Each column has its artifact directory.
			if err := claimDirName(dirs, "selftests test", s.Name+":"+s.Tests[i], s.line); err != nil {
				return err
			}
		}
		for sc, out := range s.Expect.ByScenario {
			if len(s.Tests) > 0 && !slices.Contains(s.Tests, strings.Join(strings.Fields(sc), " ")) {
				return fmt.Errorf("line %d: expect: %q is not in tests", s.Expect.lines[sc], sc)
			}
			if !validOutcomes[out] {
				return fmt.Errorf("line %d: expect: %q is not PASS, FAIL, ERROR or SKIP", s.Expect.lines[sc], out)
			}
		}
	}
	return nil
}

// expandSelftests copies the suites named in keep into the plan, sources
// rebased on the plan file (a scenarios: list or --scenario names a suite
// as a whole).
func (f *File) expandSelftests(keep []string) []Selftests {
	var out []Selftests
	for _, d := range f.Selftests {
		if !slices.Contains(keep, d.Name) {
			continue
		}
		src := d.Source
		if src != "" && f.path != "" && !filepath.IsAbs(src) {
			src = filepath.Join(filepath.Dir(f.path), src)
		}
		s := Selftests{Name: d.Name, Source: src, Target: d.Target, Tests: slices.Clone(d.Tests),
			Timeout: d.Timeout, TimeoutScale: d.TimeoutScale, Jobs: d.Jobs, Expect: map[string]string{}}
		if u := d.Ubuntu; u != nil {
			// The kernels' archive unless the entry names its own.
			s.SourceSpec, s.SourceArchive = u.Spec(), u.Archive
			if s.SourceArchive == "" {
				s.SourceArchive = f.Archive
			}
		}
		for k, v := range d.Expect.ByScenario {
			s.Expect[strings.Join(strings.Fields(k), " ")] = v
		}
		out = append(out, s)
	}
	return out
}

func (f *File) selftestNames() []string {
	var out []string
	for _, s := range f.Selftests {
		out = append(out, s.Name)
	}
	return out
}
