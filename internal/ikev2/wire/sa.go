package wire

import (
	"encoding/binary"
	"fmt"
)

// An SA is a Security Association payload (RFC 7296 section 3.3): a list of
// proposals, in order of preference. A responder's SA holds the one proposal
// it chose, with the number it had in the request.
type SA struct {
	Proposals []Proposal
}

// A Proposal is a proposal substructure (RFC 7296 section 3.3.1):
//
//	Last Substruc (0 or 2) | RESERVED | Proposal Length (2) |
//	Proposal Num (1) | Protocol ID (1) | SPI Size (1) | Num Transforms (1) |
//	SPI (SPI Size) | Transforms
//
// The SPI is empty in an IKE_SA_INIT proposal for the IKE SA, 8 octets when
// CREATE_CHILD_SA rekeys the IKE SA, and 4 octets for AH and ESP. A proposal
// holds at most one transform of each type for each algorithm offered; the
// receiver picks one per type (RFC 7296 section 3.3.6).
type Proposal struct {
	Number     uint8 // 1 for the first proposal, counting up
	Protocol   ProtocolID
	SPI        []byte
	Transforms []Transform
}

// A Transform is a transform substructure (RFC 7296 section 3.3.2):
//
//	Last Substruc (0 or 3) | RESERVED | Transform Length (2) |
//	Transform Type (1) | RESERVED (1) | Transform ID (2) | Transform Attributes
//
// Its ID is one of the Encr*, PRF*, Integ*, Group* or ESN* values, by Type.
type Transform struct {
	Type       TransformType
	ID         uint16
	Attributes []Attribute
}

// minSubstructLen is the length of a proposal or transform without SPI and
// transforms or attributes.
const minSubstructLen = 8

// PayloadType implements Payload.
func (*SA) PayloadType() PayloadType { return PayloadSA }

// Decode decodes an SA payload body, checking that the proposals, transforms
// and attributes nest and chain consistently.
func (sa *SA) Decode(b []byte) error {
	var props []Proposal
	off := 0
	for more := true; more; {
		switch {
		case off == len(b) && len(props) == 0:
			return derr(PayloadSA, "SA", off, ErrNoProposals)
		case off == len(b):
			return derr(PayloadSA, nth("SA/proposal", len(props)+1), off, ErrSubstructureChain)
		case len(props) == MaxProposals:
			return derr(PayloadSA, nth("SA/proposal", len(props)+1), off, ErrTooManyProposals)
		}
		n, last, err := substructure(b[off:], 2)
		if err != nil {
			return nest(err, PayloadSA, nth("SA/proposal", len(props)+1), off)
		}
		var p Proposal
		if err := p.decode(b[off : off+n]); err != nil {
			return nest(err, PayloadSA, nth("SA/proposal", len(props)+1), off)
		}
		props = append(props, p)
		off += n
		more = !last
	}
	if off != len(b) {
		return derr(PayloadSA, "SA", off, ErrSubstructureChain)
	}
	sa.Proposals = props
	return nil
}

// substructure checks the header of a proposal or transform at the start of
// b: its Last Substruc must be 0 or more, its length at least
// minSubstructLen and within b. It returns the length and whether it is the
// last.
func substructure(b []byte, more byte) (n int, last bool, err error) {
	if len(b) < minSubstructLen {
		return 0, false, derr(PayloadSA, "", 0, ErrShortPayload)
	}
	if b[0] != 0 && b[0] != more {
		return 0, false, derr(PayloadSA, "", 0, ErrSubstructureType)
	}
	n = int(binary.BigEndian.Uint16(b[2:]))
	if n < minSubstructLen || n > len(b) {
		return 0, false, derr(PayloadSA, "", 2, ErrPayloadLength)
	}
	return n, b[0] == 0, nil
}

