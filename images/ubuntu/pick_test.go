package ubuntu

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
)

// pickFromFixture runs the resolution steps that follow index download on a
// hand-written Packages fixture (see its header), with the series table.
func pickFromFixture(t *testing.T, fixture string, q Query) (*Resolution, error) {
	t.Helper()
	data, err := os.ReadFile("testdata/" + fixture + ".Packages")
	if err != nil {
		t.Fatal(err)
	}
	idx, err := ParsePackages(data)
	if err != nil {
		t.Fatal(err)
	}
	r := &Resolver{Contents: ContentsOff}
	res := &Resolution{Query: q, Dist: q.Dist(), Flavour: q.Flavour}
	if err := r.pick(res, idx); err != nil {
		return nil, err
	}
	if err := r.decideExtra(context.Background(), nil, "", &Release{}, res, idx); err != nil {
		return nil, err
	}
	return res, nil
}

func TestPickNamingPatterns(t *testing.T) {
	for _, tc := range []struct {
		name, fixture string
		q             Query
		abi, version  string
		source        string
		pkgs          string
		suffix        string
	}{
		{"jammy GA virtual", "jammy-updates", Query{Series: "jammy", Pocket: "updates", Flavour: "generic", Meta: "linux-image-virtual"},
			"5.15.0-161", "5.15.0-161.171", "linux",
			"linux-image-unsigned-5.15.0-161-generic linux-modules-5.15.0-161-generic linux-modules-extra-5.15.0-161-generic", ".ko"},
		{"jammy HWE generic", "jammy-updates", Query{Series: "jammy", Pocket: "updates", Flavour: "generic", Meta: "linux-image-generic-hwe-22.04"},
			"6.8.0-87", "6.8.0-87.88~22.04.1", "linux-hwe-6.8",
			"linux-image-unsigned-6.8.0-87-generic linux-modules-6.8.0-87-generic linux-modules-extra-6.8.0-87-generic", ".ko"},
		{"jammy HWE virtual", "jammy-updates", Query{Series: "jammy", Pocket: "updates", Flavour: "generic", Meta: "linux-image-virtual-hwe-22.04"},
			"6.8.0-87", "6.8.0-87.88~22.04.1", "linux-hwe-6.8",
			"linux-image-unsigned-6.8.0-87-generic linux-modules-6.8.0-87-generic linux-modules-extra-6.8.0-87-generic", ".ko"},
		{"noble virtual", "noble-updates", Query{Series: "noble", Pocket: "updates", Flavour: "generic", Meta: "linux-image-virtual"},
			"6.8.0-87", "6.8.0-87.88", "linux",
			"linux-image-unsigned-6.8.0-87-generic linux-modules-6.8.0-87-generic linux-modules-extra-6.8.0-87-generic", ".ko.zst"},
		{"noble older abi", "noble-updates", Query{Series: "noble", Pocket: "updates", Flavour: "generic", ABI: "6.8.0-86"},
			"6.8.0-86", "6.8.0-86.87", "linux",
			"linux-image-unsigned-6.8.0-86-generic linux-modules-6.8.0-86-generic linux-modules-extra-6.8.0-86-generic", ".ko.zst"},
		{"noble proposed abi", "noble-proposed", Query{Series: "noble", Pocket: "proposed", Flavour: "generic", ABI: "6.8.0-88"},
			"6.8.0-88", "6.8.0-88.89", "linux",
			"linux-image-unsigned-6.8.0-88-generic linux-modules-6.8.0-88-generic linux-modules-extra-6.8.0-88-generic", ".ko.zst"},
		{"plucky generic", "plucky-updates", Query{Series: "plucky", Pocket: "updates", Flavour: "generic", Meta: "linux-image-generic"},
			"6.14.0-34", "6.14.0-34.34", "linux",
			"linux-image-unsigned-6.14.0-34-generic linux-modules-6.14.0-34-generic linux-modules-extra-6.14.0-34-generic", ".ko.zst"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := pickFromFixture(t, tc.fixture, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, p := range res.Packages {
				names = append(names, p.Name)
			}
			if res.ABI != tc.abi || res.Version != tc.version || res.Source != tc.source || strings.Join(names, " ") != tc.pkgs || res.ModuleSuffix != tc.suffix {
				t.Errorf("got abi %s version %s source %s suffix %s pkgs %v", res.ABI, res.Version, res.Source, res.ModuleSuffix, names)
			}
			if res.Release != tc.abi+"-generic" || res.ExtraReason == "" {
				t.Errorf("release %q reason %q", res.Release, res.ExtraReason)
			}
			if tc.q.Meta == "linux-image-generic" && !strings.Contains(res.ExtraReason, "depends on") {
				t.Errorf("generic meta asks for extra itself; reason = %q", res.ExtraReason)
			}
			if tc.q.Meta == "linux-image-virtual" && !strings.Contains(res.ExtraReason, "mptcp_diag") {
				t.Errorf("virtual meta: extra must come from the table (mptcp_diag); reason = %q", res.ExtraReason)
			}
		})
	}
}

