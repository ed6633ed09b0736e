package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/srutest/srutest/images/ubuntu"
	"github.com/srutest/srutest/plan"
)

func newKernelsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "kernels PLAN.yaml",
		Short: "Show what each kernel of a plan resolves to, without downloading debs",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := loadPlan(args[0], plan.Options{})
			if err != nil {
				return err
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
