package ike

import (
	"bytes"
	"net/netip"
	"slices"
	"time"

	"github.com/gresec/gresec/internal/dh"
	"github.com/gresec/gresec/internal/retransmit"
)

// State is the state of an ISAKMP SA, named as IOS names it in `show crypto
// isakmp sa`.
type State uint8

// ISAKMP SA states.
const (
	// StateMMNoState: Main Mode started, no proposal agreed yet.
	StateMMNoState State = iota
	// StateMMSASetup: proposal agreed, key exchange under way.
	StateMMSASetup
	// StateMMKeyExch: keys exchanged, authentication under way.
	StateMMKeyExch
	// StateQMIdle: the ISAKMP SA is established and ready for Quick Mode.
	StateQMIdle
)

func (s State) String() string {
	switch s {
	case StateMMNoState:
		return "MM_NO_STATE"
	case StateMMSASetup:
		return "MM_SA_SETUP"
	case StateMMKeyExch:
		return "MM_KEY_EXCH"
	case StateQMIdle:
		return "QM_IDLE"
	}
	return "UNKNOWN"
}

// mmStep is where a Main Mode stands, from this side's point of view: the
// last message sent and so the next one expected.
type mmStep uint8

const (
	stepISentMM1 mmStep = iota + 1 // initiator, awaiting MM2
	stepISentMM3                   // initiator, awaiting MM4
	stepISentMM5                   // initiator, awaiting MM6
	stepRSentMM2                   // responder, awaiting MM3
	stepRSentMM4                   // responder, awaiting MM5
	stepEstablished
)

func (s mmStep) state() State {
	switch s {
	case stepISentMM1:
		return StateMMNoState
	case stepISentMM3, stepRSentMM2:
		return StateMMSASetup
	case stepISentMM5, stepRSentMM4:
		return StateMMKeyExch
	}
	return StateQMIdle
}

// peerKey names a peer: the local and remote IKE addresses (the tunnel
// source and destination of the tunnels it protects).
type peerKey struct {
	local, remote netip.Addr
}

// A peer is everything the engine keeps about one remote IKE endpoint.
type peer struct {
	key     peerKey
	tunnels []*tunnel
	sas     []*ikeSA

	// lastSeen is the last sign of life: an authenticated IKE message or
	// traffic the data plane reported.
	lastSeen time.Time
	dpd      dpdState
	// keepaliveAt is when the next NAT keepalive is due (zero: none).
	keepaliveAt time.Time

	// Back-off of Main Mode initiation after failures.
	mmFailures int
	mmRetryAt  time.Time
}

// established returns the peer's established ISAKMP SAs.
func (p *peer) established() []*ikeSA {
	var out []*ikeSA
	for _, sa := range p.sas {
		if sa.step == stepEstablished {
			out = append(out, sa)
		}
	}
	return out
}

// bestSA returns the ISAKMP SA to use for new exchanges: the best
// established one that is not about to be deleted (see betterIKE).
func (p *peer) bestSA() *ikeSA {
	var best *ikeSA
	for _, sa := range p.sas {
		if sa.step != stepEstablished || !sa.doomed.IsZero() {
			continue
		}
		if best == nil || p.betterIKE(sa, best) {
			best = sa
		}
	}
	return best
}

// betterIKE is betterIKE with two more rules: an SA that is not worn
// wins over a worn one (which is being replaced); between ISAKMP SAs set
// up at about the same time, one that carries SA pairs wins over one
// that does not (deleting it would take the peer's pairs with it, on
// strongSwan).
func (p *peer) betterIKE(a, b *ikeSA) bool {
	if wa, wb := a.worn(), b.worn(); wa != wb {
		return wb
	}
	d := a.established.Sub(b.established)
	if d <= simultaneousWindow && d >= -simultaneousWindow {
		if ca, cb := p.carries(a), p.carries(b); ca != cb {
			return ca
		}
	}
	return betterIKE(a, b)
}

// carries reports whether some SA pair with the peer was made under sa.
func (p *peer) carries(sa *ikeSA) bool {
	for _, t := range p.tunnels {
		for _, c := range t.children {
			if c.parent == sa {
				return true
			}
		}
	}
	return false
}

// negotiating reports whether a Main Mode with the peer is under way that
// should complete before we start another: one we initiated, or one the
// peer initiated that got past the key exchange. (A responder SA that only
// saw MM1 does not count: a forged MM1 must not hold up our own attempt.)
func (p *peer) negotiating() bool {
	for _, sa := range p.sas {
		if sa.step == stepEstablished {
			continue
		}
		if sa.initiator || sa.step == stepRSentMM4 {
			return true
		}
	}
	return false
}

// stale reports whether we hold nothing with the peer: no established
// ISAKMP SA and no SA pair. A Main Mode we start then carries
// INITIAL-CONTACT (RFC 2407 section 4.6.3.3), so that a peer which still
// has SAs with us (we restarted, or declared it dead) drops them.
func (p *peer) stale() bool {
	if len(p.established()) > 0 {
		return false
	}
	for _, t := range p.tunnels {
		if len(t.children) > 0 {
			return false
		}
	}
	return true
}

