package wire

import (
	"encoding/binary"
	"fmt"
)

// Payloads that carry one value with at most a small fixed header. Their
// sizes depend on what was negotiated (the Diffie-Hellman group, the PRF,
// the certificate), which the IKE engine checks; the codec only rejects
// bodies no negotiation allows.

// A KE is a Key Exchange payload (RFC 7296 section 3.4):
//
//	Diffie-Hellman Group Num (2) | RESERVED (2) | Key Exchange Data
type KE struct {
	Group Group
	Data  []byte // not empty
}

// PayloadType implements Payload.
func (*KE) PayloadType() PayloadType { return PayloadKE }

// Decode decodes a KE payload body.
func (p *KE) Decode(b []byte) error {
	if len(b) < 5 {
		return derr(PayloadKE, "KE", 0, ErrShortPayload)
	}
	p.Group = Group(binary.BigEndian.Uint16(b))
	p.Data = clone(b[4:])
	return nil
}

// AppendBody implements Payload.
func (p *KE) AppendBody(b []byte) ([]byte, error) {
	if len(p.Data) == 0 {
		return nil, ErrShortPayload
	}
	b = binary.BigEndian.AppendUint16(b, uint16(p.Group))
	b = append(b, 0, 0)
	return append(b, p.Data...), nil
}

// Nonce lengths allowed by RFC 7296 section 3.9.
const (
	MinNonceLen = 16
	MaxNonceLen = 256
)

// A Nonce is a Nonce payload (RFC 7296 section 3.9): Ni or Nr.
type Nonce struct {
	Data []byte // MinNonceLen to MaxNonceLen octets
}

// PayloadType implements Payload.
func (*Nonce) PayloadType() PayloadType { return PayloadNonce }

// Decode decodes a Nonce payload body.
func (p *Nonce) Decode(b []byte) error {
	if len(b) < MinNonceLen || len(b) > MaxNonceLen {
		return derr(PayloadNonce, "Nonce", 0, ErrNonceLength)
	}
	p.Data = clone(b)
	return nil
}

// AppendBody implements Payload.
func (p *Nonce) AppendBody(b []byte) ([]byte, error) {
	if len(p.Data) < MinNonceLen || len(p.Data) > MaxNonceLen {
		return nil, ErrNonceLength
	}
	return append(b, p.Data...), nil
}

// A VendorID is a Vendor ID payload (RFC 7296 section 3.12).
type VendorID struct {
	Data []byte
}

// PayloadType implements Payload.
func (*VendorID) PayloadType() PayloadType { return PayloadVendorID }

// Decode decodes a Vendor ID payload body.
func (p *VendorID) Decode(b []byte) error {
	p.Data = clone(b)
	return nil
}

// AppendBody implements Payload.
func (p *VendorID) AppendBody(b []byte) ([]byte, error) {
	return append(b, p.Data...), nil
}

// An EAP is an Extensible Authentication Protocol payload (RFC 7296 section
// 3.16), kept as the EAP message it carries (RFC 3748).
type EAP struct {
	Data []byte
}

// PayloadType implements Payload.
func (*EAP) PayloadType() PayloadType { return PayloadEAP }

// Decode decodes an EAP payload body.
func (p *EAP) Decode(b []byte) error {
	p.Data = clone(b)
	return nil
}

// AppendBody implements Payload.
func (p *EAP) AppendBody(b []byte) ([]byte, error) {
	return append(b, p.Data...), nil
}

// CertEncoding says what a CERT or CERTREQ payload holds (RFC 7296 section
// 3.6, RFC 7670).
type CertEncoding uint8

// Certificate encodings.
const (
	CertPKCS7            CertEncoding = 1
	CertPGP              CertEncoding = 2
	CertDNSSignedKey     CertEncoding = 3
	CertX509Signature    CertEncoding = 4
	CertKerberosToken    CertEncoding = 6
	CertCRL              CertEncoding = 7
	CertARL              CertEncoding = 8
	CertSPKI             CertEncoding = 9
	CertX509Attribute    CertEncoding = 10
	CertRawRSAKey        CertEncoding = 11
	CertHashURLX509      CertEncoding = 12
	CertHashURLX509Chain CertEncoding = 13
	CertOCSPContent      CertEncoding = 14 // RFC 4806
	CertRawPublicKey     CertEncoding = 15 // RFC 7670
)

// A Cert is a Certificate payload (RFC 7296 section 3.6):
//
//	Cert Encoding (1) | Certificate Data
type Cert struct {
	Encoding CertEncoding
	Data     []byte // a DER X.509 certificate for CertX509Signature
}

// PayloadType implements Payload.
func (*Cert) PayloadType() PayloadType { return PayloadCert }

// Decode decodes a CERT payload body.
func (p *Cert) Decode(b []byte) error {
	if len(b) < 1 {
		return derr(PayloadCert, "CERT", 0, ErrShortPayload)
	}
	p.Encoding = CertEncoding(b[0])
	p.Data = clone(b[1:])
	return nil
}

// AppendBody implements Payload.
func (p *Cert) AppendBody(b []byte) ([]byte, error) {
	return append(append(b, byte(p.Encoding)), p.Data...), nil
}

