package wire

import (
	"encoding/binary"
	"fmt"
)

// An Encrypted is an Encrypted and Authenticated payload, SK (RFC 7296
// section 3.14). Its body is
//
//	Initialization Vector | Encrypted IKE Payloads, Padding, Pad Length |
//	Integrity Checksum Data
//
// and its Next Payload field holds the type of the first inner payload. The
// lengths of the IV and of the checksum (the ICV) depend on the negotiated
// algorithms, which the codec does not know: Body stays whole, and Split or
// SplitProtected cut it once the caller says how long the IV and ICV are.
type Encrypted struct {
	First PayloadType // the type of the first inner payload; 0 for none
	Body  []byte
}

// PayloadType implements Payload.
func (*Encrypted) PayloadType() PayloadType { return PayloadSK }

// Decode copies body into e.Body; e.First is left as it is.
func (e *Encrypted) Decode(body []byte) error {
	e.Body = clone(body)
	return nil
}

// AppendBody implements Payload.
func (e *Encrypted) AppendBody(b []byte) ([]byte, error) {
	return append(b, e.Body...), nil
}

// Split cuts the body into the IV, the ciphertext (the inner payloads, the
// padding and the pad length octet) and the ICV, all aliasing e.Body. The
// ciphertext must hold at least the pad length octet.
func (e *Encrypted) Split(ivLen, icvLen int) (iv, ciphertext, icv []byte, err error) {
	return splitBody(PayloadSK, e.Body, ivLen, icvLen)
}

// An EncryptedFragment is an Encrypted and Authenticated Fragment payload,
// SKF (RFC 7383 section 2.5):
//
//	Fragment Number (2) | Total Fragments (2) | Initialization Vector |
//	Encrypted content | Integrity Checksum Data
//
// Each fragment is encrypted and protected on its own. Once all Total
// fragments of a message are in, their decrypted contents, each without its
// padding (Unpad), joined in order of Number, are the inner payload chain,
// whose first type is the First of fragment 1. RFC 7383 has fragments other
// than the first carry First 0; the codec keeps whatever comes.
type EncryptedFragment struct {
	First  PayloadType
	Number uint16 // from 1
	Total  uint16 // at least Number
	Body   []byte // IV | encrypted content | ICV
}

// fragmentFieldsLen is the length of the SKF fields before the IV.
const fragmentFieldsLen = 4

// PayloadType implements Payload.
func (*EncryptedFragment) PayloadType() PayloadType { return PayloadSKF }

// Decode decodes an SKF payload body; f.First is left as it is.
func (f *EncryptedFragment) Decode(b []byte) error {
	if len(b) < fragmentFieldsLen {
		return derr(PayloadSKF, "SKF", 0, ErrShortPayload)
	}
	n, total := binary.BigEndian.Uint16(b), binary.BigEndian.Uint16(b[2:])
	if n == 0 || n > total {
		return derr(PayloadSKF, "SKF", 0, ErrFragmentNumber)
	}
	f.Number, f.Total = n, total
	f.Body = clone(b[fragmentFieldsLen:])
	return nil
}

// AppendBody implements Payload.
func (f *EncryptedFragment) AppendBody(b []byte) ([]byte, error) {
	if f.Number == 0 || f.Number > f.Total {
		return nil, ErrFragmentNumber
	}
	b = binary.BigEndian.AppendUint16(b, f.Number)
	b = binary.BigEndian.AppendUint16(b, f.Total)
	return append(b, f.Body...), nil
}

// Split is Encrypted.Split for a fragment.
func (f *EncryptedFragment) Split(ivLen, icvLen int) (iv, ciphertext, icv []byte, err error) {
	return splitBody(PayloadSKF, f.Body, ivLen, icvLen)
}

func splitBody(t PayloadType, body []byte, ivLen, icvLen int) (iv, ciphertext, icv []byte, err error) {
	if ivLen < 0 || icvLen < 0 || len(body)-ivLen-icvLen < 1 {
		return nil, nil, nil, derr(t, t.String(), 0, ErrEncryptedLength)
	}
	end := len(body) - icvLen
	return body[:ivLen:ivLen], body[ivLen:end:end], body[end:], nil
}

