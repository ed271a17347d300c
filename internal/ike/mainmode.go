package ike

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/gresec/gresec/internal/dh"
	"github.com/gresec/gresec/internal/isakmp"
	"github.com/gresec/gresec/internal/retransmit"
)

// Main Mode with pre-shared keys (RFC 2409 section 5.4):
//
//	Initiator                        Responder
//	HDR, SA, VID                -->
//	                            <--  HDR, SA, VID
//	HDR, KE, Ni, NAT-D, NAT-D   -->
//	                            <--  HDR, KE, Nr, NAT-D, NAT-D
//	HDR*, IDii, HASH_I [, N]    -->
//	                            <--  HDR*, IDir, HASH_R
//
// NAT-D payloads only when both sides sent the RFC 3947 vendor ID; with a
// NAT the initiator moves to port 4500 for MM5 (RFC 3947 section 4). The
// optional notification in MM5 is INITIAL-CONTACT.

const nonceLen = 32

func (e *Engine) pskFor(a netip.Addr) ([]byte, bool) {
	if e.cfg.PSK == nil {
		return nil, false
	}
	k, ok := e.cfg.PSK(a)
	if !ok || k == "" {
		return nil, false
	}
	return []byte(k), true
}

// startMainMode sends MM1 to p. On failure it schedules a retry, so that
// the caller need not.
func (e *Engine) startMainMode(p *peer) {
	remote := p.key.remote
	psk, ok := e.pskFor(remote)
	if !ok {
		e.logLimited("nopsk", slog.LevelWarn, remote,
			"peer %s: no pre-shared key for this peer (crypto isakmp key KEY address %s); not negotiating", remote, remote)
		e.failMainMode(p)
		return
	}
	if len(e.policies) == 0 {
		e.logLimited("nopolicy", slog.LevelWarn, remote, "peer %s: no crypto isakmp policy; not negotiating", remote)
		e.failMainMode(p)
		return
	}
	sa := e.newIKESA(p, true)
	sa.ckyI = e.cookie()
	sa.offers = slices.Clone(e.policies)
	sa.psk = psk
	sa.forced = e.cfg.ForceUDPEncap
	prop := isakmp.Proposal{Number: 1, Protocol: isakmp.ProtoISAKMP}
	for i, pol := range sa.offers {
		prop.Transforms = append(prop.Transforms, pol.transform(uint8(i+1)))
	}
	saPayload := &isakmp.SA{DOI: isakmp.DOIIPsec, Situation: isakmp.SitIdentityOnly, Proposals: []isakmp.Proposal{prop}}
	saiB, err := saPayload.AppendBody(nil)
	var msg []byte
	if err == nil {
		msg, err = marshalClear(isakmp.Header{InitiatorCookie: sa.ckyI, Exchange: isakmp.ExchangeMainMode},
			append([]isakmp.Payload{saPayload}, ourVendorIDs()...))
	}
	if err != nil {
		e.logf(slog.LevelError, remote, "peer %s: cannot build Main Mode proposal: %v", remote, err)
		e.failMainMode(p)
		return
	}
	sa.saiB = saiB
	sa.local = netip.AddrPortFrom(p.key.local, Port)
	sa.remote = netip.AddrPortFrom(remote, Port)
	sa.step = stepISentMM1
	sa.sendIC = p.stale()
	p.sas = append(p.sas, sa)
	e.logf(slog.LevelInfo, remote, "peer %s: initiating Main Mode (conn-id %d)", remote, sa.connID)
	e.sendArmed(&sa.xmit, sa.local, sa.remote, msg)
}

func (e *Engine) sendArmed(r *retransmit.Timer, local, remote netip.AddrPort, msg []byte) {
	r.Arm(e.now, msg, local, remote)
	e.sendMsg(local, remote, msg)
}

