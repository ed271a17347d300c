package isakmp

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// AttributeType is the 15-bit type of a data attribute (RFC 2408 section
// 3.3). Its meaning depends on the transform: phase 1 (ISAKMP) transforms
// use the Attr* types of RFC 2409 Appendix A, IPsec DOI transforms the
// IPsecAttr* types of RFC 2407 section 4.5.
type AttributeType uint16

// Phase 1 attribute types (RFC 2409 Appendix A). B: basic only; V: variable.
const (
	AttrEncryptionAlgorithm AttributeType = 1  // B, EncryptionAlgorithm
	AttrHashAlgorithm       AttributeType = 2  // B, HashAlgorithm
	AttrAuthMethod          AttributeType = 3  // B, AuthMethod
	AttrGroupDescription    AttributeType = 4  // B, Group
	AttrGroupType           AttributeType = 5  // B
	AttrGroupPrime          AttributeType = 6  // V
	AttrGroupGeneratorOne   AttributeType = 7  // V
	AttrGroupGeneratorTwo   AttributeType = 8  // V
	AttrGroupCurveA         AttributeType = 9  // V
	AttrGroupCurveB         AttributeType = 10 // V
	AttrLifeType            AttributeType = 11 // B, LifeType
	AttrLifeDuration        AttributeType = 12 // V
	AttrPRF                 AttributeType = 13 // B
	AttrKeyLength           AttributeType = 14 // B, in bits
	AttrFieldSize           AttributeType = 15 // B
	AttrGroupOrder          AttributeType = 16 // V
)

// IPsec DOI attribute types (RFC 2407 section 4.5).
const (
	IPsecAttrLifeType           AttributeType = 1  // B, LifeType
	IPsecAttrLifeDuration       AttributeType = 2  // V
	IPsecAttrGroupDescription   AttributeType = 3  // B, Group (PFS)
	IPsecAttrEncapsulationMode  AttributeType = 4  // B, EncapsulationMode
	IPsecAttrAuthAlgorithm      AttributeType = 5  // B, AuthAlgorithm
	IPsecAttrKeyLength          AttributeType = 6  // B, in bits
	IPsecAttrKeyRounds          AttributeType = 7  // B
	IPsecAttrCompressDictSize   AttributeType = 8  // B
	IPsecAttrCompressPrivateAlg AttributeType = 9  // V
	IPsecAttrECNTunnel          AttributeType = 10 // B, RFC 3168
	IPsecAttrExtendedSeqNumbers AttributeType = 11 // B, RFC 4304
)

// EncryptionAlgorithm values of AttrEncryptionAlgorithm (RFC 2409
// Appendix A, RFC 3602 for AES).
type EncryptionAlgorithm uint16

// Phase 1 encryption algorithms.
const (
	EncrDESCBC      EncryptionAlgorithm = 1
	EncrIDEACBC     EncryptionAlgorithm = 2
	EncrBlowfishCBC EncryptionAlgorithm = 3
	EncrRC5CBC      EncryptionAlgorithm = 4
	Encr3DESCBC     EncryptionAlgorithm = 5
	EncrCASTCBC     EncryptionAlgorithm = 6
	EncrAESCBC      EncryptionAlgorithm = 7 // with AttrKeyLength 128, 192 or 256
	EncrCamelliaCBC EncryptionAlgorithm = 8 // RFC 4312
)

// HashAlgorithm values of AttrHashAlgorithm (RFC 2409 Appendix A; the SHA-2
// values from the IANA registry, RFC 4868).
type HashAlgorithm uint16

// Phase 1 hash algorithms.
const (
	HashMD5    HashAlgorithm = 1
	HashSHA1   HashAlgorithm = 2
	HashTiger  HashAlgorithm = 3
	HashSHA256 HashAlgorithm = 4
	HashSHA384 HashAlgorithm = 5
	HashSHA512 HashAlgorithm = 6
)

// AuthMethod values of AttrAuthMethod (RFC 2409 Appendix A, RFC 4754).
type AuthMethod uint16

// Phase 1 authentication methods.
const (
	AuthPreSharedKey       AuthMethod = 1
	AuthDSS                AuthMethod = 2
	AuthRSASig             AuthMethod = 3
	AuthRSAEnc             AuthMethod = 4
	AuthRSARevisedEnc      AuthMethod = 5
	AuthECDSAP256          AuthMethod = 9
	AuthECDSAP384          AuthMethod = 10
	AuthECDSAP521          AuthMethod = 11
	AuthXAuthInitPreShared AuthMethod = 65001 // draft-ietf-ipsec-isakmp-xauth
)

