package ikev2

import (
	"bytes"
	"encoding/binary"
	"log/slog"
	"net/netip"
	"slices"
	"time"

	"github.com/gresec/gresec/internal/dh"
	"github.com/gresec/gresec/internal/esp"
	"github.com/gresec/gresec/internal/ike"
	"github.com/gresec/gresec/internal/ikev2/wire"
	"github.com/gresec/gresec/internal/retransmit"
)

// CHILD_SAs (RFC 7296 sections 1.3, 2.8, 2.17): the one IKE_AUTH carries,
// new ones and rekeys with CREATE_CHILD_SA (with PFS when the profile sets
// it), make-before-break, and the rekey collision rule of section 2.8.1.

// newPendingChild prepares a CHILD_SA proposal for t; rekeys names the
// CHILD_SA it replaces.
func (e *Engine) newPendingChild(t *tunnel, rekeys *child) *pendingChild {
	offers := childOffers(t.p)
	pc := &pendingChild{tunnel: t, inSPI: e.newSPI(), offers: offers, rekeys: rekeys, mode: offers[0].mode, started: e.now}
	return pc
}

// payloads returns the SA and traffic selector payloads of a CHILD_SA
// proposal (and USE_TRANSPORT_MODE when the transform set asks for it),
// with the DH group pfs in every proposal when not 0.
func (pc *pendingChild) payloads(pfs dh.Group) []wire.Payload {
	t := pc.tunnel
	var ps []wire.Payload
	if pc.mode == ike.ModeTransport {
		ps = append(ps, wire.NewNotify(wire.NotifyUseTransportMode, nil))
	}
	ps = append(ps, &wire.SA{Proposals: childProposals(pc.offers, pc.inSPI, pfs)},
		&wire.TS{Selectors: []wire.TrafficSelector{wire.HostSelector(t.p.Local, t.p.Protocol)}},
		&wire.TS{Responder: true, Selectors: []wire.TrafficSelector{wire.HostSelector(t.p.Remote, t.p.Protocol)}})
	return ps
}

// tsCovers reports whether a TS payload holds a selector that covers the
// traffic of address a and protocol proto.
func tsCovers(ts *wire.TS, a netip.Addr, proto uint8) bool {
	if ts == nil {
		return false
	}
	for _, s := range ts.Selectors {
		if (s.Type == wire.TSIPv4AddrRange || s.Type == wire.TSIPv6AddrRange) &&
			(s.IPProtocol == 0 || s.IPProtocol == proto) && s.StartPort == 0 && s.EndPort == 0xffff &&
			s.Start.Is4() == a.Is4() && s.Start.Compare(a) <= 0 && a.Compare(s.End) <= 0 {
			return true
		}
	}
	return false
}

// tsOK reports whether ts selects the tunnel's GRE traffic on one side,
// whose address is a. Across a NAT on that side (RFC 7296 section
// 2.23.1) the two ends know that side by different addresses, the one
// behind the NAT and the NAT's: any single host's GRE traffic of the
// family is that side's then.
func tsOK(ts *wire.TS, a netip.Addr, proto uint8, nat bool) bool {
	if tsCovers(ts, a, proto) {
		return true
	}
	if !nat || ts == nil {
		return false
	}
	for _, s := range ts.Selectors {
		if (s.Type == wire.TSIPv4AddrRange || s.Type == wire.TSIPv6AddrRange) && s.Start == s.End &&
			s.Start.Is4() == a.Is4() && (s.IPProtocol == 0 || s.IPProtocol == proto) && s.StartPort == 0 && s.EndPort == 0xffff {
			return true
		}
	}
	return false
}

