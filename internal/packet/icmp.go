package packet

import (
	"encoding/binary"
	"net/netip"
)

const (
	icmpHeaderLen = 8 // type, code, checksum and 4 bytes that depend on the type

	icmpv4DestUnreach  = 3
	icmpv4FragNeeded   = 4  // code of icmpv4DestUnreach
	icmpv4MaxKnownType = 18 // Linux treats higher, unknown types as errors; so do we
	icmpv6PacketTooBig = 2
	icmpv6FirstInfo    = 128 // ICMPv6 types below this are errors (RFC 4443 2.1)

	// icmpTTL is the TTL and hop limit of the errors we originate, the usual
	// Linux default; the peer may be many hops away.
	icmpTTL = 64
	// tosInternetControl is the IP precedence of ICMP errors (RFC 1812
	// 4.3.2.5 and Linux), so they are not queued behind the data they
	// complain about.
	tosInternetControl = 0xc0
)

// icmpv4Error reports whether an ICMPv4 message of the given type is an
// error message (RFC 792, RFC 1122 3.2.2).
func icmpv4Error(typ uint8) bool {
	switch typ {
	case 3, 4, 5, 11, 12: // unreachable, source quench, redirect, time exceeded, parameter problem
		return true
	}
	return typ > icmpv4MaxKnownType
}

// FragNeeded builds in dst an ICMPv4 destination unreachable, fragmentation
// needed and DF set (type 3 code 4) with the next-hop MTU field set (RFC
// 1191), from the address from to the source of orig, the IPv4 packet that
// did not fit. It quotes the header of orig and the first 8 bytes of its
// payload and returns the length of the packet built. dst must not overlap
// orig; 20+8+60+8 bytes always suffice.
//
// It refuses, with an error, to answer what RFC 1122 3.2.2 says must not
// be answered: ICMP errors (ErrICMPError), non-first fragments
// (ErrNotFirstFragment) and packets from or to no single host
// (ErrNotUnicast).
func FragNeeded(dst []byte, orig []byte, from netip.Addr, mtu int) (int, error) {
	if !from.Is4() {
		return 0, ErrAddr
	}
	if mtu < IPv4MinMTU || mtu > 0xffff {
		return 0, ErrMTU
	}
	h, err := ParseIPv4(orig)
	if err != nil {
		return 0, err
	}
	if h.FragOffset != 0 {
		return 0, ErrNotFirstFragment
	}
	if !unicast4(h.Src) || h.Dst.IsMulticast() || h.Dst == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return 0, ErrNotUnicast
	}
	payload := orig[h.HeaderLen:h.TotalLen]
	// A truncated ICMP message may be an error too; stay silent about it.
	if h.Protocol == ProtoICMP && (len(payload) == 0 || icmpv4Error(payload[0])) {
		return 0, ErrICMPError
	}
	quote := h.HeaderLen + min(8, len(payload))
	n := IPv4HeaderLen + icmpHeaderLen + quote
	if len(dst) < n {
		return 0, ErrNoSpace
	}
	ip := IPv4Header{
		TOS:      tosInternetControl,
		TotalLen: n,
		TTL:      icmpTTL,
		Protocol: ProtoICMP,
		Src:      from,
		Dst:      h.Src,
	}
	if _, err := ip.Encode(dst); err != nil {
		return 0, err
	}
	icmp := dst[IPv4HeaderLen:n]
	icmp[0] = icmpv4DestUnreach
	icmp[1] = icmpv4FragNeeded
	binary.BigEndian.PutUint16(icmp[2:4], 0)
	binary.BigEndian.PutUint16(icmp[4:6], 0) // unused
	binary.BigEndian.PutUint16(icmp[6:8], uint16(mtu))
	copy(icmp[icmpHeaderLen:], orig[:quote])
	binary.BigEndian.PutUint16(icmp[2:4], Checksum(icmp, 0))
	return n, nil
}

// unicast4 reports whether a can be the source of a packet from a single
// host: not in 0/8, loopback, multicast, reserved or broadcast.
func unicast4(a netip.Addr) bool {
	b := a.As4()
	return b[0] != 0 && b[0] != 127 && b[0] < 224
}

// PacketTooBig builds in dst an ICMPv6 packet too big message (RFC 4443
// 3.2) carrying mtu, from the address from to the source of orig, the IPv6
// packet that did not fit. It quotes as much of orig as keeps the message
// within the IPv6 minimum MTU of 1280 bytes and returns the length of the
// packet built. dst must not overlap orig; 1280 bytes always suffice.
//
// It refuses, with an error, ICMPv6 errors (ErrICMPError), non-first
// fragments (ErrNotFirstFragment) and packets whose source is not a single
// host (ErrNotUnicast). Unlike other errors, packet too big is sent about
// multicast destinations (RFC 4443 2.4 e.3).
func PacketTooBig(dst []byte, orig []byte, from netip.Addr, mtu int) (int, error) {
	if !is6(from) {
		return 0, ErrAddr
	}
	if mtu < IPv6MinMTU || mtu > 0xffff {
		return 0, ErrMTU
	}
	h, err := ParseIPv6(orig)
	if err != nil {
		return 0, err
	}
	if h.Src.IsUnspecified() || h.Src.IsMulticast() || h.Src.IsLoopback() || h.Src.Is4In6() {
		return 0, ErrNotUnicast
	}
	orig = orig[:IPv6HeaderLen+h.PayloadLen]
	proto, upper, err := upperLayer(h.NextHeader, orig[IPv6HeaderLen:])
	if err != nil {
		return 0, err
	}
	if proto == ProtoICMPv6 && (len(upper) == 0 || upper[0] < icmpv6FirstInfo) {
		return 0, ErrICMPError
	}
	quote := min(len(orig), IPv6MinMTU-IPv6HeaderLen-icmpHeaderLen)
	n := IPv6HeaderLen + icmpHeaderLen + quote
	if len(dst) < n {
		return 0, ErrNoSpace
	}
	ip := IPv6Header{
		PayloadLen: n - IPv6HeaderLen,
		NextHeader: ProtoICMPv6,
		HopLimit:   icmpTTL,
		Src:        from,
		Dst:        h.Src,
	}
	if _, err := ip.Encode(dst); err != nil {
		return 0, err
	}
	icmp := dst[IPv6HeaderLen:n]
	icmp[0] = icmpv6PacketTooBig
	icmp[1] = 0
	binary.BigEndian.PutUint16(icmp[2:4], 0)
	binary.BigEndian.PutUint32(icmp[4:8], uint32(mtu))
	copy(icmp[icmpHeaderLen:], orig[:quote])
	sum := PseudoHeaderSum(ProtoICMPv6, from, h.Src, len(icmp))
	binary.BigEndian.PutUint16(icmp[2:4], Checksum(icmp, sum))
	return n, nil
}