// A CertReq is a Certificate Request payload (RFC 7296 section 3.7):
//
//	Cert Encoding (1) | Certification Authority
//
// For X.509 the authorities are a concatenation of the SHA-1 hashes of
// trusted CAs' public keys, possibly none.
type CertReq struct {
	Encoding    CertEncoding
	Authorities []byte
}

// PayloadType implements Payload.
func (*CertReq) PayloadType() PayloadType { return PayloadCertReq }

// Decode decodes a CERTREQ payload body.
func (p *CertReq) Decode(b []byte) error {
	if len(b) < 1 {
		return derr(PayloadCertReq, "CERTREQ", 0, ErrShortPayload)
	}
	p.Encoding = CertEncoding(b[0])
	p.Authorities = clone(b[1:])
	return nil
}

// AppendBody implements Payload.
func (p *CertReq) AppendBody(b []byte) ([]byte, error) {
	return append(append(b, byte(p.Encoding)), p.Authorities...), nil
}

// AuthMethod is the authentication method of an AUTH payload (RFC 7296
// section 3.8, RFC 4754, RFC 7427, RFC 7619).
type AuthMethod uint8

// Authentication methods.
const (
	AuthRSASig           AuthMethod = 1  // RSA PKCS#1 v1.5 with SHA-1
	AuthSharedKeyMIC     AuthMethod = 2  // pre-shared key
	AuthDSSSig           AuthMethod = 3  // DSS with SHA-1
	AuthECDSA256         AuthMethod = 9  // ECDSA with SHA-256 on P-256
	AuthECDSA384         AuthMethod = 10 // ECDSA with SHA-384 on P-384
	AuthECDSA521         AuthMethod = 11 // ECDSA with SHA-512 on P-521
	AuthNull             AuthMethod = 13 // RFC 7619
	AuthDigitalSignature AuthMethod = 14 // RFC 7427
)

func (m AuthMethod) String() string {
	switch m {
	case AuthRSASig:
		return "RSA Digital Signature"
	case AuthSharedKeyMIC:
		return "Shared Key Message Integrity Code"
	case AuthDSSSig:
		return "DSS Digital Signature"
	case AuthECDSA256:
		return "ECDSA with SHA-256 on the P-256 curve"
	case AuthECDSA384:
		return "ECDSA with SHA-384 on the P-384 curve"
	case AuthECDSA521:
		return "ECDSA with SHA-512 on the P-521 curve"
	case AuthNull:
		return "NULL Authentication"
	case AuthDigitalSignature:
		return "Digital Signature"
	}
	return fmt.Sprintf("auth method %d", uint8(m))
}

// An Auth is an Authentication payload (RFC 7296 section 3.8):
//
//	Auth Method (1) | RESERVED (3) | Authentication Data
type Auth struct {
	Method AuthMethod
	Data   []byte // not empty
}

// PayloadType implements Payload.
func (*Auth) PayloadType() PayloadType { return PayloadAuth }

// Decode decodes an AUTH payload body.
func (p *Auth) Decode(b []byte) error {
	if len(b) < 5 {
		return derr(PayloadAuth, "AUTH", 0, ErrShortPayload)
	}
	p.Method = AuthMethod(b[0])
	p.Data = clone(b[4:])
	return nil
}

// AppendBody implements Payload.
func (p *Auth) AppendBody(b []byte) ([]byte, error) {
	if len(p.Data) == 0 {
		return nil, ErrShortPayload
	}
	b = append(b, byte(p.Method), 0, 0, 0)
	return append(b, p.Data...), nil
}

// DigitalSignature splits the data of a Digital Signature AUTH payload (RFC
// 7427 section 3):
//
//	ASN.1 Length (1) | AlgorithmIdentifier (ASN.1 Length) | Signature Value
//
// into the DER AlgorithmIdentifier, which names the signature and hash
// algorithms, and the signature. Both alias p.Data. It fails for another
// method or an algorithm identifier that overruns the data.
func (p *Auth) DigitalSignature() (algorithm, signature []byte, err error) {
	if p.Method != AuthDigitalSignature {
		return nil, nil, fmt.Errorf("ikev2: %v is not a digital signature", p.Method)
	}
	if len(p.Data) < 1 || int(p.Data[0]) > len(p.Data)-1 {
		return nil, nil, fmt.Errorf("ikev2: digital signature AUTH: %w", ErrShortPayload)
	}
	n := 1 + int(p.Data[0])
	return p.Data[1:n:n], p.Data[n:], nil
}

// NewDigitalSignature returns a Digital Signature AUTH payload (RFC 7427)
// for a DER AlgorithmIdentifier of at most 255 octets and a signature.
func NewDigitalSignature(algorithm, signature []byte) (*Auth, error) {
	if len(algorithm) > 0xff {
		return nil, fmt.Errorf("ikev2: algorithm identifier of %d octets: %w", len(algorithm), ErrPayloadTooLong)
	}
	data := make([]byte, 0, 1+len(algorithm)+len(signature))
	data = append(data, byte(len(algorithm)))
	data = append(data, algorithm...)
	return &Auth{Method: AuthDigitalSignature, Data: append(data, signature...)}, nil
}
