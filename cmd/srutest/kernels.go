package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/srutest/srutest/images"
	"github.com/srutest/srutest/images/ubuntu"
	"github.com/srutest/srutest/plan"
	"github.com/srutest/srutest/runner"
)

func newKernelsCmd(g *globals) *cobra.Command {
	var shardFlag string
	var names bool
	cmd := &cobra.Command{
		Use:   "kernels PLAN.yaml",
		Short: "Show what each kernel of a plan resolves to, without downloading debs",
		Long: `Show what each kernel of a plan resolves to (ubuntu: kernels through the verified
archive index: ABI, version, packages), without downloading debs. The output changes
exactly when a pocket gets a new kernel, so CI keys its cache of srutest's cache on it
(see .github/workflows/nightly.yml). --names lists the kernel names only, offline.`,
		Example: `  srutest kernels noble.yaml
  srutest kernels noble.yaml --shard 2/2 | sha256sum   # cache key of one CI shard
  srutest kernels jammy.yaml --names | wc -l             # how many shards are worth it`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			shard, err := parseShardFlag(shardFlag, os.Getenv)
			if err != nil {
				return err
			}
			p, err := loadPlan(args[0], plan.Options{Shard: shard})
			if err != nil {
				return err
			}
			if names {
				for _, k := range p.Kernels {
					fmt.Println(k.Name)
				}
				return nil
			}
			res, err := g.ubuntuResolver()
			if err != nil {
				return err
			}
			failed := 0
			resolve := archiveResolver(res)
			for _, k := range p.Kernels {
				fmt.Printf("%s", k.Name)
				if k.Role != "" {
					fmt.Printf(" (%s, %s)", k.Role, k.Pocket)
				}
				fmt.Println()
				desc, err := describeKernel(cmd.Context(), res, k.Spec)
				if err != nil && k.NewerThan != "" && errors.Is(err, ubuntu.ErrNoPackage) {
					// An empty -proposed is a fact, not a failure.
					fmt.Printf("  nothing to verify: %v\n", err)
					continue
				}
				if err != nil {
					failed++
					fmt.Printf("  error: %v\n", err)
					continue
				}
				fmt.Print(desc)
				if k.NewerThan != "" {
					cand, err1 := resolve(cmd.Context(), k.Spec)
					base, err2 := resolve(cmd.Context(), k.NewerThan)
					if err1 == nil && err2 == nil && base.Absent == "" && images.CompareVersions(cand.Version, base.Version) <= 0 {
						fmt.Printf("  nothing to verify: %s is not newer than %s in %s\n", cand.Version, base.Version, base.Dist)
					}
				}
			}
			if failed > 0 {
				return fmt.Errorf("%d kernel(s) did not resolve", failed)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&shardFlag, "shard", "", "only the kernels of shard i/n (as run --shard), or 'auto'")
	cmd.Flags().BoolVar(&names, "names", false, "print kernel names only (no archive access)")
	return cmd
}

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
