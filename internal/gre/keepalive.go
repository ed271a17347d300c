package gre

import (
	"net/netip"

	"github.com/gresec/gresec/internal/packet"
)

// KeepaliveLen is the length of the inner packet of an IOS keepalive on a
// tunnel without GRE options: an IPv4 header and a 4-byte GRE header.
const KeepaliveLen = packet.IPv4HeaderLen + MinHeaderLen

// keepaliveTTL is the TTL IOS puts on the inner packet, so the reflection
// survives whatever routing the peer does.
const keepaliveTTL = 255

// BuildKeepalive writes into dst the inner packet of an IOS keepalive from
// local to peer and returns its length, or 0 if dst is too small or local
// and peer are not both IPv4 or both IPv6.
//
// The inner packet is addressed peer to local with protocol 47 and TTL 255
// and holds a GRE header of protocol type 0 with no payload, with the
// options of h (the tunnel's key, sequence number, checksum); h.Protocol is
// ignored. The caller sends it to peer inside an ordinary GRE packet of
// protocol ProtoIPv4 (ProtoIPv6 for IPv6 addresses); the peer decapsulates
// it and routes it back to local, where it reads as a keepalive reply.
func BuildKeepalive(dst []byte, local, peer netip.Addr, h Header) int {
	h.Protocol = ProtoKeepalive
	h.Checksum = 0
	glen := h.Len()
	var iplen int
	switch {
	case local.Is4() && peer.Is4():
		ip := packet.IPv4Header{
			TotalLen: packet.IPv4HeaderLen + glen,
			TTL:      keepaliveTTL,
			Protocol: packet.ProtoGRE,
			Src:      peer,
			Dst:      local,
		}
		if len(dst) < ip.TotalLen {
			return 0
		}
		n, err := ip.Encode(dst)
		if err != nil {
			return 0
		}
		iplen = n
	default:
		ip := packet.IPv6Header{
			PayloadLen: glen,
			NextHeader: packet.ProtoGRE,
			HopLimit:   keepaliveTTL,
			Src:        peer,
			Dst:        local,
		}
		if len(dst) < packet.IPv6HeaderLen+glen {
			return 0
		}
		n, err := ip.Encode(dst) // rejects anything but two IPv6 addresses
		if err != nil {
			return 0
		}
		iplen = n
	}
	if _, err := h.Encapsulate(dst[:iplen+glen], iplen+glen); err != nil {
		return 0
	}
	return iplen + glen
}

// Keepalive describes an IOS keepalive found inside a GRE packet.
type Keepalive struct {
	// Src and Dst are the addresses of the inner IP header. Dst is the
	// keepalive's sender (or an address of it), where the reflection goes.
	Src, Dst netip.Addr
	// Len is the length of the inner packet, to be sent back as is:
	// inner[:Len].
	Len int
	// GRE is the inner GRE header.
	GRE Header
}

// ParseKeepalive reports whether inner, the payload of a GRE packet of
// protocol ProtoIPv4 or ProtoIPv6, is an IOS keepalive to reflect: an IPv4
// or IPv6 packet carrying GRE directly, whose GRE header is valid and has
// protocol type 0. Any addresses are accepted, since peers use their
// tunnel or private addresses as well as the outer ones. IPv4 fragments and
// packets with a bad IPv4 header checksum are not keepalives. Whether Dst
// is an address worth reflecting to is the caller's policy. It is cheap
// for the ordinary packets that are not keepalives, which fail the first
// byte checks.
func ParseKeepalive(inner []byte) (Keepalive, bool) {
	var k Keepalive
	var gre []byte
	switch packet.Version(inner) {
	case 4:
		if len(inner) < packet.IPv4HeaderLen || inner[9] != packet.ProtoGRE {
			return Keepalive{}, false
		}
		ip, err := packet.ParseIPv4(inner)
		if err != nil || ip.IsFragment() || packet.Checksum(inner[:ip.HeaderLen], 0) != 0 {
			return Keepalive{}, false
		}
		k.Src, k.Dst, k.Len = ip.Src, ip.Dst, ip.TotalLen
		gre = inner[ip.HeaderLen:ip.TotalLen]
	case 6:
		if len(inner) < packet.IPv6HeaderLen || inner[6] != packet.ProtoGRE {
			return Keepalive{}, false
		}
		ip, err := packet.ParseIPv6(inner)
		// IPv4-mapped addresses never appear on an IPv6 wire (RFC 4291
		// 2.5.5.2); refusing them keeps Dst a real IPv6 destination.
		if err != nil || ip.Src.Is4In6() || ip.Dst.Is4In6() {
			return Keepalive{}, false
		}
		k.Src, k.Dst, k.Len = ip.Src, ip.Dst, packet.IPv6HeaderLen+ip.PayloadLen
		gre = inner[packet.IPv6HeaderLen:k.Len]
	default:
		return Keepalive{}, false
	}
	h, _, err := Decode(gre)
	if err != nil || h.Protocol != ProtoKeepalive {
		return Keepalive{}, false
	}
	k.GRE = h
	return k, true
}

// IsKeepaliveReply reports whether a GRE packet with header h, received
// from the tunnel's peer, answers one of our keepalives: any packet of
// protocol type 0 counts, as in IOS.
func (h *Header) IsKeepaliveReply() bool {
	return h.Protocol == ProtoKeepalive
}
