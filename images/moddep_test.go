package images

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The closure of NeededModules on real Debian modules.dep excerpts: 6.1
// cloud has the whole virtio stack modular, 6.12 has it built in.
func TestClosureRealModulesDep(t *testing.T) {
	cases := []struct {
		release     string
		wantNames   []string
		wantMissing []string // not modules; all builtin per modules.builtin
	}{
		{
			"6.1.0-56-cloud-amd64",
			[]string{"virtio_ring", "virtio", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio_pci",
				"failover", "net_failover", "virtio_net", "veth", "inet_diag", "tcp_diag", "mptcp_diag", "sch_netem"},
			[]string{"af_packet"},
		},
		{
			"6.12.117+deb12-cloud-amd64",
			[]string{"failover", "net_failover", "virtio_net", "veth", "inet_diag", "tcp_diag", "mptcp_diag", "sch_netem"},
			[]string{"virtio_pci", "af_packet"},
		},
	}
	for _, c := range cases {
		t.Run(c.release, func(t *testing.T) {
			md, err := ParseModulesDep(readTestdata(t, "modules.dep-"+c.release))
			if err != nil {
				t.Fatal(err)
			}
			order, missing := md.Graph().Closure(NeededModules)
			var names []string
			for _, p := range order {
				names = append(names, ModuleName(p))
			}
			if !reflect.DeepEqual(names, c.wantNames) {
				t.Errorf("order\n got %v\nwant %v", names, c.wantNames)
			}
			if !reflect.DeepEqual(missing, c.wantMissing) {
				t.Errorf("missing %v, want %v", missing, c.wantMissing)
			}
			builtin := ParseBuiltin(readTestdata(t, "modules.builtin-"+c.release))
			for _, m := range missing {
				if !builtin[m] {
					t.Errorf("%s neither module nor builtin", m)
				}
			}
			// Every module comes after all of its dependencies.
			pos := map[string]int{}
			for i, p := range order {
				pos[p] = i
			}
			for _, p := range order {
				for _, d := range md.Deps[p] {
					if pos[d] >= pos[p] {
						t.Errorf("%s loaded before its dependency %s", p, d)
					}
				}
			}
		})
	}
}

func TestFormatModulesDepRoundTrip(t *testing.T) {
	md, err := ParseModulesDep(readTestdata(t, "modules.dep-6.1.0-56-cloud-amd64"))
	if err != nil {
		t.Fatal(err)
	}
	g := md.Graph()
	order, _ := g.Closure(NeededModules)
	out := g.FormatModulesDep(order)
	md2, err := ParseModulesDep(out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// Same transitive dependency sets as depmod wrote (order within a line
	// may differ for independent modules, so compare as sets).
	for _, p := range order {
		if !sameSet(md.Deps[p], md2.Deps[p]) {
			t.Errorf("%s: depmod %v, ours %v", p, md.Deps[p], md2.Deps[p])
		}
	}
	if !strings.Contains(string(out), "kernel/drivers/net/virtio_net.ko: ") {
		t.Errorf("no virtio_net line:\n%s", out)
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]bool{}
	for _, x := range a {
		m[x] = true
	}
	for _, x := range b {
		if !m[x] {
			return false
		}
	}
	return true
}

func TestParseModulesDepErrors(t *testing.T) {
	cases := []struct {
		name, in string
		line     int
		unsafe   bool
	}{
		{"no colon", "kernel/a.ko\n", 1, false},
		{"empty path", ": kernel/a.ko\n", 1, false},
		{"not a module", "kernel/a.txt:\n", 1, false},
		{"absolute", "/lib/modules/x/a.ko:\n", 1, true},
		{"dotdot", "kernel/../../a.ko:\n", 1, true},
		{"dotdot dep", "kernel/a.ko: ../b.ko\n", 1, true},
		{"duplicate", "kernel/a.ko:\n\nkernel/a.ko:\n", 3, false},
		{"self", "kernel/a.ko: kernel/a.ko\n", 1, false},
		{"bare suffix", "kernel/.ko:\n", 1, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseModulesDep([]byte(c.in))
			var de *DepError
			if !errors.As(err, &de) {
				t.Fatalf("err = %v, want *DepError", err)
			}
			if de.Line != c.line {
				t.Errorf("line %d, want %d", de.Line, c.line)
			}
			if c.unsafe != strings.Contains(err.Error(), ErrUnsafePath.Error()) {
				t.Errorf("unsafe=%v: %v", c.unsafe, err)
			}
		})
	}
	md, err := ParseModulesDep([]byte("kernel/a.ko.zst: kernel/b.ko.gz\r\n\n  \nkernel/b.ko.gz:\n"))
	if err != nil || len(md.Order) != 2 || md.Deps["kernel/a.ko.zst"][0] != "kernel/b.ko.gz" {
		t.Fatalf("%+v %v", md, err)
	}
}

func TestClosureCycleAndMissingDep(t *testing.T) {
	g := &DepGraph{
		ByName: map[string]string{"a": "a.ko", "b": "b.ko"},
		Deps:   map[string][]string{"a.ko": {"b.ko"}, "b.ko": {"a.ko", "c.ko"}},
	}
	order, missing := g.Closure([]string{"a", "zz"})
	if !reflect.DeepEqual(order, []string{"c.ko", "b.ko", "a.ko"}) || !reflect.DeepEqual(missing, []string{"zz"}) {
		t.Fatalf("order %v missing %v", order, missing)
	}
}

func TestModuleName(t *testing.T) {
	for in, want := range map[string]string{
		"kernel/drivers/char/hw_random/virtio-rng.ko.xz": "virtio_rng",
		"kernel/net/core/failover.ko":                    "failover",
		"x/sch_netem.ko.zst":                             "sch_netem",
		"tcp_diag.ko.gz":                                 "tcp_diag",
	} {
		if got := ModuleName(in); got != want {
			t.Errorf("ModuleName(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseModulesDep(f *testing.F) {
	f.Add(readTestdata(f, "modules.dep-6.1.0-56-cloud-amd64"))
	f.Add(readTestdata(f, "modules.dep-6.12.117+deb12-cloud-amd64"))
	f.Add([]byte("a.ko: b.ko\nb.ko: a.ko\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		md, err := ParseModulesDep(data)
		if err != nil {
			return
		}
		g := md.Graph()
		order, _ := g.Closure(NeededModules)
		if _, err := ParseModulesDep(g.FormatModulesDep(order)); err != nil {
			t.Fatalf("our own output does not parse: %v", err)
		}
	})
}
