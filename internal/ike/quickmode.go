package ike

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"time"

	"github.com/gresec/gresec/internal/dh"
	"github.com/gresec/gresec/internal/isakmp"
)

// Quick Mode (RFC 2409 section 5.5), protected by the ISAKMP SA:
//
//	Initiator                                   Responder
//	HDR*, HASH(1), SA, Ni [, KE] , IDci, IDcr -->
//	                                          <-- HDR*, HASH(2), SA, Nr [, KE] , IDci, IDcr
//	HDR*, HASH(3)                             -->
//
//	HASH(1) = prf(SKEYID_a, M-ID | SA | Ni [ | KE ] [ | IDci | IDcr ])
//	HASH(2) = prf(SKEYID_a, M-ID | Ni_b | SA | Nr [ | KE ] [ | IDci | IDcr ])
//	HASH(3) = prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b)
//
// The identities are the tunnel endpoints with IP protocol 47, port 0; the
// SA proposes the tunnel's transform sets in order. KE is there with PFS.
// NAT-OA payloads (RFC 3947 section 5.2) accompany UDP-encapsulated
// transport mode. The responder installs the pair on HASH(3), the
// initiator after sending it.

func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// offersFor returns the tunnel's offers with the encapsulation mode for
// the ISAKMP SA's NAT situation.
func (t *tunnel) offersFor(udp bool) []p2Offer {
	out := slices.Clone(t.offers)
	for i := range out {
		out[i].encap = encapMode(out[i].mode, udp)
	}
	return out
}

// startQuickMode sends QM1 for tunnel t over sa. On failure it schedules
// a retry.
func (e *Engine) startQuickMode(sa *ikeSA, t *tunnel) {
	udp := sa.udpEncap()
	offers := t.offersFor(udp)
	mid := e.newMID(sa)
	inSPI := e.newSPI()
	ni := e.random(nonceLen)
	fail := func(err error) {
		delete(e.spis, inSPI)
		e.logf(slog.LevelError, sa.peer.key.remote, "%s: cannot start Quick Mode: %v", t.p.Name, err)
		e.failTunnel(t)
	}
	var key *dh.Key
	if t.pfs != 0 {
		var err error
		if key, err = dh.New(dh.Group(t.pfs), e.rand); err != nil {
			fail(err)
			return
		}
	}
	prop := isakmp.Proposal{Number: 1, Protocol: isakmp.ProtoESP, SPI: be32(inSPI)}
	transport := false
	for i, o := range offers {
		prop.Transforms = append(prop.Transforms, o.transform(uint8(i+1)))
		transport = transport || o.mode == ModeTransport
	}
	idci := isakmp.IDFromAddr(t.p.Local, t.p.Protocol, 0)
	idcr := isakmp.IDFromAddr(t.p.Remote, t.p.Protocol, 0)
	rest := []isakmp.Payload{
		&isakmp.SA{DOI: isakmp.DOIIPsec, Situation: isakmp.SitIdentityOnly, Proposals: []isakmp.Proposal{prop}},
		&isakmp.Nonce{Data: ni},
	}
	if key != nil {
		rest = append(rest, &isakmp.KE{Data: key.Public()})
	}
	rest = append(rest, idci, idcr)
	if udp && transport {
		rest = append(rest, &isakmp.NATOA{Addr: sa.local.Addr()}, &isakmp.NATOA{Addr: sa.remote.Addr()})
	}
	plain, err := hashedChain(sa.hash.size, rest, func(r []byte) []byte {
		return sa.hash.prf(sa.keys.a, midBytes(mid), r)
	})
	if err != nil {
		fail(err)
		return
	}
	hdr := isakmp.Header{InitiatorCookie: sa.ckyI, ResponderCookie: sa.ckyR, Exchange: isakmp.ExchangeQuickMode, MessageID: mid}
	msg, next, err := marshalEncrypted(hdr, isakmp.PayloadHash, plain, sa.keys.enc, phase2IV(sa.hash, sa.p2base, mid))
	if err != nil {
		fail(err)
		return
	}
	idciB, _ := idci.AppendBody(nil)
	idcrB, _ := idcr.AppendBody(nil)
	qm := &quickMode{
		sa: sa, mid: mid, initiator: true, tun: t, iv: next,
		ni: ni, dh: key, inSPI: inSPI, offers: offers,
		idci: idciB, idcr: idcrB, step: qmAwaitQM2, started: e.event(),
	}
	sa.qms[mid] = qm
	t.qm = qm
	e.logf(slog.LevelInfo, sa.peer.key.remote, "%s: peer %s: initiating Quick Mode (message ID 0x%08x, conn-id %d)",
		t.p.Name, sa.peer.key.remote, mid, sa.connID)
	e.sendArmed(&qm.xmit, sa.local, sa.remote, msg)
}

