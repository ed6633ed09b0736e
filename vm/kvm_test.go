package vm

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCPUHasVirt(t *testing.T) {
	tests := []struct {
		cpuinfo string
		want    bool
	}{
		{"processor\t: 0\nflags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr vmx ept\n", true},
		{"processor\t: 0\nflags\t\t: fpu vme svm npt\n", true},
		{"processor\t: 0\nflags\t\t: fpu vme de pse tsc msr pae hypervisor\n", false},
		{"vmx flags\t: vnmi preemption_timer\n", false}, // the "vmx flags" line is not "flags"
		{"", false},
	}
	for _, tt := range tests {
		if got := cpuHasVirt([]byte(tt.cpuinfo)); got != tt.want {
			t.Errorf("cpuHasVirt(%q) = %v, want %v", tt.cpuinfo, got, tt.want)
		}
	}
}

func TestKVMUsableRejects(t *testing.T) {
	dir := t.TempDir()
	cpu := filepath.Join(dir, "cpuinfo")
	os.WriteFile(cpu, []byte("flags\t: vmx\n"), 0o644)
	if err := kvmUsable(filepath.Join(dir, "missing"), cpu); err == nil {
		t.Error("missing device accepted")
	}
	// /dev/null opens read-write but is not KVM: the ioctl must fail.
	if err := kvmUsable(os.DevNull, cpu); err == nil {
		t.Error("/dev/null accepted as KVM")
	}
	t.Logf("this host: KVMUsable() = %v, DetectAccel(auto) = %s", KVMUsable(), DetectAccel("auto"))
}

func TestDetectAccelExplicit(t *testing.T) {
	if got := DetectAccel("off"); got != "tcg" {
		t.Errorf("off → %s", got)
	}
	if got := DetectAccel("on"); got != "kvm" {
		t.Errorf("on → %s", got)
	}
	t.Setenv("SRUTEST_KVM", "off")
	if got := DetectAccel(""); got != "tcg" {
		t.Errorf("SRUTEST_KVM=off → %s", got)
	}
}
