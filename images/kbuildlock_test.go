package images

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/srutest/srutest/internal/testutil"
)

// syncBuffer is a Builder log written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fakeSourceResolver serves one linux-source package, as ubuntu's does.
type fakeSourceResolver struct{ deb []byte }

func (f *fakeSourceResolver) Resolve(context.Context, string, string) ([]string, map[string]string, error) {
	return nil, nil, errors.New("not an image resolver")
}

func (f *fakeSourceResolver) ResolveSource(ctx context.Context, arg, dl string) (string, map[string]string, error) {
	os.MkdirAll(dl, 0o755)
	p := filepath.Join(dl, "linux-source-6.8.0_6.8.0-31.31_all.deb")
	// Each call writes its own temp file and renames it, as a verified
	// download does.
	tmp, err := os.CreateTemp(dl, ".deb-*")
	if err != nil {
		return "", nil, err
	}
	tmp.Write(f.deb)
	tmp.Close()
	if err := os.Rename(tmp.Name(), p); err != nil {
		return "", nil, err
	}
	return p, map[string]string{"source_tree": "linux-source-6.8.0 6.8.0-31.31",
		"tarballs": "usr/src/linux-source-6.8.0/linux-source-6.8.0.tar.bz2"}, nil
}

// Two srutest processes building one source: tree at once (two runs, CI
// shards on one cache) take turns: the second waits on the tree's lock,
// says so, and then reuses the first one's work (one tarball copied out of
// the package, one make, the same bzImage). A third one whose context ends
// while it waits gives up with the context's error. Each Builder has its
// own lock file descriptors, as separate processes would (flock(2) locks
// belong to the open file, not the process).
//
// build-kernel.sh runs for real on a fake kernel tree whose Makefile's
// bzImage target blocks until the test has seen the second builder wait,
// so the overlap does not depend on timing.
func TestSourceBuildsOfOneTreeSerialize(t *testing.T) {
	for _, tool := range []string{"make", "gcc", "ld", "flex", "bison", "bc", "perl", "patch", "flock", "tar", "sha256sum", "bzip2"} {
		if _, err := exec.LookPath(tool); err != nil {
			testutil.Unavailable(t, "%s not installed (scripts/install-deps.sh --kernel-build)", tool)
		}
	}
	dir := t.TempDir()
	goOn := filepath.Join(dir, "go-on")
	bz, err := filepath.Abs(filepath.Join("testdata", "vmlinuz-6.1.0-56-cloud-amd64.head"))
	if err != nil {
		t.Fatal(err)
	}
	// kbuild runs kconfig in O=; so does this Makefile.
	makefile := strings.Join([]string{
		"tinyconfig:",
		"\t@echo CONFIG_TINY=y > $(O)/$(KCONFIG_CONFIG)",
		"olddefconfig:",
		"\t@:",
		"bzImage:",
		"\t@echo start >> $(O)/makes.log",
		"\t@while [ ! -e " + goOn + " ]; do sleep 0.05; done",
		"\t@mkdir -p $(O)/arch/x86/boot && cp " + bz + " $(O)/arch/x86/boot/bzImage",
		"\t@echo end >> $(O)/makes.log",
		"kernelrelease:",
		"\t@echo 6.1.0-56-cloud-amd64",
		"",
	}, "\n")
	// Ubuntu's tarball is .tar.bz2 (build-kernel.sh unpacks it with
	// lbzip2 when installed); Go only reads bzip2, so bzip2(1) writes it.
	tree := makeTar(t, []tarEntry{
		{Name: "linux-source-6.8.0/", Dir: true},
		{Name: "linux-source-6.8.0/Makefile", Body: []byte(makefile)},
		{Name: "linux-source-6.8.0/Kconfig", Body: []byte("# fake\n")},
	})
	bzip := exec.Command("bzip2", "-c")
	bzip.Stdin = bytes.NewReader(tree)
	tbz, err := bzip.Output()
	if err != nil {
		testutil.Unavailable(t, "bzip2: %v", err)
	}
	deb := makeDeb(t, "xz", "linux-source-6.8.0", "6.8.0-31.31", []tarEntry{
		{Name: "./usr/src/linux-source-6.8.0/", Dir: true},
		{Name: "./usr/src/linux-source-6.8.0/linux-source-6.8.0.tar.bz2", Body: tbz},
	})
	cache := filepath.Join(dir, "cache")
	r := &fakeSourceResolver{deb: deb}
	builder := func() (*Builder, *syncBuffer) {
		log := &syncBuffer{}
		return &Builder{CacheDir: cache, Log: log, Resolvers: map[string]Resolver{"ubuntu": r}}, log
	}
	const spec = "source:ubuntu:noble,localversion=-lock"
	sp, err := ParseSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	type result struct {
		src *kernelSource
		err error
	}
	var logs [2]*syncBuffer
	var results [2]chan result
	for i := range 2 {
		b, log := builder()
		logs[i] = log
		results[i] = make(chan result, 1)
		go func() {
			src, err := sourceKind{}.kernelSource(ctx, b, sp, &timer{})
			results[i] <- result{src, err}
		}()
	}
	const waiting = "waiting for another srutest building"
	waiter := -1
	for waiter < 0 {
		for i, l := range logs {
			if strings.Contains(l.String(), waiting) {
				waiter = i
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no builder waited for the other:\n--- 0:\n%s\n--- 1:\n%s", logs[0], logs[1])
		case <-time.After(20 * time.Millisecond):
		}
	}
	// While the first holds the tree, a builder that may not wait longer
	// gives up with its context's error.
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	b3, _ := builder()
	_, err = sourceKind{}.kernelSource(short, b3, sp, &timer{})
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("third builder, context ended while waiting: %v, want DeadlineExceeded", err)
	}
	if err := os.WriteFile(goOn, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var got [2]result
	for i := range 2 {
		got[i] = <-results[i]
		if got[i].err != nil {
			t.Fatalf("builder %d: %v\nlog:\n%s", i, got[i].err, logs[i])
		}
	}
	if got[0].src.key != got[1].src.key {
		t.Errorf("two keys for one build: %s %s", got[0].src.key, got[1].src.key)
	}
	if _, err := exec.LookPath("lbzip2"); err == nil && strings.Contains(logs[1-waiter].String(), "lbzip2 not installed") {
		t.Errorf("lbzip2 is installed but build-kernel.sh did not use it:\n%s", logs[1-waiter])
	}
	if !strings.Contains(logs[1-waiter].String(), "build-kernel: extracted in") {
		t.Errorf("builder %d did not unpack the tree:\n%s", 1-waiter, logs[1-waiter])
	}
	if !strings.Contains(logs[waiter].String(), "already holds this build") {
		t.Errorf("builder %d waited but did not reuse the build:\n%s", waiter, logs[waiter])
	}
	makes, _ := filepath.Glob(filepath.Join(cache, dirKbuild, "build-*", "makes.log"))
	if len(makes) != 1 {
		t.Fatalf("build trees with a makes.log: %v, want 1", makes)
	}
	if m, _ := os.ReadFile(makes[0]); string(m) != "start\nend\n" {
		t.Errorf("make bzImage ran %q, want once (start, end)", m)
	}
	trees, _ := filepath.Glob(filepath.Join(cache, dirKbuild, dirTrees, "*", "*"))
	if len(trees) != 1 || filepath.Base(trees[0]) != "linux-source-6.8.0.tar.bz2" {
		t.Errorf("trees/: %v, want the one tarball (no temp files)", trees)
	}
	// Unlock removes the lock files: nothing is left to prune.
	if locks, _ := filepath.Glob(filepath.Join(cache, dirKbuild, ".tree-*.lock")); len(locks) != 0 {
		t.Errorf("lock files left: %v", locks)
	}
}

// cache prune leaves the kbuild entries a running build holds: the
// src-/build- trees of a tarball whose build-kernel.sh lock is held, and a
// trees/<package> dir whose tarball is being built (lockTree). The same
// entries go once nobody holds them.
func TestPruneKeepsKbuildTreesInUse(t *testing.T) {
	cache := t.TempDir()
	kb := filepath.Join(cache, dirKbuild)
	for _, d := range []string{"src-tar-aaaa", "build-tar-aaaa", "src-tar-bbbb", "build-tar-bbbb", "src-tar-cccc.tmp",
		"trees/linux-source-6.8.0_6.8.0-31.31_all", "trees/linux-source-6.14.0_6.14.0-15.15_all"} {
		os.MkdirAll(filepath.Join(kb, d), 0o755)
	}
	tarball := filepath.Join(kb, "trees/linux-source-6.8.0_6.8.0-31.31_all/linux-source-6.8.0.tar.bz2")
	os.WriteFile(tarball, []byte("x"), 0o644)
	// build-kernel.sh holds tar-aaaa.lock and tar-cccc.lock (flock(1)).
	var scriptLocks []*os.File
	for _, k := range []string{"tar-aaaa", "tar-cccc"} {
		f, err := os.Create(filepath.Join(kb, k+".lock"))
		if err != nil {
			t.Fatal(err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			t.Fatal(err)
		}
		scriptLocks = append(scriptLocks, f)
	}
	// This process builds the 6.8.0 tarball.
	b := &Builder{CacheDir: cache}
	l, err := b.lockTree(context.Background(), "building", tarball)
	if err != nil {
		t.Fatal(err)
	}
	removed, err := Prune(cache, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range removed {
		rel, _ := filepath.Rel(kb, e.Dir)
		got = append(got, rel)
	}
	sort.Strings(got)
	if want := "build-tar-bbbb src-tar-bbbb trees/linux-source-6.14.0_6.14.0-15.15_all"; strings.Join(got, " ") != want {
		t.Errorf("pruned %q, want %q", got, want)
	}
	if _, err := os.Stat(tarball); err != nil {
		t.Errorf("the tarball being built: %v", err)
	}
	// The script's lock files stay where a waiting build-kernel.sh has them open.
	for _, f := range scriptLocks {
		if _, err := os.Stat(f.Name()); err != nil {
			t.Errorf("%v", err)
		}
		f.Close()
	}
	l.Unlock()
	removed, err = Prune(cache, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 4 {
		t.Errorf("after the builds: pruned %d entries, want the 4 left: %v", len(removed), removed)
	}
}
