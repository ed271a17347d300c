package packet

import (
	"encoding/binary"
	"math/bits"
)

const (
	tcpHeaderLen  = 20
	tcpFlagSYN    = 0x02
	tcpOptEOL     = 0
	tcpOptNOP     = 1
	tcpOptMSS     = 2
	tcpOptMSSLen  = 4
	tcpChecksumAt = 16
)

// ClampMSS lowers the maximum segment size option of a TCP SYN or SYN-ACK
// in the IPv4 or IPv6 packet pkt to mss when it is larger, and patches the
// TCP checksum incrementally (what IOS calls ip tcp adjust-mss). It reports
// whether it changed the packet.
//
// Packets it cannot read safely are left alone: non-first IPv4 fragments
// (they carry no TCP header), IPv6 packets whose next header is not TCP
// (extension headers are not walked), truncated headers and malformed
// options. No input makes it panic or loop.
func ClampMSS(pkt []byte, mss uint16) bool {
	var seg []byte
	switch Version(pkt) {
	case 4:
		h, err := ParseIPv4(pkt)
		if err != nil || h.Protocol != ProtoTCP || h.FragOffset != 0 {
			return false
		}
		seg = pkt[h.HeaderLen:h.TotalLen]
	case 6:
		h, err := ParseIPv6(pkt)
		if err != nil || h.NextHeader != ProtoTCP {
			return false
		}
		seg = pkt[IPv6HeaderLen : IPv6HeaderLen+h.PayloadLen]
	default:
		return false
	}
	return clampTCP(seg, mss)
}

// clampTCP does ClampMSS on seg, a TCP segment starting at its header.
func clampTCP(seg []byte, mss uint16) bool {
	if len(seg) < tcpHeaderLen || seg[13]&tcpFlagSYN == 0 {
		return false
	}
	doff := int(seg[12]>>4) * 4
	if doff < tcpHeaderLen || doff > len(seg) {
		return false
	}
	opts := seg[tcpHeaderLen:doff]
	for i := 0; i < len(opts); {
		switch opts[i] {
		case tcpOptEOL:
			return false
		case tcpOptNOP:
			i++
			continue
		}
		if i+1 >= len(opts) {
			return false
		}
		n := int(opts[i+1])
		if n < 2 || i+n > len(opts) {
			return false // a length that would stall or overrun the walk
		}
		if opts[i] == tcpOptMSS && n == tcpOptMSSLen {
			return rewriteMSS(seg, tcpHeaderLen+i+2, mss)
		}
		i += n
	}
	return false
}

// rewriteMSS sets the MSS value at seg[at:at+2] to mss if it is larger.
func rewriteMSS(seg []byte, at int, mss uint16) bool {
	old := binary.BigEndian.Uint16(seg[at:])
	if old <= mss {
		return false
	}
	binary.BigEndian.PutUint16(seg[at:], mss)
	// Options need no alignment, so the value may straddle two checksum
	// words; its bytes then count swapped in the sum (RFC 1071 2(B)).
	o, n := old, mss
	if at%2 == 1 {
		o, n = bits.ReverseBytes16(o), bits.ReverseBytes16(n)
	}
	ck := binary.BigEndian.Uint16(seg[tcpChecksumAt:])
	binary.BigEndian.PutUint16(seg[tcpChecksumAt:], UpdateChecksum(ck, o, n))
	return true
}
