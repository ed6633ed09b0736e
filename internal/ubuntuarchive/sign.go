package ubuntuarchive

import (
	"bytes"
	"fmt"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// NewTestKey generates an ed25519 OpenPGP signing key for a test archive
// (fast: no RSA prime search).
func NewTestKey() (*openpgp.Entity, error) {
	cfg := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Time: func() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) }}
	e, err := openpgp.NewEntity("srutest test archive", "not Ubuntu", "test@srutest.invalid", cfg)
	if err != nil {
		return nil, fmt.Errorf("generate test key: %w", err)
	}
	return e, nil
}

// ClearSign returns text clearsigned with key, as InRelease.
func ClearSign(text []byte, key *openpgp.Entity) ([]byte, error) {
	var out bytes.Buffer
	w, err := clearsign.Encode(&out, key.PrivateKey, &packet.Config{})
	if err != nil {
		return nil, fmt.Errorf("clearsign: %w", err)
	}
	if _, err := w.Write(text); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("clearsign: %w", err)
	}
	return out.Bytes(), nil
}
