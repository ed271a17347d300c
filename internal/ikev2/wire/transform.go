package wire

import (
	"encoding/binary"
	"fmt"
)

// TransformType is the type of a transform (RFC 7296 section 3.3.2).
type TransformType uint8

// Transform types.
const (
	TransformEncr  TransformType = 1 // encryption algorithm (ENCR)
	TransformPRF   TransformType = 2 // pseudorandom function (PRF)
	TransformInteg TransformType = 3 // integrity algorithm (INTEG)
	TransformDH    TransformType = 4 // Diffie-Hellman group (D-H; KE in RFC 9370)
	TransformESN   TransformType = 5 // extended sequence numbers (ESN)
)

func (t TransformType) String() string {
	switch t {
	case TransformEncr:
		return "ENCR"
	case TransformPRF:
		return "PRF"
	case TransformInteg:
		return "INTEG"
	case TransformDH:
		return "DH"
	case TransformESN:
		return "ESN"
	}
	return fmt.Sprintf("transform type %d", uint8(t))
}

// Transform IDs of type ENCR (IANA "IKEv2 Transform Type 1"). AES-CBC, CTR,
// GCM and CCM take a Key Length attribute.
const (
	Encr3DES             uint16 = 3
	EncrNull             uint16 = 11 // ESP only
	EncrAESCBC           uint16 = 12 // RFC 3602
	EncrAESCTR           uint16 = 13 // RFC 5930
	EncrAESCCM8          uint16 = 14 // RFC 5282, ICV of 8 octets
	EncrAESCCM12         uint16 = 15
	EncrAESCCM16         uint16 = 16
	EncrAESGCM8          uint16 = 18 // RFC 5282, ICV of 8 octets
	EncrAESGCM12         uint16 = 19
	EncrAESGCM16         uint16 = 20
	EncrNullAuthAESGMAC  uint16 = 21 // RFC 4543, ESP only
	EncrChaCha20Poly1305 uint16 = 28 // RFC 7634
)

// Transform IDs of type PRF.
const (
	PRFHMACMD5      uint16 = 1
	PRFHMACSHA1     uint16 = 2
	PRFAES128XCBC   uint16 = 4 // RFC 4434
	PRFHMACSHA2_256 uint16 = 5 // RFC 4868
	PRFHMACSHA2_384 uint16 = 6
	PRFHMACSHA2_512 uint16 = 7
	PRFAES128CMAC   uint16 = 8 // RFC 4615
)

// Transform IDs of type INTEG. AEAD ciphers take none (or IntegNone).
const (
	IntegNone         uint16 = 0
	IntegHMACMD5_96   uint16 = 1
	IntegHMACSHA1_96  uint16 = 2
	IntegAESXCBC96    uint16 = 5  // RFC 3566
	IntegAESCMAC96    uint16 = 8  // RFC 4494
	IntegAES128GMAC   uint16 = 9  // RFC 4543, ESP only
	IntegAES192GMAC   uint16 = 10 // RFC 4543, ESP only
	IntegAES256GMAC   uint16 = 11 // RFC 4543, ESP only
	IntegHMACSHA2_256 uint16 = 12 // HMAC-SHA-256-128, RFC 4868
	IntegHMACSHA2_384 uint16 = 13 // HMAC-SHA-384-192
	IntegHMACSHA2_512 uint16 = 14 // HMAC-SHA-512-256
)

// Group is a Diffie-Hellman group number (IANA "IKEv2 Transform Type 4"),
// the ID of a DH transform and the group of a KE payload.
type Group uint16

