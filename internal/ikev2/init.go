package ikev2

import (
	"bytes"
	"crypto/subtle"
	"log/slog"
	"net/netip"
	"strconv"
	"time"

	"github.com/gresec/gresec/internal/dh"
	"github.com/gresec/gresec/internal/ike"
	"github.com/gresec/gresec/internal/ikev2/wire"
	"github.com/gresec/gresec/internal/retransmit"
)

// The IKE_SA_INIT exchange (RFC 7296 section 1.2): algorithms, nonces and
// Diffie-Hellman, NAT detection (section 2.23), cookies (section 2.6) and
// the INVALID_KE_PAYLOAD retry (section 1.2).

// initiate starts an IKE SA with a peer, for tunnel t's CHILD_SA.
func (e *Engine) initiate(p *peer, t *tunnel) {
	props := t.p.Profile.Proposals
	sa := &ikeSA{
		peer:      p,
		spiI:      e.newIKESPI(),
		initiator: true,
		state:     saInit,
		local:     netip.AddrPortFrom(p.key.local, ike.Port),
		remote:    netip.AddrPortFrom(p.key.remote, ike.Port),
		created:   e.now,
		tunnel:    t,
		group:     firstGroup(props),
		ni:        e.random(nonceLen),
	}
	key, err := dh.New(sa.group, e.rand)
	if err != nil {
		e.logf(slog.LevelError, p.key.remote, "%s: %v", t.p.Name, err)
		return
	}
	sa.dh = key
	e.sas[sa.spiI] = sa
	p.sas = append(p.sas, sa)
	e.sendInit(sa)
}

// sendInit sends (or sends again, with a cookie or another group) the
// IKE_SA_INIT request.
func (e *Engine) sendInit(sa *ikeSA) {
	t := sa.tunnel
	sa.offered = ikeOffer(t.p.Profile.Proposals, nil, sa.group)
	var ps []wire.Payload
	if sa.cookie != nil {
		ps = append(ps, wire.NewNotify(wire.NotifyCookie, sa.cookie))
	}
	ps = append(ps, &wire.SA{Proposals: sa.offered}, &wire.KE{Group: wire.Group(sa.group), Data: sa.dh.Public()},
		&wire.Nonce{Data: sa.ni})
	ps = append(ps, e.natNotifies(sa.spiI, [8]byte{}, sa.local, sa.remote)...)
	ps = append(ps, wire.NewNotify(wire.NotifyFragmentationSupported, nil), wire.SignatureHashAlgorithms(ourHashes...))
	m := wire.Message{Header: sa.header(wire.ExchangeIKESAInit, false, 0), Payloads: ps}
	msg, err := m.Encode()
	if err != nil {
		e.logf(slog.LevelError, sa.remote.Addr(), "%s: cannot encode IKE_SA_INIT: %v", t.p.Name, err)
		return
	}
	sa.initReq = msg
	r := &request{kind: reqInit}
	r.xmit.Arm(e.now, msg, sa.local, sa.remote)
	sa.req = r
	e.send(sa.local, sa.remote, msg)
}

