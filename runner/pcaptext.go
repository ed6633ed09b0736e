package runner

import (
	"context"
	"time"

	"github.com/srutest/srutest/images"
	"github.com/srutest/srutest/internal/proc"
)

// pcapText returns the scenarios' Env.PcapText: the host's tcpdump (the
// binary every image copies into its guests, so the same decoder) reads
// each pulled capture, instead of the one-vCPU TCG guest starting it once
// per path. nil when the host has no tcpdump: the guest does it then.
func (r *Runner) pcapText() func(ctx context.Context, pcap string) ([]byte, error) {
	r.tcpdumpOnce.Do(func() { r.tcpdump = images.HostToolPath("tcpdump") })
	if r.tcpdump == "" {
		return nil
	}
	tcpdump := r.tcpdump
	return func(ctx context.Context, pcap string) ([]byte, error) {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		return proc.Command(cctx, time.Second, tcpdump, "-r", pcap, "-nn", "-tt", "-S").CombinedOutput()
	}
}