func (e *Engine) recvMainMode(p *peer, in inbound) {
	h := in.h
	if h.MessageID != 0 {
		e.unexpected(in, "Main Mode message with a message ID")
		return
	}
	if h.ResponderCookie == ([8]byte{}) {
		if p != nil {
			for _, sa := range p.sas {
				if sa.ckyI != h.InitiatorCookie {
					continue
				}
				// Our own cookie coming back is a reflection, or a
				// collision; either way not a new Main Mode.
				if !sa.initiator && sa.step == stepRSentMM2 && sa.lastIn == in.digest {
					e.resend(sa) // MM1 again: MM2 was lost
				}
				return
			}
		}
		e.recvMM1(p, in)
		return
	}
	var sa *ikeSA
	if p != nil {
		sa = p.find(h.InitiatorCookie, h.ResponderCookie)
	}
	if sa == nil {
		e.logLimited("cookies", slog.LevelInfo, in.peerAddr(),
			"peer %s: dropped Main Mode message for unknown cookies %x/%x", in.peerAddr(), h.InitiatorCookie, h.ResponderCookie)
		return
	}
	if in.digest == sa.lastIn {
		if sa.lastOut != nil {
			e.resend(sa) // a retransmission: our answer was lost
		}
		return
	}
	switch sa.step {
	case stepISentMM1:
		e.recvMM2(sa, in)
	case stepISentMM3:
		e.recvMM4(sa, in)
	case stepISentMM5:
		e.recvMM6(sa, in)
	case stepRSentMM2:
		e.recvMM3(sa, in)
	case stepRSentMM4:
		e.recvMM5(sa, in)
	default:
		e.unexpected(in, "Main Mode message for an established ISAKMP SA")
	}
}

// resend sends our last Main Mode answer again for a retransmission of
// the message it answered, at most once per mmResendInterval: an
// identical message costs its sender nothing to repeat.
func (e *Engine) resend(sa *ikeSA) {
	if e.now.Sub(sa.resent) < mmResendInterval && !e.now.Before(sa.resent) {
		return
	}
	sa.resent = e.now
	e.sendMsg(sa.local, sa.remote, sa.lastOut)
}

func (e *Engine) halfOpen() int {
	n := 0
	for _, p := range e.peerOrder {
		n += p.halfOpen()
	}
	return n
}

// admits reports whether a Main Mode from remote may make us keep state:
// p, the peer at that address, has a protected tunnel, or the address
// has a pre-shared key of its own (Config.KeyedPeer).
func (e *Engine) admits(p *peer, remote netip.Addr) bool {
	if p != nil && len(p.tunnels) > 0 {
		return true
	}
	return e.cfg.KeyedPeer != nil && e.cfg.KeyedPeer(remote)
}

// makeHalfOpenRoom makes room for one more responder Main Mode with p
// (nil: a new peer) under the caps, evicting the oldest entries that
// never got past MM2: p's own when p is at its cap, anyone's when the
// table is full. It reports false when there is nothing to evict.
func (e *Engine) makeHalfOpenRoom(p *peer) bool {
	if p != nil && p.halfOpen() >= maxHalfOpenPerPeer && !e.evictHalfOpen(p) {
		return false
	}
	if e.halfOpen() >= maxHalfOpen && !e.evictHalfOpen(nil) {
		return false
	}
	return true
}

// evictHalfOpen forgets the oldest responder Main Mode still waiting for
// MM3, of peer only or of any peer when only is nil.
func (e *Engine) evictHalfOpen(only *peer) bool {
	var victim *ikeSA
	for _, p := range e.peerOrder {
		if only != nil && p != only {
			continue
		}
		for _, sa := range p.sas {
			if !sa.initiator && sa.step == stepRSentMM2 && (victim == nil || sa.connID < victim.connID) {
				victim = sa
			}
		}
	}
	if victim == nil {
		return false
	}
	victim.peer.remove(victim)
	e.logLimited("evicted", slog.LevelDebug, victim.peer.key.remote,
		"peer %s: half-open ISAKMP SAs at their limit; forgot the oldest (conn-id %d)", victim.peer.key.remote, victim.connID)
	return true
}

