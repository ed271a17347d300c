package esp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"fmt"
	"testing"
)

// The ESP benchmarks and, next to them, the bare crypto the same packet
// needs (Raw*): encrypting payload + padding + trailer and computing or
// checking the tag, nothing else. The difference is what ESP framing,
// IV generation, replay and lifetime bookkeeping cost. Open benchmarks, raw
// and ESP alike, copy the packet into place first, since decryption is in
// place.

var benchSizes = []int{64, 1400}

func benchName(s Suite, n int) string { return fmt.Sprintf("%s/%d", shortName(s), n) }

func BenchmarkSeal(b *testing.B) {
	for _, s := range Suites() {
		for _, n := range benchSizes {
			b.Run(benchName(s, n), func(b *testing.B) {
				out, _ := newPair(b, s, false)
				out.maxSeq = ^uint64(0) // no ErrSeqExhausted however long it runs
				buf := make([]byte, MaxHeadroom+n, MaxHeadroom+n+MaxTailroom)
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := out.Seal(buf, MaxHeadroom, NextHeaderGRE); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	for _, s := range Suites() {
		for _, n := range benchSizes {
			b.Run(benchName(s, n), func(b *testing.B) {
				out, in := newPair(b, s, false)
				// Sealed packets with fresh sequence numbers; the window
				// is reset whenever the batch starts over.
				pkts := make([][]byte, 1024)
				for i := range pkts {
					pkts[i] = seal(b, out, make([]byte, n), NextHeaderGRE)
				}
				work := make([]byte, len(pkts[0]))
				b.SetBytes(int64(n))
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if i == len(pkts) {
						i = 0
						in.window.Init(64)
					}
					copy(work, pkts[i])
					if _, _, _, err := in.Open(work); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		}
	}
}

func BenchmarkRawAEAD(b *testing.B) {
	for _, s := range Suites() {
		if !s.Cipher.AEAD() {
			continue
		}
		for _, n := range benchSizes {
			enc, _ := testKeys(s)
			block, _ := aes.NewCipher(enc[:len(enc)-saltLen])
			aead, _ := cipher.NewGCM(block)
			nonce, aad := make([]byte, 12), make([]byte, 8)
			l := n + s.PadLen(n) + trailerLen
			buf := make([]byte, l, l+gcmTagLen)
			b.Run("seal/"+benchName(s, n), func(b *testing.B) {
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for b.Loop() {
					aead.Seal(buf[:0], nonce, buf, aad)
				}
			})
			sealed := aead.Seal(nil, nonce, buf, aad)
			work := make([]byte, len(sealed))
			b.Run("open/"+benchName(s, n), func(b *testing.B) {
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for b.Loop() {
					copy(work, sealed)
					if _, err := aead.Open(work[:0], nonce, work, aad); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkRawCBCHMAC(b *testing.B) {
	for _, s := range Suites() {
		if s.Cipher.AEAD() {
			continue
		}
		for _, n := range benchSizes {
			// Borrow an SA's keyed transforms; use them directly.
			sa, _ := newPair(b, s, false)
			iv := make([]byte, aes.BlockSize)
			l := n + s.PadLen(n) + trailerLen
			buf := make([]byte, l+s.ICVLen())
			ct, tag := buf[:l], buf[l:]
			sum := make([]byte, 0, 64)
			sealOnce := func() {
				sa.cbcEnc.SetIV(iv)
				sa.cbcEnc.CryptBlocks(ct, ct)
				sa.mac.Reset()
				sa.mac.Write(ct)
				copy(tag, sa.mac.Sum(sum[:0]))
			}
			b.Run("seal/"+benchName(s, n), func(b *testing.B) {
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for b.Loop() {
					sealOnce()
				}
			})
			sealOnce()
			sealed := append([]byte(nil), buf...)
			work := make([]byte, len(sealed))
			b.Run("open/"+benchName(s, n), func(b *testing.B) {
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for b.Loop() {
					copy(work, sealed)
					sa.mac.Reset()
					sa.mac.Write(work[:l])
					if !hmac.Equal(sa.mac.Sum(sum[:0])[:s.ICVLen()], work[l:]) {
						b.Fatal("tag mismatch")
					}
					sa.cbcDec.SetIV(iv)
					sa.cbcDec.CryptBlocks(work[:l], work[:l])
				}
			})
		}
	}
}
