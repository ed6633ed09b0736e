// Package kconfig carries the kernel build inputs srutest needs at run time
// for source: kernel specs: build-kernel.sh (also run by hand as
// scripts/build-kernel.sh) and the guest config fragment. See README.md here.
package kconfig

import _ "embed"

// BuildScript is build-kernel.sh.
//
//go:embed build-kernel.sh
var BuildScript []byte

// GuestFragment is mptcp-guest.config, the Kconfig fragment applied on top of
// tinyconfig.
//
//go:embed mptcp-guest.config
var GuestFragment []byte