// takeChild installs, as initiator of the exchange, the CHILD_SA a
// response accepts. inAuth: the exchange was IKE_AUTH (no key exchange).
func (e *Engine) takeChild(sa *ikeSA, pc *pendingChild, in inbound, inAuth bool) {
	t := pc.tunnel
	ps := in.payloads
	fail := func(why string) {
		e.logf(slog.LevelWarn, sa.remote.Addr(), "%s: peer %s: CHILD_SA not set up: %s", t.p.Name, sa.remote.Addr(), why)
		delete(e.spis, pc.inSPI)
		if pc.rekeys != nil {
			pc.rekeys.rekeying = false
			pc.rekeys.rekeyAt = e.now.Add(retransmit.Backoff(1)) // try again soon; the lifetime still runs
			return
		}
		t.failures++
		t.retryAt = e.now.Add(retransmit.Backoff(t.failures))
	}
	if n := ps.notifies.firstError(); n != nil {
		if n.Type == wire.NotifyTemporaryFailure && pc.rekeys != nil {
			// The peer is rekeying the same SA (RFC 7296 section 2.25).
			pc.rekeys.rekeying = false
			pc.rekeys.rekeyAt = e.now.Add(2 * time.Second)
			delete(e.spis, pc.inSPI)
			return
		}
		if n.Type == wire.NotifyChildSANotFound && pc.rekeys != nil {
			delete(e.spis, pc.inSPI)
			e.removeChild(pc.rekeys, "the peer no longer has it")
			return
		}
		fail("the peer answered " + n.Type.String())
		return
	}
	if ps.sa == nil || len(ps.sa.Proposals) != 1 || (!inAuth && ps.nonce == nil) {
		fail("the response has no single SA proposal or no nonce")
		return
	}
	suite, group, outSPI, ok := childSuiteOf(ps.sa.Proposals[0])
	if !ok || !slices.ContainsFunc(pc.offers, func(o childOffer) bool { return o.suite == suite }) {
		fail("the peer chose an ESP proposal we did not offer")
		return
	}
	var gir []byte
	switch {
	case inAuth:
	case pc.dh != nil:
		if group != pc.dh.Group() || ps.ke == nil || dh.Group(ps.ke.Group) != group {
			fail("the peer's key exchange does not match our PFS group")
			return
		}
		var err error
		if gir, err = pc.dh.Shared(ps.ke.Data); err != nil {
			fail(err.Error())
			return
		}
	case group != 0:
		fail("the peer chose PFS that we did not offer")
		return
	}
	if !tsOK(ps.tsi, t.p.Local, t.p.Protocol, sa.natLocal) || !tsOK(ps.tsr, t.p.Remote, t.p.Protocol, sa.natRemote) {
		fail("the peer's traffic selectors do not cover the tunnel's GRE traffic")
		return
	}
	mode := ike.ModeTunnel
	if ps.notifies.get(wire.NotifyUseTransportMode) != nil && pc.mode == ike.ModeTransport {
		mode = ike.ModeTransport
	}
	ni, nr := sa.ni, sa.nr
	if !inAuth {
		ni, nr = pc.ni, ps.nonce.Data
	}
	t.failures, t.retryAt = 0, time.Time{}
	c := e.installChild(sa, t, pc.inSPI, outSPI, suite, mode, group, ni, nr, gir, true)
	if pc.rekeys != nil {
		e.replaced(pc.rekeys, c)
	}
}

