// Package host decides what srutest runs on the machine it runs on, from two
// facts the machine states about itself: /etc/os-release (which distribution
// and series) and what its apt sources offer (apt-cache). From them it builds
// a Profile: the demo plan (Debian: demo.yaml; Ubuntu: the series' GA kernel
// from the release pocket against its newest kernel, as apt: specs), the
// kernels the end-to-end tests boot, the real-QEMU test kernel, and the kernel
// source tree of the negative control.
//
// It asks apt rather than the Ubuntu archive so that the choice is exactly
// what the host can fetch (mirrors, proxies, pinned sources) and apt verifies
// what it fetches. The apt questions go through the Apt interface so that the
// choice is a pure function of captured apt-cache output (testdata/).
//
// Environment:
//
//	SRUTEST_OS_RELEASE  path of the os-release file to read instead of
//	                    /etc/os-release (override the detected host)
package host
