package isakmp

import (
	"encoding/binary"
	"fmt"
)

// HeaderLen is the length of the ISAKMP header.
const HeaderLen = 28

// Version1 is the only version this package speaks: major 1, minor 0.
const Version1 = 0x10

// A Header is the fixed ISAKMP header (RFC 2408 section 3.1):
//
//	Initiator Cookie (8) | Responder Cookie (8) |
//	Next Payload (1) | MjVer (4 bits) MnVer (4 bits) | Exchange Type (1) |
//	Flags (1) | Message ID (4) | Length (4)
type Header struct {
	InitiatorCookie [8]byte
	ResponderCookie [8]byte
	NextPayload     PayloadType
	Version         uint8 // 0x10; Marshal writes 0x10 for 0
	Exchange        ExchangeType
	Flags           Flags
	MessageID       uint32
	Length          uint32 // of the whole message, header included
}

// ParseHeader parses the header at the start of b. It checks the header's own
// fields (version, flags, a length of at least HeaderLen) but not the length
// against len(b); SplitMessage and ParseMessage do that.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return Header{}, perr("header", len(b), ErrShortHeader)
	}
	var h Header
	copy(h.InitiatorCookie[:], b[0:8])
	copy(h.ResponderCookie[:], b[8:16])
	h.NextPayload = PayloadType(b[16])
	h.Version = b[17]
	h.Exchange = ExchangeType(b[18])
	h.Flags = Flags(b[19])
	h.MessageID = binary.BigEndian.Uint32(b[20:24])
	h.Length = binary.BigEndian.Uint32(b[24:28])
	if err := h.check(); err != nil {
		return Header{}, err
	}
	return h, nil
}

// check validates the fields a receiver rejects, naming the faulty offset.
func (h *Header) check() *ParseError {
	switch {
	case h.Version>>4 != Version1>>4:
		return perr("header", 17, ErrMajorVersion)
	case h.Version&0x0f != Version1&0x0f:
		return perr("header", 17, ErrMinorVersion)
	case h.Flags&^flagsDefined != 0:
		return perr("header", 19, ErrInvalidFlags)
	case h.Length < HeaderLen:
		return perr("header", 24, ErrMessageLength)
	}
	return nil
}

// Marshal returns the 28 header bytes, with Length as set by the caller.
// Message.Marshal fills in NextPayload and Length itself; an IKE engine
// building an encrypted message sets them (Length = HeaderLen + ciphertext
// length) and appends the ciphertext.
func (h *Header) Marshal() ([]byte, error) {
	return h.append(make([]byte, 0, HeaderLen))
}

func (h *Header) append(b []byte) ([]byte, error) {
	hh := *h
	if hh.Version == 0 {
		hh.Version = Version1
	}
	if err := hh.check(); err != nil {
		return nil, fmt.Errorf("isakmp: marshal header: %w", err.Err)
	}
	b = append(b, hh.InitiatorCookie[:]...)
	b = append(b, hh.ResponderCookie[:]...)
	b = append(b, byte(hh.NextPayload), hh.Version, byte(hh.Exchange), byte(hh.Flags))
	b = binary.BigEndian.AppendUint32(b, hh.MessageID)
	b = binary.BigEndian.AppendUint32(b, hh.Length)
	return b, nil
}
