package vm

import (
	"slices"
	"strings"
	"testing"
)

func TestBuildArgs(t *testing.T) {
	base := []string{"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot", "-machine", "q35"}
	tests := []struct {
		name    string
		cfg     Config
		devices []Device
		want    []string
	}{
		{
			name: "tcg with every device",
			cfg:  Config{Kernel: "/k/vmlinuz", Initrd: "/k/initrd", MemoryMB: 512, CPUs: 1},
			devices: []Device{Accel("tcg"), SerialFile{"/t/console.log"}, QMPSocket{"/t/qmp.sock"},
				UserNet{HostPort: 40022, GuestPort: 22}},
			want: concat(base, "-m", "512", "-smp", "1",
				"-accel", "tcg", "-cpu", "max,-erms,-fsrm",
				"-serial", "file:/t/console.log",
				"-qmp", "unix:/t/qmp.sock,server=on,wait=off",
				"-nic", "user,model=virtio-net-pci,restrict=on,hostfwd=tcp:127.0.0.1:40022-:22",
				"-kernel", "/k/vmlinuz", "-initrd", "/k/initrd",
				"-append", "console=ttyS0 oops=panic panic=-1 no_timer_check norandmaps"),
		},
		{
			name: "kvm, extra kernel and qemu args, more memory and cpus",
			cfg: Config{Kernel: "k", Initrd: "i", MemoryMB: 2048, CPUs: 2,
				Append: []string{"srutest.mode=marker", "loglevel=7"}, ExtraArgs: []string{"-d", "guest_errors"}},
			devices: []Device{Accel("kvm")},
			want: concat(base, "-m", "2048", "-smp", "2", "-accel", "kvm", "-cpu", "host",
				"-kernel", "k", "-initrd", "i",
				"-append", "oops=panic panic=-1 no_timer_check norandmaps srutest.mode=marker loglevel=7", "-d", "guest_errors"),
		},
		{
			name:    "no initrd (bzImage with everything built in)",
			cfg:     Config{Kernel: "bz", MemoryMB: 256, CPUs: 1},
			devices: []Device{Accel("tcg")},
			want: concat(base, "-m", "256", "-smp", "1", "-accel", "tcg", "-cpu", "max,-erms,-fsrm",
				"-kernel", "bz", "-append", "oops=panic panic=-1 no_timer_check norandmaps"),
		},
		{
			name:    "comma in QMP path is escaped for QemuOpts",
			cfg:     Config{Kernel: "k", Initrd: "i", MemoryMB: 512, CPUs: 1},
			devices: []Device{QMPSocket{"/tmp/a,b/qmp.sock"}},
			want: concat(base, "-m", "512", "-smp", "1",
				"-qmp", "unix:/tmp/a,,b/qmp.sock,server=on,wait=off",
				"-kernel", "k", "-initrd", "i", "-append", "oops=panic panic=-1 no_timer_check norandmaps"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := BuildArgs(tt.cfg, tt.devices...)
			if !slices.Equal(got, tt.want) {
				t.Errorf("BuildArgs:\n got  %s\n want %s", strings.Join(got, " "), strings.Join(tt.want, " "))
			}
		})
	}
}

// TestBuildArgsNetworkLoopbackOnly guards the network rule: the forward is
// bound to 127.0.0.1 and the guest is restricted.
func TestBuildArgsNetworkLoopbackOnly(t *testing.T) {
	nic := UserNet{HostPort: 1234, GuestPort: 22}.Cmdline()[1]
	for _, want := range []string{"restrict=on", "hostfwd=tcp:127.0.0.1:1234-:22"} {
		if !strings.Contains(nic, want) {
			t.Errorf("-nic %q lacks %q", nic, want)
		}
	}
}

func concat(parts ...any) []string {
	var out []string
	for _, p := range parts {
		switch v := p.(type) {
		case string:
			out = append(out, v)
		case []string:
			out = append(out, v...)
		}
	}
	return out
}
