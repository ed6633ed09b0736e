package images

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"

	"golang.org/x/crypto/ssh"
)

// newKeyPair generates an ed25519 key and returns the private key as an
// OpenSSH PEM block and the public key as one authorized_keys line
// (newline-terminated).
func newKeyPair(comment string) (privPEM, authorized []byte, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate ed25519 key: %w", err)
	}
	blk, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return nil, nil, fmt.Errorf("marshal private key: %w", err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, nil, fmt.Errorf("public key: %w", err)
	}
	line := bytes.TrimSpace(ssh.MarshalAuthorizedKey(sp))
	if comment != "" {
		line = append(line, ' ')
		line = append(line, comment...)
	}
	return pem.EncodeToMemory(blk), append(line, '\n'), nil
}