// answerChild chooses, as responder, the CHILD_SA a request proposes,
// installs it and returns the payloads of the answer: the SA, nonce, KE
// and traffic selectors, or an error notify. rekeys is the CHILD_SA a
// rekey replaces.
func (e *Engine) answerChild(sa *ikeSA, in inbound, rekeys *child, inAuth bool) []wire.Payload {
	ps := in.payloads
	t := rekeys.tunnelOr(e.neediest(sa.peer))
	refuse := func(n wire.NotifyType, why string, data []byte) []wire.Payload {
		name := "(no tunnel)"
		if t != nil {
			name = t.p.Name
		}
		e.logLimited("child", slog.LevelWarn, sa.remote.Addr(), "%s: peer %s: CHILD_SA refused: %s", name, sa.remote.Addr(), why)
		return []wire.Payload{wire.NewNotify(n, data)}
	}
	if t == nil {
		return refuse(wire.NotifyNoAdditionalSAs, "every tunnel to the peer has its CHILD_SA", nil)
	}
	if ps.sa == nil || ps.tsi == nil || ps.tsr == nil || (!inAuth && ps.nonce == nil) {
		return refuse(wire.NotifyInvalidSyntax, "no SA, nonce or traffic selectors", nil)
	}
	o, chosen, outSPI, group, ok := chooseChild(childOffers(t.p), pfsGroup(t.p), ps.sa.Proposals, inAuth)
	if !ok {
		return refuse(wire.NotifyNoProposalChosen, "no ESP proposal of the peer matches the transform sets of "+t.p.Name, nil)
	}
	// The initiator's TSi is its side: our remote.
	if !tsOK(ps.tsi, t.p.Remote, t.p.Protocol, sa.natRemote) || !tsOK(ps.tsr, t.p.Local, t.p.Protocol, sa.natLocal) {
		return refuse(wire.NotifyTSUnacceptable, "traffic selectors do not cover GRE between the tunnel endpoints", nil)
	}
	var gir []byte
	var ke *wire.KE
	if group != 0 {
		if ps.ke == nil || dh.Group(ps.ke.Group) != group {
			var g [2]byte
			binary.BigEndian.PutUint16(g[:], uint16(group))
			return refuse(wire.NotifyInvalidKEPayload, "the key exchange is not of group "+groupName(group), g[:])
		}
		key, err := dh.New(group, e.rand)
		if err != nil {
			return refuse(wire.NotifyNoProposalChosen, err.Error(), nil)
		}
		if gir, err = key.Shared(ps.ke.Data); err != nil {
			return refuse(wire.NotifyInvalidSyntax, err.Error(), nil)
		}
		ke = &wire.KE{Group: wire.Group(group), Data: key.Public()}
	}
	mode := ike.ModeTunnel
	if ps.notifies.get(wire.NotifyUseTransportMode) != nil && o.mode == ike.ModeTransport {
		mode = ike.ModeTransport
	}
	inSPI := e.newSPI()
	chosen.SPI = binary.BigEndian.AppendUint32(nil, inSPI)
	var out []wire.Payload
	if mode == ike.ModeTransport {
		out = append(out, wire.NewNotify(wire.NotifyUseTransportMode, nil))
	}
	out = append(out, &wire.SA{Proposals: []wire.Proposal{chosen}})
	ni, nr := sa.ni, sa.nr
	if !inAuth {
		ni, nr = ps.nonce.Data, e.random(nonceLen)
		out = append(out, &wire.Nonce{Data: nr})
		if ke != nil {
			out = append(out, ke)
		}
	}
	out = append(out,
		&wire.TS{Selectors: []wire.TrafficSelector{wire.HostSelector(t.p.Remote, t.p.Protocol)}},
		&wire.TS{Responder: true, Selectors: []wire.TrafficSelector{wire.HostSelector(t.p.Local, t.p.Protocol)}})
	t.failures, t.retryAt = 0, time.Time{}
	c := e.installChild(sa, t, inSPI, outSPI, o.suite, mode, group, bytes.Clone(ni), bytes.Clone(nr), gir, false)
	if rekeys != nil {
		e.replaced(rekeys, c)
	}
	return out
}

// tunnelOr returns c's tunnel, or t when c is nil.
func (c *child) tunnelOr(t *tunnel) *tunnel {
	if c != nil {
		return c.tunnel
	}
	return t
}

// neediest returns the tunnel of p that most needs a CHILD_SA: one
// without any, in configuration order; nil when all have one.
func (e *Engine) neediest(p *peer) *tunnel {
	for _, t := range p.tunnels {
		if t.newest() == nil {
			return t
		}
	}
	return nil
}

