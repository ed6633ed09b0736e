package scenarios

import "context"

// Guest is what a scenario needs from a booted kernel. vm.Machine satisfies it;
// scenarios never see QEMU flags.
type Guest interface {
	// Exec runs cmd with /bin/sh -c in the guest and returns its output and
	// exit code. err is non-nil only when the command could not be run or
	// the context expired, not for a non-zero exit.
	Exec(ctx context.Context, cmd string) (ExecResult, error)
	// Push copies a host file to a guest path (mode preserved).
	Push(ctx context.Context, local, remote string) error
	// Pull copies a guest file to a host path.
	Pull(ctx context.Context, remote, local string) error
	// Crashed reports a kernel crash seen on the console so far (BUG:, Oops,
	// panic, WARNING:, soft lockup, hung task), or nil.
	Crashed() error
}

// ExecResult is the outcome of one guest command.
type ExecResult struct {
	Stdout   []byte
	Stderr   []byte
	ExitCode int
}

// FilesPuller is implemented by guests that copy several files in one
// transfer (vm.Machine: one tar stream on an exec channel); a cell's pull uses it
// when the guest has it. errs has one entry per remote (nil = copied);
// err means the session itself failed.
type FilesPuller interface {
	PullFiles(ctx context.Context, remotes []string, localDir string) (errs []error, err error)
}
