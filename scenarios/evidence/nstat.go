package evidence

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// ParseNstat parses `nstat -asz` output ("Name value rate" lines, an
// optional "#kernel" header) into counter values. Only names with the given
// prefix are kept ("" keeps all; the scenarios use "MPTcp").
func ParseNstat(data []byte, prefix string) (map[string]uint64, error) {
	out := map[string]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			return out, fmt.Errorf("nstat line %d: %q: want name value", n, clip(line))
		}
		if !strings.HasPrefix(f[0], prefix) {
			continue
		}
		v, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			return out, fmt.Errorf("nstat line %d: value %q: not a number", n, clip(f[1]))
		}
		out[f[0]] = v
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("nstat output: %w", err)
	}
	return out, nil
}
