package agent

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/srutest/srutest/internal/wire"
)

func TestParseCmdline(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []Param
	}{
		{"", nil},
		{"  \n", nil},
		{"console=ttyS0 quiet\n", []Param{{"console", "ttyS0", true}, {"quiet", "", false}}},
		{"a= b==c", []Param{{"a", "", true}, {"b", "=c", true}}},
		{`dyndbg="file x.c +p" srutest.mode=marker`, []Param{{"dyndbg", "file x.c +p", true}, {"srutest.mode", "marker", true}}},
		{`"k=v w" x`, []Param{{"k", "v w", true}, {"x", "", false}}},
		{`unterminated="a b`, []Param{{"unterminated", `"a b`, true}}},
		{"init=/init -- arg1 k=v", []Param{{"init", "/init", true}, {"--", "", false}, {"arg1", "", false}, {"k", "v", true}}},
		{"tab\tsep\n", []Param{{"tab", "", false}, {"sep", "", false}}},
	} {
		if got := ParseCmdline(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseCmdline(%q) = %#v, want %#v", tc.in, got, tc.want)
		}
	}
}

func TestCmdlineValue(t *testing.T) {
	// testdata/cmdline-* are /proc/cmdline as read by the agent in real
	// guests (the vm package's kernel arguments).
	files, _ := filepath.Glob("testdata/cmdline-*")
	if len(files) == 0 {
		t.Fatal("no testdata/cmdline-* captures")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		v, ok := CmdlineValue(string(data), wire.ModeParam)
		wantMarker := strings.Contains(f, "marker")
		if ok != wantMarker || (v == wire.ModeMarker) != wantMarker {
			t.Errorf("%s: %s = %q, %v; marker expected: %v", f, wire.ModeParam, v, ok, wantMarker)
		}
		if v, ok := CmdlineValue(string(data), "console"); !ok || v != "ttyS0" {
			t.Errorf("%s: console = %q, %v", f, v, ok)
		}
	}
	quoted, err := os.ReadFile("testdata/cmdline-debian-6.1-quoted-marker")
	if err != nil {
		t.Fatal(err)
	}
	ps := ParseCmdline(string(quoted))
	if v, _ := CmdlineValue(string(quoted), "dyndbg"); v != "file net/mptcp/* +p" {
		t.Errorf("dyndbg = %q", v)
	}
	if last := ps[len(ps)-1]; last.Key != "/bin/mount -t proc p /proc; /bin/cat /proc/cmdline | /bin/base64" || last.HasValue {
		t.Errorf("quoted init argument parsed as %+v", last)
	}
	for _, tc := range []struct {
		in, key, want string
		found         bool
	}{
		{"srutest.mode=marker", wire.ModeParam, wire.ModeMarker, true},
		{"srutest.mode=x srutest.mode=marker", wire.ModeParam, wire.ModeMarker, true},
		{"srutest.mode=marker srutest.mode=", wire.ModeParam, "", true},
		{"srutest.modex=marker", wire.ModeParam, "", false},
		{"xsrutest.mode=marker", wire.ModeParam, "", false},
		{"srutest=marker", wire.ModeParam, "", false},
		{`x="srutest.mode=marker"`, wire.ModeParam, "", false},
	} {
		v, ok := CmdlineValue(tc.in, tc.key)
		if v != tc.want || ok != tc.found {
			t.Errorf("CmdlineValue(%q, %q) = %q, %v; want %q, %v", tc.in, tc.key, v, ok, tc.want, tc.found)
		}
	}
}

func FuzzParseCmdline(f *testing.F) {
	files, _ := filepath.Glob("testdata/cmdline-*")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(data))
	}
	f.Add(`a="b c" "d=e f" -- x`)
	f.Add(`"`)
	f.Fuzz(func(t *testing.T, s string) {
		ps := ParseCmdline(s)
		for _, p := range ps {
			if p.Key == "" && !p.HasValue {
				t.Fatalf("empty word from %q", s)
			}
			if !p.HasValue && p.Value != "" {
				t.Fatalf("value without '=' from %q", s)
			}
		}
		// Without quotes, words are exactly the fields separated by ASCII
		// whitespace (the kernel's isspace; U+0085 and friends are not).
		fields := strings.FieldsFunc(s, func(r rune) bool { return r < 0x80 && isCmdlineSpace(byte(r)) })
		if !strings.Contains(s, `"`) && len(ps) != len(fields) {
			t.Fatalf("%q: %d params, %d fields", s, len(ps), len(fields))
		}
	})
}