func (e *Engine) recvQuickMode(p *peer, in inbound) {
	h := in.h
	var sa *ikeSA
	if p != nil {
		sa = p.find(h.InitiatorCookie, h.ResponderCookie)
	}
	if sa == nil || sa.step != stepEstablished {
		e.logLimited("cookies", slog.LevelInfo, in.peerAddr(),
			"peer %s: dropped Quick Mode message for unknown cookies %x/%x", in.peerAddr(), h.InitiatorCookie, h.ResponderCookie)
		return
	}
	if h.Flags&isakmp.FlagEncryption == 0 || h.MessageID == 0 {
		e.unexpected(in, "Quick Mode message not encrypted or without message ID")
		return
	}
	if qm := sa.qms[h.MessageID]; qm != nil {
		switch {
		case in.digest == qm.lastIn:
			if qm.lastOut != nil {
				e.sendMsg(sa.local, sa.remote, qm.lastOut) // our answer was lost
			}
		case qm.initiator && qm.step == qmAwaitQM2:
			e.recvQM2(qm, in)
		case !qm.initiator && qm.step == qmAwaitQM3:
			e.recvQM3(qm, in)
		default:
			e.unexpected(in, "Quick Mode message out of order")
		}
		return
	}
	if _, seen := sa.mids[h.MessageID]; seen {
		e.unexpected(in, "replayed Quick Mode message ID")
		return
	}
	e.recvQM1(sa, in)
}

// openPhase2 decrypts and parses a Quick Mode or informational message
// and checks its HASH: prf(SKEYID_a, prefix | rest) with rest everything
// after the HASH payload. It changes nothing.
// With hashOnly the message must hold the HASH alone (HASH(3)).
func (e *Engine) openPhase2(sa *ikeSA, in inbound, iv []byte, hashOnly bool, prefix ...[]byte) (*parsed, []byte, bool) {
	plain, next, err := decryptBody(sa.keys.enc, iv, in.body)
	if err != nil {
		e.malformed(in.d, err)
		return nil, nil, false
	}
	m, err := parseBody(in.h.NextPayload, plain, true)
	if err != nil {
		e.malformed(in.d, err)
		return nil, nil, false
	}
	var got, rest []byte
	if hashOnly {
		var hp *isakmp.Hash
		if hp, _, err = one[*isakmp.Hash](m, isakmp.PayloadHash); err == nil {
			got = hp.Data
		}
	} else {
		got, rest, err = m.afterHash()
	}
	if err != nil {
		e.malformed(in.d, err)
		return nil, nil, false
	}
	want := sa.hash.prf(sa.keys.a, append(slices.Concat(prefix...), rest...))
	if !macEqual(got, want) {
		e.logLimited("hash", slog.LevelWarn, in.peerAddr(),
			"peer %s: dropped %v message with a wrong HASH (message ID 0x%08x)", in.peerAddr(), in.h.Exchange, in.h.MessageID)
		return nil, nil, false
	}
	return m, next, true
}

