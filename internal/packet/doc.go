// Package packet parses and edits IPv4 (RFC 791) and IPv6 (RFC 8200) packets
// in place for the data plane: the Internet checksum (RFC 1071, RFC 1624),
// minimal header views, TCP MSS clamping, and the ICMP errors that make path
// MTU discovery work through a tunnel (RFC 1191, RFC 8201).
//
// Every function works on caller-provided buffers and allocates nothing, so
// it can run once per packet. Functions never panic on malformed input; they
// report it. Nothing in the package keeps state, so all of it is safe for
// concurrent use on distinct buffers.
package packet

import "errors"

// Errors returned for malformed input and for requests the package refuses.
var (
	// ErrShort means the input ends before a header it claims to carry.
	ErrShort = errors.New("packet: truncated packet")
	// ErrNoSpace means the output buffer cannot hold the packet to be built.
	ErrNoSpace = errors.New("packet: output buffer too small")
	// ErrVersion means the IP version nibble is not the one expected.
	ErrVersion = errors.New("packet: wrong IP version")
	// ErrHeaderLen means an IPv4 IHL below 5 or beyond the packet.
	ErrHeaderLen = errors.New("packet: bad IPv4 header length")
	// ErrTotalLen means an IPv4 total length (or IPv6 payload length) that
	// does not fit the header or the buffer.
	ErrTotalLen = errors.New("packet: bad IP total length")
	// ErrAddr means an address argument of the wrong family or not usable
	// as the source of an ICMP error.
	ErrAddr = errors.New("packet: unusable address")
	// ErrMTU means an MTU below the protocol minimum (68 for IPv4, 1280 for
	// IPv6) or above 65535.
	ErrMTU = errors.New("packet: MTU out of range")
	// ErrICMPError means the original packet is itself an ICMP error, which
	// must not be answered with another (RFC 1122 3.2.2, RFC 4443 2.4).
	ErrICMPError = errors.New("packet: original is an ICMP error")
	// ErrNotFirstFragment means the original packet is a non-first fragment,
	// which must not be answered with an ICMP error.
	ErrNotFirstFragment = errors.New("packet: original is a non-first fragment")
	// ErrNotUnicast means the original packet's source does not name a
	// single host (or, for IPv4, its destination is multicast or
	// broadcast), so no ICMP error may be sent about it.
	ErrNotUnicast = errors.New("packet: original is not unicast")
)
