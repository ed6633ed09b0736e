package main

import (
	"context"
	"os"

	"github.com/spf13/cobra"

	"github.com/srutest/srutest/vm"
)

func newShellCmd(g *globals) *cobra.Command {
	var spec string
	cmd := &cobra.Command{
		Use:   "shell --kernel SPEC",
		Short: "Boot a kernel and open an interactive shell in the guest",
		Long: `Boot a kernel and open an interactive shell (busybox sh on a pty) in the guest.
Ctrl-C goes to the guest's foreground process; leave with 'exit' or Ctrl-D.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withMachine(cmd.Context(), g, spec, func(ctx context.Context, m *vm.Machine) error {
				return guestExit(m.Shell(ctx, os.Stdin, os.Stdout, os.Stderr))
			})
		},
	}
	cmd.Flags().StringVar(&spec, "kernel", "", "kernel spec (see srutest --help)")
	cmd.MarkFlagRequired("kernel")
	return cmd
}
