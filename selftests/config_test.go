package selftests

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseSettings(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{string(readTestdata(t, "settings-net-mptcp-6.12")), 1800 * time.Second, true},
		{"timeout=45\n", 45 * time.Second, true},
		{"# comment\n timeout = 120 \n", 120 * time.Second, true},
		{"timeout=0\n", 0, false}, // kselftest: no timeout; the caller keeps its default
		{"timeout=abc\n", 0, false},
		{"", 0, false},
	} {
		got, ok := ParseSettings([]byte(tc.in))
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseSettings(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseConfigMPTCP(t *testing.T) {
	c := ParseConfig(readTestdata(t, "config-net-mptcp-6.12"))
	for sym, want := range map[string]string{
		"CONFIG_MPTCP": "y", "CONFIG_INET_MPTCP_DIAG": "m", "CONFIG_NF_TABLES": "m",
		"CONFIG_NET_SCH_INGRESS": "m", "CONFIG_KALLSYMS": "y",
	} {
		if c[sym] != want {
			t.Errorf("%s = %q, want %q", sym, c[sym], want)
		}
	}
	if len(c) != 34 {
		t.Errorf("%d symbols, want the 34 lines of the 6.12 fragment", len(c))
	}
	if got := ParseConfig([]byte("# CONFIG_FOO is not set\nCONFIG_BAR=\"x\"\nnot a line\n")); !reflect.DeepEqual(got, map[string]string{"CONFIG_FOO": "n", "CONFIG_BAR": "x"}) {
		t.Errorf("got %v", got)
	}
}

func TestParseKbuildObjs(t *testing.T) {
	want := map[string]string{"CONFIG_NF_TABLES": "m", "CONFIG_NFT_COMPAT": "m", "CONFIG_NETFILTER_XT_MATCH_BPF": "m", "CONFIG_NFT_SOCKET": "m", "CONFIG_VETH": "y"}
	got := map[string][]string{}
	ParseKbuildObjs(readTestdata(t, "Makefile-net-netfilter-6.12-excerpt"), want, got)
	exp := map[string][]string{
		"CONFIG_NF_TABLES": {"nf_tables"}, "CONFIG_NFT_COMPAT": {"nft_compat"},
		"CONFIG_NETFILTER_XT_MATCH_BPF": {"xt_bpf"}, "CONFIG_NFT_SOCKET": {"nft_socket"},
	}
	if !reflect.DeepEqual(got, exp) {
		t.Errorf("got %v\nwant %v", got, exp)
	}
	// Continuations, comments, subdirectories, dashes.
	got = map[string][]string{}
	ParseKbuildObjs([]byte("obj-$(CONFIG_A) += a-b.o \\\n\tc.o # d.o\nobj-$(CONFIG_A) += sub/\nobj-$(CONFIG_B) := b.o\n"), map[string]string{"CONFIG_A": "m"}, got)
	if !reflect.DeepEqual(got, map[string][]string{"CONFIG_A": {"a_b", "c"}}) {
		t.Errorf("got %v", got)
	}
}

func TestSuiteModuleNames(t *testing.T) {
	s := &Suite{
		Config:  map[string]string{"CONFIG_A": "m", "CONFIG_B": "y", "CONFIG_C": "n"},
		Modules: map[string][]string{"CONFIG_A": {"a"}, "CONFIG_B": {"b", "a"}, "CONFIG_C": {"c"}},
	}
	if got := s.ModuleNames(); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("got %v", got)
	}
}

// TestCleanMakeEnv: a parent make's level and flags do not reach the
// selftest build (with MAKELEVEL set, lib.mk builds into /).
func TestCleanMakeEnv(t *testing.T) {
	got := cleanMakeEnv([]string{"PATH=/bin", "MAKELEVEL=1", "MAKEFLAGS=w", "MFLAGS=-w", "HOME=/root"})
	if len(got) != 2 || got[0] != "PATH=/bin" || got[1] != "HOME=/root" {
		t.Fatalf("cleanMakeEnv = %v", got)
	}
}
