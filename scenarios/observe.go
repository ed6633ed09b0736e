package scenarios

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/srutest/srutest/scenarios/evidence"
	"github.com/srutest/srutest/scenarios/pair"
)

// loadObservation parses a keepalive scenario's artifacts directory:
// client.json, server.json, <path>.pcap per path, ss-<n>.txt snapshots and
// nstat-cli.txt. Missing or unreadable files are recorded in the
// observation (judge turns them into setup errors), never fatal here. The
// same function re-judges committed fixtures in the tests, so an artifacts
// directory copied into testdata is a regression test as it is.
func loadObservation(sp spec, topo topology, dir string) observation {
	o := observation{spec: sp, topo: topo}
	read := func(name string) []byte {
		data, _ := os.ReadFile(filepath.Join(dir, name))
		return data
	}
	if data := read("client.json"); len(data) == 0 {
		o.clientErr = "client.json empty or missing; client.err: " + tail(string(read("client.err")), 200)
	} else {
		var f pair.ClientFacts
		if err := json.Unmarshal(data, &f); err != nil {
			o.clientErr = fmt.Sprintf("client.json: %v", err)
		} else {
			o.client = &f
		}
	}
	if data := read("server.json"); len(data) == 0 {
		o.serverErr = "server.json empty or missing; server.err: " + tail(string(read("server.err")), 200)
	} else {
		var f pair.ServerFacts
		if err := json.Unmarshal(data, &f); err != nil {
			o.serverErr = fmt.Sprintf("server.json: %v", err)
		} else {
			o.server = &f
		}
	}
	for _, p := range topo.Paths {
		c := capture{path: p}
		if data, err := os.ReadFile(filepath.Join(dir, p.Name+".pcap")); err != nil {
			c.err = fmt.Errorf("%s.pcap: %w", p.Name, err)
		} else {
			c.pkts, c.err = evidence.ParsePcap(data)
		}
		o.captures = append(o.captures, c)
	}
	for _, name := range ssFiles(dir) {
		snap := ssSnapshot{name: name}
		data := read(name)
		if len(bytes.TrimSpace(data)) == 0 {
			// ss prints its header even with no socket: an empty file is
			// lost output, not "no sockets", and must not count as a
			// snapshot in which the subflow had no timer.
			snap.err = fmt.Errorf("%s is empty (ss printed nothing, not even its header)", name)
		} else {
			snap.socks, snap.err = evidence.ParseSS(data)
		}
		o.ss = append(o.ss, snap)
	}
	if n, err := evidence.ParseNstat(read("nstat-cli.txt"), "MPTcp"); err == nil && len(n) > 0 {
		o.nstat = n
	}
	return o
}

// ssFiles lists ss-<n>.txt in numeric order.
func ssFiles(dir string) []string {
	matches, _ := filepath.Glob(filepath.Join(dir, "ss-*.txt"))
	type f struct {
		name string
		n    int
	}
	var fs []f
	for _, m := range matches {
		base := filepath.Base(m)
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(base, "ss-"), ".txt"))
		if err == nil {
			fs = append(fs, f{base, n})
		}
	}
	sort.Slice(fs, func(i, j int) bool { return fs[i].n < fs[j].n })
	var out []string
	for _, x := range fs {
		out = append(out, x.name)
	}
	return out
}
