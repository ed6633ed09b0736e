package agent

import (
	"reflect"
	"testing"
)

func TestCmdlineParam(t *testing.T) {
	cl := "console=ttyS0 oops=panic panic=-1 srutest.mode=marker quiet\n"
	if got := CmdlineParam(cl, "srutest.mode"); got != "marker" {
		t.Errorf("mode = %q", got)
	}
	if got := CmdlineParam(cl, "srutest"); got != "" {
		t.Errorf("prefix matched: %q", got)
	}
}

func TestParseModuleList(t *testing.T) {
	in := "# load order\n/lib/modules/6.1/kernel/drivers/net/net_failover.ko\n\n  /lib/modules/6.1/kernel/drivers/net/virtio_net.ko  \nrelative.ko\n"
	want := []string{"/lib/modules/6.1/kernel/drivers/net/net_failover.ko", "/lib/modules/6.1/kernel/drivers/net/virtio_net.ko"}
	if got := ParseModuleList([]byte(in)); !reflect.DeepEqual(got, want) {
		t.Errorf("got %q", got)
	}
}

func TestZombieChildOfInit(t *testing.T) {
	for stat, want := range map[string]bool{
		"123 (tcpdump) Z 1 123 1 0 -1":  true,
		"123 (a b) c) Z 1 123 1 0":      true,
		"123 (tcpdump) S 1 123 1 0 -1":  false,
		"123 (tcpdump) Z 77 123 1 0 -1": false,
		"garbage":                       false,
	} {
		if got := ZombieChildOfInit([]byte(stat)); got != want {
			t.Errorf("%q = %v", stat, got)
		}
	}
}

func FuzzParseModuleList(f *testing.F) {
	f.Add([]byte("/a.ko\n#x\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseModuleList(b)
		ZombieChildOfInit(b)
		CmdlineParam(string(b), "srutest.mode")
	})
}
