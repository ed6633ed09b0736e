package main

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/srutest/srutest/images"
	"github.com/srutest/srutest/images/ubuntu"
	"github.com/srutest/srutest/runner"
	"github.com/srutest/srutest/vm"
)

// globals are the persistent flags shared by every subcommand.
type globals struct {
	cacheDir string
	cacheMax string // --cache-max: a size (parseSize); "0" turns trimming off
	qemu     string
	kvm      string
	memoryMB int
	cpus     int
	timeout  time.Duration
	archive  string
	keyring  string
	quiet    bool
	// logFile takes the progress log instead of stderr while a live
	// display owns the terminal (srutest run on a TTY).
	logFile *os.File
}

func newRoot() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "srutest",
		Short: "Kernel regression harness: boot kernel packages under QEMU and run MPTCP keepalive scenarios",
		Long: `srutest turns kernel packages (Debian/Ubuntu debs, apt package names, an Ubuntu
archive pocket, a vmlinuz + modules tree, a bzImage, or a kernel source tree with
patches applied or reverted) into disposable QEMU guests, runs the LP #2125444 MPTCP
keepalive scenarios (connect, fallback, join and controls) in them, and prints a
kernel × scenario PASS/FAIL/ERROR/SKIP matrix.

Kernel specs (--kernel):
  apt:<package>[,<package>…]   host apt-get download; '*' picks the newest match
  deb:<file|URL>[,…]  or ./x.deb   local or remote .deb files (image + modules)
  dir:<vmlinuz>,<modules-root>   a vmlinuz and a lib/modules tree
  bzimage:<path>                 a kernel with everything built in
  source:<tarball|tree>[,revert=<patch>][,patch=<patch>][,config=<fragment>][,localversion=<s>]
                                 build a module-free bzImage (tinyconfig + guest fragment;
                                 build tree cached, so a second variant is incremental;
                                 the tree may be ubuntu:<series>[-<pocket>][@<version>]: the
                                 archive's linux-source-<x.y.z>, verified)
  ubuntu:series=noble,pocket=proposed,flavour=generic,meta=linux-image-virtual[,abi=…]`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.cacheDir, "cache-dir", images.DefaultCacheDir(), "cache directory (debs, extracted kernels, images)")
	pf.StringVar(&g.cacheMax, "cache-max", envOr("SRUTEST_CACHE_MAX", "30G"), "keep the cache under this size: commands that build images first remove the least recently used entries (those unused for an hour) beyond it, at most hourly; 0 = no limit")
	pf.StringVar(&g.qemu, "qemu", "qemu-system-x86_64", "QEMU binary")
	pf.StringVar(&g.kvm, "kvm", envOr("SRUTEST_KVM", "auto"), "use KVM: auto (when /dev/kvm is usable), on, off")
	pf.IntVar(&g.memoryMB, "memory", 1024, "guest memory in MiB")
	pf.IntVar(&g.cpus, "cpus", 0, "guest vCPUs (default: 1 under TCG, whose SMP guests can crash patching their own code; under KVM the host's cores shared among the guests running at once, 1 to 4)")
	pf.DurationVar(&g.timeout, "boot-timeout", 0, "boot-to-SSH deadline (default: 60s, ×3 under TCG)")
	pf.StringVar(&g.archive, "archive", os.Getenv("SRUTEST_UBUNTU_ARCHIVE"), "Ubuntu archive or mirror URL for ubuntu: kernels")
	pf.StringVar(&g.keyring, "keyring", "", "OpenPGP keyring for the Ubuntu archive (default: embedded Ubuntu archive key)")
	pf.BoolVarP(&g.quiet, "quiet", "q", false, "less progress output")
	root.AddCommand(newBootCmd(g), newShellCmd(g), newRunCmd(g), newScenariosCmd(), newKernelsCmd(g),
		newCacheCmd(g), newReportCmd(), newCompareCmd(), newMergeCmd(), newBenchCmd(g), newBisectCmd(g), newHostCmd())
	return root
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func (g *globals) logw() *os.File {
	if g.quiet {
		return nil
	}
	if g.logFile != nil {
		return g.logFile
	}
	return os.Stderr
}

