package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/srutest/srutest/images"
	"github.com/srutest/srutest/vm"
)

// newBootCmd is `srutest boot`; `srutest shell` (shell.go) shares its
// withMachine.
func newBootCmd(g *globals) *cobra.Command {
	var spec string
	cmd := &cobra.Command{
		Use:   "boot --kernel SPEC [-- COMMAND…]",
		Short: "Boot a kernel as a disposable guest and run one command in it",
		Long: `Boot a kernel as a disposable guest, run COMMAND (default: uname -r) with
/bin/sh -c inside it, and exit with the command's exit code. Stdout and stderr
of the guest command go to srutest's stdout and stderr; progress and the timing
breakdown (resolve, fetch, image build, boot-to-SSH-ready) go to stderr.`,
		Example: `  srutest boot --kernel 'apt:linux-image-6.1.0-*-cloud-amd64-unsigned' -- uname -r
  srutest boot --kernel bzimage:arch/x86/boot/bzImage -- cat /proc/sys/net/mptcp/enabled`,
		RunE: func(cmd *cobra.Command, args []string) error {
			command := "uname -r"
			if len(args) > 0 {
				command = strings.Join(args, " ")
			}
			return withMachine(cmd.Context(), g, spec, func(ctx context.Context, m *vm.Machine) error {
				return guestExit(m.ExecStream(ctx, command, nil, os.Stdout, os.Stderr))
			})
		},
	}
	cmd.Flags().StringVar(&spec, "kernel", "", "kernel spec (see srutest --help)")
	cmd.MarkFlagRequired("kernel")
	return cmd
}

// withMachine builds the image, boots it, prints the timing breakdown and
// runs fn; the guest is always shut down, also on Ctrl-C.
func withMachine(ctx context.Context, g *globals, spec string, fn func(context.Context, *vm.Machine) error) error {
	b, err := g.builder()
	if err != nil {
		return err
	}
	img, err := b.Build(ctx, spec)
	if err != nil {
		return err
	}
	cfg := g.guestConfig(1)
	cfg.Kernel, cfg.Initrd, cfg.HostKey, cfg.ClientKey = img.Kernel, img.Initrd, img.HostKey, img.ClientKey
	if lw := g.logw(); lw != nil {
		cfg.Log = lw
	}
	t0 := time.Now()
	m, err := vm.Start(ctx, cfg)
	if err != nil {
		var be *vm.BootError
		if w := img.Meta["warnings"]; w != "" && errors.As(err, &be) {
			// Often the reason (e.g. no virtio_net); a cached image
			// printed them only when it was built.
			fmt.Fprintf(os.Stderr, "srutest: image %s was built with warnings: %s\n", img.Release, w)
		}
		return err
	}
	defer m.Close()
	printTimings(os.Stderr, img, time.Since(t0), m.Accel())
	return fn(ctx, m)
}

func printTimings(w io.Writer, img *images.Image, boot time.Duration, accel string) {
	var parts []string
	for _, t := range img.Timings {
		parts = append(parts, fmt.Sprintf("%s %.2fs", t.Phase, t.Duration.Seconds()))
	}
	cached := ""
	if img.Cached {
		cached = " (image cached)"
	}
	fmt.Fprintf(w, "srutest: %s%s; boot-to-ssh %.2fs [%s] kernel %s\n", strings.Join(parts, ", "), cached, boot.Seconds(), accel, img.Release)
}

// guestExit turns a guest command's exit code into srutest's own.
func guestExit(code int, err error) error {
	if err != nil {
		return err
	}
	if code != 0 {
		return exitError{code}
	}
	return nil
}
