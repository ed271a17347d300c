package wire

import "encoding/binary"

// A Message is an IKE header and its payloads. In a protected message the
// last payload is an *Encrypted or *EncryptedFragment whose content stays
// encrypted; see SplitProtected.
type Message struct {
	Header
	Payloads []Payload
}

// Decode decodes an IKE message that fills the datagram b exactly (on port
// 4500, after the four-octet non-ESP marker). It rejects a datagram shorter
// (ErrTruncated) or longer (ErrTrailingData) than the header's Length, and a
// payload chain that does not fill the message. Error offsets count from the
// start of b.
func Decode(b []byte) (*Message, error) {
	h, body, err := split(b)
	if err != nil {
		return nil, err
	}
	ps, err := decodeChain(h.NextPayload, body, HeaderLen)
	if err != nil {
		return nil, err
	}
	return &Message{Header: h, Payloads: ps}, nil
}

// split checks the header of the datagram b and returns it with the message
// body, which aliases b.
func split(b []byte) (Header, []byte, error) {
	h, err := DecodeHeader(b)
	if err != nil {
		return Header{}, nil, err
	}
	switch {
	case uint64(h.Length) > uint64(len(b)):
		return Header{}, nil, derr(0, "header", 24, ErrTruncated)
	case uint64(h.Length) < uint64(len(b)):
		return Header{}, nil, derr(0, "", int(h.Length), ErrTrailingData)
	}
	return h, b[HeaderLen:h.Length], nil
}

// Encode encodes the message. It sets the header's Next Payload from the
// first payload and its Length from the encoding; the Header fields of m are
// left as they are.
func (m *Message) Encode() ([]byte, error) {
	return m.Append(make([]byte, 0, 512))
}

// Append is Encode appending to b.
func (m *Message) Append(b []byte) ([]byte, error) {
	h := m.Header
	h.NextPayload = PayloadNone
	if len(m.Payloads) > 0 && m.Payloads[0] != nil {
		h.NextPayload = m.Payloads[0].PayloadType()
	}
	h.Length = HeaderLen
	start := len(b)
	b, err := h.Append(b)
	if err != nil {
		return nil, err
	}
	b, err = AppendPayloads(b, m.Payloads)
	if err != nil {
		return nil, err
	}
	// At most MaxPayloads payloads of at most 64 KiB each: this fits.
	binary.BigEndian.PutUint32(b[start+24:], uint32(len(b)-start))
	return b, nil
}
