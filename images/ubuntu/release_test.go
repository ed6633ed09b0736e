package ubuntu

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/srutest/srutest/keys"
)

// testdata/debian-bookworm-security.InRelease is a real InRelease captured
// from deb.debian.org (this machine's apt lists) with the Debian key that
// signs it: the format is the one Ubuntu's archive uses (dak vs Launchpad
// differ only in fields we do not read).
func loadDebianInRelease(t testing.TB) ([]byte, []byte) {
	t.Helper()
	in, err := os.ReadFile("testdata/debian-bookworm-security.InRelease")
	if err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile("testdata/debian-bookworm-security-automatic.gpg")
	if err != nil {
		t.Fatal(err)
	}
	return in, key
}

var capturedAt = time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)

func TestVerifyInReleaseReal(t *testing.T) {
	in, key := loadDebianInRelease(t)
	ring, err := ReadKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	text, signer, err := VerifyInRelease(in, ring, capturedAt)
	if err != nil {
		t.Fatalf("VerifyInRelease: %v", err)
	}
	if len(signer) != 40 {
		t.Errorf("signer = %q", signer)
	}
	rel, err := ParseRelease(text)
	if err != nil {
		t.Fatal(err)
	}
	if rel.Codename != "bookworm-security" || rel.Suite != "oldstable-security" || !rel.AcquireByHash {
		t.Errorf("Release = %+v", rel)
	}
	fh, ok := rel.SHA256["main/binary-amd64/Packages.xz"]
	if !ok || fh.Size <= 0 || len(fh.SHA256) != 64 {
		t.Errorf("Packages.xz entry = %+v %v", fh, ok)
	}
	if err := rel.CheckFor("bookworm-security", capturedAt); err != nil {
		t.Errorf("CheckFor: %v", err)
	}
	if err := rel.CheckFor("bookworm-updates", capturedAt); !errors.Is(err, ErrRelease) {
		t.Errorf("CheckFor other dist = %v, want ErrRelease", err)
	}
	if err := rel.CheckFor("bookworm-security", capturedAt.AddDate(0, 1, 0)); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("CheckFor after Valid-Until = %v", err)
	}
}

func TestVerifyInReleaseRejects(t *testing.T) {
	in, key := loadDebianInRelease(t)
	// Change one hash digit inside the signed text.
	i := bytes.Index(in, []byte("main/binary-amd64/Packages.xz")) - 20
	tampered := append([]byte(nil), in...)
	tampered[i] ^= 0x01
	for _, tc := range []struct {
		name string
		data []byte
		keys []byte
	}{
		{"tampered", tampered, key},
		{"wrong key", in, keys.UbuntuArchive()},
		{"prefix text", append([]byte("Suite: evil\n\n"), in...), key},
		{"trailing text", append(append([]byte(nil), in...), []byte("\nSHA256:\n evil\n")...), key},
		{"not signed", []byte("Suite: noble\n"), key},
	} {
		r, _ := ReadKeyring(tc.keys)
		_, _, err := VerifyInRelease(tc.data, r, capturedAt)
		if !errors.Is(err, ErrSignature) {
			t.Errorf("%s: err = %v, want ErrSignature", tc.name, err)
		}
	}
}

func TestParseReleaseErrors(t *testing.T) {
	for _, tc := range []struct{ in, msg string }{
		{"Suite: x\n", "no SHA256"},
		{"Suite: x\nSHA256:\n zz 1 a\n", "bad hash"},
		{"Suite: x\nSHA256:\n " + strings.Repeat("a", 64) + " -1 a\n", "bad size"},
		{"Suite: x\nSHA256:\n " + strings.Repeat("a", 64) + " 1 ../a\n", "unsafe path"},
		{"Suite: x\nDate: yesterday\nSHA256:\n", "Date"},
		{"Suite: x\n\nSuite: y\n", "2 paragraphs"},
	} {
		if _, err := ParseRelease([]byte(tc.in)); !errors.Is(err, ErrRelease) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("ParseRelease(%q) = %v, want ErrRelease with %q", tc.in, err, tc.msg)
		}
	}
}

func FuzzVerifyInRelease(f *testing.F) {
	in, key := loadDebianInRelease(f)
	ring, _ := ReadKeyring(key)
	f.Add(in[:2000])
	f.Add([]byte("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nx\n-----BEGIN PGP SIGNATURE-----\n\n-----END PGP SIGNATURE-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		text, _, err := VerifyInRelease(b, ring, capturedAt)
		if err == nil && !bytes.Contains(in, text[:min(len(text), 100)]) {
			t.Fatalf("verified text not from the signed original")
		}
	})
}
