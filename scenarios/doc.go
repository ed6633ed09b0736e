// Package scenarios owns what srutest runs inside a booted guest: the
// MPTCP keepalive scenarios of LP #2125444 (connect, fallback, join and
// the controls keepalive-off and keepalive-after-connect) and the generic
// user Reproducer. It reaches the guest only through the Guest interface
// (vm.Machine satisfies it) and never sees QEMU flags.
//
// # Keepalive scenarios
//
// Each builds netns cli and srv joined by veth path 1 (192.0.2.0/24, and
// for join path 2, 198.51.100.0/24 with a client subflow endpoint), with
// per-path source routing in cli (`ip rule add from <client address of
// path N> table N`, each table routing over its own path: 5.15 binds a
// join subflow to the endpoint's address but not its dev), sets
// net.ipv4.tcp_keepalive_time = tcp_keepalive_intvl = 1 s per netns,
// pushes the static srutest-pair binary (scenarios/pair) over SFTP, starts
// the server, one tcpdump per client-side veth, then the client, which
// sets SO_KEEPALIVE before connect() (after, or never, for the controls),
// reads the greeting and idles. The harness takes `ss -tinoe` (and
// `ss -Minoe`) snapshots at +1.5 s and +3.5 s, stops the captures at
// +4.5 s, and only then releases the client, because the MPTCP close
// exchange contains pure ACKs that look like probes. It pulls everything
// into Env.Artifacts (commands.log, pathN.pcap + pathN.txt, ss-*.txt,
// nstat-*.txt, state.txt, dmesg.txt, client.json, server.json,
// analysis.json, verdict.json) and deletes the netns, so the next scenario
// can reuse the guest. The cell runs in phases (keepalive.go: prepare,
// start, observe, collect) whose shell commands are pure cellCmds methods
// (commands.go), table-tested like topology.setupScript.
//
// # Cells at once
//
// The keepalive scenarios are Isolated: the runner runs a kernel's cells
// at the same time in one guest, each in its own Env.Slot. Slot n has netns
// cli<n>/srv<n> (cli/srv for slot 0), path 1 in 192.0.2.16n/28, path 2 in
// 198.51.100.16n/28 (topology.inSlot) and work dir /tmp/srutest/<n>, so
// no cell sees another's packets, sockets, timers or per-netns counters;
// judge makes a cell ERROR if its captures or ss snapshots hold any other
// address. Timing is per cell, relative to its own client's readiness, so
// a slow guest stretches a cell without moving its snapshots against its
// probes. Default guest command deadlines are multiplied by Env.TimeScale
// (the runner sets ×3 under TCG, times the number of cells sharing the
// guest: each step shares its CPU with theirs).
//
// # Verdicts
//
// Setup first: connect (and the controls) must show MP_CAPABLE on the SYN
// and the SYN-ACK and MultipathTCP() true; fallback a plain-TCP listener,
// MP_CAPABLE on the SYN only and MultipathTCP() false (not checked before
// Linux 5.16, where Go cannot see a fallback); join an established MP_JOIN
// subflow from 198.51.100.2 in the captures and in ss. A setup not
// achieved is ERROR, never PASS or FAIL. A kernel without MPTCP is SKIP.
// Connections are matched by 4-tuple across all captures, not by the
// interface that saw them, and a subflow's path is named by its client
// address; analysis.json lists which capture saw how many packets of it
// in each direction (seen_on), so asymmetric routing is visible, not fatal.
//
// Then each client subflow: keepalive timer in ss and ≥ 2 probes (pure
// ACK, seq = next − 1, after ≥ 0.5 s of silence) at a median interval
// within [0.5, 2]× the expected 1 s → PASS; neither → FAIL. Mixed evidence
// is decided by which side is trustworthy: a timer without probes is FAIL
// (the capture is proven by the handshake it holds, and no probe on the
// wire means no keepalive); probes at the right interval without a timer
// is ERROR (the wire proves keepalive works, so the ss reading is wrong).
// keepalive-off must show no probe and no keepalive timer (PASS); anything
// else there is ERROR: that control exists to catch a detector that sees
// probes where there are none. keepalive-after-connect is judged like
// connect: it goes through a kernel path that works on every version, so
// its FAIL on a kernel means the connect results there are suspect too.
// The cell is ERROR if any subflow is, else FAIL if any is, else PASS. A
// crash reported by Guest.Crashed after any step is ERROR with the console
// text attached.
//
// # Environment
//
// Tests only: SRUTEST_UPDATE_FIXTURES=1 makes the host end-to-end test
// (root, netns) copy its fresh evidence into testdata/captures/host-<release>/;
// SRUTEST_TEST_ARTIFACTS=DIR keeps that test's artifact directories.
package scenarios
