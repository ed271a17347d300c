package isakmp

import "bytes"

// A VendorID is a Vendor ID payload (RFC 2408 section 3.16). IKEv1 peers
// announce extensions with them: NAT-T (RFC 3947 section 3.1), DPD (RFC 3706
// section 5.1), fragmentation, XAuth.
type VendorID struct {
	ID []byte
}

// Vendor IDs gresec's peers send, as byte strings (compare with
// string(v.ID) == VendorDPD).
const (
	// VendorRFC3947 is MD5("RFC 3947"): NAT-T as standardised.
	VendorRFC3947 = "\x4a\x13\x1c\x81\x07\x03\x58\x45\x5c\x57\x28\xf2\x0e\x95\x45\x2f"
	// VendorNATTDraft02 is MD5("draft-ietf-ipsec-nat-t-ike-02").
	VendorNATTDraft02 = "\xcd\x60\x46\x43\x35\xdf\x21\xf8\x7c\xfd\xb2\xfc\x68\xb6\xa4\x48"
	// VendorNATTDraft02N is MD5("draft-ietf-ipsec-nat-t-ike-02\n"), a
	// famous typo that many implementations send as well.
	VendorNATTDraft02N = "\x90\xcb\x80\x91\x3e\xbb\x69\x6e\x08\x63\x81\xb5\xec\x42\x7b\x1f"
	// VendorNATTDraft03 is MD5("draft-ietf-ipsec-nat-t-ike-03").
	VendorNATTDraft03 = "\x7d\x94\x19\xa6\x53\x10\xca\x6f\x2c\x17\x9d\x92\x15\x52\x9d\x56"
	// VendorDPD announces dead peer detection, version 1.0 (RFC 3706
	// section 5.1).
	VendorDPD = "\xaf\xca\xd7\x13\x68\xa1\xf1\xc9\x6b\x86\x96\xfc\x77\x57\x01\x00"
	// VendorStrongSwan is MD5("strongSwan").
	VendorStrongSwan = "\x88\x2f\xe5\x6d\x6f\xd2\x0d\xbc\x22\x51\x61\x3b\x2e\xbe\x5b\xeb"
	// VendorXAuth is the first 8 bytes of
	// MD5("draft-ietf-ipsra-isakmp-xauth-06.txt").
	VendorXAuth = "\x09\x00\x26\x89\xdf\xd6\xb7\x12"
	// VendorCiscoUnity is MD5("CISCO-UNITY") with the version, 1.0, in its
	// last two bytes.
	VendorCiscoUnity = "\x12\xf5\xf2\x8c\x45\x71\x68\xa9\x70\x2d\x9f\xe2\x74\xcc\x01\x00"
	// VendorFragmentation is MD5("FRAGMENTATION"), Cisco's IKEv1
	// fragmentation; peers may append 4 bytes of capabilities.
	VendorFragmentation = "\x40\x48\xb7\xd5\x6e\xbc\xe8\x85\x25\xe7\xde\x7f\x00\xd6\xc2\xd3"
)

// PayloadType implements Payload.
func (*VendorID) PayloadType() PayloadType { return PayloadVendorID }

// Parse parses a Vendor ID payload body, which must not be empty.
func (p *VendorID) Parse(b []byte) error {
	if len(b) == 0 {
		return perr("vendor ID", 0, ErrShortPayload)
	}
	p.ID = bytes.Clone(b)
	return nil
}

// AppendBody implements Payload.
func (p *VendorID) AppendBody(b []byte) ([]byte, error) {
	if len(p.ID) == 0 {
		return nil, ErrShortPayload
	}
	return append(b, p.ID...), nil
}
