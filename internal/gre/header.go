// Package gre encodes and decodes Generic Routing Encapsulation headers as
// specified by RFC 2784, with the key and sequence number extensions of RFC
// 2890, and implements the keepalive convention of Cisco IOS, in which the
// sender tunnels a GRE packet addressed to itself for the peer to reflect.
//
// The codecs work in place on caller-provided buffers and allocate nothing,
// so they can run once per packet; no input makes them panic. Header and
// the functions are safe for concurrent use on distinct buffers; SeqTracker
// is not safe for concurrent use.
package gre

import (
	"encoding/binary"
	"errors"

	"github.com/gresec/gresec/internal/packet"
)

// Protocol types (EtherTypes) carried in the GRE header.
const (
	// ProtoKeepalive is the protocol type of an IOS keepalive's inner GRE
	// header; a GRE packet of this type carries nothing and, arriving from
	// the peer, is a keepalive reply.
	ProtoKeepalive uint16 = 0x0000
	ProtoIPv4      uint16 = 0x0800
	ProtoIPv6      uint16 = 0x86DD
)

// Header lengths in bytes.
const (
	MinHeaderLen = 4
	MaxHeaderLen = 16 // with checksum, key and sequence number
)

// Bits of the first 16 bits of the header. RFC 2784 section 2 names bit 0
// C and reserves bits 1-12 (Reserved0); RFC 2890 gives bits 2 and 3 to K
// and S. The others are RFC 1701 fields that RFC 2784 deprecated.
const (
	flagChecksum    = 0x8000 // C
	flagRouting     = 0x4000 // R, RFC 1701 routing present
	flagKey         = 0x2000 // K
	flagSeq         = 0x1000 // S
	flagStrictRoute = 0x0800 // s, RFC 1701 strict source route
	flagRecurHigh   = 0x0400 // top bit of RFC 1701 recursion control
	versionMask     = 0x0007
	versionPPTP     = 1 // RFC 2637 enhanced GRE
)

var (
	// ErrShort means the packet ends inside the GRE header.
	ErrShort = errors.New("gre: truncated header")
	// ErrNoSpace means the output buffer cannot hold the header.
	ErrNoSpace = errors.New("gre: buffer too small")
	// ErrVersion means a version other than 0 or 1.
	ErrVersion = errors.New("gre: unsupported version")
	// ErrPPTP means version 1, the enhanced GRE of PPTP (RFC 2637), which
	// is not tunnel traffic.
	ErrPPTP = errors.New("gre: version 1 (PPTP enhanced GRE) not supported")
	// ErrRouting means the RFC 1701 routing present bit, which RFC 2784
	// says to discard.
	ErrRouting = errors.New("gre: routing present (RFC 1701) not supported")
	// ErrReserved means a nonzero bit among Reserved0 bits 4-5 (RFC 1701
	// strict source route and recursion control), which RFC 2784 section
	// 2.3 says to discard. Bits 6-12 are ignored as it requires.
	ErrReserved = errors.New("gre: reserved bits set")
	// ErrBadChecksum means the C bit is set and the checksum does not match
	// the header and payload.
	ErrBadChecksum = errors.New("gre: bad checksum")
)

// Header is a GRE header. The zero value is a 4-byte header for protocol 0.
type Header struct {
	Protocol    uint16 // EtherType of the payload
	HasChecksum bool
	Checksum    uint16 // as read by Decode; written as is by Encode
	HasKey      bool
	Key         uint32
	HasSeq      bool
	Seq         uint32
}

// Len returns the encoded length of h: 4 bytes plus 4 per option present.
func (h *Header) Len() int {
	n := MinHeaderLen
	if h.HasChecksum {
		n += 4
	}
	if h.HasKey {
		n += 4
	}
	if h.HasSeq {
		n += 4
	}
	return n
}

