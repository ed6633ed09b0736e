package main

import (
	"strings"
	"testing"
)

func TestShortKeys(t *testing.T) {
	hex := strings.Repeat("0123456789abcdef", 4)
	for in, want := range map[string]string{
		hex: "0123456789ab",
		"linux-image-6.1.0-56-cloud-amd64-unsigned_6.1.192-2_amd64.deb": "linux-image-6.1.0-56-cloud-amd64-unsigned_6.1.192-2_amd64.deb",
		"prune-123456789": "prune-123456789",
		"abc":             "abc",
	} {
		if got := short(in); got != want {
			t.Errorf("short(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"0":      0,
		"4096":   4096,
		"10G":    10 << 30,
		"10GiB":  10 << 30,
		"10GB":   10 << 30,
		"1.5g":   3 << 29,
		"512M":   512 << 20,
		"2T":     2 << 40,
		" 30G ":  30 << 30,
		"100KiB": 100 << 10,
		"7B":     7,
		"1.":     1,
	} {
		got, err := parseSize(in)
		if err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "G", "-1G", "ten", "1X", "1iB", "NaN", "Inf", "1e3", "9999999T", "1 G"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"0", "30G", "1.5GiB", "512M", "9999999T", "NaN"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseSize(s)
		if err == nil && n < 0 {
			t.Fatalf("parseSize(%q) = %d", s, n)
		}
	})
}

func TestFreeBytes(t *testing.T) {
	if n, ok := freeBytes(t.TempDir()); !ok || n <= 0 {
		t.Errorf("freeBytes(temp dir) = %d, %v", n, ok)
	}
	if _, ok := freeBytes("/nonexistent/srutest"); ok {
		t.Error("freeBytes of a missing path: ok")
	}
}
