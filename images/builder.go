package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Resolver turns a non-builtin spec ("ubuntu:…") into local .deb files,
// already downloaded and verified into dlDir (which it may reuse: files it
// finds there valid need not be fetched again), plus metadata for
// Image.Meta (e.g. "version", "packages").
type Resolver interface {
	Resolve(ctx context.Context, arg string, dlDir string) (debs []string, meta map[string]string, err error)
}

// Builder builds guest images. The zero value is not usable: Agent is
// required. A Builder holds no state between calls and is safe for
// concurrent use; concurrent builds of the same spec (even from different
// processes) are safe, the first to commit wins.
type Builder struct {
	CacheDir  string              // default DefaultCacheDir()
	Agent     string              // path of the static srutest binary installed as /init (required)
	Log       io.Writer           // progress lines; nil: silent
	Resolvers map[string]Resolver // extra spec kinds, e.g. "ubuntu"; may be nil
	// ExtraModules are loaded in the guest besides NeededModules, when the
	// kernel has them as modules (e.g. the netfilter modules a selftest
	// suite's config names). A Builder with extras builds other kernel and
	// image layers than one without: use a copy for such guests only, so
	// the base image (and its boot time) stays as it is.
	ExtraModules []string
}

// Timing is the duration of one build phase: resolve, fetch, extract,
// initramfs, unpack kernel (vmlinux for the PVH boot, once per kernel
// layer).
type Timing struct {
	Phase    string
	Duration time.Duration
}

// Image is a bootable guest image.
type Image struct {
	Dir       string            // image cache entry dir
	Kernel    string            // what QEMU boots: the unpacked vmlinux (PVH entry) when the kernel has one, else the vmlinuz (bzImage)
	Initrd    string            // uncompressed newc cpio path
	Release   string            // kernel release
	HostKey   string            // guest SSH host public key, authorized_keys format (pin it)
	ClientKey string            // path of the OpenSSH PEM private key the host logs in with
	Modules   []string          // module names in the image, load order
	Meta      map[string]string // kind, spec, packages, version, warnings, keys…
	Timings   []Timing
	Cached    bool // nothing was downloaded or rebuilt
}

// Image layer file names.
const (
	fileInitrd    = "initrd.cpio"
	fileHostKey   = "ssh_host_ed25519"
	fileHostPub   = "ssh_host_ed25519.pub"
	fileClientKey = "client_ed25519"
	fileClientPub = "client_ed25519.pub"
	fileImageJSON = "image.json"
	fileKernel    = "vmlinuz"
	fileKernJSON  = "kernel.json"
)

// kernelJSON describes a kernel layer.
type kernelJSON struct {
	Desc        string            `json:"desc"`
	Release     string            `json:"release"`
	Modules     []string          `json:"modules"`      // names, load order
	ModulePaths []string          `json:"module_paths"` // relative to lib/modules/<rel>, plain .ko
	Builtin     []string          `json:"builtin,omitempty"`
	Missing     []string          `json:"missing,omitempty"`
	Warnings    []string          `json:"warnings,omitempty"`
	Meta        map[string]string `json:"meta"`
}

// imageJSON describes an image layer.
type imageJSON struct {
	Desc      string `json:"desc"`
	KernelKey string `json:"kernel_key"`
	AgentSHA  string `json:"agent_sha256"`
	ToolsSHA  string `json:"tools_sha256"`
}

func (b *Builder) cacheDir() string {
	if b.CacheDir != "" {
		return b.CacheDir
	}
	return DefaultCacheDir()
}

func (b *Builder) tmpRoot() (string, error) {
	p := filepath.Join(b.cacheDir(), dirTmp)
	if err := os.MkdirAll(p, 0o755); err != nil {
		return "", fmt.Errorf("cache dir: %w", err)
	}
	return p, nil
}

func (b *Builder) logf(format string, args ...any) {
	if b.Log != nil {
		fmt.Fprintf(b.Log, "srutest: images: "+format+"\n", args...)
	}
}

// timer accumulates phase durations in first-start order.
type timer struct {
	cur   string
	since time.Time
	acc   map[string]time.Duration
	order []string
}

