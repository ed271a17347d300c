package esp

import "encoding/binary"

// Seal turns the payload buf[off:] into an ESP packet in place (RFC 4303
// section 3.3) and returns it: header and IV written into buf[off-Headroom:off],
// the payload encrypted where it is, padding (1, 2, 3, ...), pad length,
// next header and ICV written into the spare capacity after it. See the
// package comment for the buffer contract; ErrNoRoom if it is not met.
//
// nextHeader says what the payload is: NextHeaderGRE in transport mode,
// NextHeaderIPv4 or NextHeaderIPv6 in tunnel mode.
//
// Seal fails with ErrSeqExhausted once the last sequence number has been
// used (2^32-1, or 2^64-1 with ESN) and with ErrExpired past a hard
// lifetime: the SA must then be replaced. It allocates nothing.
func (sa *SA) Seal(buf []byte, off int, nextHeader byte) ([]byte, error) {
	pkt, err := sa.sealChecked(buf, off, nextHeader)
	if err != nil {
		sa.stats.errors.Add(1)
		return nil, err
	}
	sa.stats.packets.Add(1)
	sa.stats.bytes.Add(uint64(len(buf) - off))
	return pkt, nil
}

func (sa *SA) sealChecked(buf []byte, off int, nextHeader byte) ([]byte, error) {
	if !sa.outbound {
		return nil, ErrDirection
	}
	n := len(buf) - off
	if off < sa.headroom || n < 0 {
		return nil, ErrNoRoom
	}
	end := len(buf) + sa.padLen(n) + trailerLen + sa.icvLen
	if end > cap(buf) {
		return nil, ErrNoRoom
	}
	if sa.seq >= sa.maxSeq {
		return nil, ErrSeqExhausted
	}
	if sa.hardExpired() {
		return nil, ErrExpired
	}
	sa.seq++
	pkt := buf[off-sa.headroom : end]
	sa.seal(pkt, n, nextHeader, sa.seq, nil)
	return pkt, nil
}

func (sa *SA) padLen(n int) int {
	return (sa.bs - (n+trailerLen)%sa.bs) % sa.bs
}

// seal builds the ESP packet pkt, which is exactly headroom + n + tailroom
// long with the payload at pkt[headroom:][:n], for sequence number seq. A
// nil iv means the SA's own: the sequence number for AES-GCM, nextIV for
// AES-CBC; tests pass the IVs of published examples.
func (sa *SA) seal(pkt []byte, n int, nextHeader byte, seq uint64, iv []byte) {
	pad := sa.padLen(n)
	trailer := pkt[sa.headroom+n:]
	for i := range pad {
		trailer[i] = byte(i + 1) // RFC 4303 section 2.4: monotonic 1, 2, 3, ...
	}
	trailer[pad] = byte(pad)
	trailer[pad+1] = nextHeader
	sa.protect(pkt, sa.headroom+n+pad+trailerLen, seq, iv)
}

// protect writes the header and IV of pkt, encrypts pkt[headroom:ctEnd],
// which holds payload, padding and trailer, and adds the ICV after it.
func (sa *SA) protect(pkt []byte, ctEnd int, seq uint64, iv []byte) {
	binary.BigEndian.PutUint32(pkt[0:4], sa.spi)
	binary.BigEndian.PutUint32(pkt[4:8], uint32(seq))
	plain := pkt[sa.headroom:ctEnd]
	ivField := pkt[HeaderLen:sa.headroom]
	if sa.aead != nil {
		if iv == nil {
			binary.BigEndian.PutUint64(ivField, seq)
		} else {
			copy(ivField, iv)
		}
		copy(sa.nonce[saltLen:], ivField)
		sa.aead.Seal(plain[:0], sa.nonce[:], plain, sa.gcmAAD(pkt, seq))
		return
	}
	if iv == nil {
		sa.nextIV(ivField, seq)
	} else {
		copy(ivField, iv)
	}
	sa.cbcEnc.SetIV(ivField)
	sa.cbcEnc.CryptBlocks(plain, plain)
	copy(pkt[ctEnd:], sa.icv(pkt[:ctEnd], seq))
}
