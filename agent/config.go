package agent

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/crypto/ssh"
)

// Config is what Serve needs. HostKey and AuthorizedKeys are required.
type Config struct {
	HostKey        ssh.Signer      // the image's host key, pinned by the host
	AuthorizedKeys []ssh.PublicKey // public-key auth only; the user name is not checked

	Shell string   // runs exec requests as Shell -c CMD and shells as Shell -i; default /bin/sh
	Env   []string // base environment of commands; nil means os.Environ()
	Dir   string   // working directory of commands; "" means the agent's

	// ModulesReady, when not nil, holds exec, shell and sftp requests until
	// it is closed (the modules loaded after SSH came up).
	ModulesReady <-chan struct{}

	// Reaper starts commands (see Reaper); nil starts them plainly.
	Reaper *Reaper

	// PowerOff handles the global request wire.PowerOffRequest; nil refuses it.
	PowerOff func()

	// PTMX is the pty multiplexer; default /dev/ptmx.
	PTMX string

	// Log receives one line per connection error and unusual event; nil
	// discards.
	Log io.Writer
}

func (c *Config) shell() string {
	if c.Shell == "" {
		return "/bin/sh"
	}
	return c.Shell
}

func (c *Config) env() []string {
	if c.Env == nil {
		return os.Environ()
	}
	return c.Env
}

func (c *Config) ptmx() string {
	if c.PTMX == "" {
		return "/dev/ptmx"
	}
	return c.PTMX
}

func (c *Config) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, "srutest-agent: "+format+"\n", args...)
	}
}

// serverConfig builds the x/crypto/ssh server configuration.
func (c *Config) serverConfig() (*ssh.ServerConfig, error) {
	if c.HostKey == nil {
		return nil, errors.New("agent: no host key")
	}
	if len(c.AuthorizedKeys) == 0 {
		return nil, errors.New("agent: no authorized keys")
	}
	allowed := make(map[string]bool, len(c.AuthorizedKeys))
	for _, k := range c.AuthorizedKeys {
		allowed[string(k.Marshal())] = true
	}
	sc := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if allowed[string(key.Marshal())] {
				return &ssh.Permissions{}, nil
			}
			return nil, errors.New("public key not authorized")
		},
		ServerVersion: "SSH-2.0-srutest-agent",
	}
	sc.AddHostKey(c.HostKey)
	return sc, nil
}

// ParseAuthorizedKeys parses an authorized_keys file. Blank lines and
// comments are skipped; a line that is not a key is an error naming it.
func ParseAuthorizedKeys(data []byte) ([]ssh.PublicKey, error) {
	var keys []ssh.PublicKey
	for n, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		k, _, _, _, err := ssh.ParseAuthorizedKey(line)
		if err != nil {
			return nil, fmt.Errorf("authorized keys line %d: %w", n+1, err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("authorized keys: no key")
	}
	return keys, nil
}

// LoadKeys reads the host private key (OpenSSH or PEM format) and the
// authorized_keys file into c.
func (c *Config) LoadKeys(hostKeyPath, authorizedPath string) error {
	pem, err := os.ReadFile(hostKeyPath)
	if err != nil {
		return fmt.Errorf("read host key: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		return fmt.Errorf("parse host key %s: %w", hostKeyPath, err)
	}
	ak, err := os.ReadFile(authorizedPath)
	if err != nil {
		return fmt.Errorf("read authorized keys: %w", err)
	}
	keys, err := ParseAuthorizedKeys(ak)
	if err != nil {
		return fmt.Errorf("%s: %w", authorizedPath, err)
	}
	c.HostKey, c.AuthorizedKeys = signer, keys
	return nil
}
