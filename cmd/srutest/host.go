package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/srutest/srutest/internal/host"
)

// newHostCmd is `srutest host`: what this machine is and what srutest runs
// on it (the Makefile's demo, backport and test targets ask it).
func newHostCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "host",
		Short: "Show what srutest runs on this host (from os-release and apt)",
		Long: `Reads /etc/os-release ($SRUTEST_OS_RELEASE overrides) and asks apt-cache what the
host's apt sources offer, and prints the choice: on Debian the checked-in demo.yaml
(Debian 6.1 + 6.12) and backport.yaml (linux-source-6.12); on Ubuntu the series' GA
kernel from the release pocket (role: before) against its newest kernel (role: after),
as apt: specs, and the series' linux-source with 648de37416b3 reverted as the negative
control. Any other host gets one line saying so.

  srutest host                          describe the choice
  srutest host plan demo|backport [-o f]  write the plan (Ubuntu) and print its path
  srutest host get test-kernel|source-package|source-tarball|series|distro`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := detectHost(cmd.Context())
			if err != nil {
				return err
			}
			describeHost(cmd.OutOrStdout(), p)
			return nil
		},
	}
	var out string
	plan := &cobra.Command{
		Use:   "plan demo|backport",
		Short: "Print the path of this host's demo or backport plan (writing it when generated)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := detectHost(cmd.Context())
			if err != nil {
				return err
			}
			path, err := hostPlan(p, args[0], out)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), path)
			return nil
		},
	}
	plan.Flags().StringVarP(&out, "output", "o", "", "where to write a generated plan (default results/<kind>-<series>.yaml)")
	get := &cobra.Command{
		Use:   "get test-kernel|source-package|source-tarball|series|distro",
		Short: "Print one value of this host's choice (for scripts)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := detectHost(cmd.Context())
			if err != nil {
				return err
			}
			v, err := hostValue(p, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), v)
			return nil
		},
	}
	cmd.AddCommand(plan, get)
	return cmd
}

// errUnsupportedHost is the one line a host that is neither Debian nor
// Ubuntu gets.
type errUnsupportedHost struct{ os host.OSRelease }

func (e errUnsupportedHost) Error() string {
	return fmt.Sprintf("this host is %s, neither Debian nor Ubuntu: srutest picks kernels from Debian or Ubuntu apt sources only (give plans and --kernel specs by hand)", e.os)
}

func detectHost(ctx context.Context) (*host.Profile, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	p, err := host.Detect(ctx)
	if err != nil {
		return nil, err
	}
	if !p.Supported() {
		return nil, errUnsupportedHost{p.OS}
	}
	return p, nil
}

func describeHost(w io.Writer, p *host.Profile) {
	fmt.Fprintf(w, "host: %s (%s %s)\n", p.OS, p.Distro, p.Series)
	if p.DemoFile != "" {
		fmt.Fprintf(w, "demo: %s\n", p.DemoFile)
	} else {
		fmt.Fprintln(w, "demo: generated from apt (srutest host plan demo)")
	}
	for _, k := range p.Demo {
		fmt.Fprintf(w, "  %-24s %-6s %s", k.Name, orDash(k.Role), k.Spec)
		if k.Version != "" {
			fmt.Fprintf(w, " (%s from %s)", k.Version, k.Suite)
		}
		if len(k.Expect) > 0 {
			var ex []string
			for sc, o := range k.Expect {
				ex = append(ex, sc+" "+o)
			}
			sort.Strings(ex)
			fmt.Fprintf(w, " expect %s", strings.Join(ex, ", "))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "test kernel (scripts/test-kernel.sh): %s\n", orDash(p.TestKernel))
	if p.Source.Package != "" {
		fmt.Fprintf(w, "negative control: %s (%s), 648de37416b3 reverted with %s\n", p.Source.Package, p.Source.Tarball, p.Source.Revert)
	}
	for _, pr := range p.Problems {
		fmt.Fprintf(w, "problem: %s\n", pr)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// hostPlan returns the plan file of kind for p, writing a generated one to
// out (default results/<kind>-<series>.yaml). Checked-in plans are named
// relative to the working directory (the repository root under make).
func hostPlan(p *host.Profile, kind, out string) (string, error) {
	var body []byte
	var err error
	switch kind {
	case "demo":
		if p.DemoFile != "" {
			fmt.Fprintf(os.Stderr, "srutest host: %s (%s): demo %s\n", p.OS, p.Series, p.DemoFile)
			return p.DemoFile, nil
		}
		body, err = p.DemoPlan()
	case "backport":
		if p.Distro == host.Debian {
			fmt.Fprintf(os.Stderr, "srutest host: %s (%s): negative control backport.yaml (%s)\n", p.OS, p.Series, p.Source.Package)
			return "backport.yaml", nil
		}
		body, err = p.BackportPlan(".")
	default:
		return "", fmt.Errorf("unknown plan %q (want demo or backport)", kind)
	}
	if err != nil {
		return "", err
	}
	if out == "" {
		out = filepath.Join("results", kind+"-"+p.Series+".yaml")
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(out, body, 0o644); err != nil {
		return "", err
	}
	var names []string
	for _, k := range p.Demo {
		names = append(names, fmt.Sprintf("%s %s (%s)", k.Role, k.Name, k.Suite))
	}
	if kind == "backport" {
		names = []string{p.Source.Package + " as shipped and with 648de37416b3 reverted (" + p.Source.Revert + ")"}
	}
	fmt.Fprintf(os.Stderr, "srutest host: %s (%s): %s plan %s: %s\n", p.OS, p.Series, kind, out, strings.Join(names, ", "))
	for _, pr := range p.Problems {
		fmt.Fprintf(os.Stderr, "srutest host: %s\n", pr)
	}
	return out, nil
}

func hostValue(p *host.Profile, key string) (string, error) {
	v := ""
	switch key {
	case "test-kernel":
		v = p.TestKernel
	case "source-package":
		v = p.Source.Package
	case "source-tarball":
		v = p.Source.Tarball
	case "series":
		v = p.Series
	case "distro":
		v = string(p.Distro)
	default:
		return "", fmt.Errorf("unknown key %q", key)
	}
	if v == "" {
		return "", fmt.Errorf("%s: no %s: %s", p.OS, key, strings.Join(p.Problems, "; "))
	}
	return v, nil
}
