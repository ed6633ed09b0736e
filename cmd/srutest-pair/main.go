// Command srutest-pair is the MPTCP client/server pair that srutest pushes
// into guests (build it static: CGO_ENABLED=0). Logic lives in
// scenarios/pair; this file parses flags and prints the facts.
//
//	srutest-pair server --listen 192.0.2.1:5000 [--mptcp=false] [--greeting=false] [--ready FILE] [--timeout 2m]
//	srutest-pair client --connect 192.0.2.1:5000 --keepalive before|after|off --hold 8s [--bind IP] [--mptcp=false] [--ready FILE]
//	srutest-pair wait --file PATH [--contains TEXT] [--gone] [--timeout 5s]
//	srutest-pair wait --pid PID [--timeout 5s]
//
// client and server print one JSON line of facts on stdout when they end
// and exit 0 when they got as far as they should, 1 otherwise. SIGTERM or
// SIGINT ends the client's hold (and the server's wait) early; the facts
// are still printed. Usage errors exit 2.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/srutest/srutest/scenarios/pair"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: srutest-pair server|client|wait [flags]")
		return 2
	}
	fs := flag.NewFlagSet("srutest-pair "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	switch args[0] {
	case "server":
		var cfg pair.ServerConfig
		fs.StringVar(&cfg.Listen, "listen", "", "ip:port to listen on")
		fs.BoolVar(&cfg.MPTCP, "mptcp", true, "MPTCP listener (false: plain TCP, for fallback)")
		fs.BoolVar(&cfg.Greeting, "greeting", true, "send one byte after accept")
		fs.StringVar(&cfg.Ready, "ready", "", "file to create once listening")
		fs.DurationVar(&cfg.Timeout, "timeout", 2*time.Minute, "overall bound")
		if err := parse(fs, args[1:]); err != nil {
			return 2
		}
		if cfg.Listen == "" {
			fmt.Fprintln(stderr, "srutest-pair server: --listen is required")
			return 2
		}
		f := pair.RunServer(ctx, cfg)
		return emit(stdout, stderr, &f, f.OK())
	case "client":
		var cfg pair.ClientConfig
		var ka string
		fs.StringVar(&cfg.Connect, "connect", "", "server ip:port")
		fs.StringVar(&cfg.Bind, "bind", "", "local ip[:port]")
		fs.StringVar(&ka, "keepalive", string(pair.KeepaliveBefore), "when to set SO_KEEPALIVE: before|after|off")
		fs.BoolVar(&cfg.MPTCP, "mptcp", true, "MPTCP socket")
		fs.DurationVar(&cfg.Hold, "hold", 8*time.Second, "idle time after the greeting (SIGTERM ends it early)")
		fs.StringVar(&cfg.Ready, "ready", "", "file to create once the greeting was read")
		fs.DurationVar(&cfg.Timeout, "timeout", 10*time.Second, "bound for connect and greeting")
		if err := parse(fs, args[1:]); err != nil {
			return 2
		}
		k, err := pair.ParseKeepalive(ka)
		if err != nil || cfg.Connect == "" {
			if err == nil {
				err = fmt.Errorf("--connect is required")
			}
			fmt.Fprintln(stderr, "srutest-pair client:", err)
			return 2
		}
		cfg.Keepalive = k
		f := pair.RunClient(ctx, cfg)
		return emit(stdout, stderr, &f, f.OK())
	case "wait":
		var path, contains string
		var gone bool
		var pid int
		var timeout time.Duration
		fs.StringVar(&path, "file", "", "path to wait for")
		fs.StringVar(&contains, "contains", "", "text the file must contain")
		fs.BoolVar(&gone, "gone", false, "wait until the path no longer exists")
		fs.IntVar(&pid, "pid", 0, "wait until this process has exited (gone or zombie)")
		fs.DurationVar(&timeout, "timeout", 5*time.Second, "give up after")
		if err := parse(fs, args[1:]); err != nil {
			return 2
		}
		if (path == "") == (pid == 0) {
			fmt.Fprintln(stderr, "srutest-pair wait: want exactly one of --file and --pid")
			return 2
		}
		wctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		wait := func() error { return pair.WaitFile(wctx, path, contains, gone) }
		if pid != 0 {
			wait = func() error { return pair.WaitPID(wctx, pid) }
		}
		if err := wait(); err != nil {
			fmt.Fprintln(stderr, "srutest-pair:", err)
			return 1
		}
		return 0
	default:
		fmt.Fprintf(stderr, "srutest-pair: unknown command %q (want server, client or wait)\n", args[0])
		return 2
	}
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected arguments %q\n", fs.Name(), fs.Args())
		return fmt.Errorf("unexpected arguments")
	}
	return nil
}

func emit(stdout, stderr io.Writer, facts any, ok bool) int {
	line, err := json.Marshal(facts)
	if err != nil {
		fmt.Fprintln(stderr, "srutest-pair: encode facts:", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s\n", line)
	if !ok {
		return 1
	}
	return 0
}
