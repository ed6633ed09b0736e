package host

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/srutest/srutest/plan"
)

// dirApt answers from apt-cache output captured into a testdata directory
// (see testdata/capture.sh): madison.txt holds the madison lines of every
// package asked about, show-<pkg>.txt and pkgnames-<prefix>.txt the rest.
// A file that is not there is what apt says about a package it does not
// know: nothing.
type dirApt struct{ dir string }

func (d dirApt) read(name string) []byte {
	b, _ := os.ReadFile(filepath.Join(d.dir, name))
	return b
}

func (d dirApt) Madison(_ context.Context, pkgs ...string) ([]Avail, error) {
	var out []Avail
	for _, a := range ParseMadison(d.read("madison.txt")) {
		if slices.Contains(pkgs, a.Package) {
			out = append(out, a)
		}
	}
	return out, nil
}

func (d dirApt) Show(_ context.Context, pkg string) ([]Stanza, error) {
	return ParseStanzas(d.read("show-" + pkg + ".txt")), nil
}

func (d dirApt) PkgNames(_ context.Context, prefix string) ([]string, error) {
	return strings.Fields(string(d.read("pkgnames-" + prefix + ".txt"))), nil
}

func choose(t *testing.T, dir string) *Profile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", dir, "os-release"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Choose(context.Background(), ParseOSRelease(b), dirApt{filepath.Join("testdata", dir)})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseOSRelease(t *testing.T) {
	for _, tc := range []struct {
		dir            string
		id, version    string
		distro         Distro
		series, pretty string
	}{
		{"bookworm", "debian", "12", Debian, "bookworm", "Debian GNU/Linux 12 (bookworm)"},
		{"jammy", "ubuntu", "22.04", Ubuntu, "jammy", "Ubuntu 22.04.5 LTS"},
		{"noble", "ubuntu", "24.04", Ubuntu, "noble", "Ubuntu 24.04.5 LTS"},
		{"resolute", "ubuntu", "26.04", Ubuntu, "resolute", "Ubuntu 26.04.1 LTS"},
		{"fedora", "fedora", "41", "", "", "Fedora Linux 41 (Forty One)"},
	} {
		b, err := os.ReadFile(filepath.Join("testdata", tc.dir, "os-release"))
		if err != nil {
			t.Fatal(err)
		}
		o := ParseOSRelease(b)
		d, s := o.Distro()
		if o.ID != tc.id || o.VersionID != tc.version || d != tc.distro || s != tc.series || o.String() != tc.pretty {
			t.Errorf("%s: got %+v distro %q series %q", tc.dir, o, d, s)
		}
	}
	// A derivative names its Ubuntu base; quoting styles and comments.
	o := ParseOSRelease([]byte("# Mint\nID=linuxmint\nID_LIKE=\"ubuntu debian\"\nVERSION_CODENAME=wilma\nUBUNTU_CODENAME='noble'\nPRETTY_NAME=\"Linux Mint \\\"22\\\"\"\nbroken line\n"))
	if d, s := o.Distro(); d != Ubuntu || s != "noble" || o.PrettyName != `Linux Mint "22"` || !reflect.DeepEqual(o.IDLike, []string{"ubuntu", "debian"}) {
		t.Errorf("mint: %+v → %q %q", o, d, s)
	}
}