// Encode writes h into b[:h.Len()] and returns h.Len(). The Checksum field
// is written as it is in h; once the payload follows the header, SetChecksum
// computes it (Encapsulate does both).
func (h *Header) Encode(b []byte) (int, error) {
	n := h.Len()
	if len(b) < n {
		return 0, ErrNoSpace
	}
	var flags uint16
	off := MinHeaderLen
	if h.HasChecksum {
		flags |= flagChecksum
		binary.BigEndian.PutUint16(b[off:], h.Checksum)
		binary.BigEndian.PutUint16(b[off+2:], 0) // Reserved1
		off += 4
	}
	if h.HasKey {
		flags |= flagKey
		binary.BigEndian.PutUint32(b[off:], h.Key)
		off += 4
	}
	if h.HasSeq {
		flags |= flagSeq
		binary.BigEndian.PutUint32(b[off:], h.Seq)
	}
	binary.BigEndian.PutUint16(b[0:2], flags)
	binary.BigEndian.PutUint16(b[2:4], h.Protocol)
	return n, nil
}

// Encapsulate writes h into buf immediately before the payload at buf[off:],
// computes the checksum if h has one, and returns the offset at which the
// GRE packet buf[start:] starts. Reserving MaxHeaderLen bytes of headroom
// in front of the payload lets every tunnel encapsulate without copying.
func (h *Header) Encapsulate(buf []byte, off int) (start int, err error) {
	n := h.Len()
	if off < n || off > len(buf) {
		return 0, ErrNoSpace
	}
	start = off - n
	if _, err := h.Encode(buf[start:off]); err != nil {
		return 0, err
	}
	if h.HasChecksum {
		if err := SetChecksum(buf[start:]); err != nil {
			return 0, err
		}
	}
	return start, nil
}

// SetChecksum computes the RFC 2784 checksum over pkt, a whole GRE packet
// (header and payload), and stores it in the header. It does nothing if the
// header has no checksum field.
func SetChecksum(pkt []byte) error {
	if len(pkt) < MinHeaderLen {
		return ErrShort
	}
	if binary.BigEndian.Uint16(pkt[0:2])&flagChecksum == 0 {
		return nil
	}
	if len(pkt) < MinHeaderLen+4 {
		return ErrShort
	}
	binary.BigEndian.PutUint16(pkt[4:6], 0)
	binary.BigEndian.PutUint16(pkt[4:6], packet.Checksum(pkt, 0))
	return nil
}

// Decode parses the GRE packet b, which must end where the GRE packet ends
// (at the outer IP total length) because the checksum covers the payload.
// It returns the header and the payload, a subslice of b.
//
// It rejects what RFC 2784 says to discard: a version other than 0
// (ErrPPTP for version 1, else ErrVersion), the routing present bit
// (ErrRouting), and the strict source route bit or the top recursion
// control bit (ErrReserved). When the C bit is set it verifies the checksum
// (ErrBadChecksum). The Reserved1 field is ignored.
func Decode(b []byte) (Header, []byte, error) {
	if len(b) < MinHeaderLen {
		return Header{}, nil, ErrShort
	}
	flags := binary.BigEndian.Uint16(b[0:2])
	switch flags & versionMask {
	case 0:
	case versionPPTP:
		return Header{}, nil, ErrPPTP
	default:
		return Header{}, nil, ErrVersion
	}
	if flags&flagRouting != 0 {
		return Header{}, nil, ErrRouting
	}
	if flags&(flagStrictRoute|flagRecurHigh) != 0 {
		return Header{}, nil, ErrReserved
	}
	h := Header{
		Protocol:    binary.BigEndian.Uint16(b[2:4]),
		HasChecksum: flags&flagChecksum != 0,
		HasKey:      flags&flagKey != 0,
		HasSeq:      flags&flagSeq != 0,
	}
	n := h.Len()
	if len(b) < n {
		return Header{}, nil, ErrShort
	}
	off := MinHeaderLen
	if h.HasChecksum {
		h.Checksum = binary.BigEndian.Uint16(b[off:])
		off += 4
	}
	if h.HasKey {
		h.Key = binary.BigEndian.Uint32(b[off:])
		off += 4
	}
	if h.HasSeq {
		h.Seq = binary.BigEndian.Uint32(b[off:])
	}
	if h.HasChecksum && packet.Checksum(b, 0) != 0 {
		return Header{}, nil, ErrBadChecksum
	}
	return h, b[n:], nil
}
