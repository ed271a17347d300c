package ike

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"hash"

	"github.com/gresec/gresec/internal/config"
	"github.com/gresec/gresec/internal/isakmp"
)

// hashAlg is the negotiated phase 1 hash. IKEv1 without a PRF attribute
// uses HMAC with it as the pseudo-random function prf (RFC 2409 section 5),
// and the plain hash for the phase 1 IV and NAT-D payloads.
type hashAlg struct {
	id   isakmp.HashAlgorithm
	new  func() hash.Hash
	size int
}

func hashByID(id isakmp.HashAlgorithm) (hashAlg, bool) {
	switch id {
	case isakmp.HashSHA1:
		return hashAlg{id, sha1.New, sha1.Size}, true
	case isakmp.HashSHA256:
		return hashAlg{id, sha256.New, sha256.Size}, true
	case isakmp.HashSHA384:
		return hashAlg{id, sha512.New384, sha512.Size384}, true
	case isakmp.HashSHA512:
		return hashAlg{id, sha512.New, sha512.Size}, true
	}
	return hashAlg{}, false
}

// hashFromConfig maps `hash sha|sha256|sha384|sha512`.
func hashFromConfig(h config.Hash) (isakmp.HashAlgorithm, bool) {
	switch h {
	case config.HashSHA1:
		return isakmp.HashSHA1, true
	case config.HashSHA256:
		return isakmp.HashSHA256, true
	case config.HashSHA384:
		return isakmp.HashSHA384, true
	case config.HashSHA512:
		return isakmp.HashSHA512, true
	}
	return 0, false
}

// prf is HMAC over the concatenation of data, keyed with key.
func (h hashAlg) prf(key []byte, data ...[]byte) []byte {
	m := hmac.New(h.new, key)
	for _, d := range data {
		m.Write(d)
	}
	return m.Sum(nil)
}

// sum is the plain hash of the concatenation of data.
func (h hashAlg) sum(data ...[]byte) []byte {
	d := h.new()
	for _, b := range data {
		d.Write(b)
	}
	return d.Sum(nil)
}

// String names the hash as IOS does in `show crypto isakmp sa detail`.
func (h hashAlg) String() string { return hashName(h.id) }

func hashName(id isakmp.HashAlgorithm) string {
	switch id {
	case isakmp.HashSHA1:
		return "sha"
	case isakmp.HashSHA256:
		return "sha256"
	case isakmp.HashSHA384:
		return "sha384"
	case isakmp.HashSHA512:
		return "sha512"
	}
	return "unknown"
}

// macEqual compares two MACs in constant time.
func macEqual(a, b []byte) bool {
	return len(a) == len(b) && subtle.ConstantTimeCompare(a, b) == 1
}