// recvQM1 answers a Quick Mode as responder.
func (e *Engine) recvQM1(sa *ikeSA, in inbound) {
	mid := in.h.MessageID
	remote := in.peerAddr()
	m, next, ok := e.openPhase2(sa, in, phase2IV(sa.hash, sa.p2base, mid), false, midBytes(mid))
	if !ok {
		return
	}
	e.alive(sa.peer)
	e.updateEndpoint(sa, in)
	e.rememberMID(sa, mid)
	saP, _, err := one[*isakmp.SA](m, isakmp.PayloadSA)
	if err != nil {
		e.malformed(in.d, err)
		return
	}
	nonce, _, err := one[*isakmp.Nonce](m, isakmp.PayloadNonce)
	if err != nil {
		e.malformed(in.d, err)
		return
	}
	var ke *isakmp.KE
	switch m.count(isakmp.PayloadKE) {
	case 0:
	case 1:
		ke, _, _ = one[*isakmp.KE](m, isakmp.PayloadKE)
	default:
		e.malformed(in.d, errUnexpected)
		return
	}
	ids := all[*isakmp.ID](m)
	peerSPI := proposalSPI(saP)
	var cands []*tunnel
	if len(ids) == 2 {
		cands = e.tunnelsForIDs(sa, ids[0], ids[1])
	}
	if len(cands) == 0 {
		e.logLimited("qmid", slog.LevelWarn, remote,
			"peer %s: Quick Mode for %s does not match a protected tunnel to this peer (tunnel endpoints, protocol 47)",
			remote, describeIDs(ids))
		e.sendNotify(sa, isakmp.NotifyInvalidIDInformation, peerSPI)
		return
	}
	// The peer starts a Quick Mode for a tunnel or its twins only once it
	// has finished the one before: if we still wait for the QM3 of that
	// one, it was lost, and its pair is older than this one (see
	// replaces).
	for _, o := range sa.peer.sas {
		for _, qm := range o.qms {
			if !qm.initiator && qm.step == qmAwaitQM3 && qm.finished == 0 && slices.Contains(cands, qm.tun) {
				qm.finished = e.event()
			}
		}
	}
	udp := sa.udpEncap()
	acceptable := slices.DeleteFunc(slices.Clone(cands), func(t *tunnel) bool {
		_, ok := selectP2(saP, t.offersFor(udp), udp, isakmp.Group(t.pfs))
		return !ok
	})
	t := tunnelForQM(acceptable)
	if t == nil {
		t = cands[0]
		e.logLimited("qmproposal", slog.LevelWarn, remote,
			"%s: peer %s: no acceptable Quick Mode proposal (peer offers %s; we accept %s)",
			t.p.Name, remote, describeP2(saP), describeOffers(t.offersFor(udp)))
		e.sendNotify(sa, isakmp.NotifyNoProposalChosen, peerSPI)
		return
	}
	choice, _ := selectP2(saP, t.offersFor(udp), udp, isakmp.Group(t.pfs))
	var key *dh.Key
	var gxy []byte
	switch {
	case choice.offer.group != 0 && ke == nil:
		e.malformed(in.d, fmt.Errorf("%w: KE for PFS", errMissing))
		return
	case choice.offer.group == 0 && ke != nil:
		e.malformed(in.d, fmt.Errorf("%w: KE without PFS", errUnexpected))
		return
	case ke != nil:
		if key, err = dh.New(dh.Group(choice.offer.group), e.rand); err != nil {
			return
		}
		if gxy, err = key.Shared(ke.Data); err != nil {
			e.malformed(in.d, err)
			e.sendNotify(sa, isakmp.NotifyInvalidKeyInformation, peerSPI)
			return
		}
	}
	inSPI := e.newSPI()
	nr := e.random(nonceLen)
	reply := choice.proposal
	reply.SPI = be32(inSPI)
	rest := []isakmp.Payload{
		&isakmp.SA{DOI: isakmp.DOIIPsec, Situation: isakmp.SitIdentityOnly, Proposals: []isakmp.Proposal{reply}},
		&isakmp.Nonce{Data: nr},
	}
	if key != nil {
		rest = append(rest, &isakmp.KE{Data: key.Public()})
	}
	rest = append(rest, ids[0], ids[1])
	theirs, _ := parseP2Transform(choice.proposal.Transforms[0])
	if n := responderLifetime(inSPI, choice.offer, theirs); n != nil {
		rest = append(rest, n)
	}
	if udp && choice.offer.mode == ModeTransport {
		rest = append(rest, &isakmp.NATOA{Addr: sa.remote.Addr()}, &isakmp.NATOA{Addr: sa.local.Addr()})
	}
	plain, err := hashedChain(sa.hash.size, rest, func(r []byte) []byte {
		return sa.hash.prf(sa.keys.a, midBytes(mid), nonce.Data, r)
	})
	if err != nil {
		delete(e.spis, inSPI)
		return
	}
	hdr := isakmp.Header{InitiatorCookie: sa.ckyI, ResponderCookie: sa.ckyR, Exchange: isakmp.ExchangeQuickMode, MessageID: mid}
	msg, next2, err := marshalEncrypted(hdr, isakmp.PayloadHash, plain, sa.keys.enc, next)
	if err != nil {
		delete(e.spis, inSPI)
		return
	}
	idciB, _ := ids[0].AppendBody(nil)
	idcrB, _ := ids[1].AppendBody(nil)
	qm := &quickMode{
		sa: sa, mid: mid, initiator: false, tun: t, iv: next2,
		ni: bytes.Clone(nonce.Data), nr: nr, dh: key, gxy: gxy,
		inSPI: inSPI, outSPI: binary.BigEndian.Uint32(choice.proposal.SPI),
		chosen: choice.offer, idci: idciB, idcr: idcrB,
		step: qmAwaitQM3, lastIn: in.digest, lastOut: msg, started: e.event(),
	}
	sa.qms[mid] = qm
	// The responder retransmits QM2 until QM3 arrives: QM3 is the last
	// message, and without it the responder never installs the pair.
	e.sendArmed(&qm.xmit, sa.local, sa.remote, msg)
}

