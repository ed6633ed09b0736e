// Package pair is the MPTCP client/server pair that runs inside guests.
//
// cmd/srutest-pair wraps it into a static binary (CGO_ENABLED=0) that the
// scenarios push over SFTP at run time, so a changed pair needs no image
// rebuild. The client opens an MPTCP socket, optionally sets SO_KEEPALIVE
// before connect() (the LP #2125444 path), after connect(), or never, reads
// the server's greeting byte (so the connection becomes fully established
// and the path manager may add join subflows), then idles. Both sides print
// their facts as one JSON line on stdout when they end: what the sockets
// really were (MultipathTCP(), SO_PROTOCOL, TCP_IS_MPTCP), SO_KEEPALIVE read
// back from the MPTCP socket, addresses, errors and timestamps. Facts, not
// verdicts: the scenarios decide from the evidence.
//
// The client ends when its hold expires, when its context is cancelled
// (SIGTERM/SIGINT in the binary) or when the server closes. The harness
// stops its packet captures before it lets the client end, because the
// close exchange has pure ACKs that look like keepalive probes.
package pair
