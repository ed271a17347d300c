package esp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"math"

	"github.com/gresec/gresec/internal/replay"
)

// SA is one direction of an ESP security association: the keys and
// transforms precomputed, the sequence counter (outbound) or the
// anti-replay window (inbound), lifetime limits and counters.
//
// Keys must be fresh for every SA, as IKE makes them: the AES-GCM nonce is
// the sequence number, unique only within one SA.
//
// Seal (outbound) and Open (inbound) are not safe for concurrent use; see
// the package comment.
type SA struct {
	spi      uint32
	suite    Suite
	esn      bool
	outbound bool

	// Precomputed from suite.
	headroom int // HeaderLen + IV
	icvLen   int
	bs       int // alignment of the encrypted part

	seq    uint64 // outbound: last sequence number sent
	maxSeq uint64 // outbound: last sequence number that may be sent
	window replay.Window

	aead   cipher.AEAD // AES-GCM
	salt   [saltLen]byte
	cbcEnc cbcMode      // AES-CBC, outbound
	cbcDec cbcMode      // AES-CBC, inbound
	ivgen  cipher.Block // AES-CBC, outbound: see nextIV
	mac    hash.Hash    // HMAC, keyed

	// Per-packet scratch, kept here so that nothing escapes to the heap.
	nonce [12]byte
	aad   [12]byte
	seqHi [4]byte
	block [aes.BlockSize]byte
	sum   [sha512.Size]byte

	life  Lifetime
	stats counters
}

// cbcMode is a CBC BlockMode whose IV can be reset, so that one instance
// serves every packet without allocating. crypto/cipher's CBC modes have
// the method (crypto/tls relies on it too); newSA checks.
type cbcMode interface {
	cipher.BlockMode
	SetIV([]byte)
}

// NewOutbound returns the sending side of an SA. encKey is KeyLen bytes of
// keying material (AES key, then for AES-GCM the salt), authKey AuthKeyLen
// bytes (empty for AES-GCM). With esn the SA uses 64-bit extended sequence
// numbers (RFC 4303 section 2.2.1); without, Seal stops at 2^32-1.
func NewOutbound(spi uint32, suite Suite, encKey, authKey []byte, esn bool) (*SA, error) {
	sa, err := newSA(spi, suite, encKey, authKey, esn)
	if err != nil {
		return nil, err
	}
	sa.outbound = true
	sa.maxSeq = math.MaxUint32
	if esn {
		sa.maxSeq = math.MaxUint64
	}
	if !suite.Cipher.AEAD() {
		if sa.ivgen, err = newIVGenerator(); err != nil {
			return nil, err
		}
	}
	return sa, nil
}

// NewInbound returns the receiving side of an SA, with an anti-replay
// window of the given size (see replay.Window.Init for rounding; <= 0 is
// the default of 64).
func NewInbound(spi uint32, suite Suite, encKey, authKey []byte, esn bool, window int) (*SA, error) {
	sa, err := newSA(spi, suite, encKey, authKey, esn)
	if err != nil {
		return nil, err
	}
	sa.window.Init(window)
	return sa, nil
}

var errKey = errors.New("esp: bad key")

func newSA(spi uint32, suite Suite, encKey, authKey []byte, esn bool) (*SA, error) {
	if err := suite.Validate(); err != nil {
		return nil, err
	}
	if spi == 0 {
		// Reserved (RFC 4303 section 2.1), and on UDP 4500 it would read
		// as the non-ESP marker of IKE (RFC 3948 section 2.2).
		return nil, errors.New("esp: SPI 0 is reserved")
	}
	if len(encKey) != suite.KeyLen() {
		return nil, fmt.Errorf("%w: %s needs %d bytes of encryption key, got %d", errKey, suite, suite.KeyLen(), len(encKey))
	}
	if len(authKey) != suite.AuthKeyLen() {
		return nil, fmt.Errorf("%w: %s needs %d bytes of integrity key, got %d", errKey, suite, suite.AuthKeyLen(), len(authKey))
	}
	sa := &SA{
		spi:      spi,
		suite:    suite,
		esn:      esn,
		headroom: suite.Headroom(),
		icvLen:   suite.ICVLen(),
		bs:       suite.BlockSize(),
	}
	if suite.Cipher.AEAD() {
		keyLen := len(encKey) - saltLen
		block, err := aes.NewCipher(encKey[:keyLen])
		if err != nil {
			return nil, err
		}
		if sa.aead, err = cipher.NewGCM(block); err != nil {
			return nil, err
		}
		copy(sa.salt[:], encKey[keyLen:])
		copy(sa.nonce[:], sa.salt[:])
		return sa, nil
	}
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return nil, err
	}
	var ok1, ok2 bool
	var zeroIV [aes.BlockSize]byte
	sa.cbcEnc, ok1 = cipher.NewCBCEncrypter(block, zeroIV[:]).(cbcMode)
	sa.cbcDec, ok2 = cipher.NewCBCDecrypter(block, zeroIV[:]).(cbcMode)
	if !ok1 || !ok2 {
		return nil, errors.New("esp: crypto/cipher CBC lacks SetIV")
	}
	switch suite.Integrity {
	case HMACSHA1:
		sa.mac = hmac.New(sha1.New, authKey)
	case HMACSHA256:
		sa.mac = hmac.New(sha256.New, authKey)
	case HMACSHA384:
		sa.mac = hmac.New(sha512.New384, authKey)
	case HMACSHA512:
		sa.mac = hmac.New(sha512.New, authKey)
	}
	return sa, nil
}

// SPI returns the SA's Security Parameters Index.
func (sa *SA) SPI() uint32 { return sa.spi }

// Suite returns the SA's transforms.
func (sa *SA) Suite() Suite { return sa.suite }

// ESN reports whether the SA uses 64-bit extended sequence numbers.
func (sa *SA) ESN() bool { return sa.esn }

// Outbound reports whether the SA is the sending side.
func (sa *SA) Outbound() bool { return sa.outbound }

// ReplayWindow returns the size of the inbound anti-replay window, 0 for an
// outbound SA.
func (sa *SA) ReplayWindow() int {
	if sa.outbound {
		return 0
	}
	return sa.window.Size()
}

// icv computes the truncated HMAC over data and, with ESN, the high half of
// seq (RFC 4303 section 2.2.1: included in the ICV, never sent), and
// returns it in sa.sum.
func (sa *SA) icv(data []byte, seq uint64) []byte {
	sa.mac.Reset()
	sa.mac.Write(data)
	if sa.esn {
		sa.seqHi = [4]byte{byte(seq >> 56), byte(seq >> 48), byte(seq >> 40), byte(seq >> 32)}
		sa.mac.Write(sa.seqHi[:])
	}
	return sa.mac.Sum(sa.sum[:0])[:sa.icvLen]
}

// gcmAAD returns the additional authenticated data of RFC 4106 section 5:
// SPI and the 32-bit sequence number as on the wire, or with ESN the SPI
// and the full 64-bit sequence number.
func (sa *SA) gcmAAD(hdr []byte, seq uint64) []byte {
	if !sa.esn {
		return hdr[:HeaderLen]
	}
	copy(sa.aad[:4], hdr[:4])
	sa.aad[4] = byte(seq >> 56)
	sa.aad[5] = byte(seq >> 48)
	sa.aad[6] = byte(seq >> 40)
	sa.aad[7] = byte(seq >> 32)
	copy(sa.aad[8:], hdr[4:8])
	return sa.aad[:]
}
