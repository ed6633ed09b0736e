package report

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"
)

// Probe timeline geometry (SVG user units = CSS px at 100 %).
const (
	tlWidth  = 760.0 // whole drawing
	tlLabel  = 170.0 // left column: path, kind, verdict
	tlTrack  = 46.0  // one subflow
	tlAxis   = 22.0  // time axis below the tracks
	tlMargin = 8.0
)

// TimelineSVG draws a cell's subflows as an inline SVG: one track per
// subflow (class "track", data-subflow "<path> <kind>"), time on x shared by
// all tracks; client→server segments as ticks above the track's centre
// line, server→client below, keepalive probes as red diamonds, and the
// expected probe times (the sysctl interval after the idle start and after
// each probe) as grey ticks along the track's bottom edge; none when no
// keepalive is expected (Interval 0). It returns "" when no subflow has a
// timeline (reproducers, results from before timelines existed). Every
// text goes through html.EscapeString; the markup is built here, not by
// the page template, because SVG attribute values are numbers computed in
// Go.
func TimelineSVG(c Cell) template.HTML {
	var tracks []Subflow
	span := 0.0
	for _, s := range c.Subflows {
		if s.Timeline != nil {
			tracks = append(tracks, s)
			span = math.Max(span, s.Timeline.End)
		}
	}
	if len(tracks) == 0 {
		return ""
	}
	span = niceCeil(math.Max(span, 0.5))
	plotW := tlWidth - tlLabel - 2*tlMargin
	x := func(t float64) float64 { return tlLabel + tlMargin + t/span*plotW }
	height := float64(len(tracks))*tlTrack + tlAxis + tlMargin
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s">`,
		tlWidth, height, tlWidth, height, esc("packets over time per subflow of "+c.Scenario))
	for i, s := range tracks {
		tl := s.Timeline
		top := float64(i) * tlTrack
		mid := top + tlTrack/2
		fmt.Fprintf(&b, `<g class="track" data-subflow="%s">`, esc(s.Path+" "+s.Kind))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`, x(0), top+2, plotW, tlTrack-4, trackFill(s.Verdict))
		fmt.Fprintf(&b, `<text x="4" y="%.1f" font-size="12" font-family="monospace">%s</text>`, mid-3, esc(s.Path+" "+s.Kind))
		fmt.Fprintf(&b, `<text x="4" y="%.1f" font-size="11" font-family="sans-serif" fill="#444">%s · %d probes</text>`, mid+12, esc(string(s.Verdict)), s.Probes)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#999" stroke-width="0.5"/>`, x(0), mid, x(span), mid)
		// Expected probe times: the keepalive timer fires Interval after
		// the connection went idle, and again Interval after each probe
		// (answered probes rearm it; the scenarios set keepalive_time =
		// keepalive_intvl). A tick per expectation shows each probe's
		// lateness locally instead of a drift accumulated from the start.
		if tl.Interval > 0 {
			at := []float64{tl.IdleFrom + tl.Interval}
			for _, p := range tl.Packets {
				if p.Kind == "probe" {
					at = append(at, p.T+tl.Interval)
				}
			}
			for _, t := range at {
				if t > tl.End+1e-9 {
					continue
				}
				fmt.Fprintf(&b, `<line class="expected" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#777" stroke-width="1.5"><title>expected probe at %.2fs</title></line>`,
					x(t), top+tlTrack-10, x(t), top+tlTrack-2, t)
			}
		}
		for _, p := range tl.Packets {
			px := x(p.T)
			title := fmt.Sprintf("%.3fs %s %s", p.T, dirWord(p.Out), p.Kind)
			if p.Bytes > 0 {
				title += fmt.Sprintf(" %d bytes", p.Bytes)
			}
			if p.Kind == "probe" {
				fmt.Fprintf(&b, `<path class="probe" d="M%.1f %.1fl5 6l-5 6l-5 -6z" fill="#d11"><title>%s</title></path>`, px, mid-6, esc("keepalive probe "+title))
				continue
			}
			y1, y2 := mid-14, mid-1
			if !p.Out {
				y1, y2 = mid+1, mid+14
			}
			fmt.Fprintf(&b, `<line class="pkt" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="1.5"><title>%s</title></line>`,
				px, y1, px, y2, kindColor(p.Kind), esc(title))
		}
		if tl.Omitted > 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="end" fill="#444">+%d packets not drawn</text>`, x(span), top+12, tl.Omitted)
		}
		b.WriteString(`</g>`)
	}
	axisY := float64(len(tracks)) * tlTrack
	fmt.Fprintf(&b, `<g class="axis" font-size="10" font-family="sans-serif" fill="#333"><line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333"/>`, x(0), axisY+2, x(span), axisY+2)
	step := axisStep(span)
	for t := 0.0; t <= span+1e-9; t += step {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333"/><text x="%.1f" y="%.1f" text-anchor="middle">%gs</text>`,
			x(t), axisY+2, x(t), axisY+6, x(t), axisY+17, math.Round(t*10)/10)
	}
	b.WriteString(`</g></svg>`)
	return template.HTML(b.String())
}

func esc(s string) string { return html.EscapeString(s) }

func dirWord(out bool) string {
	if out {
		return "client→server"
	}
	return "server→client"
}

func kindColor(kind string) string {
	switch kind {
	case "syn", "synack":
		return "#1565c0"
	case "data":
		return "#2e7d32"
	case "fin", "rst":
		return "#6a1b9a"
	}
	return "#555"
}

func trackFill(o Outcome) string {
	switch o {
	case Pass:
		return "#eef8ee"
	case Fail:
		return "#fbeaea"
	case Error:
		return "#f4ebf8"
	}
	return "#f6f6f6"
}

// niceCeil rounds a span up to 1, 2 or 5 × a power of ten (or a half of
// the next) so the axis ends on a round number.
func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func axisStep(span float64) float64 {
	for _, s := range []float64{0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100} {
		if span/s <= 10 {
			return s
		}
	}
	return span / 10
}
