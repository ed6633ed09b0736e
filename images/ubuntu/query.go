package ubuntu

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// Pockets lists the archive pockets a Query may name.
var Pockets = []string{"release", "updates", "security", "proposed", "backports"}

// Query selects one kernel in an Ubuntu archive. It is the structured form of
// the argument of an "ubuntu:" kernel spec.
type Query struct {
	Series  string // e.g. noble
	Pocket  string // release | updates | security | proposed | backports
	Flavour string // e.g. generic
	Meta    string // meta package, e.g. linux-image-virtual (exclusive with ABI)
	ABI     string // exact ABI, e.g. 6.8.0-87 (exclusive with Meta)
	Archive string // archive root URL; "" means the resolver's default
}

var (
	seriesRe  = regexp.MustCompile(`^[a-z][a-z0-9]*$`)
	flavourRe = regexp.MustCompile(`^[a-z0-9][a-z0-9.+-]*$`)
	pkgRe     = regexp.MustCompile(`^[a-z0-9][a-z0-9.+-]+$`)
	abiRe     = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+-[0-9]+$`)
)

// ParseArg parses the part of a kernel spec after "ubuntu:": comma-separated
// key=value pairs, e.g.
//
//	series=noble,pocket=proposed,flavour=generic,meta=linux-image-generic
//	series=noble,pocket=updates,flavour=generic,abi=6.8.0-87,archive=http://mirror/ubuntu
//
// Keys: series, pocket, flavour (required); exactly one of meta or abi;
// archive (optional). Unknown or repeated keys are errors.
func ParseArg(arg string) (Query, error) {
	var q Query
	seen := map[string]bool{}
	for _, part := range strings.Split(arg, ",") {
		k, v, ok := strings.Cut(part, "=")
		if !ok || k == "" {
			return Query{}, fmt.Errorf("ubuntu spec %q: %q is not key=value", arg, part)
		}
		if seen[k] {
			return Query{}, fmt.Errorf("ubuntu spec %q: key %q given twice", arg, k)
		}
		seen[k] = true
		switch k {
		case "series":
			q.Series = v
		case "pocket":
			q.Pocket = v
		case "flavour", "flavor":
			q.Flavour = v
		case "meta":
			q.Meta = v
		case "abi":
			q.ABI = v
		case "archive":
			q.Archive = v
		default:
			return Query{}, fmt.Errorf("ubuntu spec %q: unknown key %q (want series, pocket, flavour, meta, abi, archive)", arg, k)
		}
	}
	if err := q.Validate(); err != nil {
		return Query{}, fmt.Errorf("ubuntu spec %q: %w", arg, err)
	}
	return q, nil
}

// Validate reports what is missing or malformed in q.
func (q Query) Validate() error {
	if !seriesRe.MatchString(q.Series) {
		return fmt.Errorf("series %q: want a lower-case codename such as noble", q.Series)
	}
	okPocket := false
	for _, p := range Pockets {
		okPocket = okPocket || q.Pocket == p
	}
	if !okPocket {
		return fmt.Errorf("unknown pocket %q (want one of %s)", q.Pocket, strings.Join(Pockets, ", "))
	}
	if !flavourRe.MatchString(q.Flavour) {
		return fmt.Errorf("flavour %q: want e.g. generic", q.Flavour)
	}
	switch {
	case (q.Meta == "") == (q.ABI == ""):
		return fmt.Errorf("need exactly one of meta= or abi=")
	case q.Meta != "" && !pkgRe.MatchString(q.Meta):
		return fmt.Errorf("meta %q is not a package name", q.Meta)
	case q.ABI != "" && !abiRe.MatchString(q.ABI):
		return fmt.Errorf("abi %q: want <major>.<minor>.<patch>-<abinum>, e.g. 6.8.0-87", q.ABI)
	}
	if q.Archive != "" {
		if err := checkArchiveURL(q.Archive); err != nil {
			return err
		}
	}
	return nil
}

func checkArchiveURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("archive %q: want an http(s) URL such as http://archive.ubuntu.com/ubuntu", s)
	}
	if strings.ContainsAny(s, ",") {
		return fmt.Errorf("archive %q: must not contain a comma", s)
	}
	return nil
}

// Dist is the distribution directory under dists/: "<series>" for the release
// pocket, "<series>-<pocket>" otherwise.
func (q Query) Dist() string {
	if q.Pocket == "release" {
		return q.Series
	}
	return q.Series + "-" + q.Pocket
}

// String renders q in the ParseArg format (keys in a fixed order, empty ones
// left out), so that ParseArg(q.String()) == q.
func (q Query) String() string {
	parts := []string{"series=" + q.Series, "pocket=" + q.Pocket, "flavour=" + q.Flavour}
	if q.Meta != "" {
		parts = append(parts, "meta="+q.Meta)
	}
	if q.ABI != "" {
		parts = append(parts, "abi="+q.ABI)
	}
	if q.Archive != "" {
		parts = append(parts, "archive="+q.Archive)
	}
	return strings.Join(parts, ",")
}
