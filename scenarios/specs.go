package scenarios

import "github.com/srutest/srutest/scenarios/pair"

// spec is what distinguishes the MPTCP keepalive scenarios.
type spec struct {
	name     string
	describe string
	// mode is when the client sets SO_KEEPALIVE.
	mode pair.Keepalive
	// serverMPTCP false makes the server listen with plain TCP, so the
	// client's MPTCP connection falls back to TCP.
	serverMPTCP bool
	// join adds path 2 and a client subflow endpoint on it.
	join bool
}

var (
	specConnect = spec{
		name:        "connect",
		describe:    "SO_KEEPALIVE set before connect() on an MPTCP socket: the MPTCP subflow must send keepalive probes (LP #2125444)",
		mode:        pair.KeepaliveBefore,
		serverMPTCP: true,
	}
	specFallback = spec{
		name:     "fallback",
		describe: "SO_KEEPALIVE set before connect(), server is plain TCP: the connection falls back to TCP and must still send keepalive probes",
		mode:     pair.KeepaliveBefore,
	}
	specJoin = spec{
		name:        "join",
		describe:    "SO_KEEPALIVE set before connect(), second path: the initial and the MP_JOIN subflow must both send keepalive probes",
		mode:        pair.KeepaliveBefore,
		serverMPTCP: true,
		join:        true,
	}
	specOff = spec{
		name:        "keepalive-off",
		describe:    "control: SO_KEEPALIVE never set: no keepalive timer and no probes (guards against a detector that always passes)",
		mode:        pair.KeepaliveOff,
		serverMPTCP: true,
	}
	specAfter = spec{
		name:        "keepalive-after-connect",
		describe:    "control: SO_KEEPALIVE set after connect() (another kernel path): the MPTCP subflow must send keepalive probes",
		mode:        pair.KeepaliveAfter,
		serverMPTCP: true,
	}
)
