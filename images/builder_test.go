package images

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// testBuilder returns a Builder on a fresh cache with a small fake agent.
// It skips when the host tools the initramfs carries are missing.
func testBuilder(t *testing.T) *Builder {
	t.Helper()
	if _, err := collectHostTools(context.Background()); err != nil {
		t.Skipf("host tools: %v", err)
	}
	dir := t.TempDir()
	agent := writeFile(t, dir, "agent", []byte("\x7fELF fake agent for tests\n"))
	var log bytes.Buffer
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("builder log:\n%s", log.String())
		}
	})
	return &Builder{CacheDir: filepath.Join(dir, "cache"), Agent: agent, Log: &log}
}

// snapshot lists every path under dir with size, for "cache unchanged".
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		fi, _ := d.Info()
		rel, _ := filepath.Rel(dir, p)
		if fi != nil {
			lines = append(lines, rel+" "+fi.Mode().String())
		}
		return nil
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestBuildDebAndCache(t *testing.T) {
	b := testBuilder(t)
	deb := writeFile(t, t.TempDir(), "linux-image-test_1_amd64.deb", makeDeb(t, "xz", "linux-image-test", "6.1.1-1", fixtureKernelEntries(t, fixtureRelease)))
	img, err := b.Build(ctxT(t), deb)
	if err != nil {
		t.Fatal(err)
	}
	if img.Cached {
		t.Error("first build reported cached")
	}
	if img.Release != fixtureRelease {
		t.Errorf("release %q", img.Release)
	}
	wantMods := []string{"virtio_ring", "virtio", "virtio_pci_legacy_dev", "virtio_pci_modern_dev", "virtio_pci",
		"failover", "net_failover", "virtio_net", "veth", "inet_diag", "tcp_diag", "mptcp_diag"}
	if strings.Join(img.Modules, " ") != strings.Join(wantMods, " ") {
		t.Errorf("modules\n got %v\nwant %v", img.Modules, wantMods)
	}
	if img.Meta["missing_modules"] != "sch_netem" || img.Meta["builtin_modules"] != "af_packet" {
		t.Errorf("meta missing=%q builtin=%q", img.Meta["missing_modules"], img.Meta["builtin_modules"])
	}
	if img.Meta["version"] != "6.1.1-1" || img.Meta["kind"] != "deb" {
		t.Errorf("meta %v", img.Meta)
	}
	phases := map[string]bool{}
	for _, tm := range img.Timings {
		phases[tm.Phase] = true
	}
	for _, p := range []string{"resolve", "extract", "initramfs"} {
		if !phases[p] {
			t.Errorf("no %s timing in %v", p, img.Timings)
		}
	}
	// Kernel copied, host key parses and matches the private key inside.
	if k, err := os.ReadFile(img.Kernel); err != nil || !bytes.Equal(k, readTestdata(t, "vmlinuz-6.1.0-56-cloud-amd64.head")) {
		t.Errorf("kernel: %v", err)
	}
	hostPub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(img.HostKey))
	if err != nil {
		t.Fatal(err)
	}
	cli, err := os.ReadFile(img.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	cliSigner, err := ssh.ParsePrivateKey(cli)
	if err != nil {
		t.Fatal(err)
	}
	// The initramfs: readable by cpio, holding what the agent reads.
	initrd, err := os.ReadFile(img.Initrd)
	if err != nil {
		t.Fatal(err)
	}
	names := cpioList(t, initrd)
	for _, want := range []string{"init", "dev/console", "bin/busybox", "bin/sh", "usr/sbin/ip", "usr/bin/ss", "usr/bin/nstat",
		"usr/sbin/nstat", "usr/bin/tcpdump", "lib64/ld-linux-x86-64.so.2", "lib/x86_64-linux-gnu/libc.so.6",
		"etc/passwd", "etc/group", "etc/srutest/modules", "etc/srutest/ssh_host_ed25519", "etc/srutest/authorized_keys",
		"proc", "sys", "tmp", "run", "var/run", "root", "etc/iproute2",
		"lib/modules/" + fixtureRelease + "/kernel/drivers/net/virtio_net.ko",
		"lib/modules/" + fixtureRelease + "/modules.dep"} {
		if !contains(names, want) {
			t.Errorf("initramfs lacks %s", want)
		}
	}
	x := t.TempDir()
	cmd := exec.Command("cpio", "-i", "-d", "--quiet", "--no-absolute-filenames", "--nonmatching", "dev/*")
	cmd.Dir, cmd.Stdin = x, bytes.NewReader(initrd)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cpio -i: %v %s", err, out)
	}
	list, _ := os.ReadFile(filepath.Join(x, "etc/srutest/modules"))
	lines := strings.Split(strings.TrimSpace(string(list)), "\n")
	if len(lines) != len(wantMods) || lines[0] != "/lib/modules/"+fixtureRelease+"/kernel/drivers/virtio/virtio_ring.ko" {
		t.Errorf("modules list:\n%s", list)
	}
	for _, l := range lines {
		ko, err := os.ReadFile(filepath.Join(x, l))
		if err != nil || !bytes.HasPrefix(ko, []byte("\x7fELF")) {
			t.Errorf("%s not a plain module in the image: %v", l, err)
		}
	}
	hk, _ := os.ReadFile(filepath.Join(x, "etc/srutest/ssh_host_ed25519"))
	hostSigner, err := ssh.ParsePrivateKey(hk)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(hostSigner.PublicKey().Marshal(), hostPub.Marshal()) {
		t.Error("Image.HostKey is not the public half of the guest host key")
	}
	ak, _ := os.ReadFile(filepath.Join(x, "etc/srutest/authorized_keys"))
	akPub, _, _, _, err := ssh.ParseAuthorizedKey(ak)
	if err != nil || !bytes.Equal(akPub.Marshal(), cliSigner.PublicKey().Marshal()) {
		t.Errorf("authorized_keys does not hold the client key: %v", err)
	}
	if st, _ := os.Lstat(filepath.Join(x, "etc/srutest/ssh_host_ed25519")); st.Mode().Perm() != 0o600 {
		t.Errorf("host key mode %v", st.Mode())
	}
	passwd, _ := os.ReadFile(filepath.Join(x, "etc/passwd"))
	if !strings.Contains(string(passwd), "tcpdump:") {
		t.Error("no tcpdump user")
	}

	// Second build: nothing rebuilt, same keys, cache unchanged.
	before := snapshot(t, b.CacheDir)
	img2, err := b.Build(ctxT(t), deb)
	if err != nil {
		t.Fatal(err)
	}
	if !img2.Cached || img2.HostKey != img.HostKey || img2.Initrd != img.Initrd {
		t.Errorf("second build: cached=%v same key=%v", img2.Cached, img2.HostKey == img.HostKey)
	}
	for _, tm := range img2.Timings {
		if tm.Phase == "extract" || tm.Phase == "initramfs" {
			t.Errorf("second build ran %s", tm.Phase)
		}
	}
	if after := snapshot(t, b.CacheDir); after != before {
		t.Errorf("second build changed the cache:\n%s\n---\n%s", before, after)
	}

	// A different agent gives a new image on the same kernel layer.
	os.WriteFile(b.Agent, []byte("another agent"), 0o755)
	img3, err := b.Build(ctxT(t), deb)
	if err != nil {
		t.Fatal(err)
	}
	if img3.Cached || img3.Dir == img.Dir || img3.Kernel != img.Kernel {
		t.Errorf("agent change: cached=%v newdir=%v samekernel=%v", img3.Cached, img3.Dir != img.Dir, img3.Kernel == img.Kernel)
	}

	// Marker image: only the base and /init, cached.
	m1, err := b.MarkerImage(ctxT(t), img3)
	if err != nil {
		t.Fatal(err)
	}
	mb, _ := os.ReadFile(m1)
	mnames := cpioList(t, mb)
	if !contains(mnames, "init") || contains(mnames, "bin/busybox") || contains(mnames, "etc/srutest/modules") {
		t.Errorf("marker initramfs: %v", mnames)
	}
	m2, err := b.MarkerImage(ctxT(t), img3)
	if err != nil || m2 != m1 {
		t.Errorf("marker not cached: %v %s %s", err, m1, m2)
	}

	// List and Prune.
	ents, err := List(b.CacheDir)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, e := range ents {
		kinds[e.Kind]++
		if e.Size <= 0 {
			t.Errorf("entry %+v has no size", e)
		}
	}
	if kinds["kernel"] != 1 || kinds["image"] != 2 || kinds["marker"] != 1 {
		t.Errorf("List kinds %v", kinds)
	}
	removed, err := Prune(b.CacheDir, time.Hour)
	if err != nil || len(removed) != 0 {
		t.Errorf("Prune(1h) removed %v, %v", removed, err)
	}
	removed, err = Prune(b.CacheDir, 0)
	if err != nil || len(removed) != 4 {
		t.Errorf("Prune(0) removed %d: %v", len(removed), err)
	}
	if ents, _ := List(b.CacheDir); len(ents) != 0 {
		t.Errorf("after prune: %v", ents)
	}
}

