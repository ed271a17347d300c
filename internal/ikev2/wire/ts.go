package wire

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// TSType is the type of a traffic selector (RFC 7296 section 3.13.1).
type TSType uint8

// Traffic selector types.
const (
	TSIPv4AddrRange TSType = 7
	TSIPv6AddrRange TSType = 8
)

// A TS is a Traffic Selector payload, TSi or TSr (RFC 7296 section 3.13):
//
//	Number of TSs (1) | RESERVED (3) | Traffic Selectors
type TS struct {
	Responder bool // TSr rather than TSi
	Selectors []TrafficSelector
}

// A TrafficSelector is one selector of a TS payload (RFC 7296 section
// 3.13.1):
//
//	TS Type (1) | IP Protocol ID (1) | Selector Length (2) |
//	Start Port (2) | End Port (2) | Starting Address | Ending Address
//
// for the IPv4 (4-octet addresses) and IPv6 (16-octet) range types. A
// selector of another type keeps what follows its Selector Length in Data,
// and its other fields but Type and IPProtocol are zero.
type TrafficSelector struct {
	Type       TSType
	IPProtocol uint8 // 0 for any
	StartPort  uint16
	EndPort    uint16 // 65535 and StartPort 0 for any port
	Start, End netip.Addr
	Data       []byte // for other types
}

// tsHeaderLen is the length of a selector's type, protocol and length.
const tsHeaderLen = 4

// HostSelector returns the selector of one address and one IP protocol
// (0 for any) on any port: what a GRE-over-IPsec tunnel between two
// endpoints negotiates, with protocol 47.
func HostSelector(a netip.Addr, proto uint8) TrafficSelector {
	t := TSIPv6AddrRange
	if a.Is4() || a.Is4In6() {
		t, a = TSIPv4AddrRange, a.Unmap()
	}
	return TrafficSelector{Type: t, IPProtocol: proto, EndPort: 0xffff, Start: a, End: a}
}

// addrLen returns the address length of the range types, 0 for others.
func (t TSType) addrLen() int {
	switch t {
	case TSIPv4AddrRange:
		return 4
	case TSIPv6AddrRange:
		return 16
	}
	return 0
}

func (ts TrafficSelector) String() string {
	if ts.Type.addrLen() == 0 {
		return fmt.Sprintf("TS type %d protocol %d %x", uint8(ts.Type), ts.IPProtocol, ts.Data)
	}
	return fmt.Sprintf("%v-%v protocol %d ports %d-%d", ts.Start, ts.End, ts.IPProtocol, ts.StartPort, ts.EndPort)
}

// PayloadType implements Payload.
func (ts *TS) PayloadType() PayloadType {
	if ts.Responder {
		return PayloadTSr
	}
	return PayloadTSi
}

// Decode decodes a TS payload body; ts.Responder is left as it is. The
// selectors must fill the payload, as many as it says, at least one.
func (ts *TS) Decode(b []byte) error {
	t := ts.PayloadType()
	if len(b) < 4 {
		return derr(t, t.String(), 0, ErrShortPayload)
	}
	count := int(b[0])
	if count == 0 {
		return derr(t, t.String(), 0, ErrTSCount)
	}
	// Each selector takes at least tsHeaderLen octets.
	sels := make([]TrafficSelector, 0, min(count, (len(b)-4)/tsHeaderLen))
	off := 4
	for len(sels) < count {
		name := nth(t.String()+"/selector", len(sels)+1)
		if len(b)-off < tsHeaderLen {
			return derr(t, name, off, ErrTSCount)
		}
		n := int(binary.BigEndian.Uint16(b[off+2:]))
		if n < tsHeaderLen || n > len(b)-off {
			return derr(t, name, off+2, ErrPayloadLength)
		}
		sel, ok := decodeSelector(b[off : off+n])
		if !ok {
			return derr(t, name, off+2, ErrTSLength)
		}
		sels = append(sels, sel)
		off += n
	}
	if off != len(b) {
		return derr(t, t.String(), 0, ErrTSCount)
	}
	ts.Selectors = sels
	return nil
}

// decodeSelector decodes a whole selector, whose length field is len(b).
func decodeSelector(b []byte) (TrafficSelector, bool) {
	sel := TrafficSelector{Type: TSType(b[0]), IPProtocol: b[1]}
	al := sel.Type.addrLen()
	if al == 0 {
		sel.Data = clone(b[tsHeaderLen:])
		return sel, true
	}
	if len(b) != 8+2*al {
		return TrafficSelector{}, false
	}
	sel.StartPort = binary.BigEndian.Uint16(b[4:])
	sel.EndPort = binary.BigEndian.Uint16(b[6:])
	sel.Start, _ = netip.AddrFromSlice(b[8 : 8+al])
	sel.End, _ = netip.AddrFromSlice(b[8+al : 8+2*al])
	return sel, true
}

// AppendBody implements Payload.
func (ts *TS) AppendBody(b []byte) ([]byte, error) {
	if len(ts.Selectors) == 0 || len(ts.Selectors) > 0xff {
		return nil, ErrTSCount
	}
	b = append(b, byte(len(ts.Selectors)), 0, 0, 0)
	for i, sel := range ts.Selectors {
		var err error
		if b, err = sel.append(b); err != nil {
			return nil, fmt.Errorf("selector %d: %w", i+1, err)
		}
	}
	return b, nil
}

func (ts TrafficSelector) append(b []byte) ([]byte, error) {
	al := ts.Type.addrLen()
	n := tsHeaderLen + len(ts.Data)
	if al != 0 {
		if ts.Start.BitLen() != 8*al || ts.End.BitLen() != 8*al || len(ts.Data) != 0 {
			return nil, ErrTSLength
		}
		n = 8 + 2*al
	}
	if n > 0xffff {
		return nil, ErrTSLength
	}
	b = append(b, byte(ts.Type), ts.IPProtocol)
	b = binary.BigEndian.AppendUint16(b, uint16(n))
	if al == 0 {
		return append(b, ts.Data...), nil
	}
	b = binary.BigEndian.AppendUint16(b, ts.StartPort)
	b = binary.BigEndian.AppendUint16(b, ts.EndPort)
	b = append(b, ts.Start.AsSlice()...)
	return append(b, ts.End.AsSlice()...), nil
}
