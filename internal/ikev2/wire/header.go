package wire

import (
	"encoding/binary"
	"fmt"
)

// HeaderLen is the length of the IKE header.
const HeaderLen = 28

// Version is the version octet this package writes: major 2, minor 0.
const Version = 0x20

// A Header is the fixed IKE header (RFC 7296 section 3.1):
//
//	IKE SA Initiator's SPI (8) | IKE SA Responder's SPI (8) |
//	Next Payload (1) | MjVer (4 bits) MnVer (4 bits) | Exchange Type (1) |
//	Flags (1) | Message ID (4) | Length (4)
//
// The version is not a field: decoding requires major version 2 and ignores
// the minor version, as RFC 7296 says a receiver must; encoding writes 2.0.
// Likewise decoding drops the reserved flag bits, and encoding refuses them.
type Header struct {
	SPIi        [8]byte
	SPIr        [8]byte // zero in the first IKE_SA_INIT request
	NextPayload PayloadType
	Exchange    ExchangeType
	Flags       Flags
	MessageID   uint32
	Length      uint32 // of the whole message, header included
}

// DecodeHeader decodes the header at the start of b. It checks the header's
// own fields (the major version, a length of at least HeaderLen) but not the
// length against len(b); Decode and SplitProtected do that. An engine reads
// the header first to answer even a message it cannot decode: the SPIs and
// message ID say which IKE SA and request an error notify answers.
func DecodeHeader(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return Header{}, derr(0, "header", len(b), ErrShortHeader)
	}
	if b[17]>>4 != Version>>4 {
		return Header{}, derr(0, "header", 17, ErrMajorVersion)
	}
	var h Header
	copy(h.SPIi[:], b[0:8])
	copy(h.SPIr[:], b[8:16])
	h.NextPayload = PayloadType(b[16])
	h.Exchange = ExchangeType(b[18])
	h.Flags = Flags(b[19]) & flagsDefined
	h.MessageID = binary.BigEndian.Uint32(b[20:24])
	h.Length = binary.BigEndian.Uint32(b[24:28])
	if h.Length < HeaderLen {
		return Header{}, derr(0, "header", 24, ErrMessageLength)
	}
	return h, nil
}

// Append appends the 28 header bytes, with Length as set in h, to b.
// Message.Append fills in NextPayload and Length itself.
func (h *Header) Append(b []byte) ([]byte, error) {
	if h.Flags&^flagsDefined != 0 {
		return nil, fmt.Errorf("ikev2: encode header: flags %v: %w", h.Flags, ErrFlags)
	}
	if h.Length < HeaderLen {
		return nil, fmt.Errorf("ikev2: encode header: %w", ErrMessageLength)
	}
	b = append(b, h.SPIi[:]...)
	b = append(b, h.SPIr[:]...)
	b = append(b, byte(h.NextPayload), Version, byte(h.Exchange), byte(h.Flags))
	b = binary.BigEndian.AppendUint32(b, h.MessageID)
	return binary.BigEndian.AppendUint32(b, h.Length), nil
}