// answerNotify answers a bad message with an unencrypted notification,
// at most once a minute per peer.
func (e *Engine) answerNotify(in inbound, ckyR [8]byte, t isakmp.NotifyType) {
	if t == 0 {
		return
	}
	if e.allow("notify", in.peerAddr()) {
		e.sendClearNotify(in.d.Local, in.d.Remote, in.h.InitiatorCookie, ckyR, t)
	}
}

// recvMM1 starts a Main Mode as responder.
func (e *Engine) recvMM1(p *peer, in inbound) {
	remote := in.peerAddr()
	if in.h.Flags&isakmp.FlagEncryption != 0 {
		e.unexpected(in, "encrypted first message")
		return
	}
	psk, ok := e.pskFor(remote)
	if !ok {
		e.logLimited("nopsk", slog.LevelWarn, remote,
			"peer %s: Main Mode from a peer without a pre-shared key (crypto isakmp key); ignored", remote)
		return
	}
	if !e.admits(p, remote) {
		e.logLimited("stranger", slog.LevelInfo, remote,
			"peer %s: Main Mode ignored: no tunnel goes to this address and no crypto isakmp key names it but the wildcard", remote)
		return
	}
	m, err := parseBody(in.h.NextPayload, in.body, false)
	if err != nil {
		e.malformed(in.d, err)
		e.answerNotify(in, [8]byte{}, isakmp.NotifyFor(err))
		return
	}
	saP, saiB, err := one[*isakmp.SA](m, isakmp.PayloadSA)
	if err != nil {
		e.malformed(in.d, err)
		return
	}
	if len(saiB) > maxOfferLen {
		e.logLimited("bigoffer", slog.LevelWarn, remote,
			"peer %s: Main Mode offer of %d bytes, more than %d; ignored", remote, len(saiB), maxOfferLen)
		return
	}
	echo, chosen, ok := selectP1(saP, e.policies)
	if !ok {
		e.logLimited("noproposal", slog.LevelWarn, remote,
			"peer %s: no acceptable phase 1 proposal (peer offers %s); check crypto isakmp policy", remote, describeP1(saP))
		e.answerNotify(in, [8]byte{}, isakmp.NotifyNoProposalChosen)
		return
	}
	hash, _ := hashByID(chosen.hash)
	natt, dpd, vendor := vendorInfo(m)
	ckyR := e.cookie()
	msg, err := marshalClear(isakmp.Header{InitiatorCookie: in.h.InitiatorCookie, ResponderCookie: ckyR, Exchange: isakmp.ExchangeMainMode},
		append([]isakmp.Payload{&isakmp.SA{DOI: isakmp.DOIIPsec, Situation: isakmp.SitIdentityOnly, Proposals: []isakmp.Proposal{echo}}},
			ourVendorIDs()...))
	if err != nil {
		e.malformed(in.d, err)
		return
	}
	if !e.makeHalfOpenRoom(p) {
		e.logLimited("halfopen", slog.LevelWarn, remote,
			"peer %s: half-open ISAKMP SAs at their limit, all past MM3; Main Mode ignored", remote)
		return
	}
	if p == nil {
		p = e.newPeer(peerKey{in.d.Local.Addr(), remote})
	}
	sa := e.newIKESA(p, false)
	sa.ckyI, sa.ckyR = in.h.InitiatorCookie, ckyR
	sa.policy, sa.hash, sa.psk = chosen, hash, psk
	sa.saiB = bytes.Clone(saiB)
	sa.local, sa.remote = in.d.Local, in.d.Remote
	sa.natt, sa.peerDPD, sa.vendor = natt, dpd, vendor
	sa.forced = e.cfg.ForceUDPEncap
	sa.step = stepRSentMM2
	sa.lastIn, sa.lastOut, sa.resent = in.digest, msg, e.now
	p.sas = append(p.sas, sa)
	e.logf(slog.LevelInfo, remote, "peer %s: Main Mode as responder (conn-id %d, %s)", remote, sa.connID, chosen)
	e.sendMsg(sa.local, sa.remote, msg)
}

// describeP1 summarises a phase 1 offer for a log line.
func describeP1(sa *isakmp.SA) string {
	return strings.Join(describeTransforms(sa, func(t isakmp.Transform) (fmt.Stringer, error) { return parseP1Transform(t) }), ", ")
}

