package ikev2

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net/netip"

	"github.com/gresec/gresec/internal/esp"
	"github.com/gresec/gresec/internal/ike"
	"github.com/gresec/gresec/internal/ikev2/wire"
)

// header returns the IKE header of a message of sa.
func (sa *ikeSA) header(exch wire.ExchangeType, response bool, mid uint32) wire.Header {
	var f wire.Flags
	if sa.initiator {
		f |= wire.FlagInitiator
	}
	if response {
		f |= wire.FlagResponse
	}
	return wire.Header{SPIi: sa.spiI, SPIr: sa.spiR, Exchange: exch, Flags: f, MessageID: mid}
}

// encodeProtected encodes payloads in an SK payload protected with sa's
// keys (RFC 7296 section 3.14).
func (e *Engine) encodeProtected(sa *ikeSA, h wire.Header, payloads []wire.Payload) ([]byte, error) {
	inner, err := wire.EncodePayloads(payloads)
	if err != nil {
		return nil, err
	}
	var first wire.PayloadType
	if len(payloads) > 0 {
		first = payloads[0].PayloadType()
	}
	padded, err := wire.Pad(inner, sa.suite.encr.blockSize())
	if err != nil {
		return nil, err
	}
	ivLen, icvLen := sa.suite.encr.ivLen(), sa.suite.icvLen()
	body := make([]byte, ivLen+len(padded)+icvLen)
	copy(body, e.random(ivLen))
	copy(body[ivLen:], padded)
	m := wire.Message{Header: h, Payloads: []wire.Payload{&wire.Encrypted{First: first, Body: body}}}
	msg, err := m.Encode()
	if err != nil {
		return nil, err
	}
	p, err := wire.SplitProtected(msg, ivLen, icvLen)
	if err != nil {
		return nil, err
	}
	if err := sa.out().seal(p); err != nil {
		return nil, err
	}
	return msg, nil
}

// send emits a message from local to remote, with the non-ESP marker on
// port 4500 (RFC 3948 section 2.2).
func (e *Engine) send(local, remote netip.AddrPort, msg []byte) {
	e.emit(ike.Send{Local: local, Remote: remote, Data: withMarker(local, msg)})
}

func withMarker(local netip.AddrPort, msg []byte) []byte {
	if local.Port() != ike.NATTPort {
		return msg
	}
	return append(make([]byte, esp.NonESPMarkerLen, esp.NonESPMarkerLen+len(msg)), msg...)
}

// request sends a protected request on sa and waits for its response; sa
// must have no request outstanding.
func (e *Engine) request(sa *ikeSA, exch wire.ExchangeType, payloads []wire.Payload, r *request) {
	r.mid = sa.nextMID
	msgs, err := e.encodeMessage(sa, sa.header(exch, false, r.mid), payloads)
	if err != nil {
		e.logf(slog.LevelError, sa.remote.Addr(), "peer %s: cannot encode %v request: %v", sa.remote.Addr(), exch, err)
		return
	}
	sa.req = r
	r.frags = msgs
	r.xmit.Arm(e.now, msgs[0], sa.local, sa.remote)
	for _, m := range msgs {
		e.emit(ike.Send{Local: sa.local, Remote: sa.remote, Data: m})
	}
}

// resend sends a request again, every fragment of it.
func (e *Engine) resend(r *request) {
	for _, m := range r.frags {
		e.emit(ike.Send{Local: r.xmit.Local, Remote: r.xmit.Remote, Data: m})
	}
}

// respond sends a protected response to the peer's request mid and keeps
// it for retransmissions of that request.
func (e *Engine) respond(sa *ikeSA, exch wire.ExchangeType, mid uint32, payloads []wire.Payload) {
	msgs, err := e.encodeMessage(sa, sa.header(exch, true, mid), payloads)
	if err != nil {
		e.logf(slog.LevelError, sa.remote.Addr(), "peer %s: cannot encode %v response: %v", sa.remote.Addr(), exch, err)
		return
	}
	sa.lastResp, sa.lastMID, sa.answered = msgs, mid, true
	for _, m := range msgs {
		e.emit(ike.Send{Local: sa.local, Remote: sa.remote, Data: m})
	}
}

// natHash is a NAT_DETECTION_*_IP hash (RFC 7296 section 2.23): SHA-1 of
// the SPIs, the address and the port.
func natHash(spiI, spiR [8]byte, a netip.AddrPort) []byte {
	h := sha1.New()
	h.Write(spiI[:])
	h.Write(spiR[:])
	h.Write(a.Addr().Unmap().AsSlice())
	var p [2]byte
	binary.BigEndian.PutUint16(p[:], a.Port())
	h.Write(p[:])
	return h.Sum(nil)
}

// natNotifies returns our NAT detection notifies for a message from local
// to remote. With ForceUDPEncap the source hash cannot match, so that the
// peer believes us behind a NAT.
func (e *Engine) natNotifies(spiI, spiR [8]byte, local, remote netip.AddrPort) []wire.Payload {
	src := natHash(spiI, spiR, local)
	if e.cfg.ForceUDPEncap {
		src = e.random(len(src))
	}
	return []wire.Payload{
		wire.NewNotify(wire.NotifyNATDetectionSourceIP, src),
		wire.NewNotify(wire.NotifyNATDetectionDestinationIP, natHash(spiI, spiR, remote)),
	}
}

