// Package wire is the protocol between the guest agent (package agent, the
// guest's PID 1) and the host (package vm, which watches the console and
// speaks SSH; package images, which writes the files the agent reads; the
// boot benchmark, which selects marker mode). Both ends import these names
// so that they cannot drift apart; the package imports nothing, so the
// agent stays free of host-side code (internal/layers checks both).
package wire

// Console lines the agent prints and the host looks for.
const (
	// Ready is printed once the SSH server listens and eth0 is up. The host
	// dials at once when it appears; the SSH handshake stays the check.
	Ready = "SRUTEST-READY"
	// Marker is printed in marker mode just before the agent powers off.
	Marker = "SRUTEST-MARKER"
	// ErrorPrefix starts each line of a fatal agent error; the guest
	// powers off next, and the host quotes the text in its boot error.
	ErrorPrefix = "SRUTEST-AGENT-ERROR:"
)

// PowerOffRequest is the SSH global request that makes the agent power the
// guest off (sync, then reboot(POWER_OFF)).
const PowerOffRequest = "srutest-poweroff"

// Kernel command line: ModeParam=ModeMarker makes the agent print Marker and
// power off at once (the boot benchmark's floor).
const (
	ModeParam  = "srutest.mode"
	ModeMarker = "marker"
)

// MarkerArg is the kernel parameter that selects marker mode.
const MarkerArg = ModeParam + "=" + ModeMarker

// Guest paths. images writes the /etc ones into the initramfs; the agent
// writes the /run ones at boot and the host reads them over SSH.
const (
	ModulesListPath = "/etc/srutest/modules"          // modules to load, in order, one path a line
	HostKeyPath     = "/etc/srutest/ssh_host_ed25519" // the image's SSH host key (the host pins it)
	AuthorizedPath  = "/etc/srutest/authorized_keys"  // the client key the host logs in with
	ModulesLogPath  = "/run/srutest/modules.log"      // modules actually loaded, with load times
	BootLogPath     = "/run/srutest/boot.log"         // guest uptime at each boot step
)
