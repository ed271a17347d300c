package packet

import (
	"encoding/binary"
	"net/netip"
)

const (
	IPv4HeaderLen = 20 // without options
	IPv4MinMTU    = 68 // RFC 791: every host must accept this without fragmenting
)

// IPv4Header is a view of the fixed part of an IPv4 header (RFC 791). Options,
// when present, are the bytes between IPv4HeaderLen and HeaderLen.
type IPv4Header struct {
	HeaderLen  int // IHL in bytes, 20 to 60
	TOS        uint8
	TotalLen   int
	ID         uint16
	DontFrag   bool
	MoreFrags  bool
	FragOffset uint16 // in units of 8 bytes, as on the wire
	TTL        uint8
	Protocol   uint8
	Checksum   uint16 // as read; not verified
	Src, Dst   netip.Addr
}

// ParseIPv4 reads the IPv4 header at the start of b. It checks that the
// header and the total length fit in b, so b[h.HeaderLen:h.TotalLen] is the
// payload; bytes past TotalLen (link padding) are ignored. The header
// checksum is not verified: Checksum(b[:h.HeaderLen], 0) == 0 does that.
func ParseIPv4(b []byte) (IPv4Header, error) {
	if len(b) < IPv4HeaderLen {
		return IPv4Header{}, ErrShort
	}
	if b[0]>>4 != 4 {
		return IPv4Header{}, ErrVersion
	}
	hl := int(b[0]&0x0f) * 4
	if hl < IPv4HeaderLen || hl > len(b) {
		return IPv4Header{}, ErrHeaderLen
	}
	tl := int(binary.BigEndian.Uint16(b[2:4]))
	if tl < hl || tl > len(b) {
		return IPv4Header{}, ErrTotalLen
	}
	frag := binary.BigEndian.Uint16(b[6:8])
	return IPv4Header{
		HeaderLen:  hl,
		TOS:        b[1],
		TotalLen:   tl,
		ID:         binary.BigEndian.Uint16(b[4:6]),
		DontFrag:   frag&0x4000 != 0,
		MoreFrags:  frag&0x2000 != 0,
		FragOffset: frag & 0x1fff,
		TTL:        b[8],
		Protocol:   b[9],
		Checksum:   binary.BigEndian.Uint16(b[10:12]),
		Src:        netip.AddrFrom4([4]byte(b[12:16])),
		Dst:        netip.AddrFrom4([4]byte(b[16:20])),
	}, nil
}

// IsFragment reports whether the packet is any fragment of a larger one.
func (h *IPv4Header) IsFragment() bool {
	return h.MoreFrags || h.FragOffset != 0
}

// Encode writes h as a 20-byte header without options into b and fills in
// the header checksum. HeaderLen and Checksum are ignored; TotalLen is
// written as given. Src and Dst must be IPv4 addresses.
func (h *IPv4Header) Encode(b []byte) (int, error) {
	if len(b) < IPv4HeaderLen {
		return 0, ErrNoSpace
	}
	if !h.Src.Is4() || !h.Dst.Is4() {
		return 0, ErrAddr
	}
	if h.TotalLen < IPv4HeaderLen || h.TotalLen > 0xffff {
		return 0, ErrTotalLen
	}
	b[0] = 0x45
	b[1] = h.TOS
	binary.BigEndian.PutUint16(b[2:4], uint16(h.TotalLen))
	binary.BigEndian.PutUint16(b[4:6], h.ID)
	frag := h.FragOffset & 0x1fff
	if h.DontFrag {
		frag |= 0x4000
	}
	if h.MoreFrags {
		frag |= 0x2000
	}
	binary.BigEndian.PutUint16(b[6:8], frag)
	b[8] = h.TTL
	b[9] = h.Protocol
	b[10], b[11] = 0, 0
	src, dst := h.Src.As4(), h.Dst.As4()
	copy(b[12:16], src[:])
	copy(b[16:20], dst[:])
	binary.BigEndian.PutUint16(b[10:12], Checksum(b[:IPv4HeaderLen], 0))
	return IPv4HeaderLen, nil
}
