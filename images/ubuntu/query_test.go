package ubuntu

import (
	"strings"
	"testing"
)

func TestParseArg(t *testing.T) {
	good := []struct {
		in   string
		want Query
	}{
		{"series=noble,pocket=proposed,flavour=generic,meta=linux-image-generic",
			Query{Series: "noble", Pocket: "proposed", Flavour: "generic", Meta: "linux-image-generic"}},
		{"series=noble,pocket=updates,flavour=generic,abi=6.8.0-87,archive=http://mirror.example/ubuntu",
			Query{Series: "noble", Pocket: "updates", Flavour: "generic", ABI: "6.8.0-87", Archive: "http://mirror.example/ubuntu"}},
		{"pocket=release,series=jammy,flavor=generic,meta=linux-image-virtual-hwe-22.04",
			Query{Series: "jammy", Pocket: "release", Flavour: "generic", Meta: "linux-image-virtual-hwe-22.04"}},
	}
	for _, tc := range good {
		q, err := ParseArg(tc.in)
		if err != nil {
			t.Errorf("ParseArg(%q): %v", tc.in, err)
			continue
		}
		if q != tc.want {
			t.Errorf("ParseArg(%q) = %+v, want %+v", tc.in, q, tc.want)
		}
		if back, err := ParseArg(q.String()); err != nil || back != q {
			t.Errorf("round trip of %q via %q: %+v, %v", tc.in, q.String(), back, err)
		}
	}
	bad := []struct{ in, msg string }{
		{"series=noble,pocket=nightly,flavour=generic,meta=m1", `unknown pocket "nightly"`},
		{"series=noble,pocket=updates,flavour=generic", "exactly one of meta= or abi="},
		{"series=noble,pocket=updates,flavour=generic,meta=linux-image-generic,abi=6.8.0-87", "exactly one of meta= or abi="},
		{"series=noble,pocket=updates,flavour=generic,abi=6.8.0", "abi \"6.8.0\""},
		{"series=noble,pocket=updates,flavour=generic,meta=x1,mirror=y", `unknown key "mirror"`},
		{"series=noble,series=jammy,pocket=updates,flavour=generic,meta=x1", "given twice"},
		{"series=noble,pocket=updates,flavour=generic,meta=x1,archive=ftp://x", "http(s) URL"},
		{"noble", "not key=value"},
		{"series=Noble,pocket=updates,flavour=generic,meta=x1", "series"},
	}
	for _, tc := range bad {
		_, err := ParseArg(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("ParseArg(%q) error = %v, want containing %q", tc.in, err, tc.msg)
		}
	}
}

// The spec the YAML loader builds (plan.KernelDecl.Spec) parses.
func TestParseArgPlanSpec(t *testing.T) {
	spec := "ubuntu:series=noble,pocket=updates,flavour=generic,meta=linux-image-virtual,archive=http://archive.ubuntu.com/ubuntu"
	q, err := ParseArg(strings.TrimPrefix(spec, "ubuntu:"))
	if err != nil {
		t.Fatal(err)
	}
	if "ubuntu:"+q.String() != spec {
		t.Errorf("String() = %q, want %q", q.String(), spec)
	}
	if q.Dist() != "noble-updates" {
		t.Errorf("Dist = %q", q.Dist())
	}
	q.Pocket = "release"
	if q.Dist() != "noble" {
		t.Errorf("release Dist = %q", q.Dist())
	}
}

func FuzzParseArg(f *testing.F) {
	f.Add("series=noble,pocket=proposed,flavour=generic,meta=linux-image-generic")
	f.Add("series=jammy,pocket=updates,flavour=generic,abi=5.15.0-161,archive=http://127.0.0.1:8080/ubuntu")
	f.Add("a=b,,=")
	f.Fuzz(func(t *testing.T, s string) {
		q, err := ParseArg(s)
		if err != nil {
			return
		}
		back, err := ParseArg(q.String())
		if err != nil || back != q {
			t.Fatalf("accepted %q but its String %q does not round-trip: %+v %v", s, q.String(), back, err)
		}
	})
}
