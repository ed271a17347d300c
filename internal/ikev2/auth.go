package ikev2

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/gresec/gresec/internal/config"
	"github.com/gresec/gresec/internal/ike"
	"github.com/gresec/gresec/internal/ikev2/wire"
	"github.com/gresec/gresec/internal/retransmit"
)

// The IKE_AUTH exchange (RFC 7296 sections 1.2 and 2.15): identities,
// authentication with a pre-shared key, and the first CHILD_SA.

// localID is the identity a tunnel's profile sends.
func localID(t *tunnel, responder bool) *wire.ID {
	id := t.p.Profile.LocalID
	switch id.Kind {
	case config.IDAddress:
		return wire.AddrID(responder, id.Address)
	case config.IDFQDN:
		return &wire.ID{Responder: responder, Type: wire.IDFQDN, Data: []byte(id.Value)}
	case config.IDEmail:
		return &wire.ID{Responder: responder, Type: wire.IDRFC822Addr, Data: []byte(id.Value)}
	case config.IDKeyID:
		return &wire.ID{Responder: responder, Type: wire.IDKeyID, Data: []byte(id.Value)}
	case config.IDDN:
		if c := t.p.Profile.Creds; c != nil && len(c.Chain) > 0 {
			return &wire.ID{Responder: responder, Type: wire.IDDERASN1DN, Data: c.Chain[0].RawSubject}
		}
	}
	return wire.AddrID(responder, t.p.Local)
}

// identityOf is a received identity in the configuration's terms, for
// `match identity remote` (config.IKEv2IdentityMatch). Kind IDNone: a type
// no match statement names.
func identityOf(id *wire.ID) config.IKEv2Identity {
	switch id.Type {
	case wire.IDIPv4Addr, wire.IDIPv6Addr:
		if a, ok := id.Addr(); ok {
			return config.IKEv2Identity{Kind: config.IDAddress, Address: a}
		}
	case wire.IDFQDN:
		return config.IKEv2Identity{Kind: config.IDFQDN, Value: string(id.Data)}
	case wire.IDRFC822Addr:
		return config.IKEv2Identity{Kind: config.IDEmail, Value: string(id.Data)}
	case wire.IDKeyID:
		return config.IKEv2Identity{Kind: config.IDKeyID, Value: string(id.Data)}
	case wire.IDDERASN1DN:
		return config.IKEv2Identity{Kind: config.IDDN, Value: string(id.Data)}
	}
	return config.IKEv2Identity{}
}

// remoteIDOK reports whether a profile accepts the peer's identity.
func remoteIDOK(pr Profile, id *wire.ID) bool {
	if len(pr.RemoteID) == 0 {
		return true
	}
	cid := identityOf(id)
	return slices.ContainsFunc(pr.RemoteID, func(m config.IKEv2IdentityMatch) bool { return m.Matches(cid) })
}

// ourAuth returns what proves our identity in IKE_AUTH: the CERT
// payloads (for a signature) and the AUTH payload over octets.
func (e *Engine) ourAuth(sa *ikeSA, pr Profile, octets []byte) ([]wire.Payload, *wire.Auth, error) {
	if pr.signs() {
		a, err := sign(pr.Creds.Key, e.rand, octets, sa.peerHashes)
		if err != nil {
			return nil, nil, err
		}
		return certPayloads(pr.Creds.Chain), a, nil
	}
	return nil, &wire.Auth{Method: wire.AuthSharedKeyMIC, Data: pskAuth(sa.suite.prf, []byte(pr.PSKLocal), octets)}, nil
}

// checkPeer authenticates the peer: its identity against the profile,
// and its AUTH over octets, with the pre-shared key or with its
// certificate chain, verified against the profile's CAs.
func (e *Engine) checkPeer(sa *ikeSA, pr Profile, id *wire.ID, auth *wire.Auth, certs []*wire.Cert, octets []byte) error {
	if !remoteIDOK(pr, id) {
		return fmt.Errorf("identity %s does not match profile %s", id, pr.Name)
	}
	if auth.Method == wire.AuthSharedKeyMIC {
		if !slices.Contains(pr.authRemote(), config.AuthPreShare) {
			return fmt.Errorf("the peer authenticates with a pre-shared key; profile %s wants a signature", pr.Name)
		}
		want := pskAuth(sa.suite.prf, []byte(pr.PSKRemote), octets)
		if subtle.ConstantTimeCompare(want, auth.Data) != 1 {
			return errors.New("AUTH does not verify: the pre-shared keys differ")
		}
		return nil
	}
	if !pr.verifiesSignatures() {
		return fmt.Errorf("the peer authenticates with %v; profile %s wants pre-share", auth.Method, pr.Name)
	}
	leaf, err := verifyChain(certs, pr.Creds.CAs, e.now)
	if err != nil {
		return err
	}
	if !idBound(id, leaf) {
		return fmt.Errorf("identity %s is not in the peer's certificate %q", id, leaf.Subject)
	}
	if err := verifySig(leaf.PublicKey, auth, octets, pr.authRemote()); err != nil {
		return fmt.Errorf("AUTH does not verify with the certificate of %q: %w", leaf.Subject, err)
	}
	sa.peerSubject = leaf.Subject.String()
	return nil
}