// proposalSPI returns the SPI of the first ESP proposal, for notifications.
func proposalSPI(sa *isakmp.SA) []byte {
	for _, p := range sa.Proposals {
		if p.Protocol == isakmp.ProtoESP && len(p.SPI) == 4 {
			return p.SPI
		}
	}
	return nil
}

// responderLifetime returns the RESPONDER-LIFETIME notification (RFC 2407
// section 4.6.3.1) when we accept a lifetime lower than proposed.
func responderLifetime(spi uint32, chosen, proposed p2Offer) *isakmp.Notification {
	lowerSecs := proposed.lifetime == 0 || chosen.lifetime < proposed.lifetime
	lowerKB := proposed.lifeKB == 0 || chosen.lifeKB < proposed.lifeKB
	if !lowerSecs && !lowerKB {
		return nil
	}
	attrs := []isakmp.Attribute{
		isakmp.BasicAttribute(isakmp.IPsecAttrLifeType, uint16(isakmp.LifeSeconds)),
		isakmp.UintAttribute(isakmp.IPsecAttrLifeDuration, uint64(chosen.lifetime/time.Second)),
		isakmp.BasicAttribute(isakmp.IPsecAttrLifeType, uint16(isakmp.LifeKilobytes)),
		isakmp.UintAttribute(isakmp.IPsecAttrLifeDuration, chosen.lifeKB),
	}
	return &isakmp.Notification{
		DOI: isakmp.DOIIPsec, Protocol: isakmp.ProtoESP, SPI: be32(spi),
		Type: isakmp.NotifyResponderLifetime, Data: encodeAttributes(attrs),
	}
}

// tunnelsForIDs returns the protected tunnels a Quick Mode's identities
// name: IDci the peer's endpoint, IDcr ours, both single addresses with
// the tunnel's protocol and port 0. Behind a NAT the address the peer
// knows itself (or us) by may differ from what we see, so any single
// address of the right family is accepted for the side behind the NAT.
// Tunnels with the same endpoints all match (see tunnelForQM).
func (e *Engine) tunnelsForIDs(sa *ikeSA, idci, idcr *isakmp.ID) []*tunnel {
	var out []*tunnel
	for _, t := range sa.peer.tunnels {
		if idci.Protocol != t.p.Protocol || idcr.Protocol != t.p.Protocol || idci.Port != 0 || idcr.Port != 0 {
			continue
		}
		if idMatches(idci, t.p.Remote, sa.natRemote) && idMatches(idcr, t.p.Local, sa.natLocal) {
			out = append(out, t)
		}
	}
	return out
}

