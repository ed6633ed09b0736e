package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/srutest/srutest/plan"
	"github.com/srutest/srutest/report"
	"github.com/srutest/srutest/runner"
)

// liveMatrix is `srutest run`'s display on a terminal: the kernel ×
// scenario matrix redrawn in place as cells fill in, a spinner and the
// elapsed time in each running cell, the kernel's phase (building image,
// booting) and the run's elapsed time. Without a terminal srutest prints
// one line per finished cell instead (the runner's log).
type liveMatrix struct {
	mu        sync.Mutex
	w         io.Writer
	now       func() time.Time
	title     string
	start     time.Time
	scenarios []string
	rows      []*liveRow
	byName    map[string]*liveRow
	lines     int // lines of the last frame, to move back over them
	frame     int
}

type liveRow struct {
	name  string
	phase string // "", "building image", "booting", "running", "done"
	cells map[string]*liveCell
}

type liveCell struct {
	started time.Time
	running bool
	outcome report.Outcome
	matches bool
}

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

func newLiveMatrix(w io.Writer, p *plan.Plan, now func() time.Time) *liveMatrix {
	lm := &liveMatrix{w: w, now: now, start: now(), byName: map[string]*liveRow{}}
	lm.title = fmt.Sprintf("srutest run %s: %d kernel(s)", p.Name, len(p.Kernels))
	seen := map[string]bool{}
	for _, k := range p.Kernels {
		row := &liveRow{name: k.Name, cells: map[string]*liveCell{}}
		for _, it := range k.Scenarios {
			row.cells[it.Scenario] = &liveCell{}
			if !seen[it.Scenario] {
				seen[it.Scenario] = true
				lm.scenarios = append(lm.scenarios, it.Scenario)
			}
		}
		lm.rows = append(lm.rows, row)
		lm.byName[k.Name] = row
	}
	return lm
}

// Event is the runner's Progress hook.
func (lm *liveMatrix) Event(e runner.Event) {
	lm.mu.Lock()
	defer lm.mu.Unlock()
	row := lm.byName[e.Kernel]
	if row == nil {
		return
	}
	switch e.Phase {
	case runner.PhaseBuild:
		row.phase = "building image"
	case runner.PhaseBoot:
		row.phase = "booting"
	case runner.PhaseCell:
		row.phase = "running"
		if c := row.cells[e.Scenario]; c != nil {
			c.running, c.started = true, lm.now()
		}
	case runner.PhaseCellDone:
		if c := row.cells[e.Scenario]; c != nil && e.Cell != nil {
			c.running, c.outcome, c.matches = false, e.Cell.Outcome, e.Cell.Matches()
		}
	case runner.PhaseKernelDone:
		row.phase = "done"
		if e.Result != nil {
			for _, rc := range e.Result.Cells {
				if c := row.cells[rc.Scenario]; c != nil {
					c.running, c.outcome, c.matches = false, rc.Outcome, rc.Matches()
				}
			}
		}
	}
}

// Run redraws every tick until stop is closed, then draws the last frame.
func (lm *liveMatrix) Run(stop <-chan struct{}, tick time.Duration) {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		lm.draw()
		select {
		case <-stop:
			lm.draw()
			return
		case <-t.C:
		}
	}
}

func (lm *liveMatrix) draw() {
	lm.mu.Lock()
	defer lm.mu.Unlock()
	frame := lm.render()
	var b strings.Builder
	if lm.lines > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", lm.lines) // back to the first line of the last frame
	}
	for _, l := range strings.Split(strings.TrimSuffix(frame, "\n"), "\n") {
		b.WriteString("\r\x1b[2K" + l + "\n")
	}
	lm.lines = strings.Count(frame, "\n")
	lm.frame++
	io.WriteString(lm.w, b.String())
}

// render is one frame as plain lines (colours included), no cursor moves.
func (lm *liveMatrix) render() string {
	now := lm.now()
	done, total := 0, 0
	for _, r := range lm.rows {
		for _, c := range r.cells {
			total++
			if c.outcome != "" {
				done++
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s · %d/%d cells · %s\n", lm.title, done, total, elapsed(now.Sub(lm.start)))
	nameW := len("KERNEL")
	for _, r := range lm.rows {
		nameW = max(nameW, utf8.RuneCountInString(r.name))
	}
	colW := make([]int, len(lm.scenarios))
	line := pad("KERNEL", nameW)
	for i, s := range lm.scenarios {
		colW[i] = max(utf8.RuneCountInString(s), 9)
		line += "  " + pad(s, colW[i])
	}
	b.WriteString(strings.TrimRight(line, " ") + "\n")
	for _, r := range lm.rows {
		line := pad(r.name, nameW)
		for i, s := range lm.scenarios {
			c := r.cells[s]
			text, color := "-", ""
			switch {
			case c == nil:
			case c.outcome != "":
				text = string(c.outcome)
				if !c.matches {
					text += "*"
				}
				color = outcomeColor(c.outcome)
			case c.running:
				text = spinner[lm.frame%len(spinner)] + " " + elapsed(now.Sub(c.started))
			default:
				text = "·"
			}
			cell := pad(text, colW[i])
			if color != "" {
				cell = color + cell + "\x1b[0m"
			}
			line += "  " + cell
		}
		if r.phase != "" && r.phase != "done" && r.phase != "running" {
			line += "  " + r.phase + "…"
		}
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	return b.String()
}

func outcomeColor(o report.Outcome) string {
	switch o {
	case report.Pass:
		return "\x1b[32m"
	case report.Fail:
		return "\x1b[31m"
	case report.Error:
		return "\x1b[35m"
	case report.Skip:
		return "\x1b[33m"
	}
	return ""
}

func pad(s string, w int) string {
	if n := utf8.RuneCountInString(s); n < w {
		return s + strings.Repeat(" ", w-n)
	}
	return s
}

// elapsed is a short duration: 4.2s, 1m07s, 1h02m.
func elapsed(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}
