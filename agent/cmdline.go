package agent

import "strings"

// Param is one word of the kernel command line.
type Param struct {
	Key      string
	Value    string
	HasValue bool // "key=" has an empty value, "key" has none
}

// ParseCmdline splits a kernel command line (/proc/cmdline) into
// parameters the way the kernel's next_arg does: whitespace separates words
// except inside double quotes, and quotes around a whole word or around its
// value are dropped ("a b"=c is rare but legal; k="a b" is common).
func ParseCmdline(cmdline string) []Param {
	var out []Param
	s := cmdline
	for {
		s = strings.TrimLeft(s, " \t\n\r\v\f")
		if s == "" {
			return out
		}
		inQuote := false
		end := len(s)
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c == '"' {
				inQuote = !inQuote
				continue
			}
			if !inQuote && isCmdlineSpace(c) {
				end = i
				break
			}
		}
		word := s[:end]
		s = s[end:]
		// A word that starts with a quote is quoted as a whole.
		if strings.HasPrefix(word, `"`) {
			word = strings.TrimPrefix(word, `"`)
			word = strings.TrimSuffix(word, `"`)
		}
		if word == "" {
			continue // a lone `"` or `""`
		}
		k, v, ok := strings.Cut(word, "=")
		if ok && len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		out = append(out, Param{Key: k, Value: v, HasValue: ok})
	}
}

func isCmdlineSpace(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\v', '\f':
		return true
	}
	return false
}

// CmdlineValue returns the value of key on a kernel command line; when the
// key appears more than once the last one wins, as for kernel parameters.
func CmdlineValue(cmdline, key string) (string, bool) {
	val, found := "", false
	for _, p := range ParseCmdline(cmdline) {
		if p.Key == key {
			val, found = p.Value, true
		}
	}
	return val, found
}