// recvInitRequest answers an IKE_SA_INIT request as responder.
func (e *Engine) recvInitRequest(d ike.Datagram, h wire.Header, data []byte) {
	if h.SPIr != ([8]byte{}) || h.MessageID != 0 || h.Flags&wire.FlagInitiator == 0 {
		e.logLimited("unexpected", slog.LevelInfo, d.Remote.Addr(), "peer %s: dropped IKE_SA_INIT request with bad header", d.Remote.Addr())
		return
	}
	p := e.peers[peerKey{d.Local.Addr(), d.Remote.Addr()}]
	if p == nil || len(p.tunnels) == 0 {
		e.logLimited("stranger", slog.LevelInfo, d.Remote.Addr(),
			"peer %s: IKE_SA_INIT to %s, which no IKEv2-protected tunnel connects: ignored", d.Remote.Addr(), d.Local.Addr())
		return
	}
	for _, sa := range p.sas {
		if !sa.initiator && sa.spiI == h.SPIi && sa.state == saInit {
			if bytes.Equal(sa.initReq, data) {
				e.send(sa.local, d.Remote, sa.initResp) // a retransmission
			}
			return
		}
	}
	m, err := wire.Decode(data)
	if err != nil {
		e.malformed(d, err)
		if t, nd := wire.NotifyFor(err); t != 0 && e.logLimited("answer-syntax", slog.LevelDebug, d.Remote.Addr(), "peer %s: answering %v", d.Remote.Addr(), t) {
			e.sendClearNotify(d, h, wire.NewNotify(t, nd))
		}
		return
	}
	in := collect(m.Payloads)
	if in.sa == nil || in.ke == nil || in.nonce == nil {
		e.logLimited("unexpected", slog.LevelInfo, d.Remote.Addr(), "peer %s: IKE_SA_INIT without SA, KE or nonce", d.Remote.Addr())
		return
	}
	// Denial of service (RFC 7296 section 2.6): past the threshold a
	// request must prove it can receive at its address.
	if th := e.cfg.CookieThreshold; th > 0 && e.halfOpen >= th {
		c := in.notifies.get(wire.NotifyCookie)
		if c == nil || !e.cookieValid(c.Data, in.nonce.Data, d.Remote.Addr(), h.SPIi) {
			e.sendClearNotify(d, h, wire.NewNotify(wire.NotifyCookie, e.cookieFor(in.nonce.Data, d.Remote.Addr(), h.SPIi, false)))
			return
		}
	}
	limit := e.cfg.MaxInNegotiation
	if limit == 0 {
		limit = defaultMaxHalfOpen
	}
	if e.halfOpen >= limit {
		e.logLimited("limit", slog.LevelWarn, d.Remote.Addr(),
			"peer %s: IKE_SA_INIT dropped: %d IKE SAs in negotiation (limit max-in-negotiation-sa)", d.Remote.Addr(), e.halfOpen)
		return
	}
	t := p.tunnels[0]
	s, chosen, ok := chooseIKE(t.p.Profile.Proposals, in.sa.Proposals, nil)
	if !ok {
		e.logLimited("proposal", slog.LevelWarn, d.Remote.Addr(),
			"peer %s: no IKE proposal of profile %s matches the peer's %s", d.Remote.Addr(), t.p.Profile.Name, describeOffer(in.sa.Proposals))
		e.sendClearNotify(d, h, wire.NewNotify(wire.NotifyNoProposalChosen, nil))
		return
	}
	if uint16(in.ke.Group) != s.group {
		var g [2]byte
		g[0], g[1] = byte(s.group>>8), byte(s.group)
		e.sendClearNotify(d, h, wire.NewNotify(wire.NotifyInvalidKEPayload, g[:]))
		return
	}
	key, err := dh.New(dh.Group(s.group), e.rand)
	if err != nil {
		return
	}
	gir, err := key.Shared(in.ke.Data)
	if err != nil {
		e.logLimited("malformed", slog.LevelInfo, d.Remote.Addr(), "peer %s: IKE_SA_INIT: %v", d.Remote.Addr(), err)
		e.sendClearNotify(d, h, wire.NewNotify(wire.NotifyInvalidSyntax, nil))
		return
	}
	sa := &ikeSA{
		peer:    p,
		spiI:    h.SPIi,
		spiR:    e.newIKESPI(),
		state:   saInit,
		local:   d.Local,
		remote:  d.Remote,
		created: e.now,
		suite:   s,
		ni:      bytes.Clone(in.nonce.Data),
		nr:      e.random(nonceLen),
		initReq: bytes.Clone(data),
		peerMID: 1,
	}
	var natPresent bool
	sa.natLocal, sa.natRemote, natPresent = natDetect(in.notifies, sa.spiI, [8]byte{}, d.Local, d.Remote)
	ps := []wire.Payload{&wire.SA{Proposals: []wire.Proposal{chosen}}, &wire.KE{Group: wire.Group(s.group), Data: key.Public()},
		&wire.Nonce{Data: sa.nr}}
	if natPresent {
		ps = append(ps, e.natNotifies(sa.spiI, sa.spiR, d.Local, d.Remote)...)
		sa.natLocal = sa.natLocal || e.cfg.ForceUDPEncap
	}
	if pr := t.p.Profile; pr.verifiesSignatures() {
		ps = append(ps, certReq(pr.Creds.CAs))
	}
	if in.notifies.get(wire.NotifyFragmentationSupported) != nil {
		sa.fragOK = true
		ps = append(ps, wire.NewNotify(wire.NotifyFragmentationSupported, nil))
	}
	if n := in.notifies.get(wire.NotifySignatureHashAlgorithms); n != nil {
		sa.peerHashes, _ = n.HashAlgorithms()
		ps = append(ps, wire.SignatureHashAlgorithms(ourHashes...))
	}
	m = &wire.Message{Header: sa.header(wire.ExchangeIKESAInit, true, 0), Payloads: ps}
	msg, err := m.Encode()
	if err != nil {
		return
	}
	sa.initResp = msg
	sa.keys = deriveKeys(s, gir, sa.ni, sa.nr, sa.spiI, sa.spiR)
	e.sas[sa.spiR] = sa
	p.sas = append(p.sas, sa)
	e.halfOpen++
	e.send(d.Local, d.Remote, msg)
}

// cookieValid checks a returned cookie against the current and the
// previous secret.
func (e *Engine) cookieValid(c, ni []byte, from netip.Addr, spiI [8]byte) bool {
	for _, prev := range []bool{false, true} {
		if prev && e.oldCookieSecret == nil {
			break
		}
		if subtle.ConstantTimeCompare(c, e.cookieFor(ni, from, spiI, prev)) == 1 {
			return true
		}
	}
	return false
}

