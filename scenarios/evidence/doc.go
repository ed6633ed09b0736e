// Package evidence turns the raw files a scenario collects in the guest
// into facts: `ss -tinoe` / `ss -Minoe` snapshots (ParseSS), classic
// libpcap captures (ParsePcap), the TCP connections and MPTCP handshakes
// in a capture (Connections), keepalive probes (KeepaliveProbes) and
// `nstat` counters (ParseNstat).
//
// Everything here is a pure function over bytes: no guest, no files, no
// clock. The parsers never panic on any input (fuzzed) and are tested on
// real captures under testdata/.
package evidence
