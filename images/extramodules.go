package images

import (
	"slices"
	"sort"
)

// extraModules is ExtraModules sorted, without duplicates and without the
// base set (so the same extras always give the same layer key).
func (b *Builder) extraModules() []string {
	var out []string
	for _, m := range b.ExtraModules {
		if m != "" && !slices.Contains(NeededModules, m) && !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	sort.Strings(out)
	return out
}

// neededModules is the module set a layer of this builder carries:
// NeededModules first (the NIC chain must stay in front), then the extras.
func (b *Builder) neededModules() []string {
	return append(slices.Clone(NeededModules), b.extraModules()...)
}

// baseOnly keeps the names of NeededModules.
func baseOnly(names []string) []string {
	var out []string
	for _, n := range names {
		if slices.Contains(NeededModules, n) {
			out = append(out, n)
		}
	}
	return out
}
