package isakmp

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// An SA is a Security Association payload (RFC 2408 section 3.4) in the
// IPsec DOI (RFC 2407 section 4.6.1):
//
//	DOI (4) | Situation (4) | Proposal payloads
//
// Proposals with the same number are one offer combining protocols (AH and
// ESP, say); proposals with different numbers are alternatives, in order of
// preference (RFC 2408 section 4.2).
type SA struct {
	DOI       DOI       // must be DOIIPsec
	Situation Situation // SitIdentityOnly (or 0)
	Proposals []Proposal
}

// A Proposal is a proposal substructure (RFC 2408 section 3.5):
//
//	Next Payload (0 or 2) | RESERVED | Payload Length (2) |
//	Proposal # (1) | Protocol-ID (1) | SPI Size (1) | # of Transforms (1) |
//	SPI (SPI Size) | Transform payloads
//
// The SPI size must suit the protocol: 4 for ESP and AH, 2 or 4 for IPComp,
// 0 to 16 for ISAKMP (whose SPI is ignored, RFC 2408 section 3.5).
type Proposal struct {
	Number     uint8
	Protocol   ProtocolID
	SPI        []byte
	Transforms []Transform
}

// A Transform is a transform substructure (RFC 2408 section 3.6):
//
//	Next Payload (0 or 3) | RESERVED | Payload Length (2) |
//	Transform # (1) | Transform-ID (1) | RESERVED2 (2) | SA Attributes
type Transform struct {
	Number     uint8
	ID         TransformID
	Attributes []Attribute
}

// PayloadType implements Payload.
func (*SA) PayloadType() PayloadType { return PayloadSA }

// Parse parses an SA payload body, checking that the proposals, transforms
// and attributes nest and chain consistently.
func (sa *SA) Parse(b []byte) error {
	if len(b) < 8 {
		return perr("SA", 0, ErrShortPayload)
	}
	doi := DOI(binary.BigEndian.Uint32(b))
	if doi != DOIIPsec {
		return perr("SA", 0, ErrDOINotSupported)
	}
	sit := Situation(binary.BigEndian.Uint32(b[4:]))
	if sit&^SitIdentityOnly != 0 {
		return perr("SA", 4, ErrSituationNotSupported)
	}
	var props []Proposal
	off := 8
	for more := true; more; {
		switch {
		case off == len(b) && len(props) == 0:
			return perr("SA", off, ErrNoProposals)
		case off == len(b):
			return perr(nth("SA/proposal", len(props)+1), off, ErrSubstructureChain)
		case len(props) == MaxProposals:
			return perr(nth("SA/proposal", len(props)+1), off, ErrTooManyProposals)
		}
		n, next, err := substructure(b[off:], PayloadProposal, 8)
		if err != nil {
			return nest(err, nth("SA/proposal", len(props)+1), off)
		}
		var p Proposal
		if err := p.parse(b[off : off+n]); err != nil {
			return nest(err, nth("SA/proposal", len(props)+1), off)
		}
		props = append(props, p)
		off += n
		more = next != PayloadNone
	}
	if off != len(b) {
		return perr("SA", off, ErrSubstructureChain)
	}
	*sa = SA{DOI: doi, Situation: sit, Proposals: props}
	return nil
}

// substructure checks the generic header of a proposal or transform at the
// start of b: its next payload must be 0 or want, its length at least minLen
// and within b. It returns the length and the next payload.
func substructure(b []byte, want PayloadType, minLen int) (int, PayloadType, error) {
	if len(b) < minLen {
		return 0, 0, perr("", 0, ErrShortPayload)
	}
	next := PayloadType(b[0])
	if next != PayloadNone && next != want {
		return 0, 0, perr("", 0, ErrSubstructureType)
	}
	n := int(binary.BigEndian.Uint16(b[2:]))
	if n < minLen || n > len(b) {
		return 0, 0, perr("", 2, ErrPayloadLength)
	}
	return n, next, nil
}