// recvInitResponse takes the responder's IKE_SA_INIT answer.
func (e *Engine) recvInitResponse(d ike.Datagram, h wire.Header, data []byte) {
	sa := e.sas[h.SPIi]
	if sa == nil || !sa.initiator || sa.state != saInit || sa.req == nil || sa.req.kind != reqInit ||
		d.Remote.Addr() != sa.remote.Addr() || h.MessageID != 0 {
		return
	}
	m, err := wire.Decode(data)
	if err != nil {
		e.malformed(d, err)
		return
	}
	in := collect(m.Payloads)
	t := sa.tunnel
	if c := in.notifies.get(wire.NotifyCookie); c != nil {
		if sa.cookie != nil && bytes.Equal(sa.cookie, c.Data) {
			return // the same cookie again: our retry is on its way
		}
		sa.cookie = bytes.Clone(c.Data)
		sa.req.xmit.Stop()
		e.sendInit(sa)
		return
	}
	if n := in.notifies.get(wire.NotifyInvalidKEPayload); n != nil {
		g, ok := n.Group()
		if !ok || !e.offers(t, dh.Group(g)) || dh.Group(g) == sa.group {
			e.initFailed(sa, "the peer asks for Diffie-Hellman group "+groupName(dh.Group(g))+", which we do not offer")
			return
		}
		key, err := dh.New(dh.Group(g), e.rand)
		if err != nil {
			return
		}
		sa.group, sa.dh = dh.Group(g), key
		sa.req.xmit.Stop()
		e.sendInit(sa)
		return
	}
	if n := in.notifies.firstError(); n != nil {
		e.initFailed(sa, "the peer refused IKE_SA_INIT with "+n.Type.String())
		return
	}
	if h.SPIr == ([8]byte{}) || in.sa == nil || in.ke == nil || in.nonce == nil {
		e.initFailed(sa, "IKE_SA_INIT response without SA, KE or nonce")
		return
	}
	s, err := acceptIKE(sa.offered, in.sa)
	if err != nil {
		e.initFailed(sa, err.Error())
		return
	}
	if dh.Group(s.group) != sa.group || dh.Group(in.ke.Group) != sa.group {
		e.initFailed(sa, "the responder chose another Diffie-Hellman group than our key exchange's")
		return
	}
	gir, err := sa.dh.Shared(in.ke.Data)
	if err != nil {
		e.initFailed(sa, err.Error())
		return
	}
	sa.req.xmit.Stop()
	sa.req = nil
	if n := in.notifies.get(wire.NotifySignatureHashAlgorithms); n != nil {
		sa.peerHashes, _ = n.HashAlgorithms()
	}
	sa.fragOK = in.notifies.get(wire.NotifyFragmentationSupported) != nil
	sa.spiR = h.SPIr
	sa.suite = s
	sa.nr = bytes.Clone(in.nonce.Data)
	sa.initResp = bytes.Clone(data)
	sa.keys = deriveKeys(s, gir, sa.ni, sa.nr, sa.spiI, sa.spiR)
	sa.dh = nil
	sa.nextMID = 1
	var natPresent bool
	sa.natLocal, sa.natRemote, natPresent = natDetect(in.notifies, sa.spiI, sa.spiR, d.Local, d.Remote)
	sa.natLocal = sa.natLocal || (natPresent && e.cfg.ForceUDPEncap)
	if sa.natLocal || sa.natRemote {
		// RFC 7296 section 2.23: move to port 4500 from IKE_AUTH on.
		sa.local = netip.AddrPortFrom(sa.local.Addr(), ike.NATTPort)
		sa.remote = netip.AddrPortFrom(sa.remote.Addr(), ike.NATTPort)
		if sa.natLocal {
			sa.keepaliveAt = e.now.Add(e.natKeepalive(sa))
		}
	}
	e.sendAuth(sa)
}

// offers reports whether t's profile offers group g.
func (e *Engine) offers(t *tunnel, g dh.Group) bool {
	for _, p := range t.p.Profile.Proposals {
		for _, x := range p.Groups {
			if x == g {
				return true
			}
		}
	}
	return false
}

// initFailed ends an IKE SA negotiation that failed before IKE_AUTH.
func (e *Engine) initFailed(sa *ikeSA, why string) {
	p := sa.peer
	e.logf(slog.LevelWarn, p.key.remote, "peer %s: IKE SA negotiation failed: %s", p.key.remote, why)
	e.removeIKESA(sa)
	p.failures++
	p.retryAt = e.now.Add(retransmit.Backoff(p.failures))
}

// natKeepalive is the NAT keepalive interval of sa: its profile's, else
// the global one, else 20 s.
func (e *Engine) natKeepalive(sa *ikeSA) time.Duration {
	if len(sa.peer.tunnels) > 0 && sa.peer.tunnels[0].p.Profile.NATKeepalive > 0 {
		return sa.peer.tunnels[0].p.Profile.NATKeepalive
	}
	if e.cfg.NATKeepalive > 0 {
		return e.cfg.NATKeepalive
	}
	return defaultNATKeepalive
}

func groupName(g dh.Group) string { return strconv.Itoa(int(g)) }

func describeOffer(ps []wire.Proposal) string {
	var b bytes.Buffer
	for i, p := range ps {
		if i > 0 {
			b.WriteString(", ")
		}
		for j, t := range p.Transforms {
			if j > 0 {
				b.WriteByte('/')
			}
			b.WriteString(t.String())
		}
	}
	return b.String()
}
