package ubuntu

import (
	"os"
	"testing"
)

// jammy-updates carries linux-source-6.2.0 and linux-source-6.5.0 besides
// the series' own linux-source-5.15.0: built from linux-hwe-6.x, not from
// linux. The series' tree is 5.15.0 whatever the versions say (stanzas
// from the real jammy-updates Packages). Before, the newest version won
// and source:ubuntu:jammy-updates built the 6.5 HWE tree.
func TestPickSourceSkipsHWETrees(t *testing.T) {
	data, err := os.ReadFile("testdata/jammy-updates-linux-source.Packages")
	if err != nil {
		t.Fatal(err)
	}
	idx, err := ParsePackages(data)
	if err != nil {
		t.Fatal(err)
	}
	p, err := pickSource(idx, SourceQuery{Series: "jammy", Pocket: "updates"}, "jammy-updates")
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "linux-source-5.15.0" || p.Version != "5.15.0-203.213" || p.Source != "linux" {
		t.Errorf("picked %s %s (source %s), want linux-source-5.15.0 5.15.0-203.213 from linux", p.Name, p.Version, p.Source)
	}
	// A pinned version of the series' tree resolves; one that only an HWE
	// tree has does not.
	if p, err := pickSource(idx, SourceQuery{Series: "jammy", Pocket: "updates", Version: "5.15.0-203.213"}, "jammy-updates"); err != nil || p.Name != "linux-source-5.15.0" {
		t.Errorf("pinned 5.15.0-203.213: %s, %v", p.Name, err)
	}
	if p, err := pickSource(idx, SourceQuery{Series: "jammy", Pocket: "updates", Version: "6.5.0-41.41~22.04.2"}, "jammy-updates"); err == nil {
		t.Errorf("pinned an HWE version: got %s %s, want an error", p.Name, p.Version)
	}
	// An archive whose stanzas name no source (srutest's loopback test
	// archive) keeps the old rule: the newest linux-source-<x.y.z>.
	noSrc, _ := ParsePackages([]byte("Package: linux-source-6.12.0\nVersion: 6.12.117-1\nArchitecture: all\nFilename: pool/main/l/linux/linux-source-6.12.0_6.12.117-1_all.deb\nSize: 1\nSHA256: " + sha64 + "\n\n"))
	if p, err := pickSource(noSrc, SourceQuery{Series: "noble", Pocket: "updates"}, "noble-updates"); err != nil || p.Name != "linux-source-6.12.0" {
		t.Errorf("no Source fields: %s, %v", p.Name, err)
	}
}

const sha64 = "0000000000000000000000000000000000000000000000000000000000000000"