// sendAuth sends the initiator's IKE_AUTH request with the CHILD_SA of
// the tunnel that started the IKE SA.
func (e *Engine) sendAuth(sa *ikeSA) {
	t := sa.tunnel
	pr := t.p.Profile
	id := localID(t, false)
	idBody, _ := id.AppendBody(nil)
	certs, auth, err := e.ourAuth(sa, pr, signedOctets(sa.suite.prf, sa.initReq, sa.nr, sa.keys.pi, idBody))
	if err != nil {
		e.initFailed(sa, "cannot sign: "+err.Error())
		return
	}
	pc := e.newPendingChild(t, nil)
	ps := append([]wire.Payload{id}, certs...)
	if pr.verifiesSignatures() {
		ps = append(ps, certReq(pr.Creds.CAs))
	}
	if sa.peer.best() == nil {
		// Nothing else with this peer: it may hold state of ours from
		// before a restart (RFC 7296 section 2.4).
		ps = append(ps, wire.NewNotify(wire.NotifyInitialContact, nil))
	}
	ps = append(ps, auth)
	ps = append(ps, pc.payloads(0)...)
	sa.state = saAuth
	t.creating = true
	e.request(sa, wire.ExchangeIKEAuth, ps, &request{kind: reqAuth, child: pc})
}

// recvAuthRequest authenticates the initiator as responder, answers with
// our identity and AUTH, and sets up the CHILD_SA.
func (e *Engine) recvAuthRequest(sa *ikeSA, in inbound) {
	if sa.initiator || sa.state != saInit {
		e.logLimited("unexpected", slog.LevelInfo, sa.remote.Addr(), "peer %s: dropped IKE_AUTH on an established IKE SA", sa.remote.Addr())
		return
	}
	ps := in.payloads
	t := sa.peer.tunnels[0]
	pr := t.p.Profile
	idBody := rawBody(in.first, in.inner, wire.PayloadIDi)
	if ps.idi == nil || ps.auth == nil || idBody == nil {
		e.authFailedResponder(sa, in, "IKE_AUTH without identity or AUTH")
		return
	}
	if err := e.checkPeer(sa, pr, ps.idi, ps.auth, ps.certs, signedOctets(sa.suite.prf, sa.initReq, sa.nr, sa.keys.pi, idBody)); err != nil {
		e.authFailedResponder(sa, in, err.Error())
		return
	}
	id := localID(t, true)
	myBody, _ := id.AppendBody(nil)
	certs, auth, err := e.ourAuth(sa, pr, signedOctets(sa.suite.prf, sa.initResp, sa.ni, sa.keys.pr, myBody))
	if err != nil {
		e.authFailedResponder(sa, in, "cannot sign: "+err.Error())
		return
	}
	e.halfOpen--
	e.established(sa)
	if ps.notifies.get(wire.NotifyInitialContact) != nil {
		// The peer has no SA of ours any more (RFC 7296 section 2.4).
		for _, o := range slices.Clone(sa.peer.sas) {
			// Only SAs that were up before this one: one being set up
			// now is a simultaneous initiation (see checkDuplicates).
			if o != sa && o.state == saEstablished && o.established.Before(e.now) {
				e.dropIKESA(o, "initial contact from the peer")
			}
		}
	}
	out := append([]wire.Payload{id}, certs...)
	out = append(out, auth)
	if ps.sa != nil {
		out = append(out, e.answerChild(sa, in, nil, true)...)
	}
	e.respond(sa, wire.ExchangeIKEAuth, in.h.MessageID, out)
	e.checkDuplicates(sa)
}

