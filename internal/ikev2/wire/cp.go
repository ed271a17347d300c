package wire

import (
	"encoding/binary"
	"fmt"
)

// CFGType is the type of a Configuration payload (RFC 7296 section 3.15).
type CFGType uint8

// Configuration payload types.
const (
	CFGRequest CFGType = 1
	CFGReply   CFGType = 2
	CFGSet     CFGType = 3
	CFGAck     CFGType = 4
)

// CPAttributeType is the 15-bit type of a configuration attribute (RFC 7296
// section 3.15.1).
type CPAttributeType uint16

// Configuration attribute types.
const (
	CPInternalIP4Address  CPAttributeType = 1
	CPInternalIP4Netmask  CPAttributeType = 2
	CPInternalIP4DNS      CPAttributeType = 3
	CPInternalIP4NBNS     CPAttributeType = 4
	CPInternalIP4DHCP     CPAttributeType = 6
	CPApplicationVersion  CPAttributeType = 7
	CPInternalIP6Address  CPAttributeType = 8
	CPInternalIP6DNS      CPAttributeType = 10
	CPInternalIP6DHCP     CPAttributeType = 12
	CPInternalIP4Subnet   CPAttributeType = 13
	CPSupportedAttributes CPAttributeType = 14
	CPInternalIP6Subnet   CPAttributeType = 15
)

// A CP is a Configuration payload (RFC 7296 section 3.15):
//
//	CFG Type (1) | RESERVED (3) | Configuration Attributes
//
// decoded as attributes only: what a value means (an address, a prefix, a
// list of types) is for the engine, which gresec does not need yet.
type CP struct {
	Type       CFGType
	Attributes []CPAttribute
}

// A CPAttribute is a configuration attribute (RFC 7296 section 3.15.1):
//
//	R (1 bit) Attribute Type (15 bits) | Length (2) | Value
//
// The reserved bit is ignored on receipt and sent as zero. An empty Value
// asks for the attribute in a CFG_REQUEST.
type CPAttribute struct {
	Type  CPAttributeType
	Value []byte
}

// PayloadType implements Payload.
func (*CP) PayloadType() PayloadType { return PayloadCP }

// Decode decodes a CP payload body.
func (cp *CP) Decode(b []byte) error {
	if len(b) < 4 {
		return derr(PayloadCP, "CP", 0, ErrShortPayload)
	}
	var attrs []CPAttribute
	for off := 4; off < len(b); {
		name := nth("CP/attribute", len(attrs)+1)
		if len(attrs) == MaxAttributes {
			return derr(PayloadCP, name, off, ErrTooManyAttributes)
		}
		if len(b)-off < 4 {
			return derr(PayloadCP, name, off, ErrShortAttribute)
		}
		t := binary.BigEndian.Uint16(b[off:]) & 0x7fff
		n := int(binary.BigEndian.Uint16(b[off+2:]))
		if n > len(b)-off-4 {
			return derr(PayloadCP, name, off+2, ErrShortAttribute)
		}
		attrs = append(attrs, CPAttribute{Type: CPAttributeType(t), Value: clone(b[off+4 : off+4+n])})
		off += 4 + n
	}
	*cp = CP{Type: CFGType(b[0]), Attributes: attrs}
	return nil
}

// AppendBody implements Payload.
func (cp *CP) AppendBody(b []byte) ([]byte, error) {
	if len(cp.Attributes) > MaxAttributes {
		return nil, ErrTooManyAttributes
	}
	b = append(b, byte(cp.Type), 0, 0, 0)
	for _, a := range cp.Attributes {
		if a.Type > 0x7fff {
			return nil, fmt.Errorf("attribute %d: %w", a.Type, ErrAttributeType)
		}
		if len(a.Value) > 0xffff {
			return nil, fmt.Errorf("attribute %d: %w", a.Type, ErrAttributeValue)
		}
		b = binary.BigEndian.AppendUint16(b, uint16(a.Type))
		b = binary.BigEndian.AppendUint16(b, uint16(len(a.Value)))
		b = append(b, a.Value...)
	}
	return b, nil
}
