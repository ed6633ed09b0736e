// Package layers holds no code: its test checks the import rules between the
// stage packages (DESIGN.md, docs/contracts.md) over `go list -deps`, so a
// wrong import fails CI with the rule it broke instead of drifting silently.
package layers

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const module = "github.com/srutest/srutest"

// rule: packages under From (module-relative prefix) must not depend, even
// transitively, on any package under the prefixes in Not, nor, when Only is
// set, on any package of the module outside the prefixes in Only.
type rule struct {
	From string
	Not  []string
	Why  string
	Only []string
}

// leaves are the internal packages that import nothing of the host-side
// stages; the agent (built into every guest) may use these and nothing else.
var leaves = []string{"internal/wire", "internal/bounded", "internal/proc", "internal/flock", "internal/termtext", "internal/debver"}

var rules = []rule{
	{"vm", []string{"scenarios", "report", "plan", "images", "runner", "cmd", "selftests"},
		"vm boots and drives QEMU guests; it knows nothing of MPTCP, plans, images or reports", nil},
	{"images", []string{"vm", "scenarios", "runner", "report", "plan", "cmd", "selftests"},
		"images turns kernel specs into guest images without a running guest", nil},
	{"report", []string{"agent", "vm", "images", "scenarios", "plan", "runner", "cmd", "selftests"},
		"report reads only its own results model", nil},
	{"agent", []string{"vm", "images", "runner", "scenarios", "report", "plan", "cmd", "selftests"},
		"agent is the guest's PID 1 and imports nothing of the host side", nil},
	{"scenarios", []string{"vm", "images", "runner", "plan", "cmd", "selftests"},
		"scenarios talk to a Guest interface, never to QEMU, images or the plan", nil},
	{"plan", []string{"vm", "images", "runner", "scenarios", "cmd", "selftests"},
		"plan only parses and expands plan files", nil},
	{"selftests", []string{"vm", "runner", "plan", "cmd"},
		"selftests builds and runs kernel selftests on a scenarios.Guest; the runner wires it in", nil},
	{"runner", []string{"cmd"}, "runner is used by the commands, never the other way round", nil},
	{"internal/host", []string{"vm", "images", "scenarios", "report", "plan", "runner", "cmd"},
		"host only reads os-release and asks apt; cmd turns its choice into plans", nil},
	{"bisect", []string{"vm", "images", "runner", "scenarios", "cmd"},
		"bisect searches through a PlanRunner; the command wires in the runner and the archive", nil},
	{"agent", nil, "agent shares only the wire and leaf helpers with the host", leaves},
	{"internal/wire", []string{""}, "the agent<->host wire is a leaf both ends import", nil},
	{"", []string{"e2e", "internal/layers"}, "test-only packages are not imported", nil},
}

// under reports whether pkg (module-relative) is prefix or below it; the
// empty prefix matches every package of the module.
func under(pkg, prefix string) bool {
	return prefix == "" || pkg == prefix || strings.HasPrefix(pkg, prefix+"/")
}

// underAny reports whether pkg is under one of prefixes.
func underAny(pkg string, prefixes []string) bool {
	for _, p := range prefixes {
		if under(pkg, p) {
			return true
		}
	}
	return false
}

func TestImportRules(t *testing.T) {
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(goBin, "list", "-f", "{{.ImportPath}} {{join .Deps \" \"}}", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		pkg := strings.TrimPrefix(strings.TrimPrefix(fields[0], module), "/")
		for _, dep := range fields[1:] {
			if dep != module && !strings.HasPrefix(dep, module+"/") {
				continue
			}
			d := strings.TrimPrefix(strings.TrimPrefix(dep, module), "/")
			for _, r := range rules {
				if !under(pkg, r.From) {
					continue
				}
				for _, not := range r.Not {
					if under(d, not) {
						t.Errorf("%s depends on %s: breaks the rule %q may not import %q (%s)", pkg, d, r.From, not, r.Why)
					}
				}
				if r.Only != nil && !underAny(d, r.Only) {
					t.Errorf("%s depends on %s: breaks the rule %q may import only %v (%s)", pkg, d, r.From, r.Only, r.Why)
				}
			}
		}
		checked++
	}
	if checked < 10 {
		t.Fatalf("go list saw only %d packages; the rules checked nothing", checked)
	}
}

func TestUnder(t *testing.T) {
	for _, c := range []struct {
		pkg, prefix string
		want        bool
	}{
		{"images/ubuntu", "images", true},
		{"images", "images", true},
		{"imagesx", "images", false},
		{"vm", "", true},
	} {
		if got := under(c.pkg, c.prefix); got != c.want {
			t.Errorf("under(%q, %q) = %v, want %v", c.pkg, c.prefix, got, c.want)
		}
	}
}
