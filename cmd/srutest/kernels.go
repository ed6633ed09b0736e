package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/srutest/srutest/images/ubuntu"
	"github.com/srutest/srutest/runner"
)

// describeKernel says what a spec resolves to without downloading debs:
// ubuntu: specs go through the verified archive resolver; other kinds are
// shown as given (they resolve at build time).
func describeKernel(ctx context.Context, res *ubuntu.Resolver, spec string) (string, error) {
	arg, ok := strings.CutPrefix(spec, "ubuntu:")
	if !ok {
		return fmt.Sprintf("  spec %s (resolved when built)\n", spec), nil
	}
	q, err := ubuntu.ParseArg(arg)
	if err != nil {
		return "", err
	}
	r, err := res.Plan(ctx, q)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	what := r.Meta
	if what == "" {
		what = "abi=" + q.ABI
	}
	fmt.Fprintf(&b, "  %s %s → ABI %s, version %s, release %s (signed by %s)\n", r.Dist, what, r.ABI, r.Version, r.Release, r.Signer)
	if r.EndOfLife {
		fmt.Fprintf(&b, "    end of life: %s resolved from %s\n", q.Series, r.Archive)
	}
	for _, p := range r.Packages {
		fmt.Fprintf(&b, "    %s %s %s\n", p.Name, p.Version, humanBytes(p.Size))
	}
	if r.ExtraReason != "" {
		fmt.Fprintf(&b, "    modules-extra: %s\n", r.ExtraReason)
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(&b, "    warning: %s\n", w)
	}
	return b.String(), nil
}

// archiveResolver adapts the Ubuntu resolver to runner.Resolve: what an
// ubuntu: spec resolves to (indexes only, no kernel download), memoised for
// the run so a -updates kernel several comparisons share is looked up once.
func archiveResolver(full *ubuntu.Resolver) func(context.Context, string) (runner.Resolved, error) {
	// Versions need only InRelease and Packages: leave the Contents index
	// (tens of MB to scan) to the build.
	res := *full
	res.Contents = ubuntu.ContentsOff
	var mu sync.Mutex
	memo := map[string]runner.Resolved{}
	return func(ctx context.Context, spec string) (runner.Resolved, error) {
		arg, ok := strings.CutPrefix(spec, "ubuntu:")
		if !ok {
			return runner.Resolved{}, runner.ErrNotArchive
		}
		mu.Lock()
		defer mu.Unlock()
		if r, ok := memo[spec]; ok {
			return r, nil
		}
		q, err := ubuntu.ParseArg(arg)
		if err != nil {
			return runner.Resolved{}, err
		}
		rs, err := res.Plan(ctx, q)
		var out runner.Resolved
		switch {
		case errors.Is(err, ubuntu.ErrNoPackage):
			// The pocket answers but lists no such kernel (an empty
			// -proposed): a fact, not a failure.
			what := q.Meta
			if what == "" {
				what = "linux-image(-unsigned)-" + q.ABI + "-" + q.Flavour
			}
			out = runner.Resolved{Dist: q.Dist(), Absent: fmt.Sprintf("%s lists no %s", q.Dist(), what)}
		case err != nil:
			return runner.Resolved{}, err
		default:
			name := q.Series + "-" + q.Pocket + "-" + rs.ABI
			if q.Flavour != "generic" {
				name += "-" + q.Flavour
			}
			out = runner.Resolved{Dist: rs.Dist, Version: rs.Version, Name: name, Notes: rs.Warnings}
		}
		memo[spec] = out
		return out, nil
	}
}
