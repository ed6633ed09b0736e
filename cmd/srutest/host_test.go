package main

import (
	"bytes"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// A host that is neither Debian nor Ubuntu gets one line and a non-zero
// exit, before any apt question.
func TestHostNeither(t *testing.T) {
	t.Setenv("SRUTEST_OS_RELEASE", filepath.Join("..", "..", "internal", "host", "testdata", "fedora", "os-release"))
	for _, args := range [][]string{{"host"}, {"host", "plan", "demo"}, {"host", "get", "test-kernel"}} {
		root := newRoot()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(args)
		err := root.Execute()
		if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "Fedora Linux 41 (Forty One), neither Debian nor Ubuntu") {
			t.Errorf("%v: %v", args, err)
		}
		if out.Len() != 0 {
			t.Errorf("%v printed %q", args, out.String())
		}
	}
}

// An unreadable os-release is an error naming the file, not a guess.
func TestHostNoOSRelease(t *testing.T) {
	t.Setenv("SRUTEST_OS_RELEASE", filepath.Join(t.TempDir(), "missing"))
	root := newRoot()
	root.SetArgs([]string{"host"})
	root.SetOut(&bytes.Buffer{})
	if err := root.Execute(); err == nil || !strings.Contains(err.Error(), "os-release") || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("got %v", err)
	}
}
