package esp

import (
	"crypto/hmac"
	"encoding/binary"
)

// Open verifies and decrypts the ESP packet pkt (from the SPI on) in place
// and returns its payload, a subslice of pkt, with the next header and the
// full sequence number (inferred from the window with ESN).
//
// The checks follow RFC 4303 section 3.4: length and alignment
// (ErrShort, ErrBadLength), SPI (ErrSPI), the replay window before the
// integrity check so that replays cost no MAC (ErrReplay), the ICV in
// constant time (ErrAuth), decryption, padding must be 1, 2, 3, ...
// (ErrBadPadding), and only then is the sequence number entered in the
// window. A valid dummy packet (next header 59) returns ErrDummy and is to
// be dropped. Past a hard lifetime Open refuses with ErrExpired.
//
// With ESN, the high half of the sequence number is inferred as in
// RFC 4303 Appendix A2; the resynchronisation of Appendix A3 (after 2^32
// consecutive losses) is not implemented: such an SA fails every ICV and
// has to be rekeyed.
//
// Every refusal counts in Stats. On error pkt's contents are unspecified.
// Open allocates nothing.
func (sa *SA) Open(pkt []byte) (payload []byte, nextHeader byte, seq uint64, err error) {
	payload, nextHeader, seq, err = sa.open(pkt)
	if err != nil {
		sa.count(err)
		if err != ErrDummy {
			return nil, 0, seq, err
		}
	}
	sa.stats.packets.Add(1)
	sa.stats.bytes.Add(uint64(len(payload)))
	return payload, nextHeader, seq, err
}

func (sa *SA) open(pkt []byte) ([]byte, byte, uint64, error) {
	if sa.outbound {
		return nil, 0, 0, ErrDirection
	}
	if len(pkt) < sa.headroom+sa.bs+sa.icvLen {
		return nil, 0, 0, ErrShort
	}
	ctEnd := len(pkt) - sa.icvLen
	ct := pkt[sa.headroom:ctEnd]
	if len(ct)%sa.bs != 0 {
		return nil, 0, 0, ErrBadLength
	}
	if binary.BigEndian.Uint32(pkt) != sa.spi {
		return nil, 0, 0, ErrSPI
	}
	if sa.hardExpired() {
		return nil, 0, 0, ErrExpired
	}
	low := binary.BigEndian.Uint32(pkt[4:8])
	seq := uint64(low)
	if sa.esn {
		seq = sa.window.InferESN(low)
	}
	if !sa.window.Check(seq) {
		return nil, 0, seq, ErrReplay
	}

	ivField := pkt[HeaderLen:sa.headroom]
	if sa.aead != nil {
		copy(sa.nonce[saltLen:], ivField)
		if _, err := sa.aead.Open(ct[:0], sa.nonce[:], pkt[sa.headroom:], sa.gcmAAD(pkt, seq)); err != nil {
			return nil, 0, seq, ErrAuth
		}
	} else {
		if !hmac.Equal(sa.icv(pkt[:ctEnd], seq), pkt[ctEnd:]) {
			return nil, 0, seq, ErrAuth
		}
		sa.cbcDec.SetIV(ivField)
		sa.cbcDec.CryptBlocks(ct, ct)
	}

	padLen := int(ct[len(ct)-2])
	nextHeader := ct[len(ct)-1]
	n := len(ct) - trailerLen - padLen
	if n < 0 {
		return nil, 0, seq, ErrBadPadding
	}
	for i, b := range ct[n : n+padLen] {
		if b != byte(i+1) {
			return nil, 0, seq, ErrBadPadding
		}
	}
	if !sa.window.Update(seq) {
		return nil, 0, seq, ErrReplay
	}
	if nextHeader == NextHeaderNone {
		return nil, nextHeader, seq, ErrDummy
	}
	return ct[:n], nextHeader, seq, nil
}
