package isakmp

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// A Payload is one ISAKMP payload. The concrete types are *SA, *KE, *ID,
// *Hash, *Nonce, *Notification, *Delete, *VendorID, *NATD, *NATOA and
// *RawPayload for every other type (certificates, signatures, and types this
// package does not know: IKEv1 has no critical bit, so an unknown payload is
// carried, and skipped, by its length).
type Payload interface {
	// PayloadType is the payload's type, as announced by the preceding
	// Next Payload field.
	PayloadType() PayloadType
	// AppendBody appends the payload body, without the 4-byte generic
	// payload header, to b. It validates the fields as the parser would.
	AppendBody(b []byte) ([]byte, error)
}

// genericHeaderLen is the length of the generic payload header (RFC 2408
// section 3.2): Next Payload (1) | RESERVED (1) | Payload Length (2).
const genericHeaderLen = 4

// A Span locates one payload of a chain in the buffer it was split from.
// IKEv1 hashes cover payloads as they appear on the wire (the SA body in
// HASH_I, everything after the HASH payload in Quick Mode), so the IKE
// engine needs these positions, not only the parsed values.
type Span struct {
	Type  PayloadType
	Start int // offset of the generic payload header
	End   int // offset just past the payload
}

// Body returns the payload body within b, the buffer the span came from.
func (s Span) Body(b []byte) []byte { return b[s.Start+genericHeaderLen : s.End] }

// SplitPayloads walks the chain of generic payload headers in b, starting
// with a payload of type first (the header's Next Payload), and returns where
// each payload lies. The chain must end exactly at the end of b. Bodies are
// not parsed.
func SplitPayloads(first PayloadType, b []byte) ([]Span, error) {
	return splitChain(first, b, false, 0)
}

// SplitPlaintext is SplitPayloads for a decrypted message body: the padding
// to the cipher's block size that an encrypted IKEv1 message carries may
// follow the last payload and is ignored, whatever its content. The padding
// starts at the End of the last span.
func SplitPlaintext(first PayloadType, b []byte) ([]Span, error) {
	return splitChain(first, b, true, 0)
}

// ParsePayloads parses the chain of payloads in b, starting with a payload of
// type first. The chain must end exactly at the end of b. Error offsets
// count from the start of b.
func ParsePayloads(first PayloadType, b []byte) ([]Payload, error) {
	return parseChain(first, b, false, 0)
}

// ParsePlaintext is ParsePayloads for a decrypted message body, which may
// carry block-cipher padding after the last payload.
func ParsePlaintext(first PayloadType, b []byte) ([]Payload, error) {
	return parseChain(first, b, true, 0)
}

// ParsePayload parses the body of one payload of type t (without its
// generic header). Error offsets count from the start of body.
func ParsePayload(t PayloadType, body []byte) (Payload, error) {
	var p interface {
		Payload
		Parse(body []byte) error
	}
	switch t {
	case PayloadSA:
		p = new(SA)
	case PayloadKE:
		p = new(KE)
	case PayloadID:
		p = new(ID)
	case PayloadHash:
		p = new(Hash)
	case PayloadNonce:
		p = new(Nonce)
	case PayloadNotification:
		p = new(Notification)
	case PayloadDelete:
		p = new(Delete)
	case PayloadVendorID:
		p = new(VendorID)
	case PayloadNATD, PayloadNATDDraft:
		p = &NATD{Draft: t == PayloadNATDDraft}
	case PayloadNATOA, PayloadNATOADraft:
		p = &NATOA{Draft: t == PayloadNATOADraft}
	default:
		p = &RawPayload{Type: t}
	}
	if err := p.Parse(body); err != nil {
		return nil, err
	}
	return p, nil
}

// MarshalPayloads encodes payloads as a chain: each with its generic header,
// Next Payload and Payload Length filled in. The first payload's type goes
// in the message header. For an encrypted message this is the plaintext to
// pad and encrypt; MarshalPayloads(ps[1:]) gives the bytes that a Quick Mode
// HASH payload ps[0] covers.
func MarshalPayloads(payloads []Payload) ([]byte, error) {
	return appendChain(nil, payloads)
}

func splitChain(first PayloadType, b []byte, padded bool, base int) ([]Span, error) {
	var spans []Span
	off := 0
	for t := first; t != PayloadNone; {
		if len(spans) == MaxPayloads {
			return nil, perr(t.String(), base+off, ErrTooManyPayloads)
		}
		if len(b)-off < genericHeaderLen {
			return nil, perr(t.String(), base+off, ErrShortPayload)
		}
		n := int(binary.BigEndian.Uint16(b[off+2:]))
		if n < genericHeaderLen || n > len(b)-off {
			return nil, perr(t.String(), base+off+2, ErrPayloadLength)
		}
		spans = append(spans, Span{Type: t, Start: off, End: off + n})
		t = PayloadType(b[off])
		off += n
	}
	if off != len(b) && !padded {
		return nil, perr("", base+off, ErrTrailingData)
	}
	return spans, nil
}

func parseChain(first PayloadType, b []byte, padded bool, base int) ([]Payload, error) {
	spans, err := splitChain(first, b, padded, base)
	if err != nil {
		return nil, err
	}
	ps := make([]Payload, 0, len(spans))
	for _, s := range spans {
		p, err := ParsePayload(s.Type, s.Body(b))
		if err != nil {
			return nil, nest(err, "", base+s.Start+genericHeaderLen)
		}
		ps = append(ps, p)
	}
	return ps, nil
}

func appendChain(b []byte, payloads []Payload) ([]byte, error) {
	if len(payloads) > MaxPayloads {
		return nil, fmt.Errorf("isakmp: marshal: %w", ErrTooManyPayloads)
	}
	for i, p := range payloads {
		if p == nil {
			return nil, fmt.Errorf("isakmp: marshal: payload %d is nil", i+1)
		}
		next := PayloadNone
		if i+1 < len(payloads) && payloads[i+1] != nil {
			next = payloads[i+1].PayloadType()
		}
		var err error
		b, err = appendWithHeader(b, byte(next), p.AppendBody)
		if err != nil {
			return nil, fmt.Errorf("isakmp: marshal %v: %w", p.PayloadType(), err)
		}
	}
	return b, nil
}

// appendWithHeader appends a generic payload header with the given next
// payload byte, then whatever body appends, and fills in the length.
// Proposals and transforms share the layout.
func appendWithHeader(b []byte, next byte, body func([]byte) ([]byte, error)) ([]byte, error) {
	start := len(b)
	b = append(b, next, 0, 0, 0)
	b, err := body(b)
	if err != nil {
		return nil, err
	}
	n := len(b) - start
	if n > 0xffff {
		return nil, ErrPayloadTooLong
	}
	binary.BigEndian.PutUint16(b[start+2:], uint16(n))
	return b, nil
}

// A RawPayload is a payload kept as bytes: certificates, certificate
// requests, signatures, and any type this package does not parse.
type RawPayload struct {
	Type PayloadType
	Body []byte
}

// PayloadType implements Payload.
func (p *RawPayload) PayloadType() PayloadType { return p.Type }

// Parse copies body into p.Body; p.Type is left as it is.
func (p *RawPayload) Parse(body []byte) error {
	p.Body = bytes.Clone(body)
	return nil
}

// AppendBody implements Payload.
func (p *RawPayload) AppendBody(b []byte) ([]byte, error) {
	return append(b, p.Body...), nil
}
