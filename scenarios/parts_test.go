package scenarios

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// TestMultiScript runs multiScript in a real sh and checks that every
// part gets exactly its own output (stdout and stderr, with or without a
// final newline) and exit code, and that stopOnFail ends the script at
// the first failing part with its code.
func TestMultiScript(t *testing.T) {
	errFile := filepath.Join(t.TempDir(), "err")
	parts := []part{
		{"a", "echo one; echo two >&2", ""},
		{"b", "printf 'no newline'", ""},
		{"c", "true", ""},
		{"d", "echo failing; (exit 3)", ""},
		{"e", "cat <<'EOF'\nheredoc @@srutest-exit e 0 inside\nEOF", ""},
		{"f", "echo table; echo warning >&2; echo more >&2", errFile},
		{"g", "echo quiet", errFile},
		{"h", "", ""},
	}
	shells := [][]string{{"sh"}}
	if bb, err := exec.LookPath("busybox"); err == nil {
		shells = append(shells, []string{bb, "sh"}) // the guest's shell
	}
	for _, sh := range shells {
		for _, stop := range []bool{false, true} {
			checkMultiScript(t, sh, stop, parts)
		}
	}
}

func checkMultiScript(t *testing.T, sh []string, stop bool, parts []part) {
	t.Helper()
	out, err := exec.Command(sh[0], append(sh[1:], "-c", multiScript(stop, parts...))...).Output()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	got := splitParts(out)
	want := map[string]partOutput{
		"a": {out: []byte("one\ntwo\n"), ran: true},
		"b": {out: []byte("no newline"), ran: true},
		"c": {out: []byte(""), ran: true},
		"d": {out: []byte("failing\n"), code: 3, ran: true},
		"e": {out: []byte("heredoc @@srutest-exit e 0 inside\n"), ran: true},
		"f": {out: []byte("table\n"), err: []byte("warning\nmore\n"), ran: true},
		"g": {out: []byte("quiet\n"), ran: true},
		"h": {out: []byte(""), ran: true},
	}
	if stop {
		delete(want, "e")
		delete(want, "f")
		delete(want, "g")
		delete(want, "h")
		if code != 3 {
			t.Errorf("stopOnFail: script exit %d, want 3", code)
		}
	} else if code != 0 {
		t.Errorf("script exit %d, want 0", code)
	}
	if len(got) != len(want) {
		t.Errorf("%v stop=%v: parts %v, want %d", sh, stop, got, len(want))
	}
	for name, w := range want {
		g := got[name]
		if string(g.out) != string(w.out) || string(g.err) != string(w.err) || g.code != w.code || g.ran != w.ran {
			t.Errorf("%v stop=%v part %s: got %q (stderr %q) code %d ran %v, want %q (stderr %q) code %d", sh, stop, name, g.out, g.err, g.code, g.ran, w.out, w.err, w.code)
		}
	}
}

// A script cut off mid-part (the guest command timed out) leaves that
// part with what it printed and code -1; later parts did not run.
func TestSplitPartsCutOff(t *testing.T) {
	got := splitParts([]byte("@@srutest-part a\nx\n\n@@srutest-exit a 0\n@@srutest-part b\npartial"))
	if a := got["a"]; string(a.out) != "x\n" || a.code != 0 {
		t.Errorf("a: %+v", a)
	}
	if b := got["b"]; string(b.out) != "partial" || b.code != -1 || !b.ran {
		t.Errorf("b: %+v", b)
	}
	if c := got["c"]; c.ran {
		t.Errorf("c ran: %+v", c)
	}
}

func FuzzSplitParts(f *testing.F) {
	f.Add([]byte("@@srutest-part a\nx\n\n@@srutest-exit a 0\n"))
	f.Add([]byte("@@srutest-part a\n@@srutest-part b\n@@srutest-exit b x\n"))
	f.Add([]byte("\n\n@@srutest-exit a 1\n"))
	f.Add([]byte("@@srutest-part a\n\n@@srutest-exit a 1\n@@srutest-stderr a\nw\n@@srutest-stderr-end a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for name, p := range splitParts(data) {
			if !p.ran || len(p.out) > len(data) || name == "" && len(data) == 0 {
				t.Fatalf("part %q: %+v from %q", name, p, data)
			}
		}
	})
}
