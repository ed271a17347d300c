package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// A Payload is one IKEv2 payload. The concrete types are *SA, *KE, *ID,
// *Cert, *CertReq, *Auth, *Nonce, *Notify, *Delete, *VendorID, *TS,
// *Encrypted, *CP, *EAP, *EncryptedFragment and *Unknown for every other
// type.
type Payload interface {
	// PayloadType is the payload's type, as announced by the preceding
	// Next Payload field.
	PayloadType() PayloadType
	// AppendBody appends the payload body, without the 4-byte generic
	// payload header, to b. It validates the fields as the decoder would.
	AppendBody(b []byte) ([]byte, error)
}

// genericHeaderLen is the length of the generic payload header (RFC 7296
// section 3.2): Next Payload (1) | C (1 bit) RESERVED (7 bits) |
// Payload Length (2).
const genericHeaderLen = 4

// critical is the critical bit of the generic payload header's second octet.
const critical = 0x80

// A Span locates one payload of a chain in the buffer it was split from. The
// AUTH payload signs the ID payload's body as it was sent, reserved octets
// included (RFC 7296 section 2.15), so the engine may need these positions,
// not only the decoded values.
type Span struct {
	Type PayloadType
	// Next is the payload's Next Payload field: the type of the payload
	// that follows, or for SK and the first SKF that of the first inner
	// payload.
	Next     PayloadType
	Critical bool
	Start    int // offset of the generic payload header
	End      int // offset just past the payload
}

// Body returns the payload body within b, the buffer the span came from.
func (s Span) Body(b []byte) []byte { return b[s.Start+genericHeaderLen : s.End] }

// SplitPayloads walks the chain of generic payload headers in b, starting
// with a payload of type first (the header's Next Payload, or the inner
// first type an SK payload announces), and returns where each payload lies.
// The chain must end exactly at the end of b, and an SK or SKF payload must
// be its last. Bodies are not decoded.
func SplitPayloads(first PayloadType, b []byte) ([]Span, error) {
	return splitChain(first, b, 0)
}

// DecodePayloads decodes the chain of payloads in b, starting with a payload
// of type first. The chain must fill b exactly: for decrypted SK content,
// remove the padding with Unpad first. Error offsets count from the start
// of b.
func DecodePayloads(first PayloadType, b []byte) ([]Payload, error) {
	return decodeChain(first, b, 0)
}

// EncodePayloads encodes payloads as a chain: each with its generic header,
// Next Payload and Payload Length filled in; an SK or SKF payload, which must
// be the last, gets the inner first type as its Next Payload. The first
// payload's type goes in the message header or, for the inner payloads of an
// SK payload, in the SK payload's First.
func EncodePayloads(payloads []Payload) ([]byte, error) {
	return AppendPayloads(nil, payloads)
}

// AppendPayloads is EncodePayloads appending to b.
func AppendPayloads(b []byte, payloads []Payload) ([]byte, error) {
	if len(payloads) > MaxPayloads {
		return nil, fmt.Errorf("ikev2: encode: %w", ErrTooManyPayloads)
	}
	for i, p := range payloads {
		if p == nil || p.PayloadType() == PayloadNone {
			return nil, fmt.Errorf("ikev2: encode: payload %d is nil or of type 0", i+1)
		}
		next := PayloadNone
		if i+1 < len(payloads) && payloads[i+1] != nil {
			next = payloads[i+1].PayloadType()
		}
		var flags byte
		switch q := p.(type) {
		case *Encrypted:
			next = q.First
		case *EncryptedFragment:
			next = q.First
		case *Unknown:
			if q.Critical {
				flags = critical
			}
		}
		if t := p.PayloadType(); (t == PayloadSK || t == PayloadSKF) && i != len(payloads)-1 {
			return nil, fmt.Errorf("ikev2: encode %v: %w", t, ErrEncryptedNotLast)
		}
		var err error
		b, err = appendWithHeader(b, byte(next), flags, p.AppendBody)
		if err != nil {
			return nil, fmt.Errorf("ikev2: encode %v: %w", p.PayloadType(), err)
		}
	}
	return b, nil
}

