package packet

import (
	"encoding/binary"
	"net/netip"
)

const (
	IPv6HeaderLen = 40   // the fixed header
	IPv6MinMTU    = 1280 // RFC 8200 section 5
)

// IPv6Header is a view of the fixed IPv6 header (RFC 8200 section 3).
type IPv6Header struct {
	TrafficClass uint8
	FlowLabel    uint32
	PayloadLen   int
	NextHeader   uint8
	HopLimit     uint8
	Src, Dst     netip.Addr
}

// ParseIPv6 reads the fixed IPv6 header at the start of b and checks that
// the payload length fits in b, so b[IPv6HeaderLen:IPv6HeaderLen+h.PayloadLen]
// is the payload. Jumbograms (RFC 2675) are not supported: their payload
// length of 0 reads as an empty payload.
func ParseIPv6(b []byte) (IPv6Header, error) {
	if len(b) < IPv6HeaderLen {
		return IPv6Header{}, ErrShort
	}
	if b[0]>>4 != 6 {
		return IPv6Header{}, ErrVersion
	}
	pl := int(binary.BigEndian.Uint16(b[4:6]))
	if IPv6HeaderLen+pl > len(b) {
		return IPv6Header{}, ErrTotalLen
	}
	vtf := binary.BigEndian.Uint32(b[0:4])
	return IPv6Header{
		TrafficClass: uint8(vtf >> 20),
		FlowLabel:    vtf & 0xfffff,
		PayloadLen:   pl,
		NextHeader:   b[6],
		HopLimit:     b[7],
		Src:          netip.AddrFrom16([16]byte(b[8:24])),
		Dst:          netip.AddrFrom16([16]byte(b[24:40])),
	}, nil
}

// Encode writes h as a fixed IPv6 header into b. Src and Dst must be IPv6
// addresses (not IPv4-mapped).
func (h *IPv6Header) Encode(b []byte) (int, error) {
	if len(b) < IPv6HeaderLen {
		return 0, ErrNoSpace
	}
	if !is6(h.Src) || !is6(h.Dst) {
		return 0, ErrAddr
	}
	if h.PayloadLen < 0 || h.PayloadLen > 0xffff {
		return 0, ErrTotalLen
	}
	binary.BigEndian.PutUint32(b[0:4], 6<<28|uint32(h.TrafficClass)<<20|h.FlowLabel&0xfffff)
	binary.BigEndian.PutUint16(b[4:6], uint16(h.PayloadLen))
	b[6] = h.NextHeader
	b[7] = h.HopLimit
	src, dst := h.Src.As16(), h.Dst.As16()
	copy(b[8:24], src[:])
	copy(b[24:40], dst[:])
	return IPv6HeaderLen, nil
}

// is6 reports whether a is a genuine IPv6 address; IPv4-mapped addresses
// would put an IPv4 host on an IPv6 wire.
func is6(a netip.Addr) bool {
	return a.Is6() && !a.Is4In6()
}

// upperLayer walks the extension headers that can precede the upper-layer
// header (RFC 8200 section 4) starting with next over b, the IPv6 payload,
// and returns the upper-layer protocol and its bytes. A non-first fragment
// is reported as ErrNotFirstFragment, since its upper-layer header is
// elsewhere. Every step consumes at least 8 bytes, so the walk ends.
func upperLayer(next uint8, b []byte) (uint8, []byte, error) {
	for {
		var n int
		switch next {
		case ProtoHopByHop, ProtoRouting, ProtoDestOpts:
			if len(b) < 8 {
				return 0, nil, ErrShort
			}
			n = (int(b[1]) + 1) * 8
		case ProtoFragment:
			if len(b) < 8 {
				return 0, nil, ErrShort
			}
			if binary.BigEndian.Uint16(b[2:4])>>3 != 0 {
				return 0, nil, ErrNotFirstFragment
			}
			n = 8
		case ProtoAH:
			if len(b) < 8 {
				return 0, nil, ErrShort
			}
			n = (int(b[1]) + 2) * 4
		default:
			return next, b, nil
		}
		if n > len(b) {
			return 0, nil, ErrShort
		}
		next, b = b[0], b[n:]
	}
}