// describeTransforms lists an SA payload's transforms as parse reads them
// (at most eight, for a log line).
func describeTransforms(sa *isakmp.SA, parse func(isakmp.Transform) (fmt.Stringer, error)) []string {
	var s []string
	for _, prop := range sa.Proposals {
		for _, t := range prop.Transforms {
			p, err := parse(t)
			if err != nil {
				s = append(s, "unsupported")
				continue
			}
			s = append(s, p.String())
		}
	}
	if len(s) > 8 {
		s = append(s[:8], "...")
	}
	return s
}

// recvMM2: the responder's choice. The initiator sends its key exchange.
func (e *Engine) recvMM2(sa *ikeSA, in inbound) {
	if in.h.Flags&isakmp.FlagEncryption != 0 {
		e.unexpected(in, "encrypted MM2")
		return
	}
	m, err := parseBody(in.h.NextPayload, in.body, false)
	if err != nil {
		e.malformed(in.d, err)
		return
	}
	saP, _, err := one[*isakmp.SA](m, isakmp.PayloadSA)
	if err != nil {
		e.malformed(in.d, err)
		return
	}
	if len(saP.Proposals) != 1 || len(saP.Proposals[0].Transforms) != 1 || saP.Proposals[0].Protocol != isakmp.ProtoISAKMP {
		e.unexpected(in, "MM2 must choose exactly one transform")
		return
	}
	theirs, err := parseP1Transform(saP.Proposals[0].Transforms[0])
	if err != nil {
		e.unexpected(in, fmt.Sprintf("MM2 chose an unsupported transform: %v", err))
		return
	}
	i := slices.IndexFunc(sa.offers, theirs.sameSuite)
	if i < 0 {
		e.unexpected(in, "MM2 chose a transform that was not offered")
		return
	}
	chosen := sa.offers[i]
	if theirs.lifetime > 0 && theirs.lifetime < chosen.lifetime {
		chosen.lifetime = max(theirs.lifetime, minLifetime)
	}
	hash, _ := hashByID(chosen.hash)
	natt, dpd, vendor := vendorInfo(m)
	key, err := dh.New(dh.Group(chosen.group), e.rand)
	if err != nil {
		e.logf(slog.LevelError, in.peerAddr(), "peer %s: %v", in.peerAddr(), err)
		return
	}
	ni := e.random(nonceLen)
	ckyR := in.h.ResponderCookie
	payloads := []isakmp.Payload{&isakmp.KE{Data: key.Public()}, &isakmp.Nonce{Data: ni}}
	if natt {
		payloads = append(payloads, natdPayloads(hash, sa.ckyI, ckyR, sa.remote, sa.local, sa.forced, e.random)...)
	}
	msg, err := marshalClear(isakmp.Header{InitiatorCookie: sa.ckyI, ResponderCookie: ckyR, Exchange: isakmp.ExchangeMainMode}, payloads)
	if err != nil {
		e.malformed(in.d, err)
		return
	}
	sa.ckyR = ckyR
	sa.policy, sa.hash = chosen, hash
	sa.natt, sa.peerDPD, sa.vendor = natt, dpd, vendor
	sa.dh, sa.gxi, sa.ni = key, key.Public(), ni
	sa.step = stepISentMM3
	sa.lastIn = in.digest
	e.sendArmed(&sa.xmit, sa.local, sa.remote, msg)
}