func splitChain(first PayloadType, b []byte, base int) ([]Span, error) {
	var spans []Span
	off := 0
	for t := first; t != PayloadNone; {
		if len(spans) == MaxPayloads {
			return nil, derr(t, t.String(), base+off, ErrTooManyPayloads)
		}
		if len(b)-off < genericHeaderLen {
			return nil, derr(t, t.String(), base+off, ErrShortPayload)
		}
		n := int(binary.BigEndian.Uint16(b[off+2:]))
		if n < genericHeaderLen || n > len(b)-off {
			return nil, derr(t, t.String(), base+off+2, ErrPayloadLength)
		}
		next := PayloadType(b[off])
		spans = append(spans, Span{
			Type:     t,
			Next:     next,
			Critical: b[off+1]&critical != 0,
			Start:    off,
			End:      off + n,
		})
		off += n
		if t == PayloadSK || t == PayloadSKF {
			if off != len(b) {
				return nil, derr(t, t.String(), base+off, ErrEncryptedNotLast)
			}
			break
		}
		t = next
	}
	if off != len(b) {
		return nil, derr(0, "", base+off, ErrTrailingData)
	}
	return spans, nil
}

func decodeChain(first PayloadType, b []byte, base int) ([]Payload, error) {
	spans, err := splitChain(first, b, base)
	if err != nil || len(spans) == 0 {
		return nil, err
	}
	ps := make([]Payload, 0, len(spans))
	for _, s := range spans {
		if !s.Type.known() && s.Critical {
			return nil, derr(s.Type, s.Type.String(), base+s.Start+1, ErrUnsupportedCritical)
		}
		p, err := decodePayload(s.Type, s.Next, s.Body(b))
		if err != nil {
			return nil, nest(err, s.Type, "", base+s.Start+genericHeaderLen)
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// decodePayload decodes the body of a payload of type t whose Next Payload
// field is next.
func decodePayload(t, next PayloadType, body []byte) (Payload, error) {
	var p interface {
		Payload
		Decode(body []byte) error
	}
	switch t {
	case PayloadSA:
		p = new(SA)
	case PayloadKE:
		p = new(KE)
	case PayloadIDi, PayloadIDr:
		p = &ID{Responder: t == PayloadIDr}
	case PayloadCert:
		p = new(Cert)
	case PayloadCertReq:
		p = new(CertReq)
	case PayloadAuth:
		p = new(Auth)
	case PayloadNonce:
		p = new(Nonce)
	case PayloadNotify:
		p = new(Notify)
	case PayloadDelete:
		p = new(Delete)
	case PayloadVendorID:
		p = new(VendorID)
	case PayloadTSi, PayloadTSr:
		p = &TS{Responder: t == PayloadTSr}
	case PayloadSK:
		p = &Encrypted{First: next}
	case PayloadCP:
		p = new(CP)
	case PayloadEAP:
		p = new(EAP)
	case PayloadSKF:
		p = &EncryptedFragment{First: next}
	default:
		p = &Unknown{Type: t}
	}
	if err := p.Decode(body); err != nil {
		var de *DecodeError
		if !errors.As(err, &de) {
			err = derr(t, t.String(), 0, err)
		}
		return nil, err
	}
	return p, nil
}

// appendWithHeader appends a generic payload header with the given next
// payload and flags octets, then whatever body appends, and fills in the
// length. Proposals and transforms share the layout.
func appendWithHeader(b []byte, next, flags byte, body func([]byte) ([]byte, error)) ([]byte, error) {
	start := len(b)
	b = append(b, next, flags, 0, 0)
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

// An Unknown is a payload of a type this package does not know, kept as
// bytes so that a message encodes back as it came. RFC 7296 section 2.5 has
// a receiver skip it; Decode refuses it when its critical bit is set. An
// engine can also build one to test how a peer treats a critical payload.
type Unknown struct {
	Type     PayloadType
	Critical bool
	Body     []byte
}

// PayloadType implements Payload.
func (p *Unknown) PayloadType() PayloadType { return p.Type }

// Decode copies body into p.Body; p.Type and p.Critical are left as they are.
func (p *Unknown) Decode(body []byte) error {
	p.Body = clone(body)
	return nil
}

// AppendBody implements Payload.
func (p *Unknown) AppendBody(b []byte) ([]byte, error) {
	return append(b, p.Body...), nil
}

// clone copies b for a decoded value, which must not alias the input; an
// empty b gives nil, as a value built in code would have it.
func clone(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return bytes.Clone(b)
}