// installChild derives a CHILD_SA's keys (RFC 7296 section 2.17) and asks
// the data plane to install the pair. initiator says whether this side
// initiated the exchange that created it: its keys come first in KEYMAT.
func (e *Engine) installChild(sa *ikeSA, t *tunnel, inSPI, outSPI uint32, s esp.Suite, mode ike.Mode, group dh.Group,
	ni, nr, gir []byte, initiator bool) *child {
	el, al := s.Cipher.KeyLen(), s.Integrity.KeyLen()
	km := childKeymat(sa.suite.prf, sa.keys.d, gir, ni, nr, 2*(el+al))
	i2r := ike.SAKeys{EncKey: km[:el], AuthKey: km[el : el+al]}
	r2i := ike.SAKeys{EncKey: km[el+al : 2*el+al], AuthKey: km[2*el+al:]}
	in, out := r2i, i2r
	if !initiator {
		in, out = i2r, r2i
	}
	in.SPI, out.SPI = inSPI, outSPI
	life := t.p.Lifetime
	if life <= 0 {
		life = defaultChildLifetime
	}
	c := &child{tunnel: t, sa: sa, inSPI: inSPI, outSPI: outSPI, suite: s, mode: mode, pfs: group,
		installed: e.now, expireAt: e.now.Add(life), rekeyAt: e.jitter(e.now, life), ni: ni, nr: nr, ours: initiator}
	var encap *ike.UDPEncap
	if sa.natt() || e.cfg.ForceUDPEncap {
		c.encap = true
		encap = &ike.UDPEncap{LocalPort: sa.local.Port(), RemotePort: sa.remote.Port()}
	}
	first := t.newest() == nil
	t.children = append(t.children, c)
	e.emit(ike.InstallPair{Tunnel: t.p.Name, Local: t.p.Local, Remote: t.p.Remote, Mode: mode, Suite: s,
		In: in, Out: out, Encap: encap, Lifetime: life, LifetimeKB: t.p.LifetimeKB})
	if e.cfg.KeyLog {
		e.emit(ike.KeyLogESP{Src: t.p.Remote, Dst: t.p.Local, SPI: inSPI, Suite: s, EncKey: in.EncKey, AuthKey: in.AuthKey})
		e.emit(ike.KeyLogESP{Src: t.p.Local, Dst: t.p.Remote, SPI: outSPI, Suite: s, EncKey: out.EncKey, AuthKey: out.AuthKey})
	}
	e.logf(slog.LevelInfo, sa.remote.Addr(), "%s: peer %s: CHILD_SA %08x/%08x installed (%s, %v)", t.p.Name, sa.remote.Addr(), inSPI, outSPI, s.Cipher, mode)
	if first {
		e.emit(ike.SessionUp{Tunnel: t.p.Name, Peer: sa.remote})
	}
	return c
}

// replaced records that c replaced old through a rekey. When both ends
// rekeyed old at once, the new CHILD_SA created with the lowest of the
// four nonces is redundant and its creator deletes it (RFC 7296 section
// 2.8.1). The initiator of the surviving rekey deletes old after an
// overlap that lets both data planes switch.
func (e *Engine) replaced(old, c *child) {
	old.rekeying = false
	old.replacements = append(old.replacements, c)
	winner := c
	if len(old.replacements) == 2 {
		a, b := old.replacements[0], old.replacements[1]
		loser := a
		if bytes.Compare(minNonce(b), minNonce(a)) < 0 {
			loser = b
		}
		winner = a
		if loser == a {
			winner = b
		}
		if loser.ours {
			loser.deleteAt = e.now
			loser.replacedBy = winner
		}
	}
	old.replacedBy = winner
	if winner.ours {
		old.deleteAt = e.now.Add(rekeyOverlap)
	} else {
		// The peer deletes it; if it does not, we do, later.
		old.deleteAt = e.now.Add(6 * rekeyOverlap)
	}
}

