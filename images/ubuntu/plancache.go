package ubuntu

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The plan cache. Plan's slow part is not the network: on a warm cache the
// Packages index (xz) and the Contents index (46 MB of gzip for noble) come
// from disk, but decompressing and scanning them took ~4 s of the ~5 s a
// `srutest boot ubuntu:…` spent before its guest started, every time. What
// Plan picks is a function of the verified InRelease (which names those
// indices by SHA256), the query and the resolver's own rules, so Plan keeps
// its Resolution under CacheDir/plans/<key>.json and, while the archive's
// InRelease stays the same, reads that instead of the indices. InRelease is
// still fetched and its signature, validity and date still checked on every
// call; a new publication (-updates and -proposed publish several times a
// day) changes the key. A plan whose optional Contents index could not be
// read (the kernel table decided) is not kept. The cache is trusted as the
// rest of CacheDir is (verified indices, debs re-hashed against the plan).

// planCacheVersion changes whenever what Plan picks from the same inputs
// changes (the pick rules, NeededModules handling, Resolution's fields).
const planCacheVersion = "1"

// planKey names the plan for the verified InRelease data signed and the
// resolution's query and location so far.
func (r *Resolver) planKey(signed []byte, res *Resolution) string {
	h := sha256.New()
	fmt.Fprintf(h, "srutest ubuntu plan %s\n", planCacheVersion)
	fmt.Fprintf(h, "query %q archive %q dist %q eol %t\n", res.Query.String(), res.Archive, res.Dist, res.EndOfLife)
	fmt.Fprintf(h, "contents %d max %d needed %q\n", r.Contents, r.MaxContentsSize, strings.Join(NeededModules, ","))
	fmt.Fprintf(h, "warnings %q\n", strings.Join(res.Warnings, "\n"))
	h.Write(signed)
	return hex.EncodeToString(h.Sum(nil))
}

func (r *Resolver) planPath(key string) string {
	if r.CacheDir == "" {
		return ""
	}
	return filepath.Join(r.CacheDir, "plans", key+".json")
}

// cachedPlan is the file format: the key repeated, so a file copied or
// renamed by hand is not taken for another plan.
type cachedPlan struct {
	Key string
	Res *Resolution
}

// loadPlan returns the plan saved under key, if any and whole.
func (r *Resolver) loadPlan(key string) (*Resolution, bool) {
	p := r.planPath(key)
	if p == "" {
		return nil, false
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, false
	}
	var c cachedPlan
	if err := json.Unmarshal(data, &c); err != nil || c.Key != key || c.Res == nil || len(c.Res.Packages) == 0 {
		return nil, false
	}
	now := time.Now() // last use, for `srutest cache prune --older-than`
	os.Chtimes(p, now, now)
	return c.Res, true
}

// savePlan writes res under key (temp file + rename: never half-written);
// a failure only costs the next call the slow way.
func (r *Resolver) savePlan(key string, res *Resolution) {
	p := r.planPath(key)
	if p == "" {
		return
	}
	data, err := json.Marshal(cachedPlan{Key: key, Res: res})
	if err != nil {
		return
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return
	}
	writeFileAtomic(p, ".plan-*", data)
}
