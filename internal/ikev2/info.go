package ikev2

import (
	"bytes"
	"log/slog"
	"slices"

	"github.com/gresec/gresec/internal/ike"
	"github.com/gresec/gresec/internal/ikev2/wire"
)

// Dispatch of authenticated messages, the INFORMATIONAL exchange (RFC 7296
// section 1.4: Delete, liveness checks) and the end of SAs.

// handleRequest answers an authenticated request of the peer.
func (e *Engine) handleRequest(sa *ikeSA, in inbound) {
	switch in.h.Exchange {
	case wire.ExchangeIKEAuth:
		e.recvAuthRequest(sa, in)
	case wire.ExchangeCreateChildSA:
		if sa.state != saEstablished {
			e.respond(sa, in.h.Exchange, in.h.MessageID, []wire.Payload{wire.NewNotify(wire.NotifyInvalidSyntax, nil)})
			return
		}
		e.recvCreateChild(sa, in)
	case wire.ExchangeInformational:
		e.recvInformational(sa, in)
	default:
		e.logLimited("exchange", slog.LevelInfo, sa.remote.Addr(), "peer %s: unsupported exchange %v", sa.remote.Addr(), in.h.Exchange)
		e.respond(sa, in.h.Exchange, in.h.MessageID, []wire.Payload{wire.NewNotify(wire.NotifyInvalidSyntax, nil)})
	}
}

// handleResponse takes the answer to our request r.
func (e *Engine) handleResponse(sa *ikeSA, r *request, in inbound) {
	switch r.kind {
	case reqAuth:
		e.recvAuthResponse(sa, r, in)
	case reqCreateChild, reqRekeyChild:
		if r.kind == reqCreateChild {
			r.child.tunnel.creating = false
		}
		e.takeChild(sa, r.child, in, false)
	case reqRekeyIKE:
		e.takeIKERekey(sa, r.newSA, in)
	case reqDeleteChild:
		// The peer's Delete names the SPIs it removed; ours are gone.
	case reqDeleteIKE:
		// A replaced IKE SA's CHILD_SAs have moved; a duplicate's go too.
		e.dropIKESA(sa, "duplicate IKE SA deleted")
	case reqDPD:
		// A liveness check answered: heard has counted it.
	}
}

// recvInformational answers an INFORMATIONAL request: Deletes, notifies
// or nothing (a liveness check, answered empty).
func (e *Engine) recvInformational(sa *ikeSA, in inbound) {
	var out []wire.Payload
	deleteIKE := false
	var gone []*child
	for _, d := range in.payloads.deletes {
		switch d.Protocol {
		case wire.ProtoIKE:
			deleteIKE = true
		case wire.ProtoESP:
			var ours []uint32
			for _, spi := range d.SPIs {
				if c := e.childByOutSPI(sa.peer, spi); c != nil {
					ours = append(ours, c.inSPI)
					gone = append(gone, c)
				}
			}
			if len(ours) > 0 {
				out = append(out, &wire.Delete{Protocol: wire.ProtoESP, SPIs: ours})
			}
		}
	}
	if in.payloads.notifies.get(wire.NotifyAuthenticationFailed) != nil {
		// The initiator could not authenticate us (RFC 7296 2.21.2).
		deleteIKE = true
	}
	if deleteIKE {
		// RFC 7296 section 1.4.1: answer with an empty INFORMATIONAL;
		// the IKE SA and its CHILD_SAs go without further messages.
		e.respond(sa, wire.ExchangeInformational, in.h.MessageID, nil)
		e.logf(slog.LevelInfo, sa.remote.Addr(), "peer %s: the peer deleted IKE SA %x/%x", sa.remote.Addr(), sa.spiI, sa.spiR)
		e.dropIKESA(sa, "deleted by the peer")
		return
	}
	e.respond(sa, wire.ExchangeInformational, in.h.MessageID, out)
	for _, c := range gone {
		e.removeChild(c, "deleted by the peer")
	}
}

// deleteChild sends a Delete for c; the pair goes from the data plane at
// once (the peer switched to its replacement long ago, or the tunnel no
// longer wants it).
func (e *Engine) deleteChild(sa *ikeSA, cs []*child, why string) {
	var spis []uint32
	for _, c := range cs {
		spis = append(spis, c.inSPI)
		c.deleting = true
	}
	e.request(sa, wire.ExchangeInformational, []wire.Payload{&wire.Delete{Protocol: wire.ProtoESP, SPIs: spis}},
		&request{kind: reqDeleteChild, deleting: cs})
	for _, c := range cs {
		e.removeChild(c, why)
	}
}