// recvMM3: the initiator's key exchange. The responder answers with its
// own and derives the keys.
func (e *Engine) recvMM3(sa *ikeSA, in inbound) {
	if in.h.Flags&isakmp.FlagEncryption != 0 {
		e.unexpected(in, "encrypted MM3")
		return
	}
	m, err := parseBody(in.h.NextPayload, in.body, false)
	if err != nil {
		e.malformed(in.d, err)
		return
	}
	ke, _, err := one[*isakmp.KE](m, isakmp.PayloadKE)
	if err != nil {
		e.malformed(in.d, err)
		return
	}
	nonce, _, err := one[*isakmp.Nonce](m, isakmp.PayloadNonce)
	if err != nil {
		e.malformed(in.d, err)
		return
	}
	key, err := dh.New(dh.Group(sa.policy.group), e.rand)
	if err != nil {
		e.logf(slog.LevelError, in.peerAddr(), "peer %s: %v", in.peerAddr(), err)
		return
	}
	gxy, err := key.Shared(ke.Data)
	if err != nil {
		e.malformed(in.d, err)
		return
	}
	nr := e.random(nonceLen)
	keys := derivePhase1(sa.hash, sa.psk, nonce.Data, nr, gxy, sa.ckyI, sa.ckyR, sa.policy.encBits/8)
	natds := all[*isakmp.NATD](m)
	natLocal, natRemote := detectNAT(sa.hash, sa.ckyI, sa.ckyR, natds, in.d.Local, in.d.Remote)
	payloads := []isakmp.Payload{&isakmp.KE{Data: key.Public()}, &isakmp.Nonce{Data: nr}}
	if sa.natt && len(natds) > 0 {
		payloads = append(payloads, natdPayloads(sa.hash, sa.ckyI, sa.ckyR, in.d.Remote, in.d.Local, sa.forced, e.random)...)
	}
	msg, err := marshalClear(isakmp.Header{InitiatorCookie: sa.ckyI, ResponderCookie: sa.ckyR, Exchange: isakmp.ExchangeMainMode}, payloads)
	if err != nil {
		e.malformed(in.d, err)
		return
	}
	sa.dh, sa.gxi, sa.gxr = key, bytes.Clone(ke.Data), key.Public()
	sa.ni, sa.nr = bytes.Clone(nonce.Data), nr
	sa.keys = keys
	sa.iv = phase1IV(sa.hash, sa.gxi, sa.gxr, blockSize)
	if sa.natt && len(natds) >= 2 {
		sa.natLocal, sa.natRemote = natLocal, natRemote
	}
	sa.step = stepRSentMM4
	sa.lastIn, sa.lastOut, sa.resent = in.digest, msg, e.now
	e.keylogIKE(sa)
	e.sendMsg(sa.local, sa.remote, msg)
}

// recvMM4: the responder's key exchange. The initiator derives the keys,
// moves to port 4500 if there is a NAT, and authenticates.
func (e *Engine) recvMM4(sa *ikeSA, in inbound) {
	if in.h.Flags&isakmp.FlagEncryption != 0 {
		e.unexpected(in, "encrypted MM4")
		return
	}
	m, err := parseBody(in.h.NextPayload, in.body, false)
	if err != nil {
		e.malformed(in.d, err)
		return
	}
	ke, _, err := one[*isakmp.KE](m, isakmp.PayloadKE)
	if err != nil {
		e.malformed(in.d, err)
		return
	}
	nonce, _, err := one[*isakmp.Nonce](m, isakmp.PayloadNonce)
	if err != nil {
		e.malformed(in.d, err)
		return
	}
	if bytes.Equal(ke.Data, sa.gxi) || bytes.Equal(nonce.Data, sa.ni) {
		e.unexpected(in, "our own MM3 reflected as MM4")
		return
	}
	gxy, err := sa.dh.Shared(ke.Data)
	if err != nil {
		e.malformed(in.d, err)
		return
	}
	keys := derivePhase1(sa.hash, sa.psk, sa.ni, nonce.Data, gxy, sa.ckyI, sa.ckyR, sa.policy.encBits/8)
	natds := all[*isakmp.NATD](m)
	natLocal, natRemote := detectNAT(sa.hash, sa.ckyI, sa.ckyR, natds, sa.local, sa.remote)
	if !sa.natt || len(natds) < 2 {
		natLocal, natRemote = false, false
	}
	gxr := bytes.Clone(ke.Data)
	local, remote := sa.local, sa.remote
	if sa.natt && (natLocal || natRemote || sa.forced) {
		local = netip.AddrPortFrom(local.Addr(), NATTPort)
		remote = netip.AddrPortFrom(remote.Addr(), NATTPort)
	}
	idii := isakmp.IDFromAddr(sa.peer.key.local, 0, 0)
	idiiB, err := idii.AppendBody(nil)
	if err != nil {
		e.malformed(in.d, err)
		return
	}
	hashI := sa.hash.prf(keys.skeyid, sa.gxi, gxr, sa.ckyI[:], sa.ckyR[:], sa.saiB, idiiB)
	payloads := []isakmp.Payload{idii, &isakmp.Hash{Data: hashI}}
	if sa.sendIC {
		payloads = append(payloads, &isakmp.Notification{
			DOI: isakmp.DOIIPsec, Protocol: isakmp.ProtoISAKMP, SPI: cookies(sa), Type: isakmp.NotifyInitialContact,
		})
	}
	plain, err := isakmp.MarshalPayloads(payloads)
	if err != nil {
		e.malformed(in.d, err)
		return
	}
	hdr := isakmp.Header{InitiatorCookie: sa.ckyI, ResponderCookie: sa.ckyR, Exchange: isakmp.ExchangeMainMode}
	msg, next, err := marshalEncrypted(hdr, isakmp.PayloadID, plain, keys.enc, phase1IV(sa.hash, sa.gxi, gxr, blockSize))
	if err != nil {
		e.malformed(in.d, err)
		return
	}
	sa.gxr, sa.nr, sa.keys = gxr, bytes.Clone(nonce.Data), keys
	sa.natLocal, sa.natRemote = natLocal, natRemote
	sa.iv = next
	sa.local, sa.remote = local, remote
	sa.step = stepISentMM5
	sa.lastIn = in.digest
	e.keylogIKE(sa)
	e.sendArmed(&sa.xmit, sa.local, sa.remote, msg)
}

