package ubuntu

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// VerifyInRelease checks the clearsigned InRelease data against keyring and
// returns the signed text and the signer's fingerprint (upper-case hex).
// Anything before the "-----BEGIN PGP SIGNED MESSAGE-----" line or after the
// signature block is rejected, as apt does, so unsigned text can never be
// smuggled around a valid signature. Errors wrap ErrSignature.
func VerifyInRelease(data []byte, keyring openpgp.EntityList, now time.Time) (signed []byte, signer string, err error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if !bytes.HasPrefix(trimmed, []byte("-----BEGIN PGP SIGNED MESSAGE-----")) {
		return nil, "", fmt.Errorf("%w: not a clearsigned message", ErrSignature)
	}
	block, rest := clearsign.Decode(trimmed)
	if block == nil {
		return nil, "", fmt.Errorf("%w: malformed clearsigned message", ErrSignature)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, "", fmt.Errorf("%w: %d bytes of unsigned data after the signature", ErrSignature, len(rest))
	}
	if len(keyring) == 0 {
		return nil, "", fmt.Errorf("%w: empty keyring", ErrSignature)
	}
	cfg := &packet.Config{Time: func() time.Time { return now }}
	ent, err := block.VerifySignature(keyring, cfg)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrSignature, err)
	}
	return block.Plaintext, strings.ToUpper(hex.EncodeToString(ent.PrimaryKey.Fingerprint)), nil
}

// FileHash is one entry of a Release file's SHA256 section.
type FileHash struct {
	Path   string // relative to dists/<dist>/
	Size   int64
	SHA256 string // lower-case hex
}

// Release is the parsed signed text of an InRelease file.
type Release struct {
	Origin, Suite, Codename string
	Date, ValidUntil        time.Time // zero when absent
	AcquireByHash           bool
	Components              []string
	Architectures           []string
	SHA256                  map[string]FileHash // by Path
}

// ParseRelease parses the signed text of an InRelease (or a Release file).
// It requires a SHA256 section; MD5Sum/SHA1 are ignored (too weak to trust).
func ParseRelease(text []byte) (*Release, error) {
	paras, err := ParseDeb822(text)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRelease, err)
	}
	if len(paras) != 1 {
		return nil, fmt.Errorf("%w: %d paragraphs, want 1", ErrRelease, len(paras))
	}
	p := paras[0]
	r := &Release{
		Origin:        p.Get("Origin"),
		Suite:         p.Get("Suite"),
		Codename:      p.Get("Codename"),
		AcquireByHash: strings.EqualFold(p.Get("Acquire-By-Hash"), "yes"),
		Components:    strings.Fields(p.Get("Components")),
		Architectures: strings.Fields(p.Get("Architectures")),
		SHA256:        map[string]FileHash{},
	}
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"Date", &r.Date}, {"Valid-Until", &r.ValidUntil}} {
		if v := p.Get(f.name); v != "" {
			t, err := parseReleaseDate(v)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %v", ErrRelease, f.name, err)
			}
			*f.dst = t
		}
	}
	if !p.Has("SHA256") {
		return nil, fmt.Errorf("%w: no SHA256 section", ErrRelease)
	}
	for i, line := range strings.Split(p.Get("SHA256"), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			return nil, fmt.Errorf("%w: SHA256 line %d %q: want \"<sha256> <size> <path>\"", ErrRelease, i, truncate(line, 80))
		}
		size, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || size < 0 {
			return nil, fmt.Errorf("%w: SHA256 line %d: bad size %q", ErrRelease, i, f[1])
		}
		sum := strings.ToLower(f[0])
		if b, err := hex.DecodeString(sum); err != nil || len(b) != 32 {
			return nil, fmt.Errorf("%w: SHA256 line %d: bad hash %q", ErrRelease, i, truncate(f[0], 70))
		}
		if strings.Contains(f[2], "..") || strings.HasPrefix(f[2], "/") {
			return nil, fmt.Errorf("%w: SHA256 line %d: unsafe path %q", ErrRelease, i, f[2])
		}
		r.SHA256[f[2]] = FileHash{Path: f[2], Size: size, SHA256: sum}
	}
	return r, nil
}

// parseReleaseDate parses RFC 2822 dates as written by Launchpad and dak
// ("Thu, 25 Apr 2024 15:10:33 UTC").
func parseReleaseDate(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC1123, time.RFC1123Z, "Mon, 2 Jan 2006 15:04:05 MST", "Mon, 2 Jan 2006 15:04:05 -0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("unparseable date %q", s)
}

// CheckFor checks that r is the Release file of dist and not expired at now.
// Suite must equal dist: every pocket's InRelease says "Codename: <series>",
// so accepting the codename would let a signed noble-proposed (or
// noble-updates) file be replayed as the release pocket noble. Debian-style files (Suite "oldstable-security", Codename
// "bookworm-security") match on Codename as apt does, unless their Suite
// names another pocket of that codename ("<codename>-…").
func (r *Release) CheckFor(dist string, now time.Time) error {
	otherPocket := r.Suite != dist && strings.HasPrefix(r.Suite, r.Codename+"-")
	if r.Suite != dist && (r.Codename != dist || otherPocket) {
		return fmt.Errorf("%w: Release is for suite %q codename %q, want %q", ErrRelease, r.Suite, r.Codename, dist)
	}
	if !r.ValidUntil.IsZero() && now.After(r.ValidUntil) {
		return fmt.Errorf("%w: Release expired at %s", ErrRelease, r.ValidUntil.Format(time.RFC3339))
	}
	return nil
}
