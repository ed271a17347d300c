package packet

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// Sum adds the 16-bit big-endian words of b to initial in one's complement
// arithmetic (RFC 1071) and returns the sum folded to 16 bits. An odd final
// byte is padded with zero. The result can be passed back as initial, which
// is how a pseudo-header and a payload in separate buffers are summed.
func Sum(b []byte, initial uint32) uint32 {
	// One's complement addition is associative and indifferent to word size
	// as long as carries wrap around, so summing 64-bit words with an
	// end-around carry and folding at the end gives the 16-bit result with a
	// quarter of the additions.
	s := uint64(initial)
	var c uint64
	for len(b) >= 32 {
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b[0:8]), c)
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b[8:16]), c)
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b[16:24]), c)
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b[24:32]), c)
		b = b[32:]
	}
	for len(b) >= 8 {
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b), c)
		b = b[8:]
	}
	if len(b) >= 4 {
		s, c = bits.Add64(s, uint64(binary.BigEndian.Uint32(b)), c)
		b = b[4:]
	}
	if len(b) >= 2 {
		s, c = bits.Add64(s, uint64(binary.BigEndian.Uint16(b)), c)
		b = b[2:]
	}
	if len(b) == 1 {
		s, c = bits.Add64(s, uint64(b[0])<<8, c)
	}
	s, c = bits.Add64(s, 0, c)
	s += c // cannot carry again: c is 1 only if s just wrapped to 0
	return fold(s)
}

// fold reduces a one's complement accumulator to 16 bits.
func fold(s uint64) uint32 {
	s = s&0xffffffff + s>>32
	s = s&0xffff + s>>16
	s = s&0xffff + s>>16
	s = s&0xffff + s>>16
	return uint32(s)
}

// Checksum returns the Internet checksum (RFC 1071) of b with initial, a
// partial Sum such as PseudoHeaderSum, already added: the value to store in
// a checksum field that was zero while summing. Over data that includes a
// correct checksum field it returns 0.
func Checksum(b []byte, initial uint32) uint16 {
	return ^uint16(Sum(b, initial))
}

// PseudoHeaderSum returns the partial sum of the pseudo-header that TCP,
// UDP (RFC 768, RFC 9293) and ICMPv6 (RFC 8200 section 8.1) put in front of
// their checksum: the addresses, the protocol and the upper-layer length.
// src and dst must be of the same family.
func PseudoHeaderSum(proto uint8, src, dst netip.Addr, length int) uint32 {
	var s uint64
	if src.Is4() && dst.Is4() {
		a, b := src.As4(), dst.As4()
		s = uint64(binary.BigEndian.Uint32(a[:])) + uint64(binary.BigEndian.Uint32(b[:]))
	} else {
		a, b := src.As16(), dst.As16()
		s = uint64(Sum(a[:], 0)) + uint64(Sum(b[:], 0))
	}
	// The IPv6 pseudo-header has a 32-bit length; summing it as two 16-bit
	// words covers both layouts.
	s += uint64(proto) + uint64(uint32(length)>>16) + uint64(uint32(length)&0xffff)
	return fold(s)
}

// UpdateChecksum returns checksum adjusted for one 16-bit word of the
// covered data changing from old to updated, without summing the data again
// (RFC 1624 equation 3: HC' = ~(~HC + ~m + m')). The word must be at an even
// offset from the start of the summed data; for a word at an odd offset pass
// both values byte-swapped.
func UpdateChecksum(checksum, old, updated uint16) uint16 {
	s := uint64(^checksum) + uint64(^old) + uint64(updated)
	return ^uint16(fold(s))
}