// recvMM5: the initiator authenticates. On success the responder answers
// and the ISAKMP SA is established.
func (e *Engine) recvMM5(sa *ikeSA, in inbound) {
	m, id, next, ok := e.openAuth(sa, in, "MM5", true)
	if !ok {
		return
	}
	idir := isakmp.IDFromAddr(sa.peer.key.local, 0, 0)
	idirB, err := idir.AppendBody(nil)
	if err != nil {
		return
	}
	hashR := authHash(sa, false, idirB)
	plain6, err := isakmp.MarshalPayloads([]isakmp.Payload{idir, &isakmp.Hash{Data: hashR}})
	if err != nil {
		return
	}
	hdr := isakmp.Header{InitiatorCookie: sa.ckyI, ResponderCookie: sa.ckyR, Exchange: isakmp.ExchangeMainMode}
	msg, next6, err := marshalEncrypted(hdr, isakmp.PayloadID, plain6, sa.keys.enc, next)
	if err != nil {
		return
	}
	sa.local, sa.remote = in.d.Local, in.d.Remote
	sa.iv, sa.p2base = next6, next6
	sa.lastIn, sa.lastOut, sa.resent = in.digest, msg, e.now
	e.sendMsg(sa.local, sa.remote, msg)
	e.established(sa, id)
	if hasInitialContact(m) {
		e.initialContact(sa)
	}
}

// recvMM6: the responder authenticates; the ISAKMP SA is established.
func (e *Engine) recvMM6(sa *ikeSA, in inbound) {
	m, id, next, ok := e.openAuth(sa, in, "MM6", false)
	if !ok {
		return
	}
	sa.local, sa.remote = in.d.Local, in.d.Remote
	sa.iv, sa.p2base = next, next
	sa.lastIn = in.digest
	e.established(sa, id)
	if hasInitialContact(m) {
		e.initialContact(sa)
	}
}