func minNonce(c *child) []byte {
	if bytes.Compare(c.ni, c.nr) < 0 {
		return c.ni
	}
	return c.nr
}

// createChild negotiates a new CHILD_SA for t, or a rekey of old, with
// CREATE_CHILD_SA on sa.
func (e *Engine) createChild(sa *ikeSA, t *tunnel, old *child) {
	pc := e.newPendingChild(t, old)
	pc.ni = e.random(nonceLen)
	pfs := pfsGroup(t.p)
	if pfs != 0 {
		key, err := dh.New(pfs, e.rand)
		if err != nil {
			return
		}
		pc.dh = key
	}
	var ps []wire.Payload
	kind := reqCreateChild
	if old != nil {
		kind = reqRekeyChild
		ps = append(ps, &wire.Notify{Protocol: wire.ProtoESP, SPI: binary.BigEndian.AppendUint32(nil, old.inSPI), Type: wire.NotifyRekeySA})
		old.rekeying = true
	} else {
		t.creating = true
	}
	sel := pc.payloads(pfs)
	// SA, Ni, [KEi], TSi, TSr (RFC 7296 section 1.3.1).
	n := len(sel) - 2
	ps = append(ps, sel[:n]...)
	ps = append(ps, &wire.Nonce{Data: pc.ni})
	if pc.dh != nil {
		ps = append(ps, &wire.KE{Group: wire.Group(pfs), Data: pc.dh.Public()})
	}
	ps = append(ps, sel[n:]...)
	e.request(sa, wire.ExchangeCreateChildSA, ps, &request{kind: kind, child: pc})
}

// recvCreateChild answers a CREATE_CHILD_SA request: a new CHILD_SA, the
// rekey of one, or the rekey of the IKE SA.
func (e *Engine) recvCreateChild(sa *ikeSA, in inbound) {
	ps := in.payloads
	if ps.sa != nil && len(ps.sa.Proposals) > 0 && ps.sa.Proposals[0].Protocol == wire.ProtoIKE {
		e.respond(sa, wire.ExchangeCreateChildSA, in.h.MessageID, e.answerIKERekey(sa, in))
		return
	}
	var old *child
	if n := ps.notifies.get(wire.NotifyRekeySA); n != nil {
		if len(n.SPI) != 4 {
			e.respond(sa, wire.ExchangeCreateChildSA, in.h.MessageID, []wire.Payload{wire.NewNotify(wire.NotifyInvalidSyntax, nil)})
			return
		}
		spi := binary.BigEndian.Uint32(n.SPI)
		old = e.childByOutSPI(sa.peer, spi)
		if old == nil {
			e.respond(sa, wire.ExchangeCreateChildSA, in.h.MessageID,
				[]wire.Payload{&wire.Notify{Protocol: wire.ProtoESP, SPI: n.SPI, Type: wire.NotifyChildSANotFound}})
			return
		}
	}
	e.respond(sa, wire.ExchangeCreateChildSA, in.h.MessageID, e.answerChild(sa, in, old, false))
}

// childByOutSPI finds the CHILD_SA whose outbound SPI is spi.
func (e *Engine) childByOutSPI(p *peer, spi uint32) *child {
	for _, t := range p.tunnels {
		for _, c := range t.children {
			if c.outSPI == spi {
				return c
			}
		}
	}
	return nil
}

