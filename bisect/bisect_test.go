package bisect

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/srutest/srutest/report"
)

// outcomes spells a kernel list as letters: F FAIL, P PASS, E ERROR, S SKIP.
func outcomes(s string) []report.Outcome {
	m := map[rune]report.Outcome{'F': report.Fail, 'P': report.Pass, 'E': report.Error, 'S': report.Skip}
	var out []report.Outcome
	for _, r := range s {
		out = append(out, m[r])
	}
	return out
}

func TestSearch(t *testing.T) {
	for _, tc := range []struct {
		list          string
		verdict       Verdict
		before, after int
		undecided     []int
		maxTests      int
	}{
		{"FP", Found, 0, 1, nil, 2},
		{"FFFFFFFFFFFFFFFFFFFFFP", Found, 20, 21, nil, 7}, // noble-like: 22 ABIs
		{"FPPPPPPPPPPPPPPPPPPPPP", Found, 0, 1, nil, 7},
		{"FFFFFFPPPPPPPPPPPPPPPP", Found, 5, 6, nil, 7},
		{"PPPPFFFF", Found, 3, 4, nil, 5}, // a regression reads the same way
		{"PPPP", NoChange, -1, -1, nil, 2},
		{"FFFFFFFF", NoChange, -1, -1, nil, 2},
		{"EFFFPE", Found, 3, 4, nil, 6},       // ERROR ends: moved inward
		{"FFFEPPP", Found, 2, 4, []int{3}, 6}, // the change is at 3 or 4
		{"FEEEEP", Found, 0, 5, []int{1, 2, 3, 4}, 6},
		{"FFESFFPP", Found, 5, 6, nil, 7},
		{"EEEE", Undecidable, -1, -1, nil, 4},
		{"EPEE", Undecidable, -1, -1, nil, 4},
		{"P", Undecidable, -1, -1, nil, 1},
		{"", Undecidable, -1, -1, nil, 0},
	} {
		t.Run(tc.list, func(t *testing.T) {
			list := outcomes(tc.list)
			var seen []int
			res := Search(context.Background(), len(list), func(_ context.Context, i int) report.Outcome {
				if slices.Contains(seen, i) {
					t.Errorf("kernel %d tested twice", i)
				}
				seen = append(seen, i)
				return list[i]
			}, nil)
			if res.Verdict != tc.verdict || res.Before != tc.before || res.After != tc.after || !slices.Equal(res.Undecided, tc.undecided) {
				t.Errorf("got verdict %d before %d after %d undecided %v; want %d %d %d %v", res.Verdict, res.Before, res.After, res.Undecided, tc.verdict, tc.before, tc.after, tc.undecided)
			}
			if len(seen) > tc.maxTests {
				t.Errorf("%d kernels tested (%v), want ≤ %d", len(seen), seen, tc.maxTests)
			}
			if len(res.Steps) != len(seen) {
				t.Errorf("%d steps for %d tests", len(res.Steps), len(seen))
			}
			for _, s := range res.Steps {
				if s.Outcome != list[s.Index] {
					t.Errorf("step %d: outcome %s, kernel has %s", s.N, s.Outcome, list[s.Index])
				}
			}
			if res.Verdict == Found {
				if res.From != list[res.Before] || res.To != list[res.After] || res.From == res.To {
					t.Errorf("from %s to %s at %d..%d", res.From, res.To, res.Before, res.After)
				}
			}
		})
	}
}

func TestSearchStepsSayWhy(t *testing.T) {
	list := outcomes("FFEPP")
	var whys []string
	Search(context.Background(), len(list), func(_ context.Context, i int) report.Outcome { return list[i] },
		func(s Step) { whys = append(whys, s.Why) })
	got := strings.Join(whys, "; ")
	for _, want := range []string{"first end", "last end", "midpoint of 0..4", "neighbour of 2 (ERROR)"} {
		if !strings.Contains(got, want) {
			t.Errorf("steps %q lack %q", got, want)
		}
	}
}

func TestSearchInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	res := Search(ctx, 10, func(context.Context, int) report.Outcome {
		n++
		cancel()
		return report.Error
	}, nil)
	if res.Verdict != Interrupted || n != 1 {
		t.Errorf("verdict %d after %d tests, want Interrupted after 1", res.Verdict, n)
	}
}