func (t *timer) start(phase string) {
	t.stop()
	t.cur, t.since = phase, time.Now()
	if t.acc == nil {
		t.acc = map[string]time.Duration{}
	}
	if _, ok := t.acc[phase]; !ok {
		t.order = append(t.order, phase)
		t.acc[phase] = 0
	}
}

func (t *timer) stop() {
	if t.cur != "" {
		t.acc[t.cur] += time.Since(t.since)
		t.cur = ""
	}
}

func (t *timer) timings() []Timing {
	t.stop()
	var out []Timing
	for _, p := range t.order {
		out = append(out, Timing{p, t.acc[p]})
	}
	return out
}

// kernelKind is one spec kind's way to a kernel layer, one file each:
// kindapt.go, kinddeb.go, kinddir.go, kindbzimage.go, kindsource.go, and
// kindresolver.go for the kinds a registered Resolver serves (ubuntu:).
// Build only picks the kind, then caches the layers.
type kernelKind interface {
	// kernelSource resolves, fetches or builds sp far enough to know its
	// kernel-layer key. A deb-backed kind returns what it fetched in
	// src.fetched, also beside an error.
	kernelSource(ctx context.Context, b *Builder, sp Spec, tm *timer) (*kernelSource, error)
}

// builtinKinds are the kinds images serves itself; a Resolver cannot
// replace them.
var builtinKinds = map[string]kernelKind{
	"apt": aptKind{}, "deb": debKind{}, "dir": dirKind{}, "bzimage": bzImageKind{}, "source": sourceKind{},
}

// kind returns the kind named name: built in, or served by a Resolver.
func (b *Builder) kind(name string) (kernelKind, bool) {
	if k, ok := builtinKinds[name]; ok {
		return k, true
	}
	if r := b.Resolvers[name]; r != nil {
		return resolverKind{name, r}, true
	}
	return nil, false
}

// kernelSource is a spec resolved far enough to know its kernel-layer key.
type kernelSource struct {
	key     string
	desc    string
	meta    map[string]string
	build   func(ctx context.Context, out string) (*kernelJSON, error)
	fetched *fetched // the debs of a deb-backed kind; nil for the others
}

