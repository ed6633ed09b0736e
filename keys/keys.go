// Package keys holds the OpenPGP public keys srutest ships, embedded in the
// binary so that verifying the Ubuntu archive needs no host keyring.
//
// ubuntu-archive-2018.gpg is "Ubuntu Archive Automatic Signing Key (2018)
// <ftpmaster@ubuntu.com>", fingerprint F6EC B376 2474 EDA9 D21B 7022 8719 20D1
// 991B C93C (rsa4096, created 2018-09-17). It signs dists/*/InRelease of the
// Ubuntu archive for jammy, noble and plucky. The file is public data; a test
// pins its SHA256 and fingerprint so a silent replacement is caught.
package keys

import _ "embed"

//go:embed ubuntu-archive-2018.gpg
var ubuntuArchive2018 []byte

// UbuntuArchiveFingerprint is the fingerprint of the embedded Ubuntu archive
// signing key, upper-case hex without spaces.
const UbuntuArchiveFingerprint = "F6ECB3762474EDA9D21B7022871920D1991BC93C"

// UbuntuArchiveSHA256 is the SHA256 of the embedded binary key file.
const UbuntuArchiveSHA256 = "5ebbeeb474034b1fa7e50abbe6f136e177fc826219e01f314b3623f7b3097e96"

// UbuntuArchive returns a copy of the binary (non-armored) OpenPGP public key
// that signs the Ubuntu archive's InRelease files.
func UbuntuArchive() []byte {
	return append([]byte(nil), ubuntuArchive2018...)
}
