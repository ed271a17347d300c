package isakmp

import "bytes"

// Payloads whose body is a single opaque value. Their sizes depend on what
// was negotiated (the Diffie-Hellman group, the hash), which the IKE engine
// checks; the codec only rejects bodies no negotiation allows.

// A KE is a Key Exchange payload (RFC 2408 section 3.7): the Diffie-Hellman
// public value.
type KE struct {
	Data []byte
}

// PayloadType implements Payload.
func (*KE) PayloadType() PayloadType { return PayloadKE }

// Parse parses a KE payload body, which must not be empty.
func (p *KE) Parse(b []byte) error {
	if len(b) == 0 {
		return perr("KE", 0, ErrShortPayload)
	}
	p.Data = bytes.Clone(b)
	return nil
}

// AppendBody implements Payload.
func (p *KE) AppendBody(b []byte) ([]byte, error) {
	if len(p.Data) == 0 {
		return nil, ErrShortPayload
	}
	return append(b, p.Data...), nil
}

// A Hash is a Hash payload (RFC 2408 section 3.11): HASH_I, HASH_R or a
// Quick Mode / Informational HASH(n).
type Hash struct {
	Data []byte
}

// PayloadType implements Payload.
func (*Hash) PayloadType() PayloadType { return PayloadHash }

// Parse parses a Hash payload body, which must not be empty.
func (p *Hash) Parse(b []byte) error {
	if len(b) == 0 {
		return perr("HASH", 0, ErrShortPayload)
	}
	p.Data = bytes.Clone(b)
	return nil
}

// AppendBody implements Payload.
func (p *Hash) AppendBody(b []byte) ([]byte, error) {
	if len(p.Data) == 0 {
		return nil, ErrShortPayload
	}
	return append(b, p.Data...), nil
}

// Nonce lengths allowed by RFC 2409 section 5.
const (
	MinNonceLen = 8
	MaxNonceLen = 256
)

// A Nonce is a Nonce payload (RFC 2408 section 3.13).
type Nonce struct {
	Data []byte // MinNonceLen to MaxNonceLen bytes
}

// PayloadType implements Payload.
func (*Nonce) PayloadType() PayloadType { return PayloadNonce }

// Parse parses a Nonce payload body.
func (p *Nonce) Parse(b []byte) error {
	if len(b) < MinNonceLen || len(b) > MaxNonceLen {
		return perr("nonce", 0, ErrNonceLength)
	}
	p.Data = bytes.Clone(b)
	return nil
}

// AppendBody implements Payload.
func (p *Nonce) AppendBody(b []byte) ([]byte, error) {
	if len(p.Data) < MinNonceLen || len(p.Data) > MaxNonceLen {
		return nil, ErrNonceLength
	}
	return append(b, p.Data...), nil
}
