package ike

import (
	"log/slog"
	"slices"
	"time"

	"github.com/gresec/gresec/internal/isakmp"
)

// Dead peer detection (RFC 3706) with IOS's two modes: `periodic` sends an
// R-U-THERE every interval; `on-demand` only when nothing was heard from
// the peer for an interval (IOS also waits for outbound traffic; gresec
// probes an idle peer either way, which a GRE keepalive makes rare). Any
// authenticated IKE message with a new message ID and any traffic the data
// plane reports counts as an answer; an R-U-THERE-ACK only when it answers
// the probe under way. An unanswered probe is retried every retry
// interval; after five retries the peer is dead.

const (
	dpdRetries      = 5
	defaultDPDRetry = 2 * time.Second
)

// dpdState is a peer's dead peer detection.
type dpdState struct {
	seq       uint32 // last sequence number sent
	firstSeq  uint32 // first sequence number of the probe under way
	probing   bool
	retries   int
	next      time.Time // next retransmission of the probe
	lastProbe time.Time
}

// acks reports whether seq is one of the last probe's sequence numbers.
func (d *dpdState) acks(seq uint32) bool { return seq-d.firstSeq <= d.seq-d.firstSeq }

// answers reports whether an R-U-THERE-ACK with seq answers the probe
// under way: only such an answer is a sign of life.
func (d *dpdState) answers(seq uint32) bool { return d.probing && d.acks(seq) }

// dpdSA returns the ISAKMP SA dead peer detection runs on, or nil when it
// is off or the peer does not support it.
func (e *Engine) dpdSA(p *peer) *ikeSA {
	if e.cfg.DPD == nil || e.cfg.DPD.Interval <= 0 {
		return nil
	}
	sa := p.bestSA()
	if sa == nil || !sa.peerDPD {
		return nil
	}
	return sa
}

// dpdDue returns when the next probe is due.
func (e *Engine) dpdDue(p *peer, sa *ikeSA) time.Time {
	base := p.lastSeen
	if e.cfg.DPD.Periodic {
		base = p.dpd.lastProbe
	}
	if base.Before(sa.established) {
		base = sa.established
	}
	return base.Add(e.cfg.DPD.Interval)
}

func (e *Engine) dpdTick(p *peer) {
	sa := e.dpdSA(p)
	if sa == nil {
		p.dpd.probing = false
		return
	}
	retry := e.cfg.DPD.Retry
	if retry <= 0 {
		retry = defaultDPDRetry
	}
	if p.dpd.probing {
		if e.now.Before(p.dpd.next) {
			return
		}
		if p.dpd.retries >= dpdRetries {
			e.peerDead(p)
			return
		}
		p.dpd.retries++
		e.sendRUThere(p, sa)
		p.dpd.next = e.now.Add(retry)
		return
	}
	if e.now.Before(e.dpdDue(p, sa)) {
		return
	}
	p.dpd.probing, p.dpd.retries = true, 0
	p.dpd.firstSeq = p.dpd.seq + 1
	p.dpd.lastProbe = e.now
	e.sendRUThere(p, sa)
	p.dpd.next = e.now.Add(retry)
}

func (e *Engine) sendRUThere(p *peer, sa *ikeSA) {
	p.dpd.seq++
	e.sendInfo(sa, isakmp.DPD(isakmp.NotifyRUThere, sa.ckyI, sa.ckyR, p.dpd.seq))
}

func (e *Engine) dpdTimers(p *peer, w *earliest) {
	sa := e.dpdSA(p)
	switch {
	case sa == nil:
	case p.dpd.probing:
		w.add(p.dpd.next)
	default:
		w.add(e.dpdDue(p, sa))
	}
}

// peerDead tears down everything with a peer that stopped answering, and
// lets protection start again.
func (e *Engine) peerDead(p *peer) {
	remote := p.key.remote
	e.logf(slog.LevelWarn, remote, "peer %s: dead peer detection: no answer to R-U-THERE after %d retransmissions; peer is dead",
		remote, dpdRetries)
	for _, t := range p.tunnels {
		e.abortTunnelQM(t)
		for _, c := range slices.Clone(t.children) {
			e.deleteChild(t, c, false, "peer dead")
		}
		t.retryAt = time.Time{}
	}
	for _, sa := range slices.Clone(p.sas) {
		e.deleteIKESA(sa, false, "peer dead")
	}
	p.dpd = dpdState{seq: p.dpd.seq}
	p.mmRetryAt = time.Time{}
	e.emit(PeerDead{Remote: remote})
}
