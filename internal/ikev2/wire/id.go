package wire

import (
	"fmt"
	"net/netip"
)

// IDType is an identification type (RFC 7296 section 3.5, RFC 7619).
type IDType uint8

// Identification types.
const (
	IDIPv4Addr   IDType = 1
	IDFQDN       IDType = 2
	IDRFC822Addr IDType = 3 // an e-mail address
	IDIPv6Addr   IDType = 5
	IDDERASN1DN  IDType = 9
	IDDERASN1GN  IDType = 10
	IDKeyID      IDType = 11 // opaque octets
	IDNull       IDType = 13 // RFC 7619: no identity, no data
)

func (t IDType) String() string {
	switch t {
	case IDIPv4Addr:
		return "ID_IPV4_ADDR"
	case IDFQDN:
		return "ID_FQDN"
	case IDRFC822Addr:
		return "ID_RFC822_ADDR"
	case IDIPv6Addr:
		return "ID_IPV6_ADDR"
	case IDDERASN1DN:
		return "ID_DER_ASN1_DN"
	case IDDERASN1GN:
		return "ID_DER_ASN1_GN"
	case IDKeyID:
		return "ID_KEY_ID"
	case IDNull:
		return "ID_NULL"
	}
	return fmt.Sprintf("ID type %d", uint8(t))
}

// An ID is an Identification payload, IDi or IDr (RFC 7296 section 3.5):
//
//	ID Type (1) | RESERVED (3) | Identification Data
//
// The AUTH payload covers the body as sent (RFC 7296 section 2.15); a
// conforming peer sends the reserved octets as zero, so AppendBody gives the
// same bytes, and SplitPayloads gives them as received.
type ID struct {
	Responder bool // IDr rather than IDi
	Type      IDType
	Data      []byte
}

// AddrID returns an ID_IPV4_ADDR or ID_IPV6_ADDR identification for a.
func AddrID(responder bool, a netip.Addr) *ID {
	id := &ID{Responder: responder, Type: IDIPv6Addr}
	if a.Is4() || a.Is4In6() {
		id.Type = IDIPv4Addr
		a = a.Unmap()
	}
	id.Data = a.AsSlice()
	return id
}

// PayloadType implements Payload.
func (id *ID) PayloadType() PayloadType {
	if id.Responder {
		return PayloadIDr
	}
	return PayloadIDi
}

// Decode decodes an ID payload body; id.Responder is left as it is. The data
// length must suit the type: 4 octets for IPv4, 16 for IPv6, none for
// ID_NULL, at least one for the others.
func (id *ID) Decode(b []byte) error {
	if len(b) < 4 {
		return derr(id.PayloadType(), id.PayloadType().String(), 0, ErrShortPayload)
	}
	t := IDType(b[0])
	if !idDataOK(t, len(b)-4) {
		return derr(id.PayloadType(), id.PayloadType().String(), 4, ErrIDData)
	}
	id.Type = t
	id.Data = clone(b[4:])
	return nil
}

// AppendBody implements Payload.
func (id *ID) AppendBody(b []byte) ([]byte, error) {
	if !idDataOK(id.Type, len(id.Data)) {
		return nil, ErrIDData
	}
	b = append(b, byte(id.Type), 0, 0, 0)
	return append(b, id.Data...), nil
}

// Addr returns the address of an ID_IPV4_ADDR or ID_IPV6_ADDR.
func (id *ID) Addr() (netip.Addr, bool) {
	switch id.Type {
	case IDIPv4Addr, IDIPv6Addr:
		return netip.AddrFromSlice(id.Data)
	}
	return netip.Addr{}, false
}

func (id *ID) String() string {
	if a, ok := id.Addr(); ok {
		return fmt.Sprintf("%v %v", id.Type, a)
	}
	switch id.Type {
	case IDFQDN, IDRFC822Addr:
		return fmt.Sprintf("%v %q", id.Type, id.Data)
	}
	return fmt.Sprintf("%v %x", id.Type, id.Data)
}

func idDataOK(t IDType, n int) bool {
	switch t {
	case IDIPv4Addr:
		return n == 4
	case IDIPv6Addr:
		return n == 16
	case IDNull:
		return n == 0
	}
	return n > 0
}
