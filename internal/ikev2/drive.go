package ikev2

import (
	"log/slog"
	"slices"
	"time"

	"github.com/gresec/gresec/internal/ike"
	"github.com/gresec/gresec/internal/ikev2/wire"
	"github.com/gresec/gresec/internal/retransmit"
)

// What the engine does on its own: start negotiations that are due, one
// request at a time per IKE SA (a window of one, RFC 7296 section 2.3),
// and run the timers.

// active reports whether t may initiate.
func (t *tunnel) active() bool { return !t.p.Passive }

// drivePeer starts whatever negotiation with p is due now.
func (e *Engine) drivePeer(p *peer) {
	for _, sa := range slices.Clone(p.sas) {
		if sa.state == saEstablished && sa.req == nil {
			e.driveSA(sa)
		}
	}
	if p.best() != nil || p.negotiating() || e.now.Before(p.retryAt) {
		return
	}
	for _, t := range p.tunnels {
		if t.active() && t.newest() == nil && !e.now.Before(t.retryAt) {
			e.initiate(p, t)
			return
		}
	}
}

// driveSA sends the most urgent request due on an established IKE SA.
func (e *Engine) driveSA(sa *ikeSA) {
	now := e.now
	// A replaced IKE SA goes first: its deletion is due.
	if sa.replacedBy != nil {
		if !sa.deleteAt.IsZero() && !now.Before(sa.deleteAt) {
			sa.state = saDeleting
			e.request(sa, wire.ExchangeInformational, []wire.Payload{&wire.Delete{Protocol: wire.ProtoIKE}}, &request{kind: reqDeleteIKE})
		}
		return
	}
	// CHILD_SAs replaced long enough ago.
	var due []*child
	for _, t := range sa.peer.tunnels {
		for _, c := range t.children {
			if c.sa == sa && !c.deleting && !c.deleteAt.IsZero() && !now.Before(c.deleteAt) {
				due = append(due, c)
			}
		}
	}
	if len(due) > 0 {
		e.deleteChild(sa, due, "replaced")
		return
	}
	passive := !slices.ContainsFunc(sa.peer.tunnels, (*tunnel).active)
	if !passive && !sa.rekeying && !now.Before(sa.rekeyAt) {
		e.rekeyIKE(sa)
		return
	}
	for _, t := range sa.peer.tunnels {
		if !t.active() {
			continue
		}
		for _, c := range t.children {
			if c.sa == sa && c.replacedBy == nil && !c.rekeying && !c.deleting && !now.Before(c.rekeyAt) {
				e.createChild(sa, t, c)
				return
			}
		}
	}
	if sa != sa.peer.best() {
		return
	}
	for _, t := range sa.peer.tunnels {
		if t.active() && t.newest() == nil && !t.creating && !now.Before(t.retryAt) {
			e.createChild(sa, t, nil)
			return
		}
	}
	if e.dpdDue(sa) {
		e.sendDPD(sa)
	}
}

// dpd returns the liveness check interval of sa's profile, 0 for none.
func (sa *ikeSA) dpd() (interval, retry time.Duration, periodic bool) {
	if len(sa.peer.tunnels) == 0 {
		return 0, 0, false
	}
	d := sa.peer.tunnels[0].p.Profile.DPD
	if d == nil {
		return 0, 0, false
	}
	retry = d.Retry
	if retry <= 0 {
		retry = defaultDPDRetry
	}
	return d.Interval, retry, d.Periodic
}

// dpdAt is when the next liveness check of sa is due: an interval after
// the last one (periodic) or after the peer was last heard (on-demand;
// IOS also waits for outbound traffic, gresec checks an idle peer).
func (e *Engine) dpdAt(sa *ikeSA) time.Time {
	interval, _, periodic := sa.dpd()
	if interval <= 0 || sa != sa.peer.best() {
		return time.Time{}
	}
	base := sa.peer.lastSeen
	if periodic {
		base = sa.dpdLast
	}
	if base.Before(sa.established) {
		base = sa.established
	}
	return base.Add(interval)
}

func (e *Engine) dpdDue(sa *ikeSA) bool {
	at := e.dpdAt(sa)
	return !at.IsZero() && !e.now.Before(at)
}

// tickPeer runs p's timers.
func (e *Engine) tickPeer(p *peer) {
	now := e.now
	for _, sa := range slices.Clone(p.sas) {
		if sa.state == 0 {
			continue
		}
		if r := sa.req; r != nil {
			if r.dpd {
				if !now.Before(r.xmit.Next) {
					_, retry, _ := sa.dpd()
					if r.xmit.Sent >= dpdRetries {
						e.peerDead(p, "no answer to the liveness check")
						return
					}
					r.xmit.Sent++
					r.xmit.Next = now.Add(retry)
					e.resend(r)
				}
			} else if resend, giveUp := r.xmit.Fire(now); resend {
				if r.frags == nil {
					r.frags = [][]byte{r.xmit.Msg} // IKE_SA_INIT
				}
				e.resend(r)
			} else if giveUp {
				e.exchangeFailed(sa, r)
				if sa.state == 0 && p.best() == nil && !p.negotiating() {
					continue
				}
			}
		}
		if sa.state == 0 {
			continue
		}
		if !sa.initiator && sa.state == saInit && now.Sub(sa.created) >= halfOpenTimeout {
			e.removeIKESA(sa)
			continue
		}
		if sa.state == saEstablished && !now.Before(sa.expireAt) {
			e.deleteIKESA(sa, true, "lifetime expired")
			continue
		}
		if sa.natLocal && sa.state == saEstablished && !sa.keepaliveAt.IsZero() && !now.Before(sa.keepaliveAt) && sa == p.best() {
			e.emit(ike.Send{Local: sa.local, Remote: sa.remote, Data: []byte{0xff}})
			sa.keepaliveAt = now.Add(e.natKeepalive(sa))
		}
	}
	for _, t := range p.tunnels {
		for _, c := range slices.Clone(t.children) {
			if !now.Before(c.expireAt) {
				e.removeChild(c, "lifetime expired")
			}
		}
	}
}