func TestPickProposedWithoutMeta(t *testing.T) {
	_, err := pickFromFixture(t, "noble-proposed", Query{Series: "noble", Pocket: "proposed", Flavour: "generic", Meta: "linux-image-virtual"})
	if !errors.Is(err, ErrNoPackage) {
		t.Fatalf("err = %v, want ErrNoPackage", err)
	}
	for _, want := range []string{"linux-image-virtual", "abi=", "6.8.0-88"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	_, err = pickFromFixture(t, "noble-updates", Query{Series: "noble", Pocket: "updates", Flavour: "generic", ABI: "6.8.0-99"})
	if !errors.Is(err, ErrNoPackage) || !strings.Contains(err.Error(), "6.8.0-87") {
		t.Errorf("unknown abi: %v", err)
	}
	_, err = pickFromFixture(t, "noble-updates", Query{Series: "noble", Pocket: "updates", Flavour: "lowlatency", Meta: "linux-image-generic"})
	if !errors.Is(err, ErrNoPackage) {
		t.Errorf("meta without the flavour's image: %v", err)
	}
}

func TestScanContents(t *testing.T) {
	in := `FILE                                                    LOCATION
boot/vmlinuz-6.8.0-87-generic                                kernel/linux-image-unsigned-6.8.0-87-generic
lib/modules/6.8.0-87-generic/kernel/drivers/net/veth.ko.zst  kernel/linux-modules-6.8.0-87-generic
lib/modules/6.8.0-87-generic/kernel/net/mptcp/mptcp_diag.ko.zst kernel/linux-modules-extra-6.8.0-87-generic
lib/modules/6.8.0-86-generic/kernel/net/mptcp/mptcp_diag.ko.zst kernel/linux-modules-6.8.0-86-generic
lib/modules/6.8.0-87-generic/kernel/net/sched/sch_netem.ko.zst kernel/linux-modules-6.8.0-87-generic,universe/kernel/linux-modules-extra-6.8.0-87-generic
usr/share/doc/x/README with spaces                           doc/x
`
	pkgs := []string{"linux-modules-6.8.0-87-generic", "linux-modules-extra-6.8.0-87-generic"}
	got, err := ScanContents(strings.NewReader(in), pkgs, NeededModules)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"veth":       "linux-modules-6.8.0-87-generic",
		"mptcp_diag": "linux-modules-extra-6.8.0-87-generic",
		"sch_netem":  "linux-modules-6.8.0-87-generic linux-modules-extra-6.8.0-87-generic",
	}
	if len(got) != len(want) {
		t.Errorf("got %v", got)
	}
	for m, w := range want {
		if strings.Join(got[m], " ") != w {
			t.Errorf("%s: %v, want %s", m, got[m], w)
		}
	}
}

func FuzzScanContents(f *testing.F) {
	f.Add("lib/modules/r/kernel/net/mptcp/mptcp_diag.ko.zst kernel/p\n")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ScanContents(strings.NewReader(s), []string{"p"}, NeededModules)
		if err != nil {
			return
		}
		for m, ps := range got {
			if ModuleName(m+".ko") != m || len(ps) == 0 {
				t.Fatalf("bad result %v", got)
			}
		}
	})
}
