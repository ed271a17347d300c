package ike

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
)

// Encryption of ISAKMP message bodies after the key exchange (RFC 2409
// Appendix B): AES-CBC, the only phase 1 cipher gresec negotiates. The IV
// chains: each message's last ciphertext block is the next message's IV
// within phase 1 and within one Quick Mode exchange.

// blockSize is the AES block, the phase 1 cipher block and IV size.
const blockSize = aes.BlockSize

var errCiphertext = errors.New("encrypted body is not a whole number of blocks")

// encryptBody pads plain with zeros to the block size (always adding at
// least one byte, as strongSwan does) and encrypts it. It returns the
// ciphertext and the IV for the next message.
func encryptBody(key, iv, plain []byte) (ct, next []byte, err error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, nil, err
	}
	pad := blockSize - len(plain)%blockSize
	ct = make([]byte, len(plain)+pad)
	copy(ct, plain)
	cipher.NewCBCEncrypter(b, iv).CryptBlocks(ct, ct)
	return ct, lastBlock(ct), nil
}

// decryptBody decrypts ct into a new buffer. It returns the plaintext,
// padding included, and the IV for the next message. ct is not modified,
// so that a message that turns out to be garbage changes nothing.
func decryptBody(key, iv, ct []byte) (plain, next []byte, err error) {
	if len(ct) == 0 || len(ct)%blockSize != 0 {
		return nil, nil, errCiphertext
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, nil, err
	}
	plain = make([]byte, len(ct))
	cipher.NewCBCDecrypter(b, iv).CryptBlocks(plain, ct)
	return plain, lastBlock(ct), nil
}

func lastBlock(ct []byte) []byte {
	return append([]byte(nil), ct[len(ct)-blockSize:]...)
}
