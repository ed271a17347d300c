package isakmp

import (
	"bytes"
	"net/netip"
)

// A NATD is a NAT-Discovery payload (RFC 3947 section 3.2): a hash of the
// cookies, an address and a port, one per address of the sender and one for
// the receiver.
type NATD struct {
	Hash []byte
	// Draft marks the payload type 130 of draft-ietf-ipsec-nat-t-ike-02/03
	// instead of 20.
	Draft bool
}

// PayloadType implements Payload.
func (p *NATD) PayloadType() PayloadType {
	if p.Draft {
		return PayloadNATDDraft
	}
	return PayloadNATD
}

// Parse parses a NAT-D payload body, which must not be empty; p.Draft is
// left as it is.
func (p *NATD) Parse(b []byte) error {
	if len(b) == 0 {
		return perr("NAT-D", 0, ErrShortPayload)
	}
	p.Hash = bytes.Clone(b)
	return nil
}

// AppendBody implements Payload.
func (p *NATD) AppendBody(b []byte) ([]byte, error) {
	if len(p.Hash) == 0 {
		return nil, ErrShortPayload
	}
	return append(b, p.Hash...), nil
}

// A NATOA is a NAT Original Address payload (RFC 3947 section 5.2):
//
//	ID Type (1) | RESERVED (1) | RESERVED (2) | IPv4 (4) or IPv6 (16) address
//
// The ID type is ID_IPV4_ADDR or ID_IPV6_ADDR, following Addr.
type NATOA struct {
	Addr netip.Addr
	// Draft marks the payload type 131 of draft-ietf-ipsec-nat-t-ike-02/03
	// instead of 21.
	Draft bool
}

// PayloadType implements Payload.
func (p *NATOA) PayloadType() PayloadType {
	if p.Draft {
		return PayloadNATOADraft
	}
	return PayloadNATOA
}

// Parse parses a NAT-OA payload body; p.Draft is left as it is.
func (p *NATOA) Parse(b []byte) error {
	if len(b) < 4 {
		return perr("NAT-OA", 0, ErrShortPayload)
	}
	a := b[4:]
	switch {
	case IDType(b[0]) == IDIPv4Addr && len(a) == 4:
		p.Addr = netip.AddrFrom4([4]byte(a))
	case IDType(b[0]) == IDIPv6Addr && len(a) == 16:
		p.Addr = netip.AddrFrom16([16]byte(a))
	default:
		return perr("NAT-OA", 0, ErrNATOA)
	}
	return nil
}

// AppendBody implements Payload.
func (p *NATOA) AppendBody(b []byte) ([]byte, error) {
	switch {
	case p.Addr.Is4():
		b = append(b, byte(IDIPv4Addr), 0, 0, 0)
	case p.Addr.Is6():
		b = append(b, byte(IDIPv6Addr), 0, 0, 0)
	default:
		return nil, ErrNATOA
	}
	return append(b, p.Addr.AsSlice()...), nil
}
