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