func idMatches(id *isakmp.ID, want netip.Addr, nat bool) bool {
	pfx, err := id.Prefix()
	if err != nil || !pfx.IsSingleIP() {
		return false
	}
	a := pfx.Addr().Unmap()
	return a == want || (nat && a.Is4() == want.Is4())
}

func describeIDs(ids []*isakmp.ID) string {
	if len(ids) != 2 {
		return fmt.Sprintf("%d identities", len(ids))
	}
	d := func(id *isakmp.ID) string {
		if pfx, err := id.Prefix(); err == nil {
			return fmt.Sprintf("%s/%d/%d", pfx, id.Protocol, id.Port)
		}
		return fmt.Sprintf("type %d", id.Type)
	}
	return d(ids[0]) + " <-> " + d(ids[1])
}

func describeP2(sa *isakmp.SA) string {
	return fmt.Sprint(describeTransforms(sa, func(t isakmp.Transform) (fmt.Stringer, error) { return parseP2Transform(t) }))
}

func describeOffers(os []p2Offer) string {
	var s []string
	for _, o := range os {
		s = append(s, o.String())
	}
	return fmt.Sprint(s)
}

func (o p2Offer) String() string {
	s := o.suite.String() + " " + encapName(o.encap)
	if o.group != 0 {
		s += fmt.Sprintf(" pfs group%d", o.group)
	}
	return s
}

func encapName(e isakmp.EncapsulationMode) string {
	mode, udp, ok := modeOf(e)
	if !ok {
		return fmt.Sprintf("mode %d", e)
	}
	if udp {
		return mode.String() + "-UDP"
	}
	return mode.String()
}

// recvQM2: the initiator checks the responder's choice, sends HASH(3) and
// installs the pair.
func (e *Engine) recvQM2(qm *quickMode, in inbound) {
	sa := qm.sa
	m, next, ok := e.openPhase2(sa, in, qm.iv, false, midBytes(qm.mid), qm.ni)
	if !ok {
		return
	}
	e.alive(sa.peer)
	saP, _, err := one[*isakmp.SA](m, isakmp.PayloadSA)
	if err != nil {
		e.malformed(in.d, err)
		return
	}
	if len(saP.Proposals) != 1 || len(saP.Proposals[0].Transforms) != 1 ||
		saP.Proposals[0].Protocol != isakmp.ProtoESP || len(saP.Proposals[0].SPI) != 4 {
		e.unexpected(in, "QM2 must choose exactly one ESP transform")
		return
	}
	outSPI := binary.BigEndian.Uint32(saP.Proposals[0].SPI)
	theirs, err := parseP2Transform(saP.Proposals[0].Transforms[0])
	if err != nil || outSPI < 256 {
		e.unexpected(in, fmt.Sprintf("QM2 chose an unsupported transform or SPI: %v", err))
		return
	}
	i := slices.IndexFunc(qm.offers, func(o p2Offer) bool {
		return o.suite == theirs.suite && o.mode == theirs.mode && o.group == theirs.group && o.encap == theirs.encap
	})
	if i < 0 {
		e.unexpected(in, "QM2 chose a transform that was not offered")
		return
	}
	chosen := qm.offers[i]
	if theirs.lifetime > 0 && theirs.lifetime < chosen.lifetime {
		chosen.lifetime = max(theirs.lifetime, minLifetime)
	}
	if theirs.lifeKB > 0 && theirs.lifeKB < chosen.lifeKB {
		chosen.lifeKB = theirs.lifeKB
	}
	for _, n := range all[*isakmp.Notification](m) {
		if n.Type != isakmp.NotifyResponderLifetime {
			continue
		}
		secs, kb, err := decodeLifetimes(n.Data)
		if err != nil {
			continue
		}
		if secs > 0 && secs < chosen.lifetime {
			chosen.lifetime = max(secs, minLifetime)
		}
		if kb > 0 && kb < chosen.lifeKB {
			chosen.lifeKB = kb
		}
	}
	nonce, _, err := one[*isakmp.Nonce](m, isakmp.PayloadNonce)
	if err != nil {
		e.malformed(in.d, err)
		return
	}
	if ids := all[*isakmp.ID](m); len(ids) != 0 {
		if len(ids) != 2 || !idBodyEqual(ids[0], qm.idci) || !idBodyEqual(ids[1], qm.idcr) {
			e.unexpected(in, "QM2 identities differ from those proposed")
			return
		}
	}
	var gxy []byte
	if chosen.group != 0 {
		ke, _, err := one[*isakmp.KE](m, isakmp.PayloadKE)
		if err != nil {
			e.malformed(in.d, err)
			return
		}
		if gxy, err = qm.dh.Shared(ke.Data); err != nil {
			e.malformed(in.d, err)
			return
		}
	}
	nr := bytes.Clone(nonce.Data)
	hash3 := sa.hash.prf(sa.keys.a, []byte{0}, midBytes(qm.mid), qm.ni, nr)
	plain, err := isakmp.MarshalPayloads([]isakmp.Payload{&isakmp.Hash{Data: hash3}})
	if err != nil {
		return
	}
	hdr := isakmp.Header{InitiatorCookie: sa.ckyI, ResponderCookie: sa.ckyR, Exchange: isakmp.ExchangeQuickMode, MessageID: qm.mid}
	msg, next3, err := marshalEncrypted(hdr, isakmp.PayloadHash, plain, sa.keys.enc, next)
	if err != nil {
		return
	}
	qm.nr, qm.outSPI, qm.chosen, qm.gxy, qm.iv = nr, outSPI, chosen, gxy, next3
	qm.step, qm.expires = qmDone, e.now.Add(qmLinger)
	qm.lastIn, qm.lastOut = in.digest, msg
	qm.xmit.Stop()
	e.updateEndpoint(sa, in)
	e.sendMsg(sa.local, sa.remote, msg)
	if qm.tun.qm == qm {
		qm.tun.qm = nil
	}
	e.installChild(qm)
}

