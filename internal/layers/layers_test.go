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
// transitively, on any package under the prefixes in Not.
type rule struct {
	From string
	Not  []string
	Why  string
}

var rules = []rule{
	{"vm", []string{"scenarios", "report", "plan", "images", "runner", "cmd", "selftests"},
		"vm boots and drives QEMU guests; it knows nothing of MPTCP, plans, images or reports"},
	{"images", []string{"vm", "scenarios", "runner", "report", "plan", "cmd", "selftests"},
		"images turns kernel specs into guest images without a running guest"},
	{"report", []string{"agent", "vm", "images", "scenarios", "plan", "runner", "cmd", "selftests"},
		"report reads only its own results model"},
	{"agent", []string{"vm", "images", "runner", "scenarios", "report", "plan", "cmd", "selftests"},
		"agent is the guest's PID 1 and imports nothing of the host side"},
	{"scenarios", []string{"vm", "images", "runner", "plan", "cmd", "selftests"},
		"scenarios talk to a Guest interface, never to QEMU, images or the plan"},
	{"plan", []string{"vm", "images", "runner", "scenarios", "cmd", "selftests"},
		"plan only parses and expands plan files"},
	{"selftests", []string{"vm", "runner", "plan", "cmd"},
		"selftests builds and runs kernel selftests on a scenarios.Guest; the runner wires it in"},
	{"runner", []string{"cmd"}, "runner is used by the commands, never the other way round"},
	{"internal/host", []string{"vm", "images", "scenarios", "report", "plan", "runner", "cmd"},
		"host only reads os-release and asks apt; cmd turns its choice into plans"},
	{"bisect", []string{"vm", "images", "runner", "scenarios", "cmd"},
		"bisect searches through a PlanRunner; the command wires in the runner and the archive"},
	{"", []string{"e2e", "internal/layers"}, "test-only packages are not imported"},
}

// under reports whether pkg (module-relative) is prefix or below it; the
// empty prefix matches every package of the module.
func under(pkg, prefix string) bool {
	return prefix == "" || pkg == prefix || strings.HasPrefix(pkg, prefix+"/")
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
