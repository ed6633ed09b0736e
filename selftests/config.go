package selftests

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// DefaultTimeout is kselftest's per-script timeout when the target has no
// settings file (tools/testing/selftests/kselftest/runner.sh).
const DefaultTimeout = 45 * time.Second

// ParseSettings reads a target's settings file ("timeout=1800"); ok is
// false when it names no usable timeout. timeout=0 means none in
// kselftest: it is reported as not ok too, the caller keeps its default.
func ParseSettings(b []byte) (time.Duration, bool) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok || strings.TrimSpace(k) != "timeout" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n <= 0 {
			return 0, false
		}
		return time.Duration(n) * time.Second, true
	}
	return 0, false
}

// ParseConfig reads a config fragment: CONFIG_X=value lines; comments
// ("# CONFIG_X is not set" is n) and other lines are skipped.
func ParseConfig(b []byte) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(l, "# CONFIG_") && strings.HasSuffix(l, " is not set") {
			m[strings.TrimSuffix(strings.TrimPrefix(l, "# "), " is not set")] = "n"
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok || !strings.HasPrefix(k, "CONFIG_") || strings.ContainsAny(k, " \t#") {
			continue
		}
		m[k] = strings.Trim(strings.TrimSpace(v), `"`)
	}
	return m
}

// objRE matches a Kbuild line adding objects for a config symbol:
// obj-$(CONFIG_NF_TABLES) += nf_tables.o (a module named nf_tables).
var objRE = regexp.MustCompile(`^obj-\$\((CONFIG_[A-Za-z0-9_]+)\)\s*[+:]?=\s*(.*)$`)

// ParseKbuildObjs returns, for each symbol in want, the module names a
// Makefile builds for it (objects ending in .o; subdirectories skipped).
// Continuation lines are joined first.
func ParseKbuildObjs(b []byte, want map[string]string, into map[string][]string) {
	text := strings.ReplaceAll(string(b), "\\\n", " ")
	for _, l := range strings.Split(text, "\n") {
		m := objRE.FindStringSubmatch(strings.TrimSpace(l))
		if m == nil {
			continue
		}
		if _, ok := want[m[1]]; !ok {
			continue
		}
		val, _, _ := strings.Cut(m[2], "#")
		for _, o := range strings.Fields(val) {
			if !strings.HasSuffix(o, ".o") {
				continue
			}
			name := strings.ReplaceAll(filepath.Base(strings.TrimSuffix(o, ".o")), "-", "_")
			if !containsStr(into[m[1]], name) {
				into[m[1]] = append(into[m[1]], name)
			}
		}
	}
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ParseKconfigSelects adds to into, for each "config X" entry of a Kconfig
// file, the symbols its "select Y" lines name (conditions ignored: a
// selected module that is absent is only not loaded).
func ParseKconfigSelects(b []byte, into map[string][]string) {
	cur := ""
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "config", "menuconfig":
			cur = "CONFIG_" + f[1]
		case "select":
			if cur != "" && !containsStr(into[cur], "CONFIG_"+f[1]) {
				into[cur] = append(into[cur], "CONFIG_"+f[1])
			}
		case "menu", "endmenu", "if", "endif", "choice", "endchoice", "source", "comment":
			cur = ""
		}
	}
}

// selectClosure extends config with what its enabled symbols select,
// transitively (CONFIG_NETFILTER_XT_TARGET_MARK selects
// CONFIG_NETFILTER_XT_MARK, which builds xt_mark). A selected symbol takes
// the selecting one's value unless the fragment sets it.
func selectClosure(config map[string]string, selects map[string][]string) map[string]string {
	out := map[string]string{}
	var queue []string
	for k, v := range config {
		out[k] = v
		if v != "n" {
			queue = append(queue, k)
		}
	}
	sort.Strings(queue)
	for len(queue) > 0 {
		k := queue[0]
		queue = queue[1:]
		for _, sel := range selects[k] {
			if _, ok := out[sel]; !ok {
				out[sel] = out[k]
				queue = append(queue, sel)
			}
		}
	}
	return out
}

// walkKbuild calls fn for every Makefile, Kbuild and Kconfig* file of the
// tree, tools/ and Documentation/ aside.
func walkKbuild(src string, fn func(name string, b []byte)) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch rel, _ := filepath.Rel(src, p); rel {
			case "tools", "Documentation", "usr", ".git":
				return filepath.SkipDir
			}
			return nil
		}
		n := d.Name()
		if n != "Makefile" && n != "Kbuild" && !strings.HasPrefix(n, "Kconfig") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fn(n, b)
		return nil
	})
}

// moduleMap maps the symbols of config, and what they select, to module
// names, reading the tree's Kconfig and Kbuild files.
func moduleMap(src string, config map[string]string) (map[string][]string, map[string]string, error) {
	out := map[string][]string{}
	if len(config) == 0 {
		return out, config, nil
	}
	selects := map[string][]string{}
	if err := walkKbuild(src, func(name string, b []byte) {
		if strings.HasPrefix(name, "Kconfig") {
			ParseKconfigSelects(b, selects)
		}
	}); err != nil {
		return nil, nil, err
	}
	config = selectClosure(config, selects)
	err := walkKbuild(src, func(name string, b []byte) {
		if !strings.HasPrefix(name, "Kconfig") {
			ParseKbuildObjs(b, config, out)
		}
	})
	for _, v := range out {
		sort.Strings(v)
	}
	return out, config, err
}
