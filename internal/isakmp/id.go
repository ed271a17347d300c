package isakmp

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
)

// IDType is an identification type of the IPsec DOI (RFC 2407 section
// 4.6.2.1).
type IDType uint8

// Identification types.
const (
	IDIPv4Addr       IDType = 1
	IDFQDN           IDType = 2
	IDUserFQDN       IDType = 3
	IDIPv4AddrSubnet IDType = 4 // address and mask
	IDIPv6Addr       IDType = 5
	IDIPv6AddrSubnet IDType = 6
	IDIPv4AddrRange  IDType = 7 // first and last address
	IDIPv6AddrRange  IDType = 8
	IDDERASN1DN      IDType = 9
	IDDERASN1GN      IDType = 10
	IDKeyID          IDType = 11
)

// An ID is an Identification payload in the IPsec DOI (RFC 2407 section
// 4.6.2):
//
//	ID Type (1) | Protocol ID (1) | Port (2) | Identification Data
//
// In phase 1 it names a peer; in Quick Mode it carries the traffic
// selectors (for gresec, the tunnel endpoints with protocol 47, GRE).
type ID struct {
	Type     IDType
	Protocol uint8 // IP protocol number, 0 for any
	Port     uint16
	Data     []byte
}

// PayloadType implements Payload.
func (*ID) PayloadType() PayloadType { return PayloadID }

// Parse parses an Identification payload body. The data length must suit
// the ID type: 4 bytes for an IPv4 address, 8 for an IPv4 subnet or range,
// 16 and 32 for IPv6, at least one byte for names.
func (id *ID) Parse(b []byte) error {
	if len(b) < 4 {
		return perr("ID", 0, ErrShortPayload)
	}
	typ := IDType(b[0])
	data := b[4:]
	if !idDataOK(typ, data) {
		return perr("ID", 4, ErrIDData)
	}
	*id = ID{
		Type:     typ,
		Protocol: b[1],
		Port:     binary.BigEndian.Uint16(b[2:]),
		Data:     bytes.Clone(data),
	}
	return nil
}

// AppendBody implements Payload.
func (id *ID) AppendBody(b []byte) ([]byte, error) {
	if !idDataOK(id.Type, id.Data) {
		return nil, ErrIDData
	}
	b = append(b, byte(id.Type), id.Protocol)
	b = binary.BigEndian.AppendUint16(b, id.Port)
	return append(b, id.Data...), nil
}

func idDataOK(t IDType, data []byte) bool {
	switch t {
	case IDIPv4Addr:
		return len(data) == 4
	case IDIPv4AddrSubnet, IDIPv4AddrRange:
		return len(data) == 8
	case IDIPv6Addr:
		return len(data) == 16
	case IDIPv6AddrSubnet, IDIPv6AddrRange:
		return len(data) == 32
	case IDFQDN, IDUserFQDN, IDDERASN1DN, IDDERASN1GN, IDKeyID:
		return len(data) > 0
	}
	return true // unknown types are the engine's to refuse
}

// IDFromAddr returns an ID_IPV4_ADDR or ID_IPV6_ADDR identification.
func IDFromAddr(a netip.Addr, proto uint8, port uint16) *ID {
	t := IDIPv6Addr
	if a.Is4() {
		t = IDIPv4Addr
	}
	return &ID{Type: t, Protocol: proto, Port: port, Data: a.AsSlice()}
}

// IDFromPrefix returns an ID_IPV4_ADDR_SUBNET or ID_IPV6_ADDR_SUBNET
// identification for the masked prefix p.
func IDFromPrefix(p netip.Prefix, proto uint8, port uint16) *ID {
	p = p.Masked()
	a := p.Addr()
	t := IDIPv6AddrSubnet
	if a.Is4() {
		t = IDIPv4AddrSubnet
	}
	mask := make([]byte, a.BitLen()/8)
	for i := 0; i < p.Bits(); i++ {
		mask[i/8] |= 0x80 >> (i % 8)
	}
	return &ID{Type: t, Protocol: proto, Port: port, Data: append(a.AsSlice(), mask...)}
}

// Prefix returns the addresses an address or subnet identification names:
// a single-address prefix for ID_IPV4_ADDR and ID_IPV6_ADDR, the subnet for
// the SUBNET types (whose mask must be contiguous).
func (id *ID) Prefix() (netip.Prefix, error) {
	if !idDataOK(id.Type, id.Data) {
		return netip.Prefix{}, ErrIDData
	}
	switch id.Type {
	case IDIPv4Addr, IDIPv6Addr:
		a, _ := netip.AddrFromSlice(id.Data)
		return netip.PrefixFrom(a, a.BitLen()), nil
	case IDIPv4AddrSubnet, IDIPv6AddrSubnet:
		n := len(id.Data) / 2
		a, _ := netip.AddrFromSlice(id.Data[:n])
		bits, ok := maskBits(id.Data[n:])
		if !ok {
			return netip.Prefix{}, fmt.Errorf("isakmp: non-contiguous subnet mask: %w", ErrIDData)
		}
		return netip.PrefixFrom(a, bits).Masked(), nil
	}
	return netip.Prefix{}, fmt.Errorf("isakmp: ID type %d is not an address or subnet: %w", id.Type, ErrIDData)
}

// Range returns the first and last address of an ID_IPV4_ADDR_RANGE or
// ID_IPV6_ADDR_RANGE identification.
func (id *ID) Range() (first, last netip.Addr, err error) {
	if (id.Type != IDIPv4AddrRange && id.Type != IDIPv6AddrRange) || !idDataOK(id.Type, id.Data) {
		return netip.Addr{}, netip.Addr{}, fmt.Errorf("isakmp: ID type %d is not a range: %w", id.Type, ErrIDData)
	}
	n := len(id.Data) / 2
	first, _ = netip.AddrFromSlice(id.Data[:n])
	last, _ = netip.AddrFromSlice(id.Data[n:])
	return first, last, nil
}

// maskBits returns the prefix length of a contiguous netmask.
func maskBits(mask []byte) (int, bool) {
	bits := 0
	for i, c := range mask {
		if c == 0xff {
			bits += 8
			continue
		}
		ones := 0
		for c&0x80 != 0 {
			ones++
			c <<= 1
		}
		if c != 0 {
			return 0, false
		}
		for _, rest := range mask[i+1:] {
			if rest != 0 {
				return 0, false
			}
		}
		return bits + ones, true
	}
	return bits, true
}