func (p *peer) halfOpen() int {
	n := 0
	for _, sa := range p.sas {
		if !sa.initiator && sa.step != stepEstablished {
			n++
		}
	}
	return n
}

// find returns the SA with the given cookies. A zero responder cookie on
// our side matches the MM2 that brings it.
func (p *peer) find(ckyI, ckyR [8]byte) *ikeSA {
	for _, sa := range p.sas {
		if sa.ckyI != ckyI {
			continue
		}
		if sa.ckyR == ckyR || (sa.step == stepISentMM1 && sa.ckyR == [8]byte{}) {
			return sa
		}
	}
	return nil
}

func (p *peer) remove(sa *ikeSA) {
	for i, s := range p.sas {
		if s == sa {
			p.sas = append(p.sas[:i], p.sas[i+1:]...)
			return
		}
	}
}

// simultaneousWindow separates the two cases in which one peer ends up
// with two ISAKMP SAs: a rekey (the replacement is newer by more than the
// window, and the older one goes), and simultaneous initiation from both
// ends (both are new, and the lower cookies win, a rule both ends
// evaluate alike). The side that initiated the loser deletes it, so that
// it is deleted exactly once and only after both sides have it; in a
// rekey the side that initiated the replacement deletes the old one. SA
// pairs follow the same rule with the order of events instead of the
// window (see replaces).
const simultaneousWindow = 30 * time.Second

// betterIKE reports whether a is preferred to b (see simultaneousWindow).
func betterIKE(a, b *ikeSA) bool {
	switch d := a.established.Sub(b.established); {
	case d > simultaneousWindow:
		return true
	case d < -simultaneousWindow:
		return false
	}
	if c := bytes.Compare(a.ckyI[:], b.ckyI[:]); c != 0 {
		return c < 0
	}
	return bytes.Compare(a.ckyR[:], b.ckyR[:]) < 0
}

// replaces reports whether SA pair c is a rekey of old: its Quick Mode
// started after old was installed. Of two pairs neither of which replaces
// the other, both ends started a Quick Mode for the same need: they
// collided. What counts is the order of events, not the time between
// them (volume lifetimes rekey within seconds), and both ends see the
// same order: a Quick Mode that one end starts after an install there
// reaches the other end after the message that installs the pair there,
// and an end answering a Quick Mode for a tunnel starts none of its own
// for it (see tunnel.negotiating).
func (c *saPair) replaces(old *saPair) bool { return c.started > old.seq }

// bestChild returns the SA pair of ps to keep: of those no other replaces,
// the one whose Quick Mode had the lowest initiator nonce. Both ends know
// the nonces, so both pick the same pair.
func bestChild(ps []*saPair) *saPair {
	var w *saPair
	for _, c := range ps {
		if slices.ContainsFunc(ps, func(d *saPair) bool { return d.replaces(c) }) {
			continue
		}
		if w == nil || lowerNonce(c, w) {
			w = c
		}
	}
	return w
}

func lowerNonce(a, b *saPair) bool {
	if c := bytes.Compare(a.ni, b.ni); c != 0 {
		return c < 0
	}
	return a.inSPI < b.inSPI
}

// An ikeSA is an ISAKMP (phase 1) SA, from its first message on.
type ikeSA struct {
	peer      *peer
	connID    int
	initiator bool
	ckyI      [8]byte
	ckyR      [8]byte
	step      mmStep

	created     time.Time
	established time.Time
	expires     time.Time
	rekeyAt     time.Time
	// doomed is set when the SA lost to a better one (see
	// simultaneousWindow); it is deleted once no exchange uses it.
	doomed time.Time

	// local and remote are the current endpoints; ports move to 4500 with
	// NAT traversal and follow a NAT that rewrites the peer's port.
	local, remote netip.AddrPort

	policy p1Policy
	hash   hashAlg
	offers []p1Policy // initiator: what MM1 offered
	psk    []byte
	saiB   []byte // the initiator's SA payload body, for HASH_I and HASH_R
	dh     *dh.Key
	gxi    []byte
	gxr    []byte
	ni     []byte
	nr     []byte
	keys   phase1Keys
	iv     []byte // CBC IV of the next phase 1 message
	p2base []byte // last CBC block of phase 1, seed of phase 2 IVs

	// NAT traversal (RFC 3947): natt when both sides sent the RFC 3947
	// vendor ID; natLocal/natRemote when NAT-D says this side/the peer is
	// behind a NAT (natRemote also when the peer forces encapsulation);
	// forced when we force it (`crypto isakmp nat force-encap`).
	natt      bool
	natLocal  bool
	natRemote bool
	forced    bool
	peerDPD   bool // the peer sent the RFC 3706 vendor ID
	vendor    string

	sendIC bool // put INITIAL-CONTACT in MM5

	xmit    retransmit.Timer
	lastIn  [32]byte  // digest of the last phase 1 message accepted
	lastOut []byte    // what we answered it with (responder)
	resent  time.Time // when lastOut last went out again

	qms map[uint32]*quickMode
	// mids are the message IDs used on the SA by either side, all its
	// life: a message under one of them is a replay.
	mids map[uint32]struct{}

	peerDPDSeq  uint32
	peerDPDSeen bool
}

