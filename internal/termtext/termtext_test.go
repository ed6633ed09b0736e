package termtext

import (
	"strings"
	"testing"
	"unicode"
)

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"plain line\n\tindented":                   "plain line\n\tindented",
		"\x1b]0;owned\x07title":                    "?]0;owned?title",
		"\x1b[2J\x1b[Hcleared":                     "?[2J?[Hcleared",
		"progress 10%\rprogress 100%":              "progress 10%?progress 100%",
		"c1 \u009b31m csi":                         "c1 ?31m csi",
		"bad utf8 \xff\xfe":                        "bad utf8 ??",
		"ünïcödé ok, 中文 ok":                        "ünïcödé ok, 中文 ok",
		"BUG: kernel NULL pointer dereference\x00": "BUG: kernel NULL pointer dereference?",
	} {
		if got := Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzClean(f *testing.F) {
	f.Add("\x1b[31mred\x1b[0m\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		out := Clean(s)
		for _, r := range out {
			if unicode.IsControl(r) && r != '\n' && r != '\t' {
				t.Fatalf("control %U left in %q", r, out)
			}
		}
		if strings.Count(out, "\n") != strings.Count(s, "\n") {
			t.Fatalf("lines changed: %q → %q", s, out)
		}
	})
}
