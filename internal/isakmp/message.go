package isakmp

import (
	"encoding/binary"
	"fmt"
)

// A Message is an ISAKMP header and the payloads that follow it in clear
// text. Encrypted messages are handled in two steps instead: SplitMessage
// gives the header and the ciphertext, the caller decrypts, and
// ParsePlaintext parses the payloads.
type Message struct {
	Header
	Payloads []Payload
}

// SplitMessage checks the header of the datagram b and returns it with the
// message body, b[HeaderLen:Length], which aliases b. It rejects a datagram
// shorter (ErrTruncated) or longer (ErrTrailingData) than the header's Length.
// For an encrypted message the body is the ciphertext.
func SplitMessage(b []byte) (Header, []byte, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return Header{}, nil, err
	}
	switch {
	case uint64(h.Length) > uint64(len(b)):
		return Header{}, nil, perr("header", 24, ErrTruncated)
	case uint64(h.Length) < uint64(len(b)):
		return Header{}, nil, perr("", int(h.Length), ErrTrailingData)
	}
	return h, b[HeaderLen:h.Length], nil
}

// ParseMessage parses an unencrypted ISAKMP message that fills the datagram
// b exactly. Error offsets count from the start of b. An encrypted message
// yields ErrEncrypted.
func ParseMessage(b []byte) (*Message, error) {
	h, body, err := SplitMessage(b)
	if err != nil {
		return nil, err
	}
	if h.Flags&FlagEncryption != 0 {
		return nil, perr("header", 19, ErrEncrypted)
	}
	ps, err := parseChain(h.NextPayload, body, false, HeaderLen)
	if err != nil {
		return nil, err
	}
	return &Message{Header: h, Payloads: ps}, nil
}

// Marshal encodes the message in clear text. It sets the header's Next
// Payload from the first payload and its Length from the encoding; the
// Header fields of m are left as they are. A message with FlagEncryption
// set is refused: encrypt the output of MarshalPayloads instead.
func (m *Message) Marshal() ([]byte, error) {
	if m.Flags&FlagEncryption != 0 {
		return nil, fmt.Errorf("isakmp: marshal message: %w", ErrEncrypted)
	}
	h := m.Header
	h.NextPayload = PayloadNone
	if len(m.Payloads) > 0 && m.Payloads[0] != nil {
		h.NextPayload = m.Payloads[0].PayloadType()
	}
	h.Length = HeaderLen
	b, err := h.append(make([]byte, 0, 256))
	if err != nil {
		return nil, err
	}
	b, err = appendChain(b, m.Payloads)
	if err != nil {
		return nil, err
	}
	// At most MaxPayloads payloads of at most 64 KiB each: this fits.
	binary.BigEndian.PutUint32(b[24:28], uint32(len(b)))
	return b, nil
}