func TestParseMadison(t *testing.T) {
	got := ParseMadison([]byte(" linux-image-virtual | 6.8.0-31.31 | http://archive.ubuntu.com/ubuntu noble/main amd64 Packages\n" +
		"     linux | 6.8.0-31.31 | http://archive.ubuntu.com/ubuntu noble/main Sources\nnoise\n"))
	want := []Avail{{"linux-image-virtual", "6.8.0-31.31", "noble", "main"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v", got)
	}
}

func TestDependsNames(t *testing.T) {
	got := DependsNames("linux-image-6.8.0-31-generic, linux-firmware | wireless-regdb (>= 1.0), libc6:amd64 (>= 2.34)")
	want := []string{"linux-image-6.8.0-31-generic", "linux-firmware", "wireless-regdb", "libc6"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q", got)
	}
}

func TestChooseUbuntu(t *testing.T) {
	for _, tc := range []struct {
		dir           string
		before, after string // specs
		beforeVersion string
		afterSuite    string
		expect        map[string]string
		source        string
		testKernel    string
	}{
		{
			dir:           "noble",
			before:        "apt:linux-image-unsigned-6.8.0-31-generic,linux-modules-6.8.0-31-generic,linux-modules-extra-6.8.0-31-generic",
			after:         "apt:linux-image-unsigned-6.8.0-151-generic,linux-modules-6.8.0-151-generic,linux-modules-extra-6.8.0-151-generic",
			beforeVersion: "6.8.0-31.31", afterSuite: "noble-updates",
			expect:     map[string]string{"connect": "FAIL", "fallback": "FAIL", "join": "FAIL"},
			source:     "linux-source-6.8.0",
			testKernel: "linux-image-unsigned-6.8.0-151-generic",
		},
		{
			// jammy's meta versions are dotted (5.15.0.25.27): the ABI comes
			// from Depends, not from the version.
			dir:           "jammy",
			before:        "apt:linux-image-unsigned-5.15.0-25-generic,linux-modules-5.15.0-25-generic,linux-modules-extra-5.15.0-25-generic",
			after:         "apt:linux-image-unsigned-5.15.0-204-generic,linux-modules-5.15.0-204-generic,linux-modules-extra-5.15.0-204-generic",
			beforeVersion: "5.15.0.25.27", afterSuite: "jammy-updates",
			expect:     map[string]string{"join": "FAIL"},
			source:     "linux-source-5.15.0",
			testKernel: "linux-image-unsigned-5.15.0-204-generic",
		},
		{
			// No linux-modules-extra from 25.10 on.
			dir:           "resolute",
			before:        "apt:linux-image-unsigned-7.0.0-14-generic,linux-modules-7.0.0-14-generic",
			after:         "apt:linux-image-unsigned-7.0.0-44-generic,linux-modules-7.0.0-44-generic",
			beforeVersion: "7.0.0-14.14", afterSuite: "resolute-updates",
			source:     "linux-source-7.0.0",
			testKernel: "linux-image-unsigned-7.0.0-44-generic",
		},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			p := choose(t, tc.dir)
			if len(p.Problems) > 0 {
				t.Errorf("problems: %q", p.Problems)
			}
			if p.Distro != Ubuntu || p.Series != tc.dir || p.DemoFile != "" {
				t.Fatalf("profile %+v", p)
			}
			if len(p.Demo) != 2 {
				t.Fatalf("demo kernels %+v", p.Demo)
			}
			b, a := p.Demo[0], p.Demo[1]
			if b.Spec != tc.before || b.Role != "before" || b.Suite != tc.dir || b.Version != tc.beforeVersion || !reflect.DeepEqual(b.Expect, tc.expect) {
				t.Errorf("before %+v", b)
			}
			if a.Spec != tc.after || a.Role != "after" || a.Suite != tc.afterSuite || a.Expect != nil {
				t.Errorf("after %+v", a)
			}
			if p.TestKernel != tc.testKernel || len(p.Boot) != 1 || p.Boot[0].Spec != tc.after || p.Boot[0].Role != "" {
				t.Errorf("test kernel %q, boot %+v", p.TestKernel, p.Boot)
			}
			if p.Source.Package != tc.source || p.Source.Tarball != "/usr/src/"+tc.source+"/"+tc.source+".tar.bz2" {
				t.Errorf("source %+v", p.Source)
			}
		})
	}
}

// A root fresh from debootstrap lists only the release pocket: the GA
// kernel is both the oldest and the newest, and the profile says what to add.
func TestChooseUbuntuReleaseOnly(t *testing.T) {
	p := choose(t, "noble-release-only")
	if len(p.Demo) != 1 || p.Demo[0].Role != "before" || !strings.Contains(p.Demo[0].Spec, "6.8.0-31") {
		t.Fatalf("demo %+v", p.Demo)
	}
	if len(p.Problems) != 1 || !strings.Contains(p.Problems[0], "noble-updates") {
		t.Errorf("problems %q", p.Problems)
	}
}