func TestBuildSplitDebsZstdModules(t *testing.T) {
	b := testBuilder(t)
	dir := t.TempDir()
	var img, mods []tarEntry
	for _, e := range fixtureKernelEntries(t, fixtureRelease) {
		if strings.Contains(e.Name, "/lib/modules/") {
			mods = append(mods, e)
		} else {
			img = append(img, e)
		}
	}
	d1 := writeFile(t, dir, "img.deb", makeDeb(t, "zst", "linux-image-unsigned-test", "2", img))
	d2 := writeFile(t, dir, "mods.deb", makeDeb(t, "gz", "linux-modules-test", "2", mods))
	im, err := b.Build(ctxT(t), "deb:"+d1+","+d2)
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Modules) != 12 || im.Meta["packages"] != "linux-image-unsigned-test=2 linux-modules-test=2" {
		t.Errorf("modules %v meta %v", im.Modules, im.Meta)
	}
}

func TestBuildDebURL(t *testing.T) {
	b := testBuilder(t)
	data := makeDeb(t, "gz", "linux-image-test", "3", fixtureKernelEntries(t, fixtureRelease))
	hits := 0
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		if r.URL.Path != "/k.deb" {
			http.NotFound(w, r)
			return
		}
		w.Write(data)
	}))
	srv.Listener = ln
	srv.Start()
	defer srv.Close()
	img, err := b.Build(ctxT(t), srv.URL+"/k.deb")
	if err != nil {
		t.Fatal(err)
	}
	img2, err := b.Build(ctxT(t), "deb:"+srv.URL+"/k.deb")
	if err != nil {
		t.Fatal(err)
	}
	if hits != 1 || img.Cached || !img2.Cached {
		t.Errorf("hits %d cached %v %v", hits, img.Cached, img2.Cached)
	}
	before := snapshot(t, b.CacheDir)
	if _, err := b.Build(ctxT(t), srv.URL+"/missing.deb"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("404: %v", err)
	}
	if after := snapshot(t, b.CacheDir); after != before {
		t.Errorf("failed download changed the cache:\n%s\n---\n%s", before, after)
	}
}