// natDetect compares the peer's NAT detection notifies with the addresses
// the message came from and to. present is false when the peer sent none
// (no NAT traversal).
func natDetect(ns notifies, spiI, spiR [8]byte, local, remote netip.AddrPort) (natLocal, natRemote, present bool) {
	srcs, dst := ns.all(wire.NotifyNATDetectionSourceIP), ns.get(wire.NotifyNATDetectionDestinationIP)
	if len(srcs) == 0 || dst == nil {
		return false, false, false
	}
	natLocal = !bytes.Equal(dst.Data, natHash(spiI, spiR, local))
	want := natHash(spiI, spiR, remote)
	natRemote = true
	for _, s := range srcs {
		if bytes.Equal(s.Data, want) {
			natRemote = false
		}
	}
	return natLocal, natRemote, true
}

// notifies are the Notify payloads of a message.
type notifies []*wire.Notify

func (ns notifies) get(t wire.NotifyType) *wire.Notify {
	for _, n := range ns {
		if n.Type == t {
			return n
		}
	}
	return nil
}

func (ns notifies) all(t wire.NotifyType) []*wire.Notify {
	var out []*wire.Notify
	for _, n := range ns {
		if n.Type == t {
			out = append(out, n)
		}
	}
	return out
}

// firstError returns the first error notify, if any.
func (ns notifies) firstError() *wire.Notify {
	for _, n := range ns {
		if n.Type.IsError() {
			return n
		}
	}
	return nil
}

// payloadsOf collects the payloads of a message by type; for IDi and IDr,
// TSi and TSr the Responder field tells them apart.
type payloadSet struct {
	sa       *wire.SA
	ke       *wire.KE
	nonce    *wire.Nonce
	idi, idr *wire.ID
	auth     *wire.Auth
	tsi, tsr *wire.TS
	deletes  []*wire.Delete
	certs    []*wire.Cert
	notifies notifies
}

func collect(ps []wire.Payload) payloadSet {
	var s payloadSet
	for _, p := range ps {
		switch p := p.(type) {
		case *wire.SA:
			if s.sa == nil {
				s.sa = p
			}
		case *wire.KE:
			if s.ke == nil {
				s.ke = p
			}
		case *wire.Nonce:
			if s.nonce == nil {
				s.nonce = p
			}
		case *wire.ID:
			if p.Responder && s.idr == nil {
				s.idr = p
			} else if !p.Responder && s.idi == nil {
				s.idi = p
			}
		case *wire.Auth:
			if s.auth == nil {
				s.auth = p
			}
		case *wire.TS:
			if p.Responder && s.tsr == nil {
				s.tsr = p
			} else if !p.Responder && s.tsi == nil {
				s.tsi = p
			}
		case *wire.Delete:
			s.deletes = append(s.deletes, p)
		case *wire.Cert:
			s.certs = append(s.certs, p)
		case *wire.Notify:
			s.notifies = append(s.notifies, p)
		}
	}
	return s
}

// rawBody returns the body of the first payload of type t in an inner
// chain as received: AUTH signs an ID payload's body as sent (RFC 7296
// section 2.15).
func rawBody(first wire.PayloadType, inner []byte, t wire.PayloadType) []byte {
	spans, err := wire.SplitPayloads(first, inner)
	if err != nil {
		return nil
	}
	for _, s := range spans {
		if s.Type == t {
			return s.Body(inner)
		}
	}
	return nil
}

// inbound is a received protected message, authenticated and decrypted.
type inbound struct {
	d        ike.Datagram
	h        wire.Header
	first    wire.PayloadType
	inner    []byte // the decrypted inner payload chain
	payloads payloadSet
}

