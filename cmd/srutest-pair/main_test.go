package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunUsage(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		args []string
		code int
		err  string
	}{
		{nil, 2, "usage"},
		{[]string{"dance"}, 2, "unknown command"},
		{[]string{"server"}, 2, "--listen is required"},
		{[]string{"client", "--keepalive", "on", "--connect", "127.0.0.1:1"}, 2, "want before, after or off"},
		{[]string{"client"}, 2, "--connect is required"},
		{[]string{"client", "--connect", "127.0.0.1:1", "extra"}, 2, "unexpected arguments"},
		{[]string{"wait"}, 2, "exactly one of --file and --pid"},
		{[]string{"wait", "--file", "x", "--pid", "1"}, 2, "exactly one of --file and --pid"},
		{[]string{"wait", "--file", "/nonexistent/x", "--timeout", "50ms"}, 1, "to exist"},
		{[]string{"client", "--bogus"}, 2, "flag provided but not defined"},
	} {
		var out, errb bytes.Buffer
		if code := run(ctx, tc.args, &out, &errb); code != tc.code || !strings.Contains(errb.String(), tc.err) {
			t.Errorf("%q: exit %d stderr %q, want %d %q", tc.args, code, errb.String(), tc.code, tc.err)
		}
	}
}

func TestRunWaitFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, []byte("listening on c1"), 0o644)
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"wait", "--file", p, "--contains", "listening"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if code := run(context.Background(), []string{"wait", "--pid", "1073741824"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
}

// A client that cannot connect still prints its facts as one JSON line
// and exits 1.
func TestRunClientFacts(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"client", "--connect", "127.0.0.1:1", "--keepalive", "before", "--hold", "1s"}, &out, &errb)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var f map[string]any
	if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &f) != nil || f["role"] != "client" || f["connected"] != false || f["keepalive"] != "before" {
		t.Fatalf("stdout %q", out.String())
	}
}