func TestParseModuleListCaptured(t *testing.T) {
	for _, tc := range []struct {
		file          string
		n             int
		chain, rest0  string
		chainLen      int
		firstInternal string
	}{
		// Debian 6.1 cloud: virtio_pci and its virtio core are modules.
		{"modules-6.1.0-56-cloud-amd64", 13, "virtio_net", "veth", 8, "virtio_ring"},
		// Debian 6.12 cloud: virtio_pci built in, virtio_net a module.
		{"modules-6.12.117+deb12-cloud-amd64", 8, "virtio_net", "veth", 3, "failover"},
	} {
		data, err := os.ReadFile(filepath.Join("testdata", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		paths, err := ParseModuleList(data)
		if err != nil || len(paths) != tc.n {
			t.Fatalf("%s: %d paths, %v; want %d", tc.file, len(paths), err, tc.n)
		}
		chain, rest := SplitNetChain(paths)
		if len(chain) != tc.chainLen || ModuleName(chain[len(chain)-1]) != tc.chain || ModuleName(rest[0]) != tc.rest0 {
			t.Errorf("%s: chain %q rest %q", tc.file, chain, rest)
		}
		if ModuleName(paths[0]) != tc.firstInternal {
			t.Errorf("%s: first module %s", tc.file, ModuleName(paths[0]))
		}
		if len(chain)+len(rest) != len(paths) {
			t.Errorf("%s: split lost modules", tc.file)
		}
	}
}

func TestParseModuleList(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    []string
		wantErr string
	}{
		{"", nil, ""},
		{"# c\n\n  /a/x.ko  \r\n/b/y.ko", []string{"/a/x.ko", "/b/y.ko"}, ""},
		{"/a.ko\nrel.ko\n/b.ko\n", []string{"/a.ko", "/b.ko"}, `line 2: "rel.ko" is not an absolute path`},
	} {
		got, err := ParseModuleList([]byte(tc.in))
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseModuleList(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("ParseModuleList(%q) error %v, want %q", tc.in, err, tc.wantErr)
		}
	}
}

func TestModuleName(t *testing.T) {
	for in, want := range map[string]string{
		"/lib/modules/6.1/kernel/drivers/net/virtio_net.ko":     "virtio_net",
		"/lib/modules/6.12/kernel/drivers/net/virtio_net.ko.xz": "virtio_net",
		"kernel/net/mptcp/mptcp-diag.ko.zst":                    "mptcp_diag",
		"x.ko.gz":                                               "x",
	} {
		if got := ModuleName(in); got != want {
			t.Errorf("ModuleName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSplitNetChain(t *testing.T) {
	for _, tc := range []struct {
		in          []string
		chain, rest int
	}{
		{nil, 0, 0},
		{[]string{"/veth.ko", "/sch_netem.ko"}, 0, 2},                          // NIC built in
		{[]string{"/virtio_pci.ko", "/veth.ko"}, 1, 1},                         // only the bus is modular
		{[]string{"/failover.ko", "/net_failover.ko", "/virtio_net.ko"}, 3, 0}, // nothing else
	} {
		c, r := SplitNetChain(tc.in)
		if len(c) != tc.chain || len(r) != tc.rest {
			t.Errorf("SplitNetChain(%q) = %q, %q", tc.in, c, r)
		}
	}
}

func FuzzParseModuleList(f *testing.F) {
	for _, name := range []string{"modules-6.1.0-56-cloud-amd64", "modules-6.12.117+deb12-cloud-amd64"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("rel\n#x\n\n/a"))
	f.Fuzz(func(t *testing.T, data []byte) {
		paths, _ := ParseModuleList(data)
		for _, p := range paths {
			if !strings.HasPrefix(p, "/") || strings.TrimSpace(p) != p {
				t.Fatalf("bad path %q", p)
			}
			ModuleName(p)
		}
		c, r := SplitNetChain(paths)
		if len(c)+len(r) != len(paths) {
			t.Fatal("split lost modules")
		}
	})
}

func TestLoadModules(t *testing.T) {
	var log strings.Builder
	fail := errors.New("load module veth: exec format error")
	res := LoadModules([]string{"/a.ko", "/b.ko", "/c.ko"}, func(p string) error {
		switch p {
		case "/b.ko":
			return fail
		case "/c.ko":
			return unix.EEXIST
		}
		return nil
	}, &log)
	if len(res) != 3 || res[0].Err != nil || res[1].Err != fail || res[2].Err != nil || !res[2].Existed {
		t.Errorf("results %+v", res)
	}
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ok /a.ko ") ||
		lines[1] != "FAIL /b.ko: "+fail.Error() || lines[2] != "exists /c.ko" {
		t.Errorf("log %q", log.String())
	}
}

func TestFinitModuleErrors(t *testing.T) {
	if err := FinitModule("/nonexistent/x.ko"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	// A file that is not a module: EPERM without CAP_SYS_MODULE, ENOEXEC
	// (or similar) with it; never success.
	f := filepath.Join(t.TempDir(), "junk.ko")
	os.WriteFile(f, []byte("not an ELF module"), 0o644)
	if err := FinitModule(f); err == nil || !strings.Contains(err.Error(), "junk") {
		t.Errorf("junk module: %v", err)
	}
}

func TestParseProcStat(t *testing.T) {
	for _, tc := range []struct {
		file  string
		comm  string
		state byte
	}{
		{"procstat-running", "cat", 'R'},
		{"procstat-zombie", "sleep", 'Z'},
		{"procstat-paren-comm", "a) Z 1 (b", 'S'}, // a comm that looks like fields
	} {
		data, err := os.ReadFile(filepath.Join("testdata", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		st, err := ParseProcStat(data)
		if err != nil || st.Comm != tc.comm || st.State != tc.state || st.Pid <= 0 || st.PPid <= 0 {
			t.Errorf("%s: %+v %v", tc.file, st, err)
		}
	}
	for _, bad := range []string{"", "garbage", "12 (x)", "x (y) S 1", "12 (y) SS 1", "12 (y) S -4", "(y) S 1", "-1 (y) S 1"} {
		if st, err := ParseProcStat([]byte(bad)); err == nil {
			t.Errorf("ParseProcStat(%q) = %+v, want error", bad, st)
		}
	}
	// The live stat of this process parses to itself.
	data, _ := os.ReadFile("/proc/self/stat")
	if st, err := ParseProcStat(data); err != nil || st.Pid != os.Getpid() || st.PPid != os.Getppid() {
		t.Errorf("self: %+v %v", st, err)
	}
}

func FuzzParseProcStat(f *testing.F) {
	for _, n := range []string{"procstat-running", "procstat-zombie", "procstat-paren-comm"} {
		data, err := os.ReadFile(filepath.Join("testdata", n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := ParseProcStat(data)
		if err == nil && (st.Pid <= 0 || st.PPid < 0) {
			t.Fatalf("accepted %+v", st)
		}
	})
}

func TestReaperStartFailure(t *testing.T) {
	r := NewReaper()
	cmd := execCommand("/nonexistent/binary")
	if err := r.Start(cmd); err == nil {
		t.Fatal("started a nonexistent binary")
	}
	r.Done(cmd) // no process: must not panic
	if len(r.owned) != 0 {
		t.Errorf("owned after failed start: %v", r.owned)
	}
	var nilR *Reaper
	ok := execCommand("/bin/true")
	if err := nilR.Start(ok); err != nil || ok.Process == nil {
		t.Fatal(err)
	}
	nilR.Done(ok) // no Wait: testReaper reaps the unregistered child
}

func TestReaperReapsOnlyOrphans(t *testing.T) {
	// testReaper (TestMain) reaps this subreaper's orphans. A child it
	// owns keeps its exit status; one started behind its back is reaped as
	// an orphan, so its Wait fails: the reaper does reap.
	mine := execCommand("/bin/sh", "-c", "exit 9")
	if err := testReaper.Start(mine); err != nil {
		t.Fatal(err)
	}
	stranger := execCommand("/bin/sh", "-c", "exit 8")
	if err := stranger.Start(); err != nil {
		t.Fatal(err)
	}
	// An orphan: the intermediate shell exits, its child is reparented.
	out, err := testReaper.output(execCommand("/bin/sh", "-c", "sleep 0.1 </dev/null >/dev/null 2>&1 & echo $!"))
	if err != nil {
		t.Fatal(err)
	}
	orphan := strings.TrimSpace(string(out))
	// Wait until all three have exited instead of guessing how long that
	// takes on a loaded host.
	opid, _ := strconv.Atoi(orphan)
	for _, pid := range []int{mine.Process.Pid, stranger.Process.Pid, opid} {
		waitZombie(t, pid)
	}
	testReaper.ReapOrphans()
	if err := mine.Wait(); mine.ProcessState == nil || mine.ProcessState.ExitCode() != 9 {
		t.Errorf("owned child's status lost: %v", err)
	}
	testReaper.Done(mine)
	if err := stranger.Wait(); !errors.Is(err, unix.ECHILD) {
		t.Errorf("unregistered child: Wait = %v, want ECHILD (reaped as an orphan)", err)
	}
	if _, err := os.Stat("/proc/" + orphan); err == nil {
		t.Errorf("orphan %s not reaped", orphan)
	}
}

// output is exec.Cmd.Output through the reaper: in this test binary every
// child must be started through testReaper, or it may be reaped as an
// orphan before its Wait.
func (r *Reaper) output(cmd *exec.Cmd) ([]byte, error) {
	var b strings.Builder
	cmd.Stdout = &b
	return r.wait(cmd, &b)
}

// combined is exec.Cmd.CombinedOutput through the reaper.
func (r *Reaper) combined(cmd *exec.Cmd) ([]byte, error) {
	var b strings.Builder
	cmd.Stdout, cmd.Stderr = &b, &b
	return r.wait(cmd, &b)
}

func (r *Reaper) wait(cmd *exec.Cmd, b *strings.Builder) ([]byte, error) {
	if err := r.Start(cmd); err != nil {
		return nil, err
	}
	err := cmd.Wait()
	r.Done(cmd)
	return []byte(b.String()), err
}

func execCommand(name string, args ...string) *exec.Cmd { return exec.Command(name, args...) }

// waitZombie waits until pid has exited: a zombie, or already reaped
// (the test reaper may collect an orphan first).
func waitZombie(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return
		}
		if i := bytes.LastIndexByte(st, ')'); i > 0 && i+2 < len(st) && st[i+2] == 'Z' {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d still running after 30s", pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestReaperCandidates: the scan reads this process's children from
// /proc/<self>/task/*/children when the kernel has them, and walks every
// pid in /proc only when it does not (CONFIG_PROC_CHILDREN unset).
func TestReaperCandidates(t *testing.T) {
	proc := t.TempDir()
	for _, d := range []string{"42/task/42", "42/task/43", "7", "9", "self"} {
		os.MkdirAll(filepath.Join(proc, d), 0o755)
	}
	r := &Reaper{owned: map[int]bool{}, proc: proc, self: 42}
	if got := fmt.Sprint(r.children()); got != "[42 7 9]" {
		t.Errorf("without children files: %s, want every pid in /proc", got)
	}
	os.WriteFile(filepath.Join(proc, "42/task/42/children"), []byte("5 11 "), 0o644)
	os.WriteFile(filepath.Join(proc, "42/task/43/children"), []byte("13\n"), 0o644)
	if got := fmt.Sprint(r.children()); got != "[5 11 13]" {
		t.Errorf("with children files: %s, want the children of every task", got)
	}
}

// TestFirstZombie: waitid's siginfo is read at the right offsets: an owned
// child that exited is named (and not reaped) until its own Wait.
func TestFirstZombie(t *testing.T) {
	mine := execCommand("/bin/sh", "-c", "exit 3")
	if err := testReaper.Start(mine); err != nil {
		t.Fatal(err)
	}
	waitZombie(t, mine.Process.Pid)
	if got := firstZombie(); got != mine.Process.Pid {
		t.Errorf("firstZombie() = %d, want %d", got, mine.Process.Pid)
	}
	if err := mine.Wait(); mine.ProcessState == nil || mine.ProcessState.ExitCode() != 3 {
		t.Errorf("owned child's status lost: %v", err)
	}
	testReaper.Done(mine)
}
