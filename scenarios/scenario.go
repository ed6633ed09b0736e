package scenarios

import (
	"context"
	"io"
	"time"

	"github.com/srutest/srutest/report"
)

// Scenario is one kernel test run inside a booted guest.
type Scenario interface {
	// Name is the identifier used in YAML, on the command line and in
	// results.json.
	Name() string
	// Describe is a one-line description for `srutest scenarios`.
	Describe() string
	// Run executes the scenario in env.Guest and returns its verdict.
	// It writes every raw file it collected under env.Artifacts and leaves
	// the guest as it found it (network namespaces deleted, work files
	// removed) so the next scenario can reuse the guest. The runner fills
	// Cell.Scenario, Expected, Artifacts and Duration.
	Run(ctx context.Context, env Env) report.Cell
}

// Env is what a scenario runs with.
type Env struct {
	Guest Guest
	// Pair is the host path of the static srutest-pair binary, pushed into
	// the guest at run time.
	Pair string
	// GuestPair, when set, is where the runner already put Pair in this
	// guest (once per guest, not once per cell: cells that run at once
	// would each push the same 4 MiB); empty, the scenario pushes Pair
	// into its own work dir.
	GuestPair string
	// Artifacts is the host directory for this cell's raw evidence; Run
	// creates it.
	Artifacts string
	// Log receives progress lines; nil discards them.
	Log io.Writer
	// Slot is the cell's place among cells that run at the same time in
	// the same guest (0 ≤ Slot < MaxSlots; 0 when it runs alone). The
	// keepalive scenarios derive their netns names, address ranges and
	// guest work dir from it, so concurrent cells share none of them.
	Slot int
	// TimeScale multiplies the scenario's guest command deadlines (≥ 1;
	// 0 means 1): a TCG guest on a loaded host is many times slower than
	// KVM, and a deadline that expires on a healthy guest is a false ERROR.
	TimeScale float64
	// PcapText, when set, writes tcpdump's own reading of a pulled capture
	// (tcpdump -r <pcap> -nn -tt -S, output and messages) on the host: the
	// same tcpdump the image carries, without a dynamically linked
	// 13-library start per path in a one-vCPU TCG guest. nil: the guest
	// reads its captures itself.
	PcapText func(ctx context.Context, pcap string) ([]byte, error)
	// Discard: the runner powers the guest off after this cell's batch,
	// so the cell leaves its netns and processes instead of tearing them
	// down (~2 s of a TCG guest with five cells at once, for nothing).
	Discard bool
	// Startup, when set, is shared by the cells that run at once in one
	// guest: a keepalive cell holds it through its start-up (prepare,
	// setup, start), which keeps the guest's CPU busy, and lets go of it
	// for its capture window, which mostly waits for timers. So the cells'
	// windows overlap the next cells' start-ups instead of all cells
	// starting together and then waiting together. nil: no gate.
	Startup *Gate
}

// A Gate lets a bounded number of cells through at a time. A nil *Gate
// never blocks.
type Gate struct{ slots chan struct{} }

// NewGate returns a gate for n cells at a time (at least one).
func NewGate(n int) *Gate { return &Gate{slots: make(chan struct{}, max(n, 1))} }

// Enter waits for a place, or for ctx to end.
func (g *Gate) Enter(ctx context.Context) error {
	if g == nil {
		return nil
	}
	select {
	case g.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Leave gives the place back; it pairs with a successful Enter.
func (g *Gate) Leave() {
	if g != nil {
		<-g.slots
	}
}

// Isolated reports whether s may run at the same time as other isolated
// scenarios in one guest, each in its own Env.Slot: it says so with an
// Isolated() bool method. The keepalive scenarios do (own netns pair,
// addresses, captures, work dir); a user reproducer runs arbitrary
// commands in the guest's root namespace and must run alone.
func Isolated(s Scenario) bool {
	i, ok := s.(interface{ Isolated() bool })
	return ok && i.Isolated()
}

// All returns the built-in scenarios in their canonical order.
func All() []Scenario {
	return []Scenario{
		newKeepalive(specConnect),
		newKeepalive(specFallback),
		newKeepalive(specJoin),
		newKeepalive(specOff),
		newKeepalive(specAfter),
	}
}

// Lookup returns the built-in scenario with that name.
func Lookup(name string) (Scenario, bool) {
	for _, s := range All() {
		if s.Name() == name {
			return s, true
		}
	}
	return nil, false
}

// defaultTimeout bounds one guest command when the scenario sets no other.
const defaultTimeout = 30 * time.Second