// Group values of AttrGroupDescription and IPsecAttrGroupDescription
// (RFC 2409 section 6, RFC 3526, RFC 5903, RFC 5114).
type Group uint16

// Diffie-Hellman groups.
const (
	GroupMODP768      Group = 1
	GroupMODP1024     Group = 2
	GroupMODP1536     Group = 5
	GroupMODP2048     Group = 14
	GroupMODP3072     Group = 15
	GroupMODP4096     Group = 16
	GroupMODP6144     Group = 17
	GroupMODP8192     Group = 18
	GroupECP256       Group = 19
	GroupECP384       Group = 20
	GroupECP521       Group = 21
	GroupMODP1024S160 Group = 22
	GroupMODP2048S224 Group = 23
	GroupMODP2048S256 Group = 24
	GroupECP192       Group = 25
	GroupECP224       Group = 26
)

// LifeType values of AttrLifeType and IPsecAttrLifeType.
type LifeType uint16

// Life types.
const (
	LifeSeconds   LifeType = 1
	LifeKilobytes LifeType = 2
)

// EncapsulationMode values of IPsecAttrEncapsulationMode (RFC 2407
// section 4.5, RFC 3947 section 5.1; the draft values are those of
// draft-ietf-ipsec-nat-t-ike-00 to -03).
type EncapsulationMode uint16

// Encapsulation modes.
const (
	EncapTunnel            EncapsulationMode = 1
	EncapTransport         EncapsulationMode = 2
	EncapUDPTunnel         EncapsulationMode = 3
	EncapUDPTransport      EncapsulationMode = 4
	EncapUDPTunnelDraft    EncapsulationMode = 61443
	EncapUDPTransportDraft EncapsulationMode = 61444
)

// AuthAlgorithm values of IPsecAttrAuthAlgorithm (RFC 2407 section 4.5,
// RFC 4868 section 4 for SHA-2, RFC 4543 for GMAC).
type AuthAlgorithm uint16

// IPsec authentication algorithms.
const (
	AuthAlgHMACMD5    AuthAlgorithm = 1
	AuthAlgHMACSHA1   AuthAlgorithm = 2
	AuthAlgDESMAC     AuthAlgorithm = 3
	AuthAlgKPDK       AuthAlgorithm = 4
	AuthAlgHMACSHA256 AuthAlgorithm = 5 // HMAC-SHA-256-128
	AuthAlgHMACSHA384 AuthAlgorithm = 6 // HMAC-SHA-384-192
	AuthAlgHMACSHA512 AuthAlgorithm = 7 // HMAC-SHA-512-256
	AuthAlgHMACRIPEMD AuthAlgorithm = 8
	AuthAlgAESXCBC    AuthAlgorithm = 9
	AuthAlgAES128GMAC AuthAlgorithm = 11
	AuthAlgAES192GMAC AuthAlgorithm = 12
	AuthAlgAES256GMAC AuthAlgorithm = 13
)

// An Attribute is a data attribute of a transform (RFC 2408 section 3.3).
// A basic attribute (AF=1, TV format) carries a 2-byte Value; a variable one
// (AF=0, TLV format) carries Data of up to 65535 bytes. The format is kept
// as received, so that a parsed transform marshals to the same bytes.
type Attribute struct {
	Type  AttributeType
	Basic bool
	Value uint16 // when Basic
	Data  []byte // when !Basic
}

// BasicAttribute returns a TV attribute.
func BasicAttribute(t AttributeType, v uint16) Attribute {
	return Attribute{Type: t, Basic: true, Value: v}
}

// VariableAttribute returns a TLV attribute holding a copy of data.
func VariableAttribute(t AttributeType, data []byte) Attribute {
	return Attribute{Type: t, Data: bytes.Clone(data)}
}

// UintAttribute returns an attribute holding v in the shortest form: basic
// if v fits 16 bits, else variable with 4 bytes (or 8 beyond 32 bits). Life
// durations need this: 86400 seconds or 4608000 kilobytes do not fit a
// basic attribute (RFC 2409 Appendix A allows V attributes as basic when
// they fit).
func UintAttribute(t AttributeType, v uint64) Attribute {
	switch {
	case v <= 0xffff:
		return BasicAttribute(t, uint16(v))
	case v <= 0xffffffff:
		return Attribute{Type: t, Data: binary.BigEndian.AppendUint32(nil, uint32(v))}
	}
	return Attribute{Type: t, Data: binary.BigEndian.AppendUint64(nil, v)}
}