func keyOf(parts ...string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n", layoutVersion, strings.Join(NeededModules, ","))
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s\n", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Build turns spec into a cached guest image. See ParseSpec for spec kinds.
// On error nothing half-written is left in the cache. Files this call
// downloaded are removed only when they themselves are bad (not a deb,
// truncated, over a limit, unsafe): another run sharing the cache may
// already be using a good one, so a build that failed for any other reason
// (interrupted, a host tool missing, a guest-side error) keeps it.
func (b *Builder) Build(ctx context.Context, spec string) (img *Image, err error) {
	if b.Agent == "" {
		return nil, errors.New("images: Builder.Agent (path of the static srutest binary) is required")
	}
	sp, err := ParseSpec(spec)
	if err != nil {
		return nil, err
	}
	tm := &timer{}
	var f *fetched
	defer func() {
		if err != nil && f != nil && badDeb(err) {
			for _, p := range f.fresh {
				os.Remove(p)
			}
		}
		// Only if empty: other builds may be running.
		os.Remove(filepath.Join(b.cacheDir(), dirTmp))
	}()
	kind, ok := b.kind(sp.Kind)
	if !ok {
		var kinds []string
		for k := range b.Resolvers {
			kinds = append(kinds, k+":")
		}
		sort.Strings(kinds)
		return nil, &SpecError{spec, fmt.Sprintf("unknown kind %q (have apt:, deb:, dir:, bzimage:, source: %s)", sp.Kind, strings.Join(kinds, " "))}
	}
	src, err := kind.kernelSource(ctx, b, sp, tm)
	if src != nil {
		f = src.fetched
	}
	if err != nil {
		return nil, err
	}
	src.meta["kind"] = sp.Kind
	src.meta["spec"] = spec
	if extra := b.extraModules(); len(extra) > 0 {
		src.key = keyOf(src.key, "extra-modules", strings.Join(extra, ","))
		src.meta["extra_modules"] = strings.Join(extra, ",")
	}

	kdir, kj, kcached, err := b.kernelLayer(ctx, src, tm)
	if err != nil {
		return nil, err
	}
	img, icached, err := b.imageLayer(ctx, src.key, kdir, kj, tm)
	if err != nil {
		return nil, err
	}
	for k, v := range src.meta { // this spec's facts over the cached layer's
		img.Meta[k] = v
	}
	img.Timings = tm.timings()
	img.Cached = kcached && icached && (f == nil || !f.downloaded)
	return img, nil
}

// kernelLayer returns the kernel layer for src, building it when absent.
func (b *Builder) kernelLayer(ctx context.Context, src *kernelSource, tm *timer) (string, *kernelJSON, bool, error) {
	final := filepath.Join(b.cacheDir(), dirKernels, src.key)
	if kj, err := readKernelJSON(final); err == nil {
		touch(final)
		return final, kj, true, nil
	}
	tm.start("extract")
	tmpRoot, err := b.tmpRoot()
	if err != nil {
		return "", nil, false, err
	}
	out, err := os.MkdirTemp(tmpRoot, "kernel-")
	if err != nil {
		return "", nil, false, err
	}
	defer os.RemoveAll(out)
	kj, err := src.build(ctx, out)
	if err != nil {
		return "", nil, false, err
	}
	for k, v := range src.meta {
		if _, ok := kj.Meta[k]; !ok {
			kj.Meta[k] = v
		}
	}
	kj.Desc = kj.Release + " " + src.desc
	if err := writeJSON(filepath.Join(out, fileKernJSON), kj); err != nil {
		return "", nil, false, err
	}
	if err := commitDir(out, final); err != nil {
		return "", nil, false, err
	}
	b.logf("kernel %s: %d modules, key %s", kj.Release, len(kj.Modules), src.key[:12])
	for _, w := range kj.Warnings {
		b.logf("warning: %s", w)
	}
	kj, err = readKernelJSON(final)
	return final, kj, false, err
}

func readKernelJSON(dir string) (*kernelJSON, error) {
	b, err := os.ReadFile(filepath.Join(dir, fileKernJSON))
	if err != nil {
		return nil, err
	}
	var kj kernelJSON
	if err := json.Unmarshal(b, &kj); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	if kj.Meta == nil {
		kj.Meta = map[string]string{}
	}
	return &kj, nil
}

func writeJSON(p string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(p, append(b, '\n'), 0o644)
}

// imageLayer returns the image for a kernel layer, building the initramfs
// and SSH keys when absent.
func (b *Builder) imageLayer(ctx context.Context, kernelKey, kdir string, kj *kernelJSON, tm *timer) (*Image, bool, error) {
	tools, err := collectHostTools(ctx)
	if err != nil {
		return nil, false, err
	}
	agentSHA, err := sha256File(b.Agent)
	if err != nil {
		return nil, false, fmt.Errorf("agent: %w", err)
	}
	key := keyOf("image", kernelKey, agentSHA, tools.Digest)
	final := filepath.Join(b.cacheDir(), dirImages, key)
	cached := true
	if _, err := os.Stat(filepath.Join(final, fileImageJSON)); err != nil {
		cached = false
		tm.start("initramfs")
		if err := b.buildImageLayer(ctx, final, kdir, kj, tools, imageJSON{
			Desc: kj.Desc, KernelKey: kernelKey, AgentSHA: agentSHA, ToolsSHA: tools.Digest,
		}); err != nil {
			return nil, false, err
		}
		tm.stop()
		b.logf("image %s built, key %s", kj.Release, key[:12])
	} else {
		touch(final)
	}
	pub, err := os.ReadFile(filepath.Join(final, fileHostPub))
	if err != nil {
		return nil, false, fmt.Errorf("image %s: %w", final, err)
	}
	meta := map[string]string{}
	for k, v := range kj.Meta {
		meta[k] = v
	}
	meta["release"] = kj.Release
	meta["kernel_key"] = kernelKey
	meta["image_key"] = key
	meta["agent_sha256"] = agentSHA
	meta["tools_sha256"] = tools.Digest
	if len(kj.Missing) > 0 {
		meta["missing_modules"] = strings.Join(kj.Missing, ",")
	}
	if len(kj.Builtin) > 0 {
		meta["builtin_modules"] = strings.Join(kj.Builtin, ",")
	}
	if len(kj.Warnings) > 0 {
		meta["warnings"] = strings.Join(kj.Warnings, "; ")
	}
	lim, err := DefaultLimits()
	if err != nil {
		return nil, false, err
	}
	kernel, err := bootKernel(ctx, kdir, lim.File, tm)
	if err != nil {
		return nil, false, err
	}
	return &Image{
		Dir:       final,
		Kernel:    kernel,
		Initrd:    filepath.Join(final, fileInitrd),
		Release:   kj.Release,
		HostKey:   strings.TrimSpace(string(pub)),
		ClientKey: filepath.Join(final, fileClientKey),
		Modules:   append([]string(nil), kj.Modules...),
		Meta:      meta,
	}, cached, nil
}

func (b *Builder) buildImageLayer(ctx context.Context, final, kdir string, kj *kernelJSON, tools *toolSet, ij imageJSON) error {
	tmpRoot, err := b.tmpRoot()
	if err != nil {
		return err
	}
	out, err := os.MkdirTemp(tmpRoot, "image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(out)
	hostPriv, hostPub, err := newKeyPair("srutest-guest")
	if err != nil {
		return err
	}
	cliPriv, cliPub, err := newKeyPair("srutest-host")
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
		perm os.FileMode
	}{
		{fileHostKey, hostPriv, 0o600}, {fileHostPub, hostPub, 0o644},
		{fileClientKey, cliPriv, 0o600}, {fileClientPub, cliPub, 0o644},
	} {
		if err := os.WriteFile(filepath.Join(out, f.name), f.data, f.perm); err != nil {
			return err
		}
	}
	fh, err := os.Create(filepath.Join(out, fileInitrd))
	if err != nil {
		return err
	}
	rel := ""
	if len(kj.ModulePaths) > 0 {
		rel = kj.Release
	}
	err = writeInitramfs(fh, initramfsSpec{
		Agent: b.Agent, Tools: tools, KernelDir: kdir, Release: rel,
		ModulePath: kj.ModulePaths, HostKeyPEM: hostPriv, ClientPub: cliPub,
	})
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write initramfs: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(out, fileImageJSON), ij); err != nil {
		return err
	}
	return commitDir(out, final)
}

