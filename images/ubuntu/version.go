package ubuntu

import "github.com/srutest/srutest/internal/debver"

// CompareVersions compares two Debian package versions
// ([epoch:]upstream[-revision]) as dpkg does: -1, 0 or 1.
func CompareVersions(a, b string) int { return debver.Compare(a, b) }
