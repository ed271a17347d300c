package ike

import "bytes"

// Twin tunnels: protected tunnels with the same source and destination,
// told apart by their GRE key alone, which IKE does not see. Their Quick
// Modes carry the same identities (GRE between the same two addresses),
// so a responder cannot tell which of them the initiator negotiates for.
// The data plane delivers decrypted GRE to the tunnel its key names, so a
// pair filed under either twin carries traffic. What matters is that each
// twin holds a pair of its own, and that each pair sits with the same
// other pairs at both ends: the rekey and collision rules (see replaces)
// compare the pairs of one tunnel.
//
// So both ends choose alike. An end negotiates for one twin at a time,
// and for none while it answers the peer's Quick Mode for one: whenever
// an end chooses, both ends hold the same pairs. Both rank the twins by
// how much they need a pair (needier); the initiator negotiates for the
// neediest, whichever twin fell due, and the responder files the peer's
// Quick Mode under the neediest too, or, when its own Quick Mode crosses
// the peer's, under the tunnel of its own (tunnelForQM). A rekey of one
// twin may so rekey a twin with an older pair first.

// twin reports whether u and t are twins (or the same tunnel).
func (t *tunnel) twin(u *tunnel) bool {
	return t.peer == u.peer && t.p.Local == u.p.Local && t.p.Remote == u.p.Remote && t.p.Protocol == u.p.Protocol
}

// twinNegotiating reports whether a Quick Mode for t or a twin is under
// way.
func (t *tunnel) twinNegotiating() bool {
	for _, u := range t.peer.tunnels {
		if t.twin(u) && u.negotiating() {
			return true
		}
	}
	return false
}

// needier reports whether tunnel a needs a new SA pair more than b: one
// without a pair first, then the one with the older current pair, the
// other's having been negotiated after it was installed (see replaces).
// Install times differ between the ends; this order does not, for an end
// negotiates for one twin at a time. Pairs negotiated at the same time
// (Quick Modes that crossed) rank by initiator nonce, which both ends
// know.
func needier(a, b *tunnel) bool {
	ca, cb := a.current(), b.current()
	switch {
	case ca == nil || cb == nil:
		return ca == nil && cb != nil
	case cb.replaces(ca):
		return true
	case ca.replaces(cb):
		return false
	}
	return bytes.Compare(ca.ni, cb.ni) < 0
}

// neediest returns the tunnel to negotiate for when t needs a pair: the
// neediest of t and its twins that may initiate.
func (t *tunnel) neediest() *tunnel {
	best := t
	for _, u := range t.peer.tunnels {
		if u != t && t.twin(u) && !u.p.Passive && needier(u, best) {
			best = u
		}
	}
	return best
}

// tunnelForQM picks, among the tunnels whose identities match a Quick
// Mode of the peer's (in their order), the one it is for. Not one we
// answer another Quick Mode for, if it can be helped; then the one whose
// own Quick Mode crosses the peer's (both ends chose it: the two pairs
// collide, and the tunnel keeps one); then one that has no pair and waits
// for the peer; then the neediest; then the first.
func tunnelForQM(cands []*tunnel) *tunnel {
	var best *tunnel
	for _, t := range cands {
		if best == nil || forQMRather(t, best) {
			best = t
		}
	}
	return best
}

// forQMRather reports whether a peer's Quick Mode is rather for a than
// for b (see tunnelForQM).
func forQMRather(a, b *tunnel) bool {
	if x, y := a.answering(), b.answering(); x != y {
		return y
	}
	if ka, kb := qmNeed(a), qmNeed(b); ka != kb {
		return ka < kb
	}
	return needier(a, b)
}

// How a tunnel stands towards a peer's Quick Mode, the likeliest first.
const (
	qmCrossing = iota // our own Quick Mode is under way
	qmWaiting         // no pair
	qmOther
)

func qmNeed(t *tunnel) int {
	switch {
	case t.qm != nil:
		return qmCrossing
	case t.current() == nil:
		return qmWaiting
	}
	return qmOther
}
