package ikev2

import (
	"errors"
	"fmt"
	"slices"

	"github.com/gresec/gresec/internal/esp"
	"github.com/gresec/gresec/internal/ike"
	"github.com/gresec/gresec/internal/ikev2/wire"
)

// IKE fragmentation (RFC 7383): both ends announce it in IKE_SA_INIT; a
// protected message that would not fit the fragment size goes as SKF
// fragments, each encrypted and authenticated on its own, so that IKE_AUTH
// with certificates crosses a path that drops IP fragments.

const (
	// defaultFragmentMTU is the IP packet size fragments fit when
	// `crypto ikev2 fragmentation mtu` does not say (strongSwan's 1280, the
	// IPv6 minimum MTU).
	defaultFragmentMTU = 1280
	minFragmentMTU     = 576
	// A reassembled message is bounded: fragments that claim more are
	// dropped (a peer can only waste its own IKE SA's memory).
	maxFragments     = 64
	maxReassembledSz = 64 << 10
)

// reassembly collects the fragments of one message.
type reassembly struct {
	mid      uint32
	response bool
	total    uint16
	first    wire.PayloadType
	parts    map[uint16][]byte
	size     int
}

var errFragments = errors.New("bad fragment")

// reassemble adds a fragment's decrypted content (already authenticated)
// and returns the whole inner payload chain once every fragment is in.
func (sa *ikeSA) reassemble(p wire.Protected, content []byte, response bool) ([]byte, wire.PayloadType, bool, error) {
	mid := p.Header.MessageID
	if p.Total == 0 || p.Total > maxFragments || p.Number == 0 || p.Number > p.Total {
		return nil, 0, false, fmt.Errorf("%w: %d of %d", errFragments, p.Number, p.Total)
	}
	r := sa.reasm
	if r == nil || r.mid != mid || r.response != response || r.total != p.Total {
		// A new message (or one retransmitted with another size: RFC
		// 7383 section 2.6.2 starts over).
		r = &reassembly{mid: mid, response: response, total: p.Total, parts: make(map[uint16][]byte)}
		sa.reasm = r
	}
	if _, dup := r.parts[p.Number]; dup {
		return nil, 0, false, nil
	}
	if r.size+len(content) > maxReassembledSz {
		sa.reasm = nil
		return nil, 0, false, fmt.Errorf("%w: reassembled message over %d bytes", errFragments, maxReassembledSz)
	}
	if p.Number == 1 {
		r.first = p.First
	}
	r.parts[p.Number] = slices.Clone(content)
	r.size += len(content)
	if len(r.parts) < int(r.total) {
		return nil, 0, false, nil
	}
	out := make([]byte, 0, r.size)
	for i := uint16(1); i <= r.total; i++ {
		out = append(out, r.parts[i]...)
	}
	sa.reasm = nil
	return out, r.first, true, nil
}

// laterFragment reports whether a datagram (without marker) is an SKF
// fragment other than the first, without authenticating it.
func laterFragment(data []byte) bool {
	h, err := wire.DecodeHeader(data)
	if err != nil || h.NextPayload != wire.PayloadSKF || len(data) < wire.HeaderLen+6 {
		return false
	}
	n := uint16(data[wire.HeaderLen+4])<<8 | uint16(data[wire.HeaderLen+5])
	return n > 1
}

// fragmentMTU is the IP packet size our fragments fit.
func (e *Engine) fragmentMTU() int {
	if m := e.cfg.FragmentMTU; m >= minFragmentMTU {
		return m
	}
	return defaultFragmentMTU
}

// encodeMessage encodes a protected message as the datagrams to send (the
// marker on port 4500 included): one, or RFC 7383 fragments when the
// peer supports them and one would exceed the fragment size.
func (e *Engine) encodeMessage(sa *ikeSA, h wire.Header, payloads []wire.Payload) ([][]byte, error) {
	msg, err := e.encodeProtected(sa, h, payloads)
	if err != nil {
		return nil, err
	}
	marker := 0
	if sa.local.Port() == ike.NATTPort {
		marker = esp.NonESPMarkerLen
	}
	ipHdr := 20
	if sa.remote.Addr().Is6() && !sa.remote.Addr().Is4In6() {
		ipHdr = 40
	}
	room := e.fragmentMTU() - ipHdr - 8 - marker // IKE bytes per datagram
	if !sa.fragOK || len(msg) <= room {
		return [][]byte{withMarker(sa.local, msg)}, nil
	}
	inner, err := wire.EncodePayloads(payloads)
	if err != nil {
		return nil, err
	}
	bs, ivLen, icvLen := sa.suite.encr.blockSize(), sa.suite.encr.ivLen(), sa.suite.icvLen()
	// Header, SKF header with its fragment fields, IV, ICV, and the most
	// padding a chunk can need with its pad length octet.
	chunk := room - wire.HeaderLen - 8 - ivLen - icvLen - bs
	if bs > 1 {
		chunk -= chunk % bs
	}
	total := (len(inner) + chunk - 1) / chunk
	if chunk <= 0 || total > maxFragments {
		return nil, fmt.Errorf("a message of %d bytes does not fit %d fragments of the fragment size", len(inner), maxFragments)
	}
	first := payloads[0].PayloadType()
	var out [][]byte
	for i := range total {
		part := inner[i*chunk : min((i+1)*chunk, len(inner))]
		// A copy: Pad appends, and part shares its array with the next chunk.
		padded, err := wire.Pad(slices.Clone(part), bs)
		if err != nil {
			return nil, err
		}
		body := make([]byte, ivLen+len(padded)+icvLen)
		copy(body, e.random(ivLen))
		copy(body[ivLen:], padded)
		f := &wire.EncryptedFragment{Number: uint16(i + 1), Total: uint16(total), Body: body}
		if i == 0 {
			f.First = first
		}
		m := wire.Message{Header: h, Payloads: []wire.Payload{f}}
		b, err := m.Encode()
		if err != nil {
			return nil, err
		}
		p, err := wire.SplitProtected(b, ivLen, icvLen)
		if err != nil {
			return nil, err
		}
		if err := sa.out().seal(p); err != nil {
			return nil, err
		}
		out = append(out, withMarker(sa.local, b))
	}
	return out, nil
}