// Diffie-Hellman groups.
const (
	GroupNone       Group = 0
	GroupMODP768    Group = 1
	GroupMODP1024   Group = 2
	GroupMODP1536   Group = 5
	GroupMODP2048   Group = 14 // RFC 3526
	GroupMODP3072   Group = 15
	GroupMODP4096   Group = 16
	GroupMODP6144   Group = 17
	GroupMODP8192   Group = 18
	GroupECP256     Group = 19 // RFC 5903
	GroupECP384     Group = 20
	GroupECP521     Group = 21
	GroupECP192     Group = 25 // RFC 5114
	GroupECP224     Group = 26
	GroupBrainpool  Group = 28 // brainpoolP256r1, RFC 6954
	GroupCurve25519 Group = 31 // RFC 8031
	GroupCurve448   Group = 32
)

// Transform IDs of type ESN.
const (
	ESNNo  uint16 = 0
	ESNYes uint16 = 1
)

// AttributeType is the 15-bit type of a transform attribute (RFC 7296
// section 3.3.5).
type AttributeType uint16

// AttrKeyLength is the only transform attribute RFC 7296 defines: the key
// length in bits of a cipher with variable key sizes, in TV format.
const AttrKeyLength AttributeType = 14

// An Attribute is a transform attribute (RFC 7296 section 3.3.5). A TV
// attribute (AF=1, Basic) carries a 2-octet Value; a TLV one (AF=0) carries
// Data of up to 65535 octets. The format is kept as received, so that a
// decoded transform encodes to the same bytes.
type Attribute struct {
	Type  AttributeType
	Basic bool
	Value uint16 // when Basic
	Data  []byte // when !Basic
}

// Encr returns an ENCR transform; keyBits, if not 0, goes in a Key Length
// attribute.
func Encr(id uint16, keyBits uint16) Transform {
	t := Transform{Type: TransformEncr, ID: id}
	if keyBits != 0 {
		t.Attributes = []Attribute{{Type: AttrKeyLength, Basic: true, Value: keyBits}}
	}
	return t
}

// PRF returns a PRF transform.
func PRF(id uint16) Transform { return Transform{Type: TransformPRF, ID: id} }

// Integ returns an INTEG transform.
func Integ(id uint16) Transform { return Transform{Type: TransformInteg, ID: id} }

// DH returns a DH transform.
func DH(g Group) Transform { return Transform{Type: TransformDH, ID: uint16(g)} }

// ESN returns an ESN transform.
func ESN(id uint16) Transform { return Transform{Type: TransformESN, ID: id} }

// KeyLength returns the value of the transform's Key Length attribute.
func (t Transform) KeyLength() (bits uint16, ok bool) {
	for _, a := range t.Attributes {
		if a.Type == AttrKeyLength && a.Basic {
			return a.Value, true
		}
	}
	return 0, false
}

func (t Transform) String() string {
	s := fmt.Sprintf("%v %d", t.Type, t.ID)
	if bits, ok := t.KeyLength(); ok {
		s += fmt.Sprintf(" (%d bits)", bits)
	}
	return s
}

// decodeAttributes decodes the attributes that fill b: the rest of a
// transform after its fixed fields, or of a CP payload.
func decodeAttributes(b []byte) ([]Attribute, error) {
	var attrs []Attribute
	for off := 0; off < len(b); {
		if len(attrs) == MaxAttributes {
			return nil, derr(0, nth("attribute", len(attrs)+1), off, ErrTooManyAttributes)
		}
		if len(b)-off < 4 {
			return nil, derr(0, nth("attribute", len(attrs)+1), off, ErrShortAttribute)
		}
		t := binary.BigEndian.Uint16(b[off:])
		v := binary.BigEndian.Uint16(b[off+2:])
		if t&0x8000 != 0 {
			attrs = append(attrs, Attribute{Type: AttributeType(t & 0x7fff), Basic: true, Value: v})
			off += 4
			continue
		}
		if int(v) > len(b)-off-4 {
			return nil, derr(0, nth("attribute", len(attrs)+1), off+2, ErrShortAttribute)
		}
		attrs = append(attrs, Attribute{Type: AttributeType(t), Data: clone(b[off+4 : off+4+int(v)])})
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