// makeModulesTree writes a depmod'ed tree: root/lib/modules/<rel>/.
func makeModulesTree(t *testing.T, rel string, withDep bool) (vmlinuz, root string) {
	dir := t.TempDir()
	vmlinuz = writeFile(t, dir, "vmlinuz", readTestdata(t, "vmlinuz-6.1.0-56-cloud-amd64.head"))
	root = filepath.Join(dir, "root")
	var dep strings.Builder
	for _, e := range fixtureKernelEntries(t, rel) {
		p, ok := strings.CutPrefix(e.Name, "./lib/modules/"+rel+"/")
		if !ok || e.Dir {
			continue
		}
		writeFile(t, filepath.Join(root, "lib/modules", rel), p, e.Body)
		if isModuleFile(p) {
			mi, _ := decompressModule(p, e.Body)
			info, _ := ReadModinfo(mi)
			dep.WriteString(p + ":")
			for _, d := range info.Depends {
				for _, e2 := range fixtureKernelEntries(t, rel) {
					if q, ok := strings.CutPrefix(e2.Name, "./lib/modules/"+rel+"/"); ok && isModuleFile(q) && ModuleName(q) == d {
						dep.WriteString(" " + q)
					}
				}
			}
			dep.WriteString("\n")
		}
	}
	if withDep {
		writeFile(t, filepath.Join(root, "lib/modules", rel), "modules.dep", []byte(dep.String()))
	}
	return vmlinuz, root
}