// Uint returns the attribute's value as an integer, from either format.
// A variable attribute must hold 1 to 8 bytes.
func (a Attribute) Uint() (uint64, error) {
	if a.Basic {
		return uint64(a.Value), nil
	}
	if len(a.Data) == 0 || len(a.Data) > 8 {
		return 0, fmt.Errorf("isakmp: attribute %d: %d-byte value: %w", a.Type, len(a.Data), ErrAttributeValue)
	}
	var v uint64
	for _, c := range a.Data {
		v = v<<8 | uint64(c)
	}
	return v, nil
}

// FindAttribute returns the first attribute of type t in attrs.
func FindAttribute(attrs []Attribute, t AttributeType) (Attribute, bool) {
	for _, a := range attrs {
		if a.Type == t {
			return a, true
		}
	}
	return Attribute{}, false
}

// Lifetimes reads the life type/duration pairs in attrs: each life type
// attribute of type typ must be followed directly by a duration attribute
// of type dur (RFC 2407 section 4.5; RFC 2409 Appendix A). Pass AttrLifeType
// and AttrLifeDuration for a phase 1 transform, IPsecAttrLifeType and
// IPsecAttrLifeDuration for an IPsec one. A lifetime not given is 0; the
// defaults (28800 seconds for IPsec SAs) are the caller's business.
func Lifetimes(attrs []Attribute, typ, dur AttributeType) (seconds, kilobytes uint64, err error) {
	for i := 0; i < len(attrs); i++ {
		a := attrs[i]
		switch a.Type {
		case dur:
			return 0, 0, fmt.Errorf("isakmp: life duration without life type: %w", ErrLifetime)
		case typ:
		default:
			continue
		}
		lt, err := a.Uint()
		if err != nil {
			return 0, 0, err
		}
		if i+1 == len(attrs) || attrs[i+1].Type != dur {
			return 0, 0, fmt.Errorf("isakmp: life type %d without life duration: %w", lt, ErrLifetime)
		}
		i++
		v, err := attrs[i].Uint()
		if err != nil {
			return 0, 0, err
		}
		switch LifeType(lt) {
		case LifeSeconds:
			seconds = v
		case LifeKilobytes:
			kilobytes = v
		default:
			return 0, 0, fmt.Errorf("isakmp: life type %d: %w", lt, ErrLifetime)
		}
	}
	return seconds, kilobytes, nil
}

// parseAttributes parses the data attributes that fill b, the rest of a
// transform after its fixed fields.
func parseAttributes(b []byte) ([]Attribute, error) {
	var attrs []Attribute
	for off := 0; off < len(b); {
		if len(attrs) == MaxAttributes {
			return nil, perr(nth("attribute", len(attrs)+1), off, ErrTooManyAttributes)
		}
		if len(b)-off < 4 {
			return nil, perr(nth("attribute", len(attrs)+1), off, ErrShortAttribute)
		}
		t := binary.BigEndian.Uint16(b[off:])
		v := binary.BigEndian.Uint16(b[off+2:])
		if t&0x8000 != 0 {
			attrs = append(attrs, BasicAttribute(AttributeType(t&0x7fff), v))
			off += 4
			continue
		}
		if int(v) > len(b)-off-4 {
			return nil, perr(nth("attribute", len(attrs)+1), off+2, ErrShortAttribute)
		}
		attrs = append(attrs, Attribute{Type: AttributeType(t), Data: bytes.Clone(b[off+4 : off+4+int(v)])})
		off += 4 + int(v)
	}
	return attrs, nil
}

func appendAttributes(b []byte, attrs []Attribute) ([]byte, error) {
	if len(attrs) > MaxAttributes {
		return nil, ErrTooManyAttributes
	}
	for _, a := range attrs {
		if a.Type > 0x7fff {
			return nil, fmt.Errorf("attribute %d: %w", a.Type, ErrAttributeType)
		}
		if a.Basic {
			b = binary.BigEndian.AppendUint16(b, uint16(a.Type)|0x8000)
			b = binary.BigEndian.AppendUint16(b, a.Value)
			continue
		}
		if len(a.Data) > 0xffff {
			return nil, fmt.Errorf("attribute %d: %w", a.Type, ErrAttributeValue)
		}
		b = binary.BigEndian.AppendUint16(b, uint16(a.Type))
		b = binary.BigEndian.AppendUint16(b, uint16(len(a.Data)))
		b = append(b, a.Data...)
	}
	return b, nil
}
