package runner

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/srutest/srutest/plan"
	"github.com/srutest/srutest/report"
)

// Without a terminal the log is the progress: exactly one line per
// finished cell (the scenario used to print its verdict too, so each cell
// appeared twice). The Progress hook sees every phase in order.
func TestOneLinePerCellAndProgressEvents(t *testing.T) {
	w := &fakeWorld{t: t}
	r := w.runner(t.TempDir())
	var log strings.Builder
	r.Log = &log
	var mu sync.Mutex
	var events []string
	r.Progress = func(e Event) {
		mu.Lock()
		defer mu.Unlock()
		s := e.Kernel + ":" + [...]string{"build", "boot", "cell", "done", "kernel-done"}[e.Phase]
		if e.Scenario != "" {
			s += ":" + e.Scenario
		}
		if e.Cell != nil {
			s += "=" + string(e.Cell.Outcome)
		}
		if e.Result != nil {
			s += "=" + outcomes(*e.Result)
		}
		events = append(events, s)
	}
	p := onePlan([]plan.Repro{repro("a", "FAKE-EXIT-0"), repro("b", "FAKE-EXIT-1")}, report.Pass, report.Fail)
	if _, err := r.Run(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	for _, sc := range []string{"a", "b"} {
		n := 0
		for _, l := range strings.Split(log.String(), "\n") {
			if strings.Contains(l, " "+sc+": ") || strings.Contains(l, "× "+sc+":") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("cell %s printed %d times, want once:\n%s", sc, n, log.String())
		}
	}
	want := "k1:build k1:boot k1:cell:a k1:done:a=PASS k1:cell:b k1:done:b=FAIL k1:kernel-done=a=PASS b=FAIL"
	if got := strings.Join(events, " "); got != want {
		t.Errorf("events\n got %s\nwant %s", got, want)
	}
}
