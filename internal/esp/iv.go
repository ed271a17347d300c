package esp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
)

// AES-CBC IVs must be unpredictable to anyone who does not hold the keys
// (RFC 3602 section 3, and the chosen-plaintext attacks on predictable CBC
// IVs). Reading crypto/rand for each packet costs a system call per packet
// or a batch buffer to manage; instead each outbound SA encrypts its
// sequence number, which never repeats within the SA, under an AES key of
// its own drawn from crypto/rand when the SA is made. That is the IV
// construction of NIST SP 800-38A appendix C (the forward cipher applied to
// a nonce): one AES block per packet, no state beyond the counter Seal
// already keeps, and an IV the peer cannot predict without the random key.
// AES-GCM needs uniqueness only, so its IV is the sequence number itself
// (RFC 4106 section 3.1).

func newIVGenerator() (cipher.Block, error) {
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		return nil, err
	}
	return aes.NewCipher(key[:])
}

// nextIV writes the CBC IV for seq into iv (16 bytes).
func (sa *SA) nextIV(iv []byte, seq uint64) {
	binary.BigEndian.PutUint64(sa.block[8:], seq)
	sa.ivgen.Encrypt(iv, sa.block[:])
}