// authFailedResponder refuses an IKE_AUTH: AUTHENTICATION_FAILED, and the
// half-open IKE SA goes.
func (e *Engine) authFailedResponder(sa *ikeSA, in inbound, why string) {
	e.logLimited("auth", slog.LevelWarn, sa.remote.Addr(), "peer %s: IKEv2 authentication failed: %s", sa.remote.Addr(), why)
	e.respond(sa, wire.ExchangeIKEAuth, in.h.MessageID, []wire.Payload{wire.NewNotify(wire.NotifyAuthenticationFailed, nil)})
	e.removeIKESA(sa)
}

// recvAuthResponse takes the responder's IKE_AUTH answer as initiator.
func (e *Engine) recvAuthResponse(sa *ikeSA, r *request, in inbound) {
	ps := in.payloads
	t := sa.tunnel
	pr := t.p.Profile
	idBody := rawBody(in.first, in.inner, wire.PayloadIDr)
	t.creating = false
	if n := ps.notifies.get(wire.NotifyAuthenticationFailed); n != nil {
		e.authFailedInitiator(sa, "the peer refused our authentication (AUTHENTICATION_FAILED): check the pre-shared key and identities", false)
		return
	}
	if ps.idr == nil || ps.auth == nil || idBody == nil {
		if n := ps.notifies.firstError(); n != nil {
			e.authFailedInitiator(sa, "the peer answered IKE_AUTH with "+n.Type.String(), false)
		} else {
			e.authFailedInitiator(sa, "IKE_AUTH response without identity or AUTH", true)
		}
		return
	}
	if err := e.checkPeer(sa, pr, ps.idr, ps.auth, ps.certs, signedOctets(sa.suite.prf, sa.initResp, sa.ni, sa.keys.pr, idBody)); err != nil {
		e.authFailedInitiator(sa, err.Error(), true)
		return
	}
	e.established(sa)
	sa.peer.failures, sa.peer.retryAt = 0, e.now
	e.takeChild(sa, r.child, in, true)
	e.checkDuplicates(sa)
}

// authFailedInitiator gives up an IKE SA whose authentication failed.
func (e *Engine) authFailedInitiator(sa *ikeSA, why string, tell bool) {
	p := sa.peer
	e.logf(slog.LevelWarn, p.key.remote, "peer %s: IKEv2 authentication failed: %s", p.key.remote, why)
	if tell {
		// The responder thinks the SA is up: tell it (RFC 7296 section
		// 2.21.2), once, and delete it.
		msg, err := e.encodeProtected(sa, sa.header(wire.ExchangeInformational, false, sa.nextMID),
			[]wire.Payload{wire.NewNotify(wire.NotifyAuthenticationFailed, nil), &wire.Delete{Protocol: wire.ProtoIKE}})
		if err == nil {
			e.send(sa.local, sa.remote, msg)
		}
	}
	e.removeIKESA(sa)
	p.failures++
	p.retryAt = e.now.Add(retransmit.Backoff(p.failures))
}

// established marks sa authenticated and arms its lifetime.
func (e *Engine) established(sa *ikeSA) {
	sa.state = saEstablished
	sa.established = e.now
	life := e.ikeLifetime(sa)
	sa.expireAt = e.now.Add(life)
	sa.rekeyAt = e.jitter(e.now, life)
	sa.dpdLast = e.now
	sa.peer.lastSeen = e.now
	if sa.natLocal {
		sa.keepaliveAt = e.now.Add(e.natKeepalive(sa))
	}
	e.logf(slog.LevelInfo, sa.remote.Addr(), "peer %s: IKEv2 SA %x/%x established (%s)", sa.remote.Addr(), sa.spiI, sa.spiR, sa.suite)
	if e.cfg.KeyLog {
		e.emit(ike.KeyLogIKEv2{SPIi: sa.spiI, SPIr: sa.spiR, EncName: sa.suite.encr.wiresharkName(),
			SKei: sa.keys.ei, SKer: sa.keys.er, IntegName: sa.suite.integ.wiresharkName(), SKai: sa.keys.ai, SKar: sa.keys.ar})
	}
}

// ikeLifetime is the IKE SA lifetime of the profile of sa's peer.
func (e *Engine) ikeLifetime(sa *ikeSA) time.Duration {
	if len(sa.peer.tunnels) > 0 && sa.peer.tunnels[0].p.Profile.Lifetime > 0 {
		return sa.peer.tunnels[0].p.Profile.Lifetime
	}
	return defaultIKELifetime
}
