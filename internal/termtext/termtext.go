// Package termtext makes text that came from a guest (a reproducer's
// stderr, console lines, crash titles) safe to print on the user's
// terminal: a guest must not be able to move the cursor, retitle the
// window, rewrite earlier lines with carriage returns or hide text with
// escape sequences on the host.
package termtext

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Clean returns s with every control character except newline and tab
// (C0, DEL, C1 — ESC and CSI included, so no escape sequence survives) and
// every invalid UTF-8 byte replaced by "?". Clean text is returned as is.
func Clean(s string) string {
	if isClean(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			b.WriteByte('?')
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case unicode.IsControl(r):
			b.WriteByte('?')
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func isClean(s string) bool {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n <= 1) || (unicode.IsControl(r) && r != '\n' && r != '\t') {
			return false
		}
		i += n
	}
	return true
}
