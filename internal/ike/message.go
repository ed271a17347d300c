package ike

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/gresec/gresec/internal/isakmp"
)

// Building and taking apart messages. Parsing always goes into temporaries
// (a parsed value) so that the state machine only changes once a message
// has been validated and, where it can be, authenticated.

var (
	errMissing    = errors.New("mandatory payload missing")
	errUnexpected = errors.New("unexpected payload")
)

// parsed is a message body split into payloads, with their places in the
// body for the hashes that cover payloads as sent.
type parsed struct {
	body     []byte
	spans    []isakmp.Span
	payloads []isakmp.Payload
}

// parseBody splits and parses the payload chain in body; padded allows
// block cipher padding after the last payload of a decrypted body.
func parseBody(first isakmp.PayloadType, body []byte, padded bool) (*parsed, error) {
	var spans []isakmp.Span
	var err error
	if padded {
		spans, err = isakmp.SplitPlaintext(first, body)
	} else {
		spans, err = isakmp.SplitPayloads(first, body)
	}
	if err != nil {
		return nil, err
	}
	m := &parsed{body: body, spans: spans}
	for _, s := range spans {
		p, err := isakmp.ParsePayload(s.Type, s.Body(body))
		if err != nil {
			return nil, err
		}
		m.payloads = append(m.payloads, p)
	}
	return m, nil
}

// index returns the index of the first payload of type t, or -1.
func (m *parsed) index(t isakmp.PayloadType) int {
	for i, s := range m.spans {
		if s.Type == t || (t == isakmp.PayloadNATD && s.Type == isakmp.PayloadNATDDraft) {
			return i
		}
	}
	return -1
}

func (m *parsed) count(t isakmp.PayloadType) int {
	n := 0
	for _, s := range m.spans {
		if s.Type == t {
			n++
		}
	}
	return n
}

// one returns the single payload of type t.
func one[P isakmp.Payload](m *parsed, t isakmp.PayloadType) (P, []byte, error) {
	var zero P
	switch m.count(t) {
	case 0:
		return zero, nil, fmt.Errorf("%w: %v", errMissing, t)
	case 1:
	default:
		return zero, nil, fmt.Errorf("%w: more than one %v", errUnexpected, t)
	}
	i := m.index(t)
	p, ok := m.payloads[i].(P)
	if !ok {
		return zero, nil, fmt.Errorf("%w: %v", errUnexpected, t)
	}
	return p, m.spans[i].Body(m.body), nil
}

// all returns every payload of type P.
func all[P isakmp.Payload](m *parsed) []P {
	var out []P
	for _, p := range m.payloads {
		if q, ok := p.(P); ok {
			out = append(out, q)
		}
	}
	return out
}

// afterHash returns the bytes a Quick Mode or informational HASH covers:
// everything after the HASH payload, which must come first, up to the end
// of the last payload (not the padding). It also returns the hash.
func (m *parsed) afterHash() (hash, rest []byte, err error) {
	if len(m.spans) < 2 || m.spans[0].Type != isakmp.PayloadHash {
		return nil, nil, fmt.Errorf("%w: HASH must come first and be followed by a payload", errMissing)
	}
	h := m.payloads[0].(*isakmp.Hash)
	return h.Data, m.body[m.spans[1].Start:m.spans[len(m.spans)-1].End], nil
}

// marshalClear encodes an unencrypted message.
func marshalClear(h isakmp.Header, payloads []isakmp.Payload) ([]byte, error) {
	h.Flags &^= isakmp.FlagEncryption
	msg := isakmp.Message{Header: h, Payloads: payloads}
	return msg.Marshal()
}

// marshalEncrypted encrypts plain (a marshalled payload chain whose first
// payload has type first) under key and iv and returns the message and the
// IV for the next message.
func marshalEncrypted(h isakmp.Header, first isakmp.PayloadType, plain, key, iv []byte) (msg, next []byte, err error) {
	ct, next, err := encryptBody(key, iv, plain)
	if err != nil {
		return nil, nil, err
	}
	h.NextPayload = first
	h.Flags |= isakmp.FlagEncryption
	h.Length = uint32(isakmp.HeaderLen + len(ct))
	hb, err := h.Marshal()
	if err != nil {
		return nil, nil, err
	}
	return append(hb, ct...), next, nil
}

// hashedChain marshals HASH | rest, the hash computed by mac over the
// marshalled rest (RFC 2409 section 5.5 and 5.7).
func hashedChain(size int, rest []isakmp.Payload, mac func(rest []byte) []byte) ([]byte, error) {
	ps := append([]isakmp.Payload{&isakmp.Hash{Data: make([]byte, size)}}, rest...)
	b, err := isakmp.MarshalPayloads(ps)
	if err != nil {
		return nil, err
	}
	copy(b[4:4+size], mac(b[4+size:]))
	return b, nil
}

func midBytes(mid uint32) []byte { return binary.BigEndian.AppendUint32(nil, mid) }

// Vendor IDs gresec sends in Main Mode.
func ourVendorIDs() []isakmp.Payload {
	return []isakmp.Payload{
		&isakmp.VendorID{ID: []byte(isakmp.VendorRFC3947)},
		&isakmp.VendorID{ID: []byte(isakmp.VendorDPD)},
	}
}

// vendorInfo reads the vendor IDs of a Main Mode message.
func vendorInfo(m *parsed) (natt, dpd bool, vendor string) {
	for _, v := range all[*isakmp.VendorID](m) {
		switch id := string(v.ID); {
		case id == isakmp.VendorRFC3947:
			natt = true
		case id == isakmp.VendorDPD:
			dpd = true
		case id == isakmp.VendorStrongSwan:
			vendor = "strongSwan"
		case id == isakmp.VendorCiscoUnity:
			vendor = "Cisco"
		case bytes.HasPrefix(v.ID, []byte(isakmp.VendorFragmentation)), id == isakmp.VendorXAuth,
			id == isakmp.VendorNATTDraft02, id == isakmp.VendorNATTDraft02N, id == isakmp.VendorNATTDraft03:
			// Known, and nothing to do: gresec does not fragment, does
			// no XAuth, and speaks NAT-T as RFC 3947 only.
		}
	}
	return natt, dpd, vendor
}
