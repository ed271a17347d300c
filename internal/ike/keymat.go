package ike

import "encoding/binary"

// Key derivation of RFC 2409 section 5 (phase 1, pre-shared keys) and
// section 5.5 (Quick Mode KEYMAT), with the key length extension of
// Appendix B.

// phase1Keys are the keys of an ISAKMP SA.
type phase1Keys struct {
	skeyid []byte // prf(pre-shared-key, Ni_b | Nr_b)
	d      []byte // SKEYID_d: derives Quick Mode keying material
	a      []byte // SKEYID_a: authenticates phase 2 and informational messages
	e      []byte // SKEYID_e: source of the encryption key
	enc    []byte // the cipher key, from SKEYID_e
}

// derivePhase1 computes the keys of a Main Mode authenticated with a
// pre-shared key:
//
//	SKEYID   = prf(pre-shared-key, Ni_b | Nr_b)
//	SKEYID_d = prf(SKEYID, g^xy | CKY-I | CKY-R | 0)
//	SKEYID_a = prf(SKEYID, SKEYID_d | g^xy | CKY-I | CKY-R | 1)
//	SKEYID_e = prf(SKEYID, SKEYID_a | g^xy | CKY-I | CKY-R | 2)
//
// and the encryption key of encLen bytes from SKEYID_e.
func derivePhase1(h hashAlg, psk, ni, nr, gxy []byte, ckyI, ckyR [8]byte, encLen int) phase1Keys {
	var k phase1Keys
	k.skeyid = h.prf(psk, ni, nr)
	k.d = h.prf(k.skeyid, gxy, ckyI[:], ckyR[:], []byte{0})
	k.a = h.prf(k.skeyid, k.d, gxy, ckyI[:], ckyR[:], []byte{1})
	k.e = h.prf(k.skeyid, k.a, gxy, ckyI[:], ckyR[:], []byte{2})
	k.enc = encryptionKey(h, k.e, encLen)
	return k
}

// encryptionKey returns the first n bytes of SKEYID_e, or, when SKEYID_e is
// shorter than n (SHA-1 with AES-192 or AES-256), the first n bytes of
// K1 | K2 | ... with K1 = prf(SKEYID_e, 0) and Kj = prf(SKEYID_e, Kj-1)
// (RFC 2409 Appendix B).
func encryptionKey(h hashAlg, skeyidE []byte, n int) []byte {
	if len(skeyidE) >= n {
		return append([]byte(nil), skeyidE[:n]...)
	}
	var out []byte
	k := h.prf(skeyidE, []byte{0})
	for {
		out = append(out, k...)
		if len(out) >= n {
			return out[:n]
		}
		k = h.prf(skeyidE, k)
	}
}

// keymat returns n bytes of keying material for one direction of an IPsec
// SA (RFC 2409 section 5.5):
//
//	KEYMAT = K1 | K2 | ...
//	K1 = prf(SKEYID_d, [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b)
//	Kj = prf(SKEYID_d, Kj-1 | [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b)
//
// spi is the SPI of that direction (the receiver's choice); gxy is nil
// without PFS.
func keymat(h hashAlg, skeyidD, gxy []byte, protocol byte, spi uint32, ni, nr []byte, n int) []byte {
	var spib [4]byte
	binary.BigEndian.PutUint32(spib[:], spi)
	var out, k []byte
	for len(out) < n {
		k = h.prf(skeyidD, k, gxy, []byte{protocol}, spib[:], ni, nr)
		out = append(out, k...)
	}
	return out[:n]
}

// phase1IV is the IV of the first encrypted Main Mode message:
// hash(g^xi | g^xr), truncated to the cipher block (RFC 2409 Appendix B).
func phase1IV(h hashAlg, gxi, gxr []byte, blockSize int) []byte {
	return h.sum(gxi, gxr)[:blockSize]
}

// phase2IV is the first IV of a Quick Mode or informational exchange:
// hash(last phase 1 CBC output block | M-ID), truncated to the cipher block.
func phase2IV(h hashAlg, lastBlock []byte, mid uint32) []byte {
	var m [4]byte
	binary.BigEndian.PutUint32(m[:], mid)
	return h.sum(lastBlock, m[:])[:len(lastBlock)]
}
