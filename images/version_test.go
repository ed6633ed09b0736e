package images

import (
	"reflect"
	"testing"
)

func TestCompareVersions(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"6.1.192-2", "6.1.192-1", 1},
		{"6.1.192-1", "6.1.190-1", 1},
		{"6.1.99-1", "6.1.100-1", -1},
		{"6.12.117-1~deb12u1", "6.12.117-1", -1},
		{"6.12.117-1~deb12u1", "6.12.115-1~deb12u1", 1},
		{"1:1.0", "2.0", 1},
		{"1.0~rc1", "1.0", -1},
		{"1.0", "1.0", 0},
		{"1.0-0", "1.0", 0},
		{"1.0a", "1.0", 1},
		{"1.0+b1", "1.0", 1},
		{"1.0.1", "1.0a", 1}, // letters sort before other characters
		{"00010", "10", 0},
		{"1:1.35.0-4+deb12u1+b1", "1:1.35.0-4+deb12u1", 1},
	}
	for _, c := range cases {
		if got := CompareVersions(c.a, c.b); got != c.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := CompareVersions(c.b, c.a); got != -c.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", c.b, c.a, got, -c.want)
		}
	}
}

func TestParseAptPolicyReal(t *testing.T) {
	pol := ParseAptPolicy(readTestdata(t, "apt-policy.txt"))
	if _, ok := pol["linux-image-6.1.0-48-cloud-amd64-unsigned"]; ok {
		t.Error("package without candidate listed")
	}
	if pol["busybox-static"] != "1:1.35.0-4+deb12u1+b1" {
		t.Errorf("busybox-static = %q", pol["busybox-static"])
	}
	delete(pol, "busybox-static")
	best, ok := newestPackage(pol)
	want := aptPkg{"linux-image-6.1.0-56-cloud-amd64-unsigned", "6.1.192-2"}
	if !ok || !reflect.DeepEqual(best, want) {
		t.Fatalf("newest = %+v, want %+v", best, want)
	}
	if len(pol) != 6 {
		t.Errorf("%d candidates, want 6: %v", len(pol), pol)
	}
}

func TestDebFileVersion(t *testing.T) {
	if got := debFileVersion("1:1.35.0-4"); got != "1%3a1.35.0-4" {
		t.Fatal(got)
	}
}