// parse parses a whole proposal substructure, generic header included.
func (p *Proposal) parse(b []byte) error {
	proto := ProtocolID(b[5])
	spiSize := int(b[6])
	count := int(b[7])
	if !proposalSPISizeOK(proto, spiSize) {
		return perr("", 6, ErrSPISize)
	}
	if 8+spiSize > len(b) {
		return perr("", 6, ErrShortPayload)
	}
	switch {
	case count == 0:
		return perr("", 7, ErrNoTransforms)
	case count > MaxTransforms:
		return perr("", 7, ErrTooManyTransforms)
	}
	var ts []Transform
	off := 8 + spiSize
	for more := true; more; {
		switch {
		case off == len(b):
			return perr(nth("transform", len(ts)+1), off, ErrSubstructureChain)
		case len(ts) == count:
			return perr("", 7, ErrTransformCount)
		}
		n, next, err := substructure(b[off:], PayloadTransform, 8)
		if err != nil {
			return nest(err, nth("transform", len(ts)+1), off)
		}
		var t Transform
		if err := t.parse(b[off : off+n]); err != nil {
			return nest(err, nth("transform", len(ts)+1), off)
		}
		ts = append(ts, t)
		off += n
		more = next != PayloadNone
	}
	if off != len(b) {
		return perr("", off, ErrSubstructureChain)
	}
	if len(ts) != count {
		return perr("", 7, ErrTransformCount)
	}
	*p = Proposal{
		Number:     b[4],
		Protocol:   proto,
		SPI:        bytes.Clone(b[8 : 8+spiSize]),
		Transforms: ts,
	}
	return nil
}

// proposalSPISizeOK reports whether an SPI of n bytes suits a proposal for
// protocol proto.
func proposalSPISizeOK(proto ProtocolID, n int) bool {
	switch proto {
	case ProtoESP, ProtoAH:
		return n == 4
	case ProtoIPComp:
		return n == 2 || n == 4 // a CPI, alone or in 4 bytes (RFC 2407 4.4.3)
	}
	return n <= 16
}

// parse parses a whole transform substructure, generic header included.
func (t *Transform) parse(b []byte) error {
	attrs, err := parseAttributes(b[8:])
	if err != nil {
		return nest(err, "", 8)
	}
	*t = Transform{Number: b[4], ID: TransformID(b[5]), Attributes: attrs}
	return nil
}

// AppendBody implements Payload.
func (sa *SA) AppendBody(b []byte) ([]byte, error) {
	switch {
	case sa.DOI != DOIIPsec:
		return nil, ErrDOINotSupported
	case sa.Situation&^SitIdentityOnly != 0:
		return nil, ErrSituationNotSupported
	case len(sa.Proposals) == 0:
		return nil, ErrNoProposals
	case len(sa.Proposals) > MaxProposals:
		return nil, ErrTooManyProposals
	}
	b = binary.BigEndian.AppendUint32(b, uint32(sa.DOI))
	b = binary.BigEndian.AppendUint32(b, uint32(sa.Situation))
	for i := range sa.Proposals {
		next := PayloadProposal
		if i == len(sa.Proposals)-1 {
			next = PayloadNone
		}
		var err error
		b, err = appendWithHeader(b, byte(next), sa.Proposals[i].appendBody)
		if err != nil {
			return nil, fmt.Errorf("proposal %d: %w", i+1, err)
		}
	}
	return b, nil
}

func (p *Proposal) appendBody(b []byte) ([]byte, error) {
	switch {
	case !proposalSPISizeOK(p.Protocol, len(p.SPI)):
		return nil, ErrSPISize
	case len(p.Transforms) == 0:
		return nil, ErrNoTransforms
	case len(p.Transforms) > MaxTransforms:
		return nil, ErrTooManyTransforms
	}
	b = append(b, p.Number, byte(p.Protocol), byte(len(p.SPI)), byte(len(p.Transforms)))
	b = append(b, p.SPI...)
	for i := range p.Transforms {
		next := PayloadTransform
		if i == len(p.Transforms)-1 {
			next = PayloadNone
		}
		var err error
		b, err = appendWithHeader(b, byte(next), p.Transforms[i].appendBody)
		if err != nil {
			return nil, fmt.Errorf("transform %d: %w", i+1, err)
		}
	}
	return b, nil
}

func (t *Transform) appendBody(b []byte) ([]byte, error) {
	b = append(b, t.Number, byte(t.ID), 0, 0)
	return appendAttributes(b, t.Attributes)
}
