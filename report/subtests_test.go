package report

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
)

// A selftest cell: its own testcase plus one per TAP subtest, each counted.
func TestJUnitSubtests(t *testing.T) {
	r := fixture(t)
	r.Kernels = r.Kernels[:1]
	r.Kernels[0].Cells = []Cell{{Scenario: "mptcp:mptcp_sockopt.sh", Outcome: Fail, Expected: Pass, Reason: "exit 1",
		Subtests: []Subtest{
			{Num: 1, Name: "mptcp_sockopt: transfer ipv4", Outcome: Pass},
			{Num: 2, Name: "mptcp_sockopt: tproxy", Outcome: Skip, Reason: "no nft"},
			{Num: 3, Name: "mptcp_sockopt: TCP_INQ: -t tcp", Outcome: Fail},
		}}}
	var b bytes.Buffer
	if err := JUnit(&b, r); err != nil {
		t.Fatal(err)
	}
	var back JUnitSuites
	if err := xml.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	s := back.Suites[0]
	if back.Tests != 4 || s.Tests != 4 || s.Failures != 2 || s.Skipped != 1 || len(s.Cases) != 4 {
		t.Fatalf("totals %d/%d tests, %d failures, %d skipped, %d cases", back.Tests, s.Tests, s.Failures, s.Skipped, len(s.Cases))
	}
	if c := s.Cases[3]; c.Name != "mptcp:mptcp_sockopt.sh: mptcp_sockopt: TCP_INQ: -t tcp" || c.Failure == nil {
		t.Errorf("case 4 %+v", c)
	}
	if c := s.Cases[2]; c.Skipped == nil || !strings.Contains(c.Skipped.Message, "no nft") {
		t.Errorf("case 3 %+v", c)
	}
	var h bytes.Buffer
	if err := HTML(&h, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h.String(), "<td>mptcp_sockopt: TCP_INQ: -t tcp</td><td class=\"FAIL\">FAIL</td>") {
		t.Errorf("index.html lacks the subtest table")
	}
}