// removeChild takes c out of the data plane.
func (e *Engine) removeChild(c *child, why string) {
	t := c.tunnel
	if !slices.Contains(t.children, c) {
		return
	}
	t.children = removeChild(t.children, c)
	delete(e.spis, c.inSPI)
	e.emit(ike.DeletePair{Tunnel: t.p.Name, InSPI: c.inSPI, OutSPI: c.outSPI})
	e.logf(slog.LevelInfo, t.p.Remote, "%s: CHILD_SA %08x/%08x deleted: %s", t.p.Name, c.inSPI, c.outSPI, why)
	if len(t.children) == 0 {
		e.emit(ike.SessionDown{Tunnel: t.p.Name, Peer: c.sa.remote})
	}
}

// deleteIKESA deletes sa and its CHILD_SAs; with notify, a Delete tells
// the peer first (when no request is outstanding; otherwise the peer
// learns it from the missing answers).
func (e *Engine) deleteIKESA(sa *ikeSA, notify bool, why string) {
	if notify && sa.state == saEstablished && sa.keys.d != nil {
		if sa.req != nil {
			sa.req.xmit.Stop()
			sa.req = nil
		}
		msg, err := e.encodeProtected(sa, sa.header(wire.ExchangeInformational, false, sa.nextMID),
			[]wire.Payload{&wire.Delete{Protocol: wire.ProtoIKE}})
		if err == nil {
			e.send(sa.local, sa.remote, msg) // not retransmitted: the SA is gone here
		}
	}
	e.dropIKESA(sa, why)
}

// dropIKESA removes sa and its CHILD_SAs without telling the peer.
func (e *Engine) dropIKESA(sa *ikeSA, why string) {
	for _, t := range sa.peer.tunnels {
		for _, c := range slices.Clone(t.children) {
			if c.sa == sa {
				e.removeChild(c, why)
			}
		}
	}
	if sa.state == saEstablished {
		e.logf(slog.LevelInfo, sa.remote.Addr(), "peer %s: IKE SA %x/%x deleted: %s", sa.remote.Addr(), sa.spiI, sa.spiR, why)
	}
	e.removeIKESA(sa)
}

// removeIKESA forgets sa (its CHILD_SAs have moved or gone).
func (e *Engine) removeIKESA(sa *ikeSA) {
	if !sa.initiator && sa.state == saInit {
		e.halfOpen--
	}
	if sa.req != nil {
		sa.req.xmit.Stop()
		if pc := sa.req.child; pc != nil {
			delete(e.spis, pc.inSPI)
			pc.tunnel.creating = false
			if pc.rekeys != nil {
				pc.rekeys.rekeying = false
			}
		}
		if n := sa.req.newSA; n != nil && e.sas[n.spiI] == n {
			delete(e.sas, n.spiI)
		}
		sa.req = nil
	}
	delete(e.sas, sa.mySPI())
	sa.peer.sas = slices.DeleteFunc(sa.peer.sas, func(x *ikeSA) bool { return x == sa })
	sa.state = 0
}

// checkDuplicates resolves two IKE SAs with one peer that were set up at
// the same time because both ends initiated: the one created with the
// lowest of the four nonces is deleted by its initiator, as RFC 7296
// section 2.8.1 has it for rekey collisions. Both ends decide alike; an
// older SA (beyond duplicateWindow) is left to its lifetime.
func (e *Engine) checkDuplicates(sa *ikeSA) {
	for _, o := range sa.peer.sas {
		if o == sa || o.state != saEstablished || o.replacedBy != nil || sa.replacedBy != nil ||
			o.rekeyNi != nil || sa.rekeyNi != nil {
			continue
		}
		if d := sa.established.Sub(o.established); d > duplicateWindow || d < -duplicateWindow {
			continue
		}
		loser, winner := sa, o
		if bytes.Compare(lower(o.ni, o.nr), lower(sa.ni, sa.nr)) < 0 {
			loser, winner = o, sa
		}
		loser.replacedBy = winner
		e.logf(slog.LevelInfo, sa.remote.Addr(), "peer %s: both ends initiated; keeping IKE SA %x/%x", sa.remote.Addr(), winner.spiI, winner.spiR)
		if loser.initiator {
			loser.deleteAt = e.now
		} else {
			loser.deleteAt = e.now.Add(6 * rekeyOverlap)
		}
		return
	}
}

// sendDPD sends a liveness check: an empty INFORMATIONAL request.
func (e *Engine) sendDPD(sa *ikeSA) {
	sa.dpdLast = e.now
	e.request(sa, wire.ExchangeInformational, nil, &request{kind: reqDPD, dpd: true})
}
