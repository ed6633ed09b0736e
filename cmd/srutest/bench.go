package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/srutest/srutest/images"
	"github.com/srutest/srutest/internal/bench"
	"github.com/srutest/srutest/internal/wire"
	"github.com/srutest/srutest/plan"
	"github.com/srutest/srutest/report"
	"github.com/srutest/srutest/runner"
	"github.com/srutest/srutest/scenarios"
	"github.com/srutest/srutest/vm"
)

const defaultBenchKernel = "apt:linux-image-6.1.0-*-cloud-amd64-unsigned"

func newBenchCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure boot and matrix speed as ratios against a floor measured in the same run",
		Long: `Benchmarks print ratios against a baseline measured in the same run on the same
machine, so they mean the same thing under KVM and TCG.

  bench boot    bare boot to a userspace marker (no agent work, no SSH) vs boot to
                SSH-ready, interleaved, medians and ratio (target ≤ 1.15)
  bench matrix  a plan (default demo.yaml) as srutest run runs it: wall time (target
                ≤ 20 s for the demo on 2-core TCG, warm cache) and, per kernel, boot +
                all its cells against that kernel's bare-boot floor measured in the
                same run (target ≤ 2.5×), and the bound on that ratio: the kernel's
                first boot plus the capture window every cell observes, over the
                floor (what cells costing nothing else would give); --compare-fresh
                adds a run with one guest per scenario

--json FILE writes the numbers (with the host's load average) for a history.`,
	}
	var jsonPath string
	cmd.PersistentFlags().StringVar(&jsonPath, "json", "", "also write the results as JSON to this file")
	var spec string
	var runs, warmup int
	boot := &cobra.Command{
		Use:   "boot",
		Short: "Boot to SSH-ready vs bare boot to a userspace marker",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			b, err := g.builder()
			if err != nil {
				return err
			}
			img, err := b.Build(ctx, spec)
			if err != nil {
				return err
			}
			cfg := g.guestConfig(1)
			var floor, ready []time.Duration
			var timelines, hosts [][]bench.Step
			// Warm-up rounds (both kinds, not counted) take the first-boot
			// effects — marker image build, cold host caches — out of the
			// medians; then the two kinds alternate so drift hits both.
			for i := -warmup; i < runs; i++ {
				f, err := markerBoot(ctx, cfg, b, img)
				if err != nil {
					return err
				}
				r, steps, host, err := sshBoot(ctx, cfg, img)
				if err != nil {
					return err
				}
				if i < 0 {
					fmt.Fprintf(os.Stderr, "warm-up: marker %.2fs  ssh-ready %.2fs (not counted)\n", f.Seconds(), r.Seconds())
					continue
				}
				timelines, hosts = append(timelines, steps), append(hosts, host)
				floor, ready = append(floor, f), append(ready, r)
				fmt.Fprintf(os.Stderr, "run %d: marker %.2fs  ssh-ready %.2fs\n", i+1, f.Seconds(), r.Seconds())
			}
			sum := bench.SummarizeBoot(floor, ready)
			fmt.Printf("kernel %s (%s), %d runs, accel %s\n", img.Release, spec, runs, vm.DetectAccel(g.kvm))
			fmt.Printf("boot to marker (floor)   median %.2fs  [%s]\n", sum.Floor.Seconds(), bench.Secs(floor))
			fmt.Printf("boot to SSH-ready        median %.2fs  [%s]\n", sum.Ready.Seconds(), bench.Secs(ready))
			verdict := "ok"
			if !sum.OK {
				verdict = "ABOVE TARGET"
			}
			fmt.Printf("ratio ssh-ready/floor    %.2f  (target ≤ %.2f: %s)\n", sum.Ratio, bench.BootRatioTarget, verdict)
			if jsonPath != "" {
				if err := bench.WriteJSON(jsonPath, map[string]any{
					"bench": "boot", "kernel": img.Release, "spec": spec, "accel": vm.DetectAccel(g.kvm), "runs": runs,
					"floor_s": sum.Floor.Seconds(), "ssh_ready_s": sum.Ready.Seconds(), "ratio": sum.Ratio, "ratio_target": bench.BootRatioTarget, "loadavg": bench.LoadAvg(),
				}); err != nil {
					return err
				}
			}
			// Where the SSH boot's time goes, in the guest's own clock (the
			// wall time before uptime 0 is QEMU, firmware and decompression).
			if tl := bench.MedianTimeline(timelines); len(tl) > 0 {
				fmt.Println("ssh boot, guest uptime (median):")
				for _, s := range tl {
					fmt.Printf("  %7.3fs  %s\n", s.Uptime, s.Step)
				}
			}
			// The host's side of the same boots: when the agent's ready line
			// reached the console, the SSH handshake finished, and how long
			// the guest took to go away after.
			if tl := bench.MedianTimeline(hosts); len(tl) > 0 {
				fmt.Println("ssh boot, host wall clock from QEMU start (median):")
				for _, s := range tl {
					fmt.Printf("  %7.3fs  %s\n", s.Uptime, s.Step)
				}
			}
			return nil
		},
	}
	boot.Flags().StringVar(&spec, "kernel", defaultBenchKernel, "kernel spec")
	boot.Flags().IntVar(&runs, "runs", 5, "boots of each kind")
	boot.Flags().IntVar(&warmup, "warmup", 1, "rounds of both kinds run first and not counted")

	var planPath, pairFlag string
	var compareFresh bool
	var jobs int
	matrix := &cobra.Command{
		Use:   "matrix",
		Short: "A plan's wall time and, per kernel, boot + cells vs its bare-boot floor",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			p, err := loadPlan(planPath, plan.Options{})
			if err != nil {
				return err
			}
			pair, err := findPair(pairFlag)
			if err != nil {
				return err
			}
			b, err := g.builder()
			if err != nil {
				return err
			}
			vmc := g.vmConfig()
			if jobs <= 0 {
				jobs = runner.DefaultJobs(vmc.MemoryMB)
			}
			// The floors boot with the vCPUs the run's guests will have.
			if vmc.CPUs < 1 {
				vmc.CPUs = runner.GuestCPUs(min(jobs, len(p.Kernels)), vm.DetectAccel(vmc.KVM))
			}
			floors, err := benchFloors(ctx, vmc, b, p)
			if err != nil {
				return err
			}
			tmp, err := os.MkdirTemp("", "srutest-bench-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)
			modes := []bool{false}
			if compareFresh {
				modes = append(modes, true)
			}
			var results []bench.Matrix
			for _, fresh := range modes {
				r := &runner.Runner{Images: b, VM: vmc, Pair: pair, Out: filepath.Join(tmp, fmt.Sprint(fresh)), FreshGuest: fresh, Jobs: jobs}
				load0 := bench.LoadAvg()
				t0 := time.Now()
				run, err := r.Run(ctx, p)
				if err != nil {
					return err
				}
				m := bench.Summarize(run, floors, time.Since(t0), scenarios.CaptureWindow)
				m.Mode, m.Jobs, m.LoadAvg = "shared guest per kernel", jobs, [2]string{load0, bench.LoadAvg()}
				if fresh {
					m.Mode = "fresh guest per scenario"
				}
				report.Matrix(os.Stderr, run, report.MatrixOptions{})
				m.Print(os.Stdout)
				results = append(results, m)
			}
			if jsonPath != "" {
				return bench.WriteJSON(jsonPath, map[string]any{"bench": "matrix", "runs": results})
			}
			return nil
		},
	}
	matrix.Flags().StringVar(&planPath, "plan", "demo.yaml", "plan file")
	matrix.Flags().StringVar(&pairFlag, "pair", os.Getenv("SRUTEST_PAIR"), "static srutest-pair binary")
	matrix.Flags().BoolVar(&compareFresh, "compare-fresh", false, "also run with one guest per scenario (--fresh-guest)")
	matrix.Flags().IntVar(&jobs, "jobs", 0, "kernels at once (default: as srutest run, sized from the host)")
	cmd.AddCommand(boot, matrix)
	return cmd
}

