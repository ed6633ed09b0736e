package ubuntu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/srutest/srutest/internal/flock"
)

// ErrReplay: a correctly signed InRelease is older than one already seen
// for the same archive and pocket (a mirror or a man in the middle serving
// an old index, to hide a newer kernel), or dated too far in the future.
var ErrReplay = errors.New("InRelease replay refused")

// releaseDatesFile (under CacheDir) maps "<archive> <dist>" to the newest
// InRelease Date seen there.
const releaseDatesFile = "release-dates.json"

// maxFutureDate is the clock skew tolerated between the archive and this
// host before a Date counts as "in the future".
const maxFutureDate = 24 * time.Hour

// checkReleaseDate refuses a Release whose Date is missing, older than the
// newest one seen for archive+dist, or more than maxFutureDate ahead of now,
// and otherwise records it. Without a CacheDir there is no memory: only the
// future check applies.
func (r *Resolver) checkReleaseDate(ctx context.Context, archive, dist string, date time.Time) error {
	now := r.Now()
	if date.IsZero() {
		return fmt.Errorf("%w: no Date field, so a replayed old index could not be told apart", ErrReplay)
	}
	if date.After(now.Add(maxFutureDate)) {
		return fmt.Errorf("%w: dated %s, more than %s ahead of this host's clock (%s)", ErrReplay, date.UTC().Format(time.RFC3339), maxFutureDate, now.UTC().Format(time.RFC3339))
	}
	if r.CacheDir == "" {
		return nil
	}
	if err := os.MkdirAll(r.CacheDir, 0o755); err != nil {
		return err
	}
	p := filepath.Join(r.CacheDir, releaseDatesFile)
	lock, err := flock.Acquire(ctx, p+".lock")
	if err != nil {
		return err
	}
	defer lock.Unlock()
	seen := map[string]time.Time{}
	if b, err := os.ReadFile(p); err == nil {
		if err := json.Unmarshal(b, &seen); err != nil {
			return fmt.Errorf("%s: %w (remove it to start over)", p, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	key := archive + " " + dist
	if prev, ok := seen[key]; ok {
		if date.Before(prev) {
			return fmt.Errorf("%w: dated %s, older than the %s seen before for %s (a stale mirror or a replayed index; if the archive really went back, remove %s)",
				ErrReplay, date.UTC().Format(time.RFC3339), prev.UTC().Format(time.RFC3339), dist, p)
		}
		if !date.After(prev) {
			return nil
		}
	}
	seen[key] = date.UTC()
	b, err := json.MarshalIndent(seen, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(p, "."+releaseDatesFile+".*.tmp", append(b, '\n')); err != nil {
		return fmt.Errorf("record InRelease date: %w", err)
	}
	return nil
}

// writeFileAtomic writes data to p through a temp file (named by pattern,
// as for os.CreateTemp) in p's directory and a rename: readers see all of
// it or nothing, and a failure leaves no temp file.
func writeFileAtomic(p, pattern string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(p), pattern)
	if err != nil {
		return err
	}
	_, werr := tmp.Write(data)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), p)
	}
	if werr != nil {
		os.Remove(tmp.Name())
	}
	return werr
}