// MarkerImage returns a minimal initramfs for the bench floor: only /init
// (the agent) and /dev/console, no tools, modules or keys. It is cached by
// the agent's SHA-256; img is the image whose kernel it will be booted
// with (unused beyond validation: the marker does not depend on it).
func (b *Builder) MarkerImage(ctx context.Context, img *Image) (string, error) {
	if b.Agent == "" {
		return "", errors.New("images: Builder.Agent is required")
	}
	if img == nil || img.Kernel == "" {
		return "", errors.New("images: MarkerImage needs a built image")
	}
	agentSHA, err := sha256File(b.Agent)
	if err != nil {
		return "", fmt.Errorf("agent: %w", err)
	}
	final := filepath.Join(b.cacheDir(), dirMarkers, keyOf("marker", agentSHA))
	p := filepath.Join(final, fileInitrd)
	if _, err := os.Stat(p); err == nil {
		touch(final)
		return p, nil
	}
	tmpRoot, err := b.tmpRoot()
	if err != nil {
		return "", err
	}
	out, err := os.MkdirTemp(tmpRoot, "marker-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(out)
	fh, err := os.Create(filepath.Join(out, fileInitrd))
	if err != nil {
		return "", err
	}
	err = writeMarkerInitramfs(fh, b.Agent)
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("write marker initramfs: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if err := writeJSON(filepath.Join(out, "marker.json"), entryMeta{Desc: "marker initramfs, agent " + agentSHA[:12]}); err != nil {
		return "", err
	}
	if err := commitDir(out, final); err != nil {
		return "", err
	}
	return p, nil
}

// badDeb says whether a build failed because of the contents of a package
// (then no run can use it, and dropping it from the cache is safe).
func badDeb(err error) bool {
	return errors.Is(err, ErrNotDeb) || errors.Is(err, ErrTruncated) || errors.Is(err, ErrLimit) || errors.Is(err, ErrUnsafePath)
}
