package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/srutest/srutest/images/ubuntu"
	"github.com/srutest/srutest/plan"
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
			for _, k := range p.Kernels {
				fmt.Printf("%s", k.Name)
				if k.Role != "" {
					fmt.Printf(" (%s, %s)", k.Role, k.Pocket)
				}
				fmt.Println()
				desc, err := describeKernel(cmd.Context(), res, k.Spec)
				if err != nil {
					failed++
					fmt.Printf("  error: %v\n", err)
					continue
				}
				fmt.Print(desc)
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
	fmt.Fprintf(&b, "  %s %s → ABI %s, version %s, release %s (signed by %s)\n", r.Dist, r.Meta, r.ABI, r.Version, r.Release, r.Signer)
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
