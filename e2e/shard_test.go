package e2e

import (
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/srutest/srutest/report"
)

// TestE2EShardRoundTrip is the CI engines' path: the host's demo plan
// (Debian: demo.yaml; Ubuntu: the series' GA and newest kernels) run as
// shards 1/2 and 2/2 (one kernel each, as two machines would), merged,
// rendered — and the result is the unsharded run's, modulo timings. The
// shards are handed to merge in reverse to prove merge, not argument
// order, restores plan order; they sit in sibling directories as a CI
// download leaves them, so the merged reports must link across them.
func TestE2EShardRoundTrip(t *testing.T) {
	skipUnlessE2E(t)
	demo := hostPlan(t, "demo")
	var names []string
	for _, k := range needHost(t).Demo {
		names = append(names, k.Name)
	}
	if len(names) != 2 {
		t.Fatalf("the host's demo has %d kernels (%v), want 2: one per shard", len(names), hostProfile.Problems)
	}
	scen := []string{"--scenario", "connect", "--scenario", "join"}
	root := t.TempDir()
	whole := filepath.Join(root, "whole")
	_, log := runOK2(t, append([]string{"run", demo, "--out", whole}, scen...)...)
	// Without a terminal (CI): one line per finished cell.
	for _, k := range names {
		for _, sc := range []string{"connect", "join"} {
			if n := strings.Count(log, k+" × "+sc+":"); n != 1 {
				t.Errorf("%s × %s printed %d times without a terminal, want once:\n%s", k, sc, n, log)
			}
		}
	}
	for i := 1; i <= 2; i++ {
		runOK(t, append([]string{"run", demo, "--shard", fmt.Sprintf("%d/2", i), "--out", filepath.Join(root, "shards", fmt.Sprintf("shard-%d", i))}, scen...)...)
	}
	merged := filepath.Join(root, "merged", "results.json")
	runOK(t, "merge", "-o", merged, filepath.Join(root, "shards/shard-2/results.json"), filepath.Join(root, "shards/shard-1/results.json"))

	want, err := report.Load(filepath.Join(whole, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := report.Load(merged)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		s, err := report.Load(filepath.Join(root, "shards", fmt.Sprintf("shard-%d", i), "results.json"))
		if err != nil {
			t.Fatal(err)
		}
		if s.Shard != fmt.Sprintf("%d/2", i) || len(s.Kernels) != 1 {
			t.Errorf("shard %d: results.json says shard %q with %d kernels", i, s.Shard, len(s.Kernels))
		}
	}
	if g, w := comparable(t, got, filepath.Dir(merged)), comparable(t, want, whole); !reflect.DeepEqual(g, w) {
		t.Errorf("merged shards differ from the unsharded run:\nmerged: %+v\nwhole:  %+v", g, w)
	}

	// Every report a CI engine publishes, rendered from the merged file,
	// says the same as the unsharded run's.
	for _, f := range []string{"junit", "markdown", "html"} {
		gotOut := runOK(t, "report", merged, "-f", f)
		wantOut := runOK(t, "report", filepath.Join(whole, "results.json"), "-f", f)
		switch f {
		case "junit":
			if g, w := junitCases(t, gotOut), junitCases(t, wantOut); !reflect.DeepEqual(g, w) {
				t.Errorf("junit cases differ:\nmerged: %v\nwhole:  %v", g, w)
			}
		case "markdown":
			// The SRU comment's matrix lines (kernel, outcomes) match.
			if g, w := matrixLines(gotOut, names), matrixLines(wantOut, names); !reflect.DeepEqual(g, w) {
				t.Errorf("markdown matrix differs:\nmerged: %q\nwhole:  %q", g, w)
			}
		case "html":
			if err := os.WriteFile(filepath.Join(filepath.Dir(merged), "index.html"), []byte(gotOut), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// runOK runs srutest and returns its stdout; any failure ends the test.
func runOK(t *testing.T, args ...string) string {
	t.Helper()
	out, _ := runOK2(t, args...)
	return out
}

// runOK2 is runOK returning stderr too.
func runOK2(t *testing.T, args ...string) (string, string) {
	t.Helper()
	cmd := srutest(t, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("srutest %s: %v\n%s\n%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out), stderr.String()
}

// cellKey is what must not change between a sharded and an unsharded run:
// everything but timings, hosts and probe counts/intervals (which vary
// with the timing of each run). Artifacts are resolved to the files they
// name and compared by their place in the run directory.
type cellKey struct {
	Kernel, Spec, Version, Release, Scenario string
	Outcome, Expected                        report.Outcome
	Subflows                                 string
	Evidence                                 string
}

func comparable(t *testing.T, r *report.Run, dir string) []cellKey {
	t.Helper()
	var out []cellKey
	for _, k := range r.Kernels {
		for _, c := range k.Cells {
			var sf []string
			for _, s := range c.Subflows {
				sf = append(sf, fmt.Sprintf("%s/%s/%v/%s", s.Path, s.Kind, s.TimerSeen, s.Verdict))
			}
			ev := ""
			if c.Artifacts != "" {
				abs := filepath.Join(dir, c.Artifacts)
				if _, err := os.Stat(filepath.Join(abs, "verdict.json")); err != nil {
					t.Errorf("%s × %s: artifacts link broken: %v", k.Name, c.Scenario, err)
				}
				ev = filepath.Join(filepath.Base(filepath.Dir(abs)), filepath.Base(abs))
			}
			out = append(out, cellKey{k.Name, k.Spec, k.Version, k.Release, c.Scenario, c.Outcome, c.Expected, strings.Join(sf, " "), ev})
		}
	}
	return out
}

func junitCases(t *testing.T, doc string) []string {
	t.Helper()
	var s report.JUnitSuites
	if err := xml.Unmarshal([]byte(doc), &s); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, su := range s.Suites {
		for _, c := range su.Cases {
			out = append(out, fmt.Sprintf("%s.%s failure=%v error=%v skipped=%v", c.Classname, c.Name, c.Failure != nil, c.Error != nil, c.Skipped != nil))
		}
	}
	sort.Strings(out)
	return out
}

// matrixLines are the markdown lines that start with one of the kernel
// names.
func matrixLines(md string, kernels []string) []string {
	var out []string
	for _, l := range strings.Split(md, "\n") {
		for _, k := range kernels {
			if strings.HasPrefix(l, k) {
				out = append(out, l)
				break
			}
		}
	}
	return out
}
