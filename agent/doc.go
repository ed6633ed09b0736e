// Package agent is the guest's PID 1: the srutest binary re-executed as
// /init inside the initramfs built by package images. [Main] mounts the
// pseudo-filesystems, loads the kernel modules listed by the image (the
// virtio NIC chain first), brings up eth0 on QEMU's slirp network
// (10.0.2.15/24 via 10.0.2.2, over rtnetlink: no ip(8) at boot), and serves
// SSH with the image's host key until the host asks it to power off.
//
// The SSH server ([Serve]) is usable on its own, which is how it is tested on
// the host: session channels with exec (stdout, stderr and the exit status or
// exit signal kept apart), shell with a pty, env, window-change, signal
// (forwarded to the command's process group), the sftp subsystem, and the
// global request [wire.PowerOffRequest]. Commands wait for [Config.ModulesReady]
// so that a scenario never runs before veth and friends are loaded.
//
// As PID 1 the agent inherits every orphan; [Reaper] reaps those without
// stealing exit statuses from the agent's own exec.Cmd values (see its
// comment for the reasoning).
//
// What the host sees of the agent is its wire (package internal/wire, which
// vm and images import too): kernel command line srutest.mode=marker makes
// [Main] print wire.Marker and power off at once (the boot benchmark's
// floor); console lines wire.Ready once SSH listens and lines prefixed
// wire.ErrorPrefix before a fatal power-off; the files images writes under
// /etc/srutest (module list, host key, authorized key). The modules actually
// loaded (with load times) are logged to /run/srutest/modules.log, and the
// uptime of each boot step to /run/srutest/boot.log, once all modules are in.
package agent