// benchFloors builds every kernel's image (so the run starts warm) and
// measures its bare-boot floor: median of 3 boots to a userspace marker.
func benchFloors(ctx context.Context, cfg vm.Config, b *images.Builder, p *plan.Plan) (map[string]time.Duration, error) {
	floors := map[string]time.Duration{}
	for _, k := range p.Kernels {
		img, err := b.Build(ctx, k.Spec)
		if err != nil {
			return nil, err
		}
		var ds []time.Duration
		for range 3 {
			d, err := markerBoot(ctx, cfg, b, img)
			if err != nil {
				return nil, err
			}
			ds = append(ds, d)
		}
		floors[k.Name] = bench.Median(ds)
	}
	return floors, nil
}

// markerBoot boots img with the minimal marker initramfs and returns the
// wall time from QEMU start to the marker on the console.
func markerBoot(ctx context.Context, cfg vm.Config, b *images.Builder, img *images.Image) (time.Duration, error) {
	initrd, err := b.MarkerImage(ctx, img)
	if err != nil {
		return 0, err
	}
	cfg.Kernel, cfg.Initrd = img.Kernel, initrd
	cfg.Append = append(cfg.Append, wire.MarkerArg)
	return vm.BootToMarker(ctx, cfg, wire.Marker)
}

// sshBoot boots img to SSH-ready, then (outside the measured time) reads
// the guest's own timeline, and shuts it down; host lists the machine's
// own timings (bench.HostSteps).
func sshBoot(ctx context.Context, cfg vm.Config, img *images.Image) (d time.Duration, guest, host []bench.Step, err error) {
	cfg.Kernel, cfg.Initrd, cfg.HostKey, cfg.ClientKey = img.Kernel, img.Initrd, img.HostKey, img.ClientKey
	t0 := time.Now()
	m, err := vm.Start(ctx, cfg)
	if err != nil {
		return 0, nil, nil, err
	}
	d = time.Since(t0)
	if res, err := m.Exec(ctx, "dmesg; echo "+bench.TimelineSep+"; cat "+wire.BootLogPath); err == nil {
		guest = bench.ParseTimeline(string(res.Stdout))
	}
	err = m.Close()
	return d, guest, bench.HostSteps(m.Timings()), err
}
