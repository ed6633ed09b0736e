package keys

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
)

func TestUbuntuArchiveKey(t *testing.T) {
	data := UbuntuArchive()
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != UbuntuArchiveSHA256 {
		t.Fatalf("embedded key SHA256 = %s, want %s", got, UbuntuArchiveSHA256)
	}
	ring, err := openpgp.ReadKeyRing(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parse embedded key: %v", err)
	}
	if len(ring) != 1 {
		t.Fatalf("embedded keyring has %d entities, want 1", len(ring))
	}
	fp := strings.ToUpper(hex.EncodeToString(ring[0].PrimaryKey.Fingerprint))
	if fp != UbuntuArchiveFingerprint {
		t.Fatalf("fingerprint = %s, want %s", fp, UbuntuArchiveFingerprint)
	}
	var names []string
	for n := range ring[0].Identities {
		names = append(names, n)
	}
	if !strings.Contains(fmt.Sprint(names), "ftpmaster@ubuntu.com") {
		t.Errorf("identities %v lack ftpmaster@ubuntu.com", names)
	}
	// The returned slice is a copy: mutating it must not change the key.
	data[0] ^= 0xff
	if bytes.Equal(data, UbuntuArchive()) {
		t.Error("UbuntuArchive returned the embedded slice itself")
	}
}
