package images

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseSpec(t *testing.T) {
	ok := []struct {
		in   string
		kind string
		args []string
	}{
		{"apt:linux-image-6.1.0-*-cloud-amd64-unsigned", "apt", []string{"linux-image-6.1.0-*-cloud-amd64-unsigned"}},
		{"apt:a, b+c", "apt", []string{"a", "b+c"}},
		{"deb:./x.deb,https://h/y.deb", "deb", []string{"./x.deb", "https://h/y.deb"}},
		{"./linux.deb", "deb", []string{"./linux.deb"}},
		{"/tmp/a_1:2_amd64.deb", "deb", []string{"/tmp/a_1:2_amd64.deb"}},
		{"http://127.0.0.1:8080/k.deb", "deb", []string{"http://127.0.0.1:8080/k.deb"}},
		{"dir:/b/vmlinuz,/b/mods", "dir", []string{"/b/vmlinuz", "/b/mods"}},
		{"bzimage:./arch/x86/boot/bzImage", "bzimage", []string{"./arch/x86/boot/bzImage"}},
		{"ubuntu:noble/updates/generic,x", "ubuntu", []string{"noble/updates/generic,x"}},
	}
	for _, c := range ok {
		sp, err := ParseSpec(c.in)
		if err != nil || sp.Kind != c.kind || !reflect.DeepEqual(sp.Args, c.args) {
			t.Errorf("ParseSpec(%q) = %+v, %v", c.in, sp, err)
		}
	}
	for _, in := range []string{"", "  ", "vmlinuz", "apt:", "apt:Bad_Name", "apt:a,,b", "dir:only", "dir:a,b,c", "bzimage:", "bzimage:a,b", "deb:", "ubuntu:"} {
		_, err := ParseSpec(in)
		var se *SpecError
		if !errors.As(err, &se) {
			t.Errorf("ParseSpec(%q) err = %v, want *SpecError", in, err)
		}
	}
}