func idBodyEqual(id *isakmp.ID, body []byte) bool {
	b, err := id.AppendBody(nil)
	return err == nil && bytes.Equal(b, body)
}

// recvQM3: the responder checks HASH(3) and installs the pair.
func (e *Engine) recvQM3(qm *quickMode, in inbound) {
	sa := qm.sa
	_, next, ok := e.openPhase2(sa, in, qm.iv, true, []byte{0}, midBytes(qm.mid), qm.ni, qm.nr)
	if !ok {
		return
	}
	e.alive(sa.peer)
	e.updateEndpoint(sa, in)
	qm.iv = next
	qm.step, qm.expires = qmDone, e.now.Add(qmLinger)
	qm.lastIn, qm.lastOut = in.digest, nil
	qm.xmit.Stop()
	e.installChild(qm)
}

// installChild derives the keys of a finished Quick Mode and installs the
// SA pair.
func (e *Engine) installChild(qm *quickMode) {
	sa, t := qm.sa, qm.tun
	if e.tunnels[t.p.Name] != t {
		// The tunnel went away meanwhile: the peer has the pair, we don't.
		e.sendInfo(sa, isakmp.DeleteESP(qm.inSPI))
		delete(e.spis, qm.inSPI)
		return
	}
	o := qm.chosen
	n := o.suite.KeyLen() + o.suite.AuthKeyLen()
	kin := keymat(sa.hash, sa.keys.d, qm.gxy, byte(isakmp.ProtoESP), qm.inSPI, qm.ni, qm.nr, n)
	kout := keymat(sa.hash, sa.keys.d, qm.gxy, byte(isakmp.ProtoESP), qm.outSPI, qm.ni, qm.nr, n)
	var encap *UDPEncap
	if _, udp, _ := modeOf(o.encap); udp {
		encap = &UDPEncap{LocalPort: sa.local.Port(), RemotePort: sa.remote.Port()}
	}
	c := &saPair{
		inSPI: qm.inSPI, outSPI: qm.outSPI, offer: o, encap: encap, peerAddr: sa.remote,
		installed: e.now, rekeyAt: e.jitter(e.now, o.lifetime), expires: e.now.Add(o.lifetime),
		initiator: qm.initiator, ni: qm.ni, parent: sa,
		started: qm.started, seq: qm.finished,
	}
	if c.seq == 0 {
		c.seq = e.event()
	}
	kl := o.suite.KeyLen()
	e.emit(InstallPair{
		Tunnel: t.p.Name, Local: t.p.Local, Remote: t.p.Remote,
		Mode: o.mode, Suite: o.suite,
		In:         SAKeys{SPI: qm.inSPI, EncKey: kin[:kl], AuthKey: kin[kl:]},
		Out:        SAKeys{SPI: qm.outSPI, EncKey: kout[:kl], AuthKey: kout[kl:]},
		Encap:      encap,
		Lifetime:   o.lifetime,
		LifetimeKB: o.lifeKB,
	})
	if e.cfg.KeyLog {
		e.emit(KeyLogESP{Src: t.p.Remote, Dst: t.p.Local, SPI: qm.inSPI, Suite: o.suite, EncKey: kin[:kl], AuthKey: kin[kl:]})
		e.emit(KeyLogESP{Src: t.p.Local, Dst: t.p.Remote, SPI: qm.outSPI, Suite: o.suite, EncKey: kout[:kl], AuthKey: kout[kl:]})
	}
	qm.dh, qm.gxy = nil, nil
	t.children = append(t.children, c)
	t.failures, t.retryAt = 0, time.Time{}
	pfs := "none"
	if o.group != 0 {
		pfs = fmt.Sprintf("group %d", o.group)
	}
	e.logf(slog.LevelInfo, sa.peer.key.remote,
		"%s: peer %s: IPsec SA pair installed (%s, in SPI 0x%08x, out SPI 0x%08x, PFS %s, lifetime %s/%d KB)",
		t.p.Name, sa.peer.key.remote, o, qm.inSPI, qm.outSPI, pfs, o.lifetime, o.lifeKB)
	if !t.up {
		t.up, t.upPeer = true, sa.remote
		e.emit(SessionUp{Tunnel: t.p.Name, Peer: sa.remote})
	}
	e.resolveChildren(t)
}