// worn reports whether the SA has used so many message IDs that it must
// be replaced.
func (sa *ikeSA) worn() bool { return len(sa.mids) >= midRekey }

// udpEncap reports whether ESP goes in UDP: NAT traversal negotiated and
// a NAT detected (or encapsulation forced by either side).
func (sa *ikeSA) udpEncap() bool {
	return sa.natt && (sa.natLocal || sa.natRemote || sa.forced)
}

// busy reports whether a Quick Mode is under way on the SA.
func (sa *ikeSA) busy() bool {
	for _, qm := range sa.qms {
		if qm.step != qmDone {
			return true
		}
	}
	return false
}

// qmStep is where a Quick Mode stands.
type qmStep uint8

const (
	qmAwaitQM2 qmStep = iota + 1 // initiator sent QM1
	qmAwaitQM3                   // responder sent QM2
	qmDone                       // kept a while to answer retransmissions
)

// A quickMode is one Quick Mode exchange (RFC 2409 section 5.5).
type quickMode struct {
	sa        *ikeSA
	mid       uint32
	initiator bool
	tun       *tunnel
	iv        []byte
	ni, nr    []byte  // initiator's and responder's nonces, whichever side we are
	dh        *dh.Key // PFS
	gxy       []byte
	inSPI     uint32 // ours
	outSPI    uint32 // the peer's
	offers    []p2Offer
	chosen    p2Offer
	idci      []byte // ID payload bodies as sent by the initiator
	idcr      []byte
	step      qmStep
	xmit      retransmit.Timer
	lastIn    [32]byte
	lastOut   []byte
	expires   time.Time // when a finished exchange is forgotten
	// started is the Engine.events when QM1 went out or came in;
	// finished, when the peer had finished the exchange as far as we
	// know before its QM3 came (see recvQM1).
	started, finished uint64
}

// A tunnel is one protection request: the SA pairs of a protected tunnel.
type tunnel struct {
	p        Protect
	offers   []p2Offer // from the transform sets, encapsulation not yet set
	pfs      uint16
	peer     *peer
	children []*saPair
	qm       *quickMode // our Quick Mode under way
	failures int
	retryAt  time.Time
	up       bool
	upPeer   netip.AddrPort

	// deleted holds the inbound SPIs of the last pairs deleted: ESP still
	// in flight on them draws no INVALID-SPI (see UnknownSPI).
	deleted []deletedSPI
	// invalidSPIAt is when the tunnel last sent INVALID-SPI.
	invalidSPIAt time.Time
}

type deletedSPI struct {
	spi uint32
	at  time.Time
}

// recordDeleted remembers the inbound SPI of a pair deleted at now.
func (t *tunnel) recordDeleted(spi uint32, now time.Time) {
	if len(t.deleted) == maxDeletedSPIs {
		t.deleted = slices.Delete(t.deleted, 0, 1)
	}
	t.deleted = append(t.deleted, deletedSPI{spi, now})
}

// live returns the SA pairs not scheduled for deletion.
func (t *tunnel) live() []*saPair {
	var out []*saPair
	for _, c := range t.children {
		if c.deleteAt.IsZero() {
			out = append(out, c)
		}
	}
	return out
}

// current returns the live SA pair the tunnel keeps (see bestChild).
func (t *tunnel) current() *saPair { return bestChild(t.live()) }

// needAt returns when the tunnel needs a new SA pair: the zero time when it
// has none (now), else the rekey time of its current pair.
func (t *tunnel) needAt() time.Time {
	if c := t.current(); c != nil {
		return c.rekeyAt
	}
	return time.Time{}
}

// negotiating reports whether a Quick Mode for the tunnel is under way:
// ours, or the peer's that we answer. While we answer one we start none
// for the tunnel: the peer's brings the pair, and ours would collide.
func (t *tunnel) negotiating() bool { return t.qm != nil || t.answering() }

// answering reports whether we answer a Quick Mode of the peer's for t.
func (t *tunnel) answering() bool {
	for _, sa := range t.peer.sas {
		for _, qm := range sa.qms {
			if !qm.initiator && qm.tun == t && qm.step != qmDone {
				return true
			}
		}
	}
	return false
}

// A saPair is an installed ESP SA pair.
type saPair struct {
	inSPI, outSPI uint32
	offer         p2Offer
	encap         *UDPEncap
	peerAddr      netip.AddrPort
	installed     time.Time
	rekeyAt       time.Time
	expires       time.Time
	deleteAt      time.Time // scheduled deletion once superseded
	initiator     bool
	ni            []byte
	// started and seq are the Engine.events of the start of the pair's
	// Quick Mode and of its install here (see replaces).
	started, seq uint64
	// parent is the ISAKMP SA whose Quick Mode made the pair. strongSwan
	// binds IKEv1 child SAs to it and deletes them with it, so a
	// duplicate ISAKMP SA that carries pairs must outlive one that does
	// not.
	parent *ikeSA
}