func TestBuildDir(t *testing.T) {
	b := testBuilder(t)
	rel := "6.1.0-56-cloud-amd64" // matches the header of the test vmlinuz
	vmlinuz, root := makeModulesTree(t, rel, true)
	for _, modRoot := range []string{root, filepath.Join(root, "lib/modules", rel)} {
		img, err := b.Build(ctxT(t), "dir:"+vmlinuz+","+modRoot)
		if err != nil {
			t.Fatal(err)
		}
		if img.Release != rel || len(img.Modules) != 12 {
			t.Errorf("release %q modules %v", img.Release, img.Modules)
		}
		if strings.Contains(img.Meta["warnings"], "built for") {
			t.Errorf("unexpected vermagic warning: %s", img.Meta["warnings"])
		}
	}
	// A module file changing changes the kernel key.
	img1, _ := b.Build(ctxT(t), "dir:"+vmlinuz+","+root)
	os.WriteFile(filepath.Join(root, "lib/modules", rel, "kernel/drivers/net/veth.ko"), fakeKO("veth", "6.1.0-0-other "), 0o644)
	img2, err := b.Build(ctxT(t), "dir:"+vmlinuz+","+root)
	if err != nil {
		t.Fatal(err)
	}
	if img2.Kernel == img1.Kernel || !strings.Contains(img2.Meta["warnings"], "built for 6.1.0-0-other") {
		t.Errorf("changed module: same layer=%v warnings=%q", img2.Kernel == img1.Kernel, img2.Meta["warnings"])
	}
}

func TestBuildBzImage(t *testing.T) {
	b := testBuilder(t)
	p := writeFile(t, t.TempDir(), "bzImage", readTestdata(t, "vmlinuz-6.1.0-56-cloud-amd64.head"))
	img, err := b.Build(ctxT(t), "bzimage:"+p)
	if err != nil {
		t.Fatal(err)
	}
	if img.Release != "6.1.0-56-cloud-amd64" || len(img.Modules) != 0 || img.Meta["missing_modules"] != "" {
		t.Errorf("%+v", img)
	}
	initrd, _ := os.ReadFile(img.Initrd)
	for _, n := range cpioList(t, initrd) {
		if strings.HasPrefix(n, "lib/modules") {
			t.Errorf("bzimage image has %s", n)
		}
	}
}

type fakeResolver struct {
	debs []byte
	n    int
}

func (f *fakeResolver) Resolve(ctx context.Context, arg, dl string) ([]string, map[string]string, error) {
	f.n++
	if arg != "noble" {
		return nil, nil, errors.New("no such series")
	}
	p := filepath.Join(dl, "k.deb")
	if _, err := os.Stat(p); err != nil {
		os.MkdirAll(dl, 0o755)
		if err := os.WriteFile(p, f.debs, 0o644); err != nil {
			return nil, nil, err
		}
	}
	return []string{p}, map[string]string{"series": "noble", "version": "6.8.0-1"}, nil
}

func TestBuildResolver(t *testing.T) {
	b := testBuilder(t)
	r := &fakeResolver{debs: makeDeb(t, "zst", "linux-image-unsigned-6.8.0-1-generic", "6.8.0-1.1", fixtureKernelEntries(t, fixtureRelease))}
	b.Resolvers = map[string]Resolver{"ubuntu": r}
	img, err := b.Build(ctxT(t), "ubuntu:noble")
	if err != nil {
		t.Fatal(err)
	}
	img2, err := b.Build(ctxT(t), "ubuntu:noble")
	if err != nil {
		t.Fatal(err)
	}
	if img.Cached || !img2.Cached || img.Meta["series"] != "noble" || img2.Meta["kind"] != "ubuntu" {
		t.Errorf("cached %v %v meta %v", img.Cached, img2.Cached, img2.Meta)
	}
	if _, err := b.Build(ctxT(t), "ubuntu:bogus"); err == nil || !strings.Contains(err.Error(), "no such series") {
		t.Errorf("resolver error: %v", err)
	}
	if _, err := b.Build(ctxT(t), "nosuchkind:x"); err == nil || !strings.Contains(err.Error(), "ubuntu:") {
		t.Errorf("unknown kind: %v", err)
	}
}