// receive takes a datagram apart and hands it to the exchange it belongs
// to. Nothing changes before the message is authenticated.
func (e *Engine) receive(d ike.Datagram) {
	d.Local = netip.AddrPortFrom(d.Local.Addr().Unmap(), d.Local.Port())
	d.Remote = netip.AddrPortFrom(d.Remote.Addr().Unmap(), d.Remote.Port())
	data, ok := d.Message()
	if !ok {
		return // ESP or a keepalive: the data plane's
	}
	h, err := wire.DecodeHeader(data)
	if err != nil {
		e.malformed(d, err)
		return
	}
	if h.Exchange == wire.ExchangeIKESAInit {
		if h.Flags&wire.FlagResponse == 0 {
			e.recvInitRequest(d, h, data)
		} else {
			e.recvInitResponse(d, h, data)
		}
		return
	}
	spi := h.SPIi
	if h.Flags&wire.FlagInitiator != 0 {
		spi = h.SPIr // the sender is the original initiator: we responded
	}
	sa := e.sas[spi]
	if sa == nil || sa.spiI != h.SPIi || sa.spiR != h.SPIr || sa.keys.d == nil ||
		sa.remote.Addr() != d.Remote.Addr() || (h.Flags&wire.FlagInitiator != 0) == sa.initiator {
		e.logLimited("unknown-sa", slog.LevelInfo, d.Remote.Addr(),
			"peer %s: dropped %v for an unknown IKE SA %x/%x", d.Remote.Addr(), h.Exchange, h.SPIi, h.SPIr)
		return
	}
	response := h.Flags&wire.FlagResponse != 0
	if response {
		if sa.req == nil || h.MessageID != sa.req.mid {
			return // late or duplicate response
		}
	} else {
		if sa.answered && h.MessageID == sa.lastMID {
			// A retransmitted request: the same response again, at most
			// as often as the peer sends (RFC 7296 section 2.1); for a
			// fragmented one, on its first fragment (RFC 7383 2.6.1).
			if !laterFragment(data) {
				for _, m := range sa.lastResp {
					e.emit(ike.Send{Local: sa.local, Remote: d.Remote, Data: m})
				}
			}
			return
		}
		if h.MessageID != sa.peerMID {
			e.logLimited("mid", slog.LevelInfo, d.Remote.Addr(),
				"peer %s: dropped %v request with message ID %d, expected %d", d.Remote.Addr(), h.Exchange, h.MessageID, sa.peerMID)
			return
		}
	}
	in, done, err := e.open(sa, d, data, response)
	if err != nil {
		e.logLimited("open", slog.LevelInfo, d.Remote.Addr(), "peer %s: dropped %v: %v", d.Remote.Addr(), h.Exchange, err)
		return
	}
	if !done {
		return // more fragments to come
	}
	in.h = h
	e.heard(sa, d)
	if response {
		r := sa.req
		r.xmit.Stop()
		sa.req = nil
		sa.nextMID++
		e.handleResponse(sa, r, in)
		return
	}
	sa.peerMID++
	e.handleRequest(sa, in)
}

// open authenticates and decrypts a protected message of sa, or a
// fragment of one (RFC 7383); done is false while fragments are missing.
func (e *Engine) open(sa *ikeSA, d ike.Datagram, data []byte, response bool) (in inbound, done bool, err error) {
	p, err := wire.SplitProtected(data, sa.suite.encr.ivLen(), sa.suite.icvLen())
	if err != nil {
		return inbound{}, false, err
	}
	plain, err := sa.in().open(p)
	if err != nil {
		return inbound{}, false, err
	}
	inner, err := wire.Unpad(plain)
	if err != nil {
		return inbound{}, false, err
	}
	first := p.First
	if p.Type == wire.PayloadSKF {
		if inner, first, done, err = sa.reassemble(p, inner, response); err != nil || !done {
			return inbound{}, false, err
		}
	}
	ps, err := wire.DecodePayloads(first, inner)
	if err != nil {
		return inbound{}, false, fmt.Errorf("authenticated but malformed: %w", err)
	}
	return inbound{d: d, first: first, inner: inner, payloads: collect(ps)}, true, nil
}

// heard records an authenticated message from the peer: a sign of life,
// and where it now sends from (a NAT may have made a new mapping).
func (e *Engine) heard(sa *ikeSA, d ike.Datagram) {
	sa.peer.lastSeen = e.now
	if d.Local.Port() == ike.NATTPort && sa.local.Port() != ike.NATTPort {
		sa.local = d.Local // the initiator floated to 4500
	}
	if d.Remote == sa.remote || !sa.natt() {
		return
	}
	old := sa.remote
	sa.remote = d.Remote
	if sa.state != saEstablished || old.Port() == ike.Port {
		return // the float to 4500 itself, not a new NAT mapping
	}
	sa.peer.natPort = d.Remote.Port()
	e.logf(slog.LevelInfo, d.Remote.Addr(), "peer %s: now at port %d (was %d): following the NAT", d.Remote.Addr(), d.Remote.Port(), old.Port())
	for _, t := range sa.peer.tunnels {
		for _, c := range t.children {
			if c.sa == sa && c.encap {
				e.emit(ike.PeerMoved{Tunnel: t.p.Name, Remote: d.Remote,
					Encap: ike.UDPEncap{LocalPort: sa.local.Port(), RemotePort: d.Remote.Port()}})
				break
			}
		}
	}
}

// malformed logs a message that failed to parse (rate limited per peer).
func (e *Engine) malformed(d ike.Datagram, err error) {
	e.logLimited("malformed", slog.LevelInfo, d.Remote.Addr(),
		"peer %s: dropped malformed IKEv2 message: %v", d.Remote.Addr(), err)
}

// sendClearNotify answers an IKE_SA_INIT request with an unprotected
// notify (RFC 7296 sections 2.6 and 2.21.1), keeping no state.
func (e *Engine) sendClearNotify(d ike.Datagram, h wire.Header, n *wire.Notify) {
	resp := wire.Message{Header: wire.Header{SPIi: h.SPIi, Exchange: wire.ExchangeIKESAInit, Flags: wire.FlagResponse},
		Payloads: []wire.Payload{n}}
	msg, err := resp.Encode()
	if err != nil {
		return
	}
	e.send(d.Local, d.Remote, msg)
}
