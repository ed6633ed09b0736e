package plan

import (
	"fmt"
	"regexp"
	"strings"
)

var unsafeDirChars = regexp.MustCompile(`[^A-Za-z0-9._+-]+`)

// DirName turns a kernel or scenario name into the name of its directory
// in a run directory: unsafe characters become "_", at most 80 bytes,
// leading and trailing "_" and "." trimmed. It may be "" (names like ".",
// "..", or only non-ASCII letters): CheckDirNames rejects those, since
// an empty name would make the run directory itself the artifacts dir.
func DirName(s string) string {
	s = unsafeDirChars.ReplaceAllString(s, "_")
	if len(s) > 80 {
		s = s[:80]
	}
	return strings.Trim(s, "_.")
}

// checkDirNames rejects kernel names and scenario/reproducer names that map
// to an empty directory name, or two that map to the same one: their
// artifacts would land in (and a rerun would clear) someone else's
// directory.
func (f *File) checkDirNames(known []string) error {
	kernels := map[string]string{}
	for _, k := range f.Kernels {
		if err := claimDirName(kernels, "kernel", k.Name, k.line); err != nil {
			return err
		}
	}
	scen := map[string]string{}
	for _, s := range known {
		scen[DirName(s)] = s
	}
	for _, r := range f.Reproducers {
		if err := claimDirName(scen, "reproducer", r.Name, r.line); err != nil {
			return err
		}
	}
	return nil
}

func claimDirName(seen map[string]string, what, name string, line int) error {
	d := DirName(name)
	if d == "" {
		return fmt.Errorf("line %d: %s name %q gives an empty directory name: use letters, digits, '.', '_', '+' or '-'", line, what, name)
	}
	if prev, ok := seen[d]; ok && prev != name {
		return fmt.Errorf("line %d: %s name %q and %q both give the directory name %q: rename one", line, what, name, prev, d)
	}
	seen[d] = name
	return nil
}