// Sources without the release pocket (only -updates/-security): no GA
// kernel, and the profile says which suite to add.
func TestChooseUbuntuNoReleasePocket(t *testing.T) {
	p := choose(t, "noble-updates-only")
	if len(p.Demo) != 1 || p.Demo[0].Role != "after" {
		t.Fatalf("demo %+v", p.Demo)
	}
	if len(p.Problems) != 1 || !strings.Contains(p.Problems[0], `add suite "noble"`) {
		t.Errorf("problems %q", p.Problems)
	}
}

func TestChooseDebian(t *testing.T) {
	p := choose(t, "bookworm")
	if p.Distro != Debian || p.DemoFile != "demo.yaml" || len(p.Problems) > 0 {
		t.Fatalf("profile %+v", p)
	}
	// The newest 6.1 cloud ABI by number, not by string order.
	if p.TestKernel != "linux-image-6.1.0-57-cloud-amd64-unsigned" {
		t.Errorf("test kernel %q", p.TestKernel)
	}
	if p.Source.Package != "linux-source-6.12" || p.Source.Tarball != "/usr/src/linux-source-6.12.tar.xz" {
		t.Errorf("source %+v", p.Source)
	}
	if len(p.Boot) != 3 || p.Boot[0].Spec != "apt:linux-image-6.1.0-*-cloud-amd64-unsigned" {
		t.Errorf("boot %+v", p.Boot)
	}
}

// Debian without apt lists (no apt-get update yet): said, not guessed.
func TestChooseDebianEmptyApt(t *testing.T) {
	b, _ := os.ReadFile("testdata/bookworm/os-release")
	p, err := Choose(context.Background(), ParseOSRelease(b), dirApt{t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if p.TestKernel != "" || len(p.Problems) != 2 {
		t.Errorf("profile %+v", p)
	}
}

func TestChooseNeither(t *testing.T) {
	p := choose(t, "fedora")
	if p.Supported() || len(p.Demo) > 0 {
		t.Errorf("fedora: %+v", p)
	}
}

// The generated plans load with the strict plan loader and keep roles and
// expectations.
func TestPlansLoad(t *testing.T) {
	p := choose(t, "noble")
	demo, err := p.DemoPlan()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "demo.yaml")
	if err := os.WriteFile(path, demo, 0o644); err != nil {
		t.Fatal(err)
	}
	scen := []string{"connect", "fallback", "join", "keepalive-off", "keepalive-after-connect"}
	f, err := plan.Load(path, scen)
	if err != nil {
		t.Fatalf("%v\n%s", err, demo)
	}
	pl, err := f.Expand(plan.Options{}, scen)
	if err != nil {
		t.Fatal(err)
	}
	if pl.Series != "noble" || len(pl.Kernels) != 2 || pl.Kernels[0].Role != "before" || pl.Kernels[1].Role != "after" {
		t.Fatalf("plan %+v", pl)
	}
	if got := pl.Kernels[0].Scenarios[0]; got.Scenario != "connect" || got.Expected != "FAIL" {
		t.Errorf("before connect %+v", got)
	}
	if got := pl.Kernels[1].Scenarios[0]; got.Expected != "PASS" {
		t.Errorf("after connect %+v", got)
	}

	bp, err := p.BackportPlan("/repo")
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(dir, "backport.yaml")
	if err := os.WriteFile(path, bp, 0o644); err != nil {
		t.Fatal(err)
	}
	if f, err = plan.Load(path, scen); err != nil {
		t.Fatalf("%v\n%s", err, bp)
	}
	if pl, err = f.Expand(plan.Options{}, []string{"connect"}); err != nil {
		t.Fatal(err)
	}
	want := "source:/usr/src/linux-source-6.8.0/linux-source-6.8.0.tar.bz2,revert=/repo/kconfig/patches/648de37416b3.patch,localversion=-revert648de374"
	if len(pl.Kernels) != 2 || pl.Kernels[1].Spec != want || pl.Kernels[1].Scenarios[0].Expected != "FAIL" {
		t.Errorf("backport plan %+v\n%s", pl.Kernels, bp)
	}
}
