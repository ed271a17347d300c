package ike

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"testing"

	"github.com/gresec/gresec/internal/isakmp"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestKeyExtension checks RFC 2409 Appendix B: a key longer than SKEYID_e
// is K1 | K2 ... with K1 = prf(SKEYID_e, 0) and K2 = prf(SKEYID_e, K1); a
// shorter one is a prefix of SKEYID_e.
func TestKeyExtension(t *testing.T) {
	h, _ := hashByID(isakmp.HashSHA1)
	skeyidE := unhex(t, "00112233445566778899aabbccddeeff00112233")
	mac := func(data []byte) []byte {
		m := hmac.New(sha1.New, skeyidE)
		m.Write(data)
		return m.Sum(nil)
	}
	k1 := mac([]byte{0})
	k2 := mac(k1)
	want := append(append([]byte{}, k1...), k2...)[:32]
	if got := encryptionKey(h, skeyidE, 32); !bytes.Equal(got, want) {
		t.Errorf("AES-256 key from SHA-1 SKEYID_e = %x, want %x", got, want)
	}
	if got := encryptionKey(h, skeyidE, 24); !bytes.Equal(got, append(append([]byte{}, k1...), k2...)[:24]) {
		t.Errorf("AES-192 key from SHA-1 SKEYID_e = %x", got)
	}
	if got := encryptionKey(h, skeyidE, 16); !bytes.Equal(got, skeyidE[:16]) {
		t.Errorf("AES-128 key = %x, want a prefix of SKEYID_e", got)
	}
	h256, _ := hashByID(isakmp.HashSHA256)
	e32 := bytes.Repeat([]byte{7}, 32)
	if got := encryptionKey(h256, e32, 32); !bytes.Equal(got, e32) {
		t.Errorf("AES-256 key from SHA-256 SKEYID_e is not SKEYID_e itself")
	}
}

// TestPhase1Derivation recomputes RFC 2409 section 5 step by step with
// crypto/hmac.
func TestPhase1Derivation(t *testing.T) {
	h, _ := hashByID(isakmp.HashSHA1)
	psk, ni, nr, gxy := []byte("SecretPassword12"), []byte("initiator nonce!"), []byte("responder nonce!"), []byte("shared secret g^xy")
	ckyI, ckyR := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}, [8]byte{9, 10, 11, 12, 13, 14, 15, 16}
	prf := func(key []byte, parts ...[]byte) []byte {
		m := hmac.New(sha1.New, key)
		m.Write(bytes.Join(parts, nil))
		return m.Sum(nil)
	}
	skeyid := prf(psk, ni, nr)
	d := prf(skeyid, gxy, ckyI[:], ckyR[:], []byte{0})
	a := prf(skeyid, d, gxy, ckyI[:], ckyR[:], []byte{1})
	e := prf(skeyid, a, gxy, ckyI[:], ckyR[:], []byte{2})
	k := derivePhase1(h, psk, ni, nr, gxy, ckyI, ckyR, 16)
	if !bytes.Equal(k.skeyid, skeyid) || !bytes.Equal(k.d, d) || !bytes.Equal(k.a, a) || !bytes.Equal(k.e, e) || !bytes.Equal(k.enc, e[:16]) {
		t.Error("phase 1 keys differ from RFC 2409 section 5")
	}
	// KEYMAT, extended: K1 = prf(SKEYID_d, g^xy | 3 | SPI | Ni | Nr), K2 = prf(SKEYID_d, K1 | ...).
	spi := []byte{0xc0, 0xff, 0xee, 0x01}
	k1 := prf(d, gxy, []byte{3}, spi, ni, nr)
	k2 := prf(d, k1, gxy, []byte{3}, spi, ni, nr)
	want := append(append([]byte{}, k1...), k2...)[:36]
	if got := keymat(h, d, gxy, 3, 0xc0ffee01, ni, nr, 36); !bytes.Equal(got, want) {
		t.Errorf("KEYMAT = %x, want %x", got, want)
	}
	// Phase 2 IV: hash(last phase 1 block | M-ID).
	last := bytes.Repeat([]byte{0xab}, 16)
	sum := sha1.Sum(append(append([]byte{}, last...), 0xde, 0xad, 0xbe, 0xef))
	if got := phase2IV(h, last, 0xdeadbeef); !bytes.Equal(got, sum[:16]) {
		t.Errorf("phase 2 IV = %x, want %x", got, sum[:16])
	}
}

func TestCBCRoundTrip(t *testing.T) {
	key, iv := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 16)
	for n := 0; n < 40; n++ {
		plain := bytes.Repeat([]byte{0x5a}, n)
		ct, next, err := encryptBody(key, iv, plain)
		if err != nil {
			t.Fatal(err)
		}
		if len(ct)%16 != 0 || len(ct) <= n || !bytes.Equal(next, ct[len(ct)-16:]) {
			t.Fatalf("%d bytes: ciphertext of %d bytes", n, len(ct))
		}
		got, next2, err := decryptBody(key, iv, ct)
		if err != nil || !bytes.Equal(got[:n], plain) || !bytes.Equal(next, next2) {
			t.Fatalf("%d bytes: round trip failed", n)
		}
	}
	if _, _, err := decryptBody(key, iv, make([]byte, 15)); err == nil {
		t.Error("accepted a partial block")
	}
	if _, _, err := decryptBody(key, iv, nil); err == nil {
		t.Error("accepted an empty body")
	}
}