// peerTimers adds p's timers to w.
func (e *Engine) peerTimers(p *peer, w *earliest) {
	for _, sa := range p.sas {
		if r := sa.req; r != nil {
			w.add(r.xmit.Next)
		}
		if !sa.initiator && sa.state == saInit {
			w.add(sa.created.Add(halfOpenTimeout))
		}
		if sa.state != saEstablished {
			continue
		}
		w.add(sa.expireAt)
		if sa == p.best() && sa.natLocal {
			w.add(sa.keepaliveAt)
		}
		if sa.req != nil {
			continue // the rest waits for the answer
		}
		w.add(sa.deleteAt)
		if slices.ContainsFunc(p.tunnels, (*tunnel).active) && !sa.rekeying && sa.replacedBy == nil {
			w.add(sa.rekeyAt)
		}
		w.add(e.dpdAt(sa))
	}
	best := p.best()
	for _, t := range p.tunnels {
		for _, c := range t.children {
			w.add(c.expireAt)
			if c.sa.req == nil {
				w.add(c.deleteAt)
				if t.active() && c.replacedBy == nil && !c.rekeying {
					w.add(c.rekeyAt)
				}
			}
		}
		if t.active() && t.newest() == nil && !t.creating {
			switch {
			case best != nil && best.req == nil:
				w.add(maxTime(t.retryAt, e.now))
			case best == nil && !p.negotiating():
				w.add(maxTime(maxTime(t.retryAt, p.retryAt), e.now))
			}
		}
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// exchangeFailed handles a request that ran out of retransmissions.
func (e *Engine) exchangeFailed(sa *ikeSA, r *request) {
	p := sa.peer
	switch r.kind {
	case reqInit, reqAuth:
		e.logf(slog.LevelWarn, p.key.remote, "peer %s: no answer to %s after %d retransmissions", p.key.remote,
			map[requestKind]string{reqInit: "IKE_SA_INIT", reqAuth: "IKE_AUTH"}[r.kind], retransmit.Tries)
		e.removeIKESA(sa)
		p.failures++
		p.retryAt = e.now.Add(retransmit.Backoff(p.failures))
	case reqDeleteIKE:
		e.removeIKESA(sa)
	default:
		e.peerDead(p, "no answer to a request after retransmissions")
	}
}

// peerDead tears down everything with a peer that stopped answering and
// lets protection start again.
func (e *Engine) peerDead(p *peer, why string) {
	e.logf(slog.LevelWarn, p.key.remote, "peer %s: %s; peer is dead", p.key.remote, why)
	for _, sa := range slices.Clone(p.sas) {
		e.dropIKESA(sa, "peer dead")
	}
	p.failures, p.retryAt = 0, time.Time{}
	for _, t := range p.tunnels {
		t.retryAt = time.Time{}
	}
	e.emit(ike.PeerDead{Remote: p.key.remote})
}

// stopTunnel ends a tunnel's protection.
func (e *Engine) stopTunnel(t *tunnel, why string) {
	p := t.peer
	var sa *ikeSA
	for _, c := range slices.Clone(t.children) {
		if c.sa.state == saEstablished && c.sa.req == nil && sa == nil {
			sa = c.sa
		}
	}
	if sa != nil {
		e.deleteChild(sa, slices.Clone(t.children), why)
	}
	for _, c := range slices.Clone(t.children) {
		e.removeChild(c, why)
	}
	p.tunnels = slices.DeleteFunc(p.tunnels, func(x *tunnel) bool { return x == t })
	delete(e.tunnels, t.p.Name)
	if e.dests[t.p.Remote]--; e.dests[t.p.Remote] <= 0 {
		delete(e.dests, t.p.Remote)
	}
	for _, s := range slices.Clone(p.sas) {
		if s.tunnel == t && s.state != saEstablished {
			e.removeIKESA(s)
		} else if s.tunnel == t && len(p.tunnels) > 0 {
			s.tunnel = p.tunnels[0]
		}
	}
	if len(p.tunnels) == 0 {
		for _, s := range slices.Clone(p.sas) {
			e.deleteIKESA(s, true, why)
		}
		delete(e.peers, p.key)
		e.peerOrder = slices.DeleteFunc(e.peerOrder, func(x *peer) bool { return x == p })
	}
}