// Bad inputs: a clear error naming the file, and the cache as it was.
func TestBuildBadInputLeavesCacheUnchanged(t *testing.T) {
	b := testBuilder(t)
	dir := t.TempDir()
	good := writeFile(t, dir, "good.deb", makeDeb(t, "xz", "linux-image-test", "1", fixtureKernelEntries(t, fixtureRelease)))
	if _, err := b.Build(ctxT(t), good); err != nil {
		t.Fatal(err)
	}
	gb, _ := os.ReadFile(good)
	noKernel := makeDeb(t, "gz", "busybox", "1", []tarEntry{{Name: "./bin/busybox", Body: []byte("x")}})
	vml, noDepRoot := makeModulesTree(t, "6.1.0-56-cloud-amd64", false)
	unreadable := writeFile(t, dir, "unreadable.deb", gb)
	os.Chmod(unreadable, 0)
	fifo := filepath.Join(dir, "fifo.deb") // nobody writes: opening it must not block
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	dirDeb := filepath.Join(dir, "dir.deb")
	if err := os.Mkdir(dirDeb, 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, spec string
		want       error
		names      string
	}{
		{"not a deb", writeFile(t, dir, "text.deb", []byte("hello\n")), ErrNotDeb, "text.deb"},
		{"truncated", writeFile(t, dir, "cut.deb", gb[:len(gb)*2/3]), ErrTruncated, "cut.deb"},
		{"no kernel", writeFile(t, dir, "busybox.deb", noKernel), ErrNoKernel, "busybox.deb"},
		{"missing file", filepath.Join(dir, "nope.deb"), fs.ErrNotExist, "nope.deb"},
		{"no modules.dep", "dir:" + vml + "," + noDepRoot, ErrNoModulesDep, noDepRoot},
		{"missing vmlinuz", "dir:" + filepath.Join(dir, "nope") + "," + noDepRoot, fs.ErrNotExist, "nope"},
		{"not a bzImage", "bzimage:" + good, ErrNotBzImage, "good.deb"},
		{"good plus bad", "deb:" + good + "," + filepath.Join(dir, "text.deb"), ErrNotDeb, "text.deb"},
		{"fifo deb", fifo, ErrNotRegular, "fifo.deb"},
		{"directory deb", dirDeb, ErrNotRegular, "dir.deb"},
		{"fifo bzImage", "bzimage:" + fifo, ErrNotRegular, "fifo.deb"},
		{"fifo vmlinuz", "dir:" + fifo + "," + noDepRoot, ErrNotRegular, "fifo.deb"},
	}
	if os.Geteuid() != 0 { // root reads mode-0 files
		cases = append(cases, struct {
			name, spec string
			want       error
			names      string
		}{"unreadable", unreadable, fs.ErrPermission, "unreadable.deb"})
	}
	before := snapshot(t, b.CacheDir)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := b.Build(ctxT(t), c.spec)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if !strings.Contains(err.Error(), c.names) {
				t.Errorf("error %q does not name %s", err, c.names)
			}
			if after := snapshot(t, b.CacheDir); after != before {
				t.Errorf("cache changed:\n%s\n---\n%s", before, after)
			}
		})
	}
}

func TestBuildAptUnknownPackage(t *testing.T) {
	needTool(t, "apt-cache")
	b := testBuilder(t)
	before := snapshot(t, b.CacheDir)
	for _, spec := range []string{"apt:srutest-no-such-package", "apt:srutest-no-such-*-package"} {
		_, err := b.Build(ctxT(t), spec)
		if !errors.Is(err, ErrUnknownPackage) || !strings.Contains(err.Error(), "srutest-no-such") {
			t.Errorf("%s: %v", spec, err)
		}
	}
	if after := snapshot(t, b.CacheDir); after != before {
		t.Errorf("cache changed:\n%s\n---\n%s", before, after)
	}
}

func TestBuildRequiresAgent(t *testing.T) {
	if _, err := (&Builder{CacheDir: t.TempDir()}).Build(context.Background(), "bzimage:x"); err == nil {
		t.Fatal("no agent accepted")
	}
}