// resolveChildren schedules the deletion of SA pairs that lost to the best
// one (see bestChild) where this side is the one to delete them: in a
// rekey the side that negotiated the replacement deletes the old pair;
// after a collision the side that negotiated the loser deletes it. Either
// way it goes after rekeyOverlap, once both ends have the winner
// (make-before-break).
func (e *Engine) resolveChildren(t *tunnel) {
	live := t.live()
	w := bestChild(live)
	for _, c := range live {
		if c == w {
			continue
		}
		if rekey := w.replaces(c); (rekey && w.initiator) || (!rekey && c.initiator) {
			c.deleteAt = e.now.Add(rekeyOverlap)
		}
	}
}

// deleteChild removes an SA pair, telling the peer when notify is set.
func (e *Engine) deleteChild(t *tunnel, c *saPair, notify bool, reason string) {
	e.emit(DeletePair{Tunnel: t.p.Name, InSPI: c.inSPI, OutSPI: c.outSPI})
	if notify {
		if sa := t.peer.anySA(); sa != nil {
			e.sendInfo(sa, isakmp.DeleteESP(c.inSPI))
		}
	}
	if i := slices.Index(t.children, c); i >= 0 {
		t.children = slices.Delete(t.children, i, i+1)
	}
	delete(e.spis, c.inSPI)
	t.recordDeleted(c.inSPI, e.now)
	e.logf(slog.LevelInfo, t.peer.key.remote, "%s: peer %s: IPsec SA pair deleted (in SPI 0x%08x, out SPI 0x%08x): %s",
		t.p.Name, t.peer.key.remote, c.inSPI, c.outSPI, reason)
	if t.up && len(t.children) == 0 {
		t.up = false
		e.emit(SessionDown{Tunnel: t.p.Name, Peer: t.upPeer})
	}
}

// anySA returns the ISAKMP SA to send a notification with: the best one,
// else any established one.
func (p *peer) anySA() *ikeSA {
	if sa := p.bestSA(); sa != nil {
		return sa
	}
	if es := p.established(); len(es) > 0 {
		return es[0]
	}
	return nil
}
