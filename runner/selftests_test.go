package runner

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/srutest/srutest/images"
	"github.com/srutest/srutest/plan"
	"github.com/srutest/srutest/report"
	"github.com/srutest/srutest/scenarios"
	"github.com/srutest/srutest/selftests"
	"github.com/srutest/srutest/vm"
)

// fakeKernelTree writes a kernel tree whose selftest target "net/fake" has
// three scripts steering the fake guest (see fakeGuest): ok.sh exits 0,
// FAKE-EXIT-4.sh exits 4 (SKIP), FAKE-CRASH.sh crashes the kernel. The
// Makefiles are real make input: selftests.Build runs make on them.
func fakeKernelTree(t *testing.T) string {
	t.Helper()
	src := t.TempDir()
	files := map[string]string{
		"Makefile": "kernelversion:\n\t@echo 6.99.0\nheaders:\n\t@mkdir -p usr/include\n",
		"tools/testing/selftests/net/fake/Makefile": "TEST_PROGS := ok.sh FAKE-EXIT-4.sh FAKE-CRASH.sh\n" +
			"TEST_FILES := settings\nTEST_INCLUDES := ../lib.sh\nall:\n\t@true\n",
		"tools/testing/selftests/net/fake/settings":       "timeout=5\n",
		"tools/testing/selftests/net/fake/config":         "CONFIG_FAKE=m\n",
		"tools/testing/selftests/net/fake/ok.sh":          "#!/bin/bash\n",
		"tools/testing/selftests/net/fake/FAKE-EXIT-4.sh": "#!/bin/bash\n",
		"tools/testing/selftests/net/fake/FAKE-CRASH.sh":  "#!/bin/bash\n",
		"tools/testing/selftests/net/lib.sh":              "\n",
		"net/fake/Makefile":                               "obj-$(CONFIG_FAKE) += fake_mod.o\nobj-$(CONFIG_FAKE_DEP) += fake-dep.o\n",
		"net/fake/Kconfig":                                "config FAKE\n\ttristate \"fake\"\n\tselect FAKE_DEP\n",
	}
	for name, body := range files {
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return src
}

// selftestGuest is a fakeGuest whose Pull of the script output writes
// what the script would have printed.
type selftestGuest struct {
	*fakeGuest
	mu     sync.Mutex
	script string
}

func (g *selftestGuest) Exec(ctx context.Context, cmd string) (scenarios.ExecResult, error) {
	if strings.Contains(cmd, "timeout -k") {
		g.mu.Lock()
		g.script = cmd
		g.mu.Unlock()
	}
	return g.fakeGuest.Exec(ctx, cmd)
}

func (g *selftestGuest) Pull(ctx context.Context, remote, local string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := "01 one   [ OK ]\n\nTAP version 13\n1..2\nok 1 - fake: one # time=3ms\nok 2 - fake: two # SKIP time=1ms\n"
	if strings.Contains(g.script, "FAKE-EXIT-4") {
		out = "[SKIP] widget not supported\n"
	}
	return os.WriteFile(local, []byte(out), 0o644)
}

func TestSelftestColumns(t *testing.T) {
	w := &fakeWorld{t: t}
	out := t.TempDir()
	cache := t.TempDir()
	var mu sync.Mutex
	var extras [][]string
	r := &Runner{Build: w.build, Out: out, Images: &images.Builder{CacheDir: cache},
		SelftestTools: selftests.DefaultTools()[:1], // bash: the full set is slow to gzip under -race
		Boot: func(ctx context.Context, cfg vm.Config) (Guest, error) {
			g, err := w.boot(ctx, cfg)
			if err != nil {
				return nil, err
			}
			if cfg.MemoryMB < selftestMinMemoryMB {
				t.Errorf("selftest guest with %d MiB", cfg.MemoryMB)
			}
			return &selftestGuest{fakeGuest: g.(*fakeGuest)}, nil
		},
		BuildSelftest: func(ctx context.Context, spec string, extra []string) (*images.Image, error) {
			mu.Lock()
			extras = append(extras, extra)
			mu.Unlock()
			return w.build(ctx, spec)
		},
	}
	p := &plan.Plan{Name: "t", Kernels: []plan.Kernel{{Name: "k1", Spec: "bzimage:/x"}},
		Selftests: []plan.Selftests{{Name: "fake", Source: fakeKernelTree(t), Target: "net/fake", Jobs: 2, TimeoutScale: 2,
			Expect: map[string]string{"FAKE-EXIT-4.sh": "SKIP"}}}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // a bound, not a timing: -race on a loaded host is slow
	defer cancel()
	run, err := r.Run(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	k := run.Kernels[0]
	if got := outcomes(k); got != "fake:ok.sh=PASS fake:FAKE-EXIT-4.sh=SKIP fake:FAKE-CRASH.sh=ERROR" {
		t.Fatalf("cells: %s", got)
	}
	ok, skip, crash := k.Cells[0], k.Cells[1], k.Cells[2]
	if len(ok.Subtests) != 2 || ok.Subtests[1].Outcome != report.Skip || ok.Subtests[0].Duration != 3*time.Millisecond {
		t.Errorf("ok.sh subtests %+v", ok.Subtests)
	}
	if skip.Reason != "[SKIP] widget not supported" || skip.Expected != report.Skip || !skip.Matches() {
		t.Errorf("skip cell %+v", skip)
	}
	if !strings.Contains(crash.Reason, "kernel crash during selftest") || !strings.Contains(crash.Console, "BUG: kernel NULL pointer") {
		t.Errorf("crash cell %+v", crash)
	}
	// One guest per script; the image carries the config's modules and
	// what they select.
	if len(w.guests) != 3 {
		t.Errorf("%d guests, want 3", len(w.guests))
	}
	if len(extras) != 1 || !reflect.DeepEqual(extras[0], []string{"fake_dep", "fake_mod"}) {
		t.Errorf("extra modules %v", extras)
	}
	// The script ran the kselftest way: in its directory, timeout × scale.
	g := w.guests[0]
	found := false
	for _, c := range g.cmds {
		if strings.Contains(c, "cd /opt/kselftest/net/fake && ") && strings.Contains(c, "timeout -k 10 10 ./") {
			found = true
		}
	}
	if !found {
		t.Errorf("no kselftest-style run in %q", g.cmds)
	}
	for _, f := range []string{"output.txt", "verdict.json", "console.txt"} {
		if _, err := os.Stat(filepath.Join(out, ok.Artifacts, f)); err != nil {
			t.Error(err)
		}
	}
	// The payload is gone after the run; the suite stays in the cache.
	if m, _ := filepath.Glob(filepath.Join(out, ".payload-*")); len(m) != 0 {
		t.Errorf("payload left behind: %v", m)
	}
	if m, _ := filepath.Glob(filepath.Join(cache, "selftests", "*", "suite.json")); len(m) != 1 {
		t.Errorf("cached suites: %v", m)
	}
}

// A tree whose Makefiles' mtimes are ahead of the host clock (a tarball
// packed on a machine whose clock ran ahead, or the test tarball of
// TestSelftestUbuntuSource a fraction of a second after packing) makes
// make warn "Clock skew detected" on stderr: the suite's version and the
// target's TEST_PROGS come from stdout alone.
func TestSelftestBuildIgnoresMakeWarnings(t *testing.T) {
	src := fakeKernelTree(t)
	future := time.Now().Add(time.Hour)
	for _, f := range []string{"Makefile", "tools/testing/selftests/net/fake/Makefile"} {
		if err := os.Chtimes(filepath.Join(src, f), future, future); err != nil {
			t.Fatal(err)
		}
	}
	var log strings.Builder
	s, err := selftests.Build(context.Background(), selftests.BuildOptions{CacheDir: t.TempDir(), Source: src, Target: "net/fake", Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range s.Programs {
		names = append(names, p.Name)
	}
	if s.Version != "6.99.0" || strings.Join(names, " ") != "ok.sh FAKE-EXIT-4.sh FAKE-CRASH.sh" {
		t.Errorf("version %q, programs %q", s.Version, names)
	}
}

// A tests: entry with the script's own arguments is its own column and
// the guest runs the script with them (mptcp_join.sh's test groups).
func TestSelftestArgsColumns(t *testing.T) {
	w := &fakeWorld{t: t}
	r := &Runner{Build: w.build, Out: t.TempDir(), Images: &images.Builder{CacheDir: t.TempDir()},
		SelftestTools: selftests.DefaultTools()[:1],
		Boot: func(ctx context.Context, cfg vm.Config) (Guest, error) {
			g, err := w.boot(ctx, cfg)
			if err != nil {
				return nil, err
			}
			return &selftestGuest{fakeGuest: g.(*fakeGuest)}, nil
		},
		BuildSelftest: func(ctx context.Context, spec string, extra []string) (*images.Image, error) {
			return w.build(ctx, spec)
		},
	}
	p := &plan.Plan{Name: "t", Kernels: []plan.Kernel{{Name: "k1", Spec: "bzimage:/x"}},
		Selftests: []plan.Selftests{{Name: "fake", Source: fakeKernelTree(t), Target: "net/fake",
			Tests: []string{"ok.sh -f -e", "ok.sh -s", "nope.sh -f"}, Expect: map[string]string{"nope.sh -f": "ERROR"}}}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	run, err := r.Run(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	k := run.Kernels[0]
	if got := outcomes(k); got != "fake:ok.sh -f -e=PASS fake:ok.sh -s=PASS fake:nope.sh -f=ERROR" {
		t.Fatalf("cells: %s", got)
	}
	if c := k.Cells[2]; !c.Matches() || !strings.Contains(c.Reason, "nope.sh is not in net/fake's TEST_PROGS") {
		t.Errorf("unknown script: %+v", c)
	}
	var ran []string
	for _, g := range w.guests {
		for _, c := range g.cmds {
			if i := strings.Index(c, "./ok.sh"); i >= 0 {
				ran = append(ran, c[i:strings.Index(c, " >")])
			}
		}
	}
	slices.Sort(ran)
	if strings.Join(ran, "|") != "./ok.sh -f -e|./ok.sh -s" {
		t.Errorf("guest commands %q", ran)
	}
	for _, c := range k.Cells[:2] {
		if _, err := os.Stat(filepath.Join(r.Out, c.Artifacts, "output.txt")); err != nil {
			t.Errorf("%s: %v", c.Scenario, err)
		}
	}
}