// Protected locates the parts of a protected message: one whose last payload
// is SK or SKF. All byte slices alias the message.
type Protected struct {
	Header Header
	Type   PayloadType // PayloadSK or PayloadSKF
	First  PayloadType // the SK or SKF payload's Next Payload
	// Number and Total are the SKF fragment fields; 0 for SK.
	Number, Total uint16

	// Associated runs from the first octet of the message to the IV: the
	// header, any payloads sent in clear before SK, the SK payload's
	// generic header and, for SKF, the fragment fields. An AEAD cipher
	// authenticates it (RFC 5282 section 5.1, RFC 7383 section 2.5).
	Associated []byte
	IV         []byte
	// Ciphertext is the encrypted inner payloads, padding and pad length.
	Ciphertext []byte
	ICV        []byte
	// Signed is the message up to the ICV, which an integrity algorithm's
	// checksum covers (RFC 7296 section 3.14). When sending, encode the
	// message with an ICV of zeros, compute the checksum over Signed and
	// copy it into ICV.
	Signed []byte
}

// SplitProtected checks the header and the payload chain of the datagram b,
// like Decode but without decoding payload bodies, and cuts its last
// payload, which must be SK or SKF (else ErrNotEncrypted), into the parts an
// engine decrypts and authenticates, given the IV and ICV lengths of the
// negotiated algorithms.
func SplitProtected(b []byte, ivLen, icvLen int) (Protected, error) {
	h, body, err := split(b)
	if err != nil {
		return Protected{}, err
	}
	spans, err := splitChain(h.NextPayload, body, HeaderLen)
	if err != nil {
		return Protected{}, err
	}
	if len(spans) == 0 {
		return Protected{}, derr(0, "", HeaderLen, ErrNotEncrypted)
	}
	s := spans[len(spans)-1]
	if s.Type != PayloadSK && s.Type != PayloadSKF {
		return Protected{}, derr(s.Type, s.Type.String(), HeaderLen+s.Start, ErrNotEncrypted)
	}
	p := Protected{Header: h, Type: s.Type, First: s.Next}
	start := HeaderLen + s.Start + genericHeaderLen
	if s.Type == PayloadSKF {
		var f EncryptedFragment
		if err := f.Decode(s.Body(body)); err != nil {
			return Protected{}, nest(err, PayloadSKF, "", start)
		}
		p.Number, p.Total = f.Number, f.Total
		start += fragmentFieldsLen
	}
	iv, ct, icv, err := splitBody(s.Type, b[start:], ivLen, icvLen)
	if err != nil {
		return Protected{}, nest(err, s.Type, "", start)
	}
	p.Associated = b[:start:start]
	p.IV, p.Ciphertext, p.ICV = iv, ct, icv
	p.Signed = b[: len(b)-icvLen : len(b)-icvLen]
	return p, nil
}

// Pad appends to plain, the encoded inner payloads, the padding and pad
// length octet that bring it to a multiple of blockSize, the cipher's block
// size (1 for none), which must be at most 256. The padding is zeros.
func Pad(plain []byte, blockSize int) ([]byte, error) {
	if blockSize < 1 || blockSize > 256 {
		return nil, fmt.Errorf("ikev2: pad to a block size of %d", blockSize)
	}
	n := (blockSize - (len(plain)+1)%blockSize) % blockSize
	for range n {
		plain = append(plain, 0)
	}
	return append(plain, byte(n)), nil
}

// Unpad returns decrypted SK or SKF content without its padding and pad
// length octet: the inner payloads, for DecodePayloads. It aliases plain.
// The padding's content is not checked (RFC 7296 section 3.14 lets the
// sender choose it).
func Unpad(plain []byte) ([]byte, error) {
	if len(plain) == 0 {
		return nil, derr(0, "padding", 0, ErrPadding)
	}
	n := int(plain[len(plain)-1])
	if n+1 > len(plain) {
		return nil, derr(0, "padding", len(plain)-1, ErrPadding)
	}
	return plain[: len(plain)-1-n : len(plain)-1-n], nil
}
