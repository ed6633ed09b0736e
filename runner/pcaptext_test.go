package runner

import (
	"context"
	"strings"
	"testing"

	"github.com/srutest/srutest/internal/testutil"
)

// The host's tcpdump reads a capture pulled from a real guest (6.12 with
// 648de37416b3 reverted, connect). Until proc.Cmd had its own
// CombinedOutput this returned "signal: killed" for every capture, and the
// cells' pathN.txt held only that line.
func TestPcapTextReadsRealCapture(t *testing.T) {
	r := &Runner{}
	f := r.pcapText()
	if f == nil {
		testutil.Unavailable(t, "no tcpdump on this host (make deps)")
	}
	out, err := f(context.Background(), "../scenarios/testdata/captures/linux-6.12.117-revert648de37416b3/connect/path1.pcap")
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	s := string(out)
	if !strings.Contains(s, "Flags [S]") || !strings.Contains(s, "mptcp") || strings.Count(s, "\n") < 3 {
		t.Errorf("tcpdump -r output does not read as the capture:\n%s", s)
	}
}