// openAuth decrypts Main Mode message 5 or 6 (what names it, for the
// logs) and checks the peer's identity and HASH_I (fromInitiator) or
// HASH_R. It returns the payloads, the peer's ID and the next CBC IV; a
// failure is logged and answered, and changes nothing.
func (e *Engine) openAuth(sa *ikeSA, in inbound, what string, fromInitiator bool) (*parsed, *isakmp.ID, []byte, bool) {
	if in.h.Flags&isakmp.FlagEncryption == 0 {
		e.unexpected(in, what+" not encrypted")
		return nil, nil, nil, false
	}
	plain, next, err := decryptBody(sa.keys.enc, sa.iv, in.body)
	if err != nil {
		e.malformed(in.d, err)
		return nil, nil, nil, false
	}
	garbage := what + " decrypts to garbage"
	m, err := parseBody(in.h.NextPayload, plain, true)
	if err != nil {
		e.authFailed(sa, in, garbage)
		return nil, nil, nil, false
	}
	id, idB, err := one[*isakmp.ID](m, isakmp.PayloadID)
	if err != nil {
		e.authFailed(sa, in, garbage)
		return nil, nil, nil, false
	}
	hp, _, err := one[*isakmp.Hash](m, isakmp.PayloadHash)
	if err != nil {
		e.authFailed(sa, in, garbage)
		return nil, nil, nil, false
	}
	if !macEqual(hp.Data, authHash(sa, fromInitiator, idB)) {
		e.authFailed(sa, in, map[bool]string{true: "HASH_I mismatch", false: "HASH_R mismatch"}[fromInitiator])
		return nil, nil, nil, false
	}
	return m, id, next, true
}

// authHash is HASH_I (of the initiator) or HASH_R (RFC 2409 section 5):
// prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b), with the
// key exchange values and cookies swapped for HASH_R.
func authHash(sa *ikeSA, initiator bool, idB []byte) []byte {
	if initiator {
		return sa.hash.prf(sa.keys.skeyid, sa.gxi, sa.gxr, sa.ckyI[:], sa.ckyR[:], sa.saiB, idB)
	}
	return sa.hash.prf(sa.keys.skeyid, sa.gxr, sa.gxi, sa.ckyR[:], sa.ckyI[:], sa.saiB, idB)
}

func cookies(sa *ikeSA) []byte {
	return append(append(make([]byte, 0, 16), sa.ckyI[:]...), sa.ckyR[:]...)
}

func hasInitialContact(m *parsed) bool {
	for _, n := range all[*isakmp.Notification](m) {
		if n.Type == isakmp.NotifyInitialContact {
			return true
		}
	}
	return false
}

// authFailed reports a failed phase 1 authentication. Nothing changes: a
// forged message must not tear down a negotiation, and the genuine peer
// gives up by itself. The responder tells the initiator, as IOS does.
func (e *Engine) authFailed(sa *ikeSA, in inbound, detail string) {
	remote := in.peerAddr()
	if e.logLimited("auth", slog.LevelWarn, remote,
		"peer %s: Main Mode authentication failed (%s): pre-shared key mismatch with %s?", remote, detail, remote) && !sa.initiator {
		e.sendClearNotify(in.d.Local, in.d.Remote, sa.ckyI, sa.ckyR, isakmp.NotifyInvalidHashInformation)
	}
}

func (e *Engine) keylogIKE(sa *ikeSA) {
	if e.cfg.KeyLog {
		e.emit(KeyLogIKE{InitiatorCookie: sa.ckyI, EncKey: bytes.Clone(sa.keys.enc)})
	}
}