// builder returns an image builder whose agent is this very binary.
func (g *globals) builder() (*images.Builder, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("locate srutest binary: %w", err)
	}
	if err := checkStatic(self); err != nil {
		return nil, err
	}
	if err := g.trimCache(); err != nil {
		return nil, err
	}
	b := &images.Builder{CacheDir: g.cacheDir, Agent: self, Resolvers: map[string]images.Resolver{}}
	if lw := g.logw(); lw != nil {
		b.Log = lw
	}
	res, err := g.ubuntuResolver()
	if err != nil {
		return nil, err
	}
	b.Resolvers["ubuntu"] = res
	return b, nil
}

// trimCache keeps the cache under --cache-max before a command fills it
// (images.TrimIfDue: at most hourly; entries used in the last hour stay).
// Failing to remove an entry is reported, not fatal: the command can run.
func (g *globals) trimCache() error {
	max, err := parseSize(g.cacheMax)
	if err != nil {
		return fmt.Errorf("--cache-max: %w", err)
	}
	removed, left, ran, err := images.TrimIfDue(g.cacheDir, max, time.Hour, time.Hour)
	lw := g.logw()
	if lw != nil && len(removed) > 0 {
		var n int64
		for _, e := range removed {
			n += e.Size
		}
		fmt.Fprintf(lw, "srutest: cache: removed %d least recently used entries (%s) to stay under --cache-max %s; %s left\n",
			len(removed), humanBytes(n), g.cacheMax, humanBytes(left))
	}
	if lw != nil && ran && left > max {
		fmt.Fprintf(lw, "srutest: cache: %s is over --cache-max %s with entries used in the last hour\n", humanBytes(left), g.cacheMax)
	}
	if lw != nil && err != nil {
		fmt.Fprintf(lw, "srutest: cache: trim: %v\n", err)
	}
	if free, ok := freeBytes(g.cacheDir); ok && free < lowDiskBytes {
		// Said up front: a kernel's debs, tree and image need ~0.5–1 GB,
		// and running out midway reads as some file's ENOSPC.
		fmt.Fprintf(os.Stderr, "srutest: cache: only %s free on the file system of %s\n", humanBytes(free), g.cacheDir)
	}
	return nil
}

// lowDiskBytes is the free space below which commands that build images
// warn: about one kernel's downloads, extracted modules and image.
const lowDiskBytes = 1 << 30

// freeBytes is the space an unprivileged writer has left on p's file
// system (false when p cannot be inspected).
func freeBytes(p string) (int64, bool) {
	var st syscall.Statfs_t
	if syscall.Statfs(p, &st) != nil {
		return 0, false
	}
	return int64(st.Bavail) * int64(st.Bsize), true
}

func (g *globals) ubuntuResolver() (*ubuntu.Resolver, error) {
	opts := []ubuntu.Option{ubuntu.WithCacheDir(filepath.Join(g.cacheDir, "ubuntu"))}
	if g.archive != "" {
		opts = append(opts, ubuntu.WithMirror(g.archive))
	}
	if g.keyring != "" {
		opts = append(opts, ubuntu.WithKeyringFile(g.keyring))
	}
	if lw := g.logw(); lw != nil {
		opts = append(opts, ubuntu.WithProgress(lw))
	}
	return ubuntu.NewResolver(opts...)
}

// vmConfig is the guests' template from the flags; CPUs is 0 unless
// --cpus was given (the runner then sizes it per run).
func (g *globals) vmConfig() vm.Config {
	return vm.Config{QEMU: g.qemu, KVM: g.kvm, MemoryMB: g.memoryMB, CPUs: g.cpus, BootTimeout: g.timeout}
}

// guestConfig is vmConfig for guests running that many at once, with the
// vCPUs sized for them unless --cpus was given.
func (g *globals) guestConfig(guests int) vm.Config {
	c := g.vmConfig()
	if c.CPUs < 1 {
		c.CPUs = runner.GuestCPUs(guests, vm.DetectAccel(c.KVM))
	}
	return c
}