// decode decodes a whole proposal substructure, generic header included.
func (p *Proposal) decode(b []byte) error {
	proto := ProtocolID(b[5])
	spiSize := int(b[6])
	count := int(b[7])
	if !proposalSPISizeOK(proto, spiSize) {
		return derr(PayloadSA, "", 6, ErrSPISize)
	}
	if minSubstructLen+spiSize > len(b) {
		return derr(PayloadSA, "", 6, ErrShortPayload)
	}
	switch {
	case count == 0:
		return derr(PayloadSA, "", 7, ErrNoTransforms)
	case count > MaxTransforms:
		return derr(PayloadSA, "", 7, ErrTooManyTransforms)
	}
	ts := make([]Transform, 0, min(count, (len(b)-minSubstructLen-spiSize)/minSubstructLen))
	off := minSubstructLen + spiSize
	for more := true; more; {
		switch {
		case off == len(b):
			return derr(PayloadSA, nth("transform", len(ts)+1), off, ErrSubstructureChain)
		case len(ts) == count:
			return derr(PayloadSA, "", 7, ErrTransformCount)
		}
		n, last, err := substructure(b[off:], 3)
		if err != nil {
			return nest(err, PayloadSA, nth("transform", len(ts)+1), off)
		}
		var t Transform
		if err := t.decode(b[off : off+n]); err != nil {
			return nest(err, PayloadSA, nth("transform", len(ts)+1), off)
		}
		ts = append(ts, t)
		off += n
		more = !last
	}
	if off != len(b) {
		return derr(PayloadSA, "", off, ErrSubstructureChain)
	}
	if len(ts) != count {
		return derr(PayloadSA, "", 7, ErrTransformCount)
	}
	*p = Proposal{
		Number:     b[4],
		Protocol:   proto,
		SPI:        clone(b[minSubstructLen : minSubstructLen+spiSize]),
		Transforms: ts,
	}
	return nil
}

// proposalSPISizeOK reports whether an SPI of n octets suits a proposal for
// protocol proto (RFC 7296 section 3.3.1). Other protocols are the engine's
// to refuse.
func proposalSPISizeOK(proto ProtocolID, n int) bool {
	switch proto {
	case ProtoIKE:
		return n == 0 || n == 8
	case ProtoAH, ProtoESP:
		return n == 4
	}
	return true
}

// decode decodes a whole transform substructure, generic header included.
func (t *Transform) decode(b []byte) error {
	attrs, err := decodeAttributes(b[minSubstructLen:])
	if err != nil {
		return nest(err, PayloadSA, "", minSubstructLen)
	}
	*t = Transform{
		Type:       TransformType(b[4]),
		ID:         binary.BigEndian.Uint16(b[6:]),
		Attributes: attrs,
	}
	return nil
}

// AppendBody implements Payload.
func (sa *SA) AppendBody(b []byte) ([]byte, error) {
	switch {
	case len(sa.Proposals) == 0:
		return nil, ErrNoProposals
	case len(sa.Proposals) > MaxProposals:
		return nil, ErrTooManyProposals
	}
	for i := range sa.Proposals {
		var more byte = 2
		if i == len(sa.Proposals)-1 {
			more = 0
		}
		var err error
		b, err = appendWithHeader(b, more, 0, sa.Proposals[i].appendBody)
		if err != nil {
			return nil, fmt.Errorf("proposal %d: %w", i+1, err)
		}
	}
	return b, nil
}

func (p *Proposal) appendBody(b []byte) ([]byte, error) {
	switch {
	case len(p.SPI) > 0xff || !proposalSPISizeOK(p.Protocol, len(p.SPI)):
		return nil, ErrSPISize
	case len(p.Transforms) == 0:
		return nil, ErrNoTransforms
	case len(p.Transforms) > MaxTransforms:
		return nil, ErrTooManyTransforms
	}
	b = append(b, p.Number, byte(p.Protocol), byte(len(p.SPI)), byte(len(p.Transforms)))
	b = append(b, p.SPI...)
	for i := range p.Transforms {
		var more byte = 3
		if i == len(p.Transforms)-1 {
			more = 0
		}
		var err error
		b, err = appendWithHeader(b, more, 0, p.Transforms[i].appendBody)
		if err != nil {
			return nil, fmt.Errorf("transform %d: %w", i+1, err)
		}
	}
	return b, nil
}

func (t *Transform) appendBody(b []byte) ([]byte, error) {
	b = append(b, byte(t.Type), 0)
	b = binary.BigEndian.AppendUint16(b, t.ID)
	return appendAttributes(b, t.Attributes)
}