// established completes a Main Mode.
func (e *Engine) established(sa *ikeSA, peerID *isakmp.ID) {
	p := sa.peer
	sa.step = stepEstablished
	sa.established = e.now
	sa.expires = e.now.Add(sa.policy.lifetime)
	sa.rekeyAt = e.jitter(e.now, sa.policy.lifetime)
	sa.xmit.Stop()
	sa.dh = nil
	p.mmFailures, p.mmRetryAt = 0, time.Time{}
	e.alive(p)
	role := "responder"
	if sa.initiator {
		role = "initiator"
	}
	nat := "no"
	switch {
	case sa.udpEncap() && sa.natLocal:
		nat = "yes, this side behind NAT"
	case sa.udpEncap() && sa.natRemote:
		nat = "yes, peer behind NAT"
	case sa.udpEncap():
		nat = "yes, forced"
	}
	e.logf(slog.LevelInfo, p.key.remote,
		"peer %s: ISAKMP SA established as %s (conn-id %d, %s, lifetime %s, peer ID %s, NAT-T %s, DPD %v%s)",
		p.key.remote, role, sa.connID, sa.policy, sa.policy.lifetime, describeID(peerID), nat, sa.peerDPD, vendorSuffix(sa.vendor))
	if !sa.initiator {
		// The peer reached us first: our own Main Mode, if the peer has
		// not answered it yet, is dropped rather than completed.
		// strongSwan (uniqueids) treats a second ISAKMP SA with the same
		// identities as a replacement and destroys the first, with the
		// SA pairs negotiated under it.
		for _, o := range slices.Clone(p.sas) {
			if o != sa && o.initiator && o.step == stepISentMM1 {
				e.deleteIKESA(o, false, "the peer initiated first")
			}
		}
	}
	e.resolveIKE(p)
	e.keepaliveTick(p)
}

func vendorSuffix(v string) string {
	if v == "" {
		return ""
	}
	return ", " + v
}

func describeID(id *isakmp.ID) string {
	if id == nil {
		return "none"
	}
	switch id.Type {
	case isakmp.IDIPv4Addr, isakmp.IDIPv6Addr:
		if a, ok := netip.AddrFromSlice(id.Data); ok {
			return a.String()
		}
	case isakmp.IDFQDN, isakmp.IDUserFQDN:
		return fmt.Sprintf("%q", id.Data)
	}
	return fmt.Sprintf("type %d", id.Type)
}

// resolveIKE deletes the ISAKMP SAs that lost to a better one and that this
// side initiated (see simultaneousWindow).
func (e *Engine) resolveIKE(p *peer) {
	w := p.bestSA()
	if w == nil {
		return
	}
	for _, sa := range p.sas {
		if sa == w || sa.step != stepEstablished || !sa.doomed.IsZero() {
			continue
		}
		old := w.established.Sub(sa.established) > simultaneousWindow
		if (old && w.initiator) || (!old && sa.initiator) {
			sa.doomed = e.now
		}
	}
}

// initialContact honours INITIAL-CONTACT: the peer has restarted, so the
// SAs established with it before this negotiation began are stale.
func (e *Engine) initialContact(sa *ikeSA) {
	p := sa.peer
	flushed := 0
	for _, other := range slices.Clone(p.sas) {
		if other != sa && other.step == stepEstablished && other.established.Before(sa.created) {
			e.deleteIKESA(other, false, "peer sent INITIAL-CONTACT")
			flushed++
		}
	}
	for _, t := range p.tunnels {
		for _, c := range slices.Clone(t.children) {
			if c.installed.Before(sa.created) {
				e.deleteChild(t, c, false, "peer sent INITIAL-CONTACT")
				flushed++
			}
		}
	}
	if flushed > 0 {
		e.logf(slog.LevelInfo, p.key.remote, "peer %s: INITIAL-CONTACT: flushed %d stale SAs", p.key.remote, flushed)
	}
}

// deleteIKESA removes an ISAKMP SA, telling the peer when notify is set.
// The IPsec SA pairs negotiated through it stay (they are independent in
// IKEv1).
func (e *Engine) deleteIKESA(sa *ikeSA, notify bool, reason string) {
	p := sa.peer
	if notify && sa.step == stepEstablished {
		e.sendInfo(sa, isakmp.DeleteISAKMP(sa.ckyI, sa.ckyR))
	}
	for _, qm := range sa.qms {
		if qm.initiator && qm.tun.qm == qm {
			qm.tun.qm = nil
		}
		if qm.step != qmDone {
			delete(e.spis, qm.inSPI)
		}
	}
	sa.qms = map[uint32]*quickMode{}
	sa.xmit.Stop()
	p.remove(sa)
	if sa.step == stepEstablished {
		e.logf(slog.LevelInfo, p.key.remote, "peer %s: ISAKMP SA (conn-id %d) deleted: %s", p.key.remote, sa.connID, reason)
	}
}