// rekeyIKE starts the rekey of sa with CREATE_CHILD_SA (RFC 7296 section
// 1.3.2).
func (e *Engine) rekeyIKE(sa *ikeSA) {
	t := sa.peer.tunnels[0]
	n := &ikeSA{peer: sa.peer, spiI: e.newIKESPI(), initiator: true, state: saInit, local: sa.local, remote: sa.remote,
		natLocal: sa.natLocal, natRemote: sa.natRemote, created: e.now, tunnel: t, ni: e.random(nonceLen),
		group: dh.Group(sa.suite.group), fragOK: sa.fragOK, peerHashes: sa.peerHashes}
	key, err := dh.New(n.group, e.rand)
	if err != nil {
		return
	}
	n.dh = key
	// The current algorithms only: strongSwan derives a rekeyed IKE SA's
	// keys with the old PRF where RFC 7296 section 2.18 takes the new one,
	// so a rekey that changed the PRF would not interoperate.
	n.offered = []wire.Proposal{sa.suite.proposal(1, n.spiI[:])}
	e.sas[n.spiI] = n
	sa.rekeying = true
	e.request(sa, wire.ExchangeCreateChildSA, []wire.Payload{&wire.SA{Proposals: n.offered}, &wire.Nonce{Data: n.ni},
		&wire.KE{Group: wire.Group(n.group), Data: key.Public()}}, &request{kind: reqRekeyIKE, newSA: n})
}

// takeIKERekey completes our rekey of old with the peer's answer.
func (e *Engine) takeIKERekey(old *ikeSA, n *ikeSA, in inbound) {
	ps := in.payloads
	old.rekeying = false
	fail := func(why string) {
		delete(e.sas, n.spiI)
		e.logf(slog.LevelWarn, old.remote.Addr(), "peer %s: IKE SA rekey failed: %s", old.remote.Addr(), why)
		old.rekeyAt = e.now.Add(retransmit.Backoff(1))
	}
	if nt := ps.notifies.firstError(); nt != nil {
		if nt.Type == wire.NotifyTemporaryFailure {
			delete(e.sas, n.spiI)
			old.rekeyAt = e.now.Add(2 * time.Second)
			return
		}
		fail("the peer answered " + nt.Type.String())
		return
	}
	if ps.sa == nil || ps.nonce == nil || ps.ke == nil || len(ps.sa.Proposals) != 1 || len(ps.sa.Proposals[0].SPI) != 8 {
		fail("the response lacks SA, nonce or KE")
		return
	}
	s, err := acceptIKE(n.offered, ps.sa)
	if err != nil {
		fail(err.Error())
		return
	}
	if dh.Group(s.group) != n.group || dh.Group(ps.ke.Group) != n.group {
		fail("the peer chose another Diffie-Hellman group")
		return
	}
	gir, err := n.dh.Shared(ps.ke.Data)
	if err != nil {
		fail(err.Error())
		return
	}
	copy(n.spiR[:], ps.sa.Proposals[0].SPI)
	n.suite, n.nr, n.dh = s, bytes.Clone(ps.nonce.Data), nil
	n.keys = rekeyKeys(old.suite.prf, old.keys.d, s, gir, n.ni, n.nr, n.spiI, n.spiR)
	n.rekeyNi, n.rekeyNr, n.rekeyedByUs = n.ni, n.nr, true
	e.rekeyedIKE(old, n)
}

