package testutil

import (
	"fmt"
	"testing"
)

// recTB records how a helper ended the test instead of ending it.
type recTB struct {
	testing.TB
	fatal, skip string
}

func (r *recTB) Helper()                        {}
func (r *recTB) Fatalf(format string, a ...any) { r.fatal = fmt.Sprintf(format, a...) }
func (r *recTB) Skipf(format string, a ...any)  { r.skip = fmt.Sprintf(format, a...) }

// TestUnavailableFailsWhenRequired: make test-e2e sets SRUTEST_E2E_REQUIRED,
// and then a missing prerequisite fails the test instead of skipping it.
func TestUnavailableFailsWhenRequired(t *testing.T) {
	t.Setenv(RequiredEnv, "")
	r := &recTB{TB: t}
	Unavailable(r, "no %s", "busybox")
	if r.skip != "no busybox" || r.fatal != "" {
		t.Errorf("unset: skip %q fatal %q", r.skip, r.fatal)
	}
	t.Setenv(RequiredEnv, "1")
	r = &recTB{TB: t}
	Unavailable(r, "no %s", "busybox")
	// (A real Fatalf ends the test there; the recorder carries on.)
	if r.fatal == "" {
		t.Errorf("required: not a failure (skip %q)", r.skip)
	}
}