// answerIKERekey answers the peer's rekey of sa.
func (e *Engine) answerIKERekey(sa *ikeSA, in inbound) []wire.Payload {
	ps := in.payloads
	t := sa.peer.tunnels[0]
	refuse := func(nt wire.NotifyType, why string, data []byte) []wire.Payload {
		e.logLimited("rekey", slog.LevelWarn, sa.remote.Addr(), "peer %s: IKE SA rekey refused: %s", sa.remote.Addr(), why)
		return []wire.Payload{wire.NewNotify(nt, data)}
	}
	if sa.state != saEstablished || sa.replacedBy != nil {
		return refuse(wire.NotifyTemporaryFailure, "the IKE SA is being replaced already", nil)
	}
	if ps.nonce == nil || ps.ke == nil {
		return refuse(wire.NotifyInvalidSyntax, "no nonce or KE", nil)
	}
	var theirSPI []byte
	for _, p := range ps.sa.Proposals {
		if len(p.SPI) != 8 {
			return refuse(wire.NotifyInvalidSyntax, "an IKE proposal without an 8-octet SPI", nil)
		}
		theirSPI = p.SPI
	}
	spiR := e.newIKESPI()
	s, chosen, ok := chooseIKE(samePRF(t.p.Profile.Proposals, sa.suite.prf.id), ps.sa.Proposals, spiR[:])
	if !ok {
		return refuse(wire.NotifyNoProposalChosen, "no IKE proposal matches", nil)
	}
	for _, p := range ps.sa.Proposals {
		if p.Number == chosen.Number {
			theirSPI = p.SPI
		}
	}
	if uint16(ps.ke.Group) != s.group {
		return refuse(wire.NotifyInvalidKEPayload, "the key exchange is not of the chosen group",
			binary.BigEndian.AppendUint16(nil, s.group))
	}
	key, err := dh.New(dh.Group(s.group), e.rand)
	if err != nil {
		return refuse(wire.NotifyNoProposalChosen, err.Error(), nil)
	}
	gir, err := key.Shared(ps.ke.Data)
	if err != nil {
		return refuse(wire.NotifyInvalidSyntax, err.Error(), nil)
	}
	n := &ikeSA{peer: sa.peer, spiR: spiR, state: saInit, local: sa.local, remote: sa.remote,
		natLocal: sa.natLocal, natRemote: sa.natRemote, created: e.now, tunnel: t, suite: s,
		fragOK: sa.fragOK, peerHashes: sa.peerHashes,
		ni: bytes.Clone(ps.nonce.Data), nr: e.random(nonceLen)}
	copy(n.spiI[:], theirSPI)
	n.keys = rekeyKeys(sa.suite.prf, sa.keys.d, s, gir, n.ni, n.nr, n.spiI, n.spiR)
	n.rekeyNi, n.rekeyNr = n.ni, n.nr
	e.sas[n.spiR] = n
	e.rekeyedIKE(sa, n)
	return []wire.Payload{&wire.SA{Proposals: []wire.Proposal{chosen}}, &wire.Nonce{Data: n.nr},
		&wire.KE{Group: wire.Group(s.group), Data: key.Public()}}
}

// rekeyedIKE puts n in the place of old: n takes old's CHILD_SAs, and
// old is deleted by the initiator of the rekey. When both ends rekeyed
// old at once, the new IKE SA created with the lowest of the four nonces
// goes, deleted by its creator, and the other takes the CHILD_SAs (RFC
// 7296 section 2.8.2).
func (e *Engine) rekeyedIKE(old, n *ikeSA) {
	sa := n
	if o := old.replacedBy; o != nil && o.rekeyNi != nil {
		loser, winner := n, o
		if bytes.Compare(lower(o.rekeyNi, o.rekeyNr), lower(n.rekeyNi, n.rekeyNr)) < 0 {
			loser, winner = o, n
		}
		sa = winner
		loser.replacedBy = winner
		if loser.rekeyedByUs {
			loser.deleteAt = e.now
		} else {
			loser.deleteAt = e.now.Add(6 * rekeyOverlap)
		}
	}
	n.peer.sas = append(n.peer.sas, n)
	e.established(n)
	n.peerMID, n.nextMID = 0, 0
	old.replacedBy = sa
	for _, t := range old.peer.tunnels {
		for _, c := range t.children {
			if c.sa == old || c.sa.replacedBy == sa {
				c.sa = sa
			}
		}
	}
	if sa.rekeyedByUs {
		old.deleteAt = e.now
	} else {
		old.deleteAt = e.now.Add(6 * rekeyOverlap)
	}
}

func lower(a, b []byte) []byte {
	if bytes.Compare(a, b) < 0 {
		return a
	}
	return b
}

// samePRF returns the proposals that have prf, restricted to it: an IKE
// SA rekey keeps its PRF (see rekeyIKE).
func samePRF(props []Proposal, prf uint16) []Proposal {
	var out []Proposal
	for _, p := range props {
		if slices.Contains(p.prfs(), prf) {
			p.PRF = []uint16{prf}
			out = append(out, p)
		}
	}
	return out
}
