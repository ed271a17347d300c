package ike

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"time"

	"github.com/gresec/gresec/internal/config"
	"github.com/gresec/gresec/internal/dh"
	"github.com/gresec/gresec/internal/esp"
	"github.com/gresec/gresec/internal/isakmp"
	"github.com/gresec/gresec/internal/loglimit"
	"github.com/gresec/gresec/internal/retransmit"
)

// UDP ports of IKE.
const (
	Port     = 500          // RFC 2408 section 2.5.1
	NATTPort = esp.NATTPort // RFC 3947 section 4, with the non-ESP marker
)

// Limits on state a peer can make us keep before it authenticates.
//
// Only a tunnel destination or an address with a key of its own (not the
// wildcard) gets responder state at all; the rest of the Internet can
// still spoof MM1s from those addresses. When the caps are reached the
// oldest entry that never got past MM2 makes room: an initiator that
// answered our MM2 with MM3 has read our cookie, so it is no blind
// spoofer, and its entry is never evicted. A genuine entry waiting for
// MM3 survives maxHalfOpenPerPeer newer MM1s from its peer's address:
// 256 ms at 1000 spoofed MM1/s, time enough for the MM3 of an initiator
// across the world. maxHalfOpen bounds all peers together.
const (
	maxHalfOpenPerPeer = 256
	maxHalfOpen        = 1024
	maxOfferLen        = 8192             // SA payload of an MM1 we keep (for HASH_I/R)
	mmResendInterval   = time.Second      // answers to a repeated Main Mode message
	halfOpenTimeout    = 75 * time.Second // past the initiator's last retransmission
	qmLinger           = 60 * time.Second // a finished Quick Mode still answers retransmissions
	// Message IDs of an ISAKMP SA are remembered for its whole life: past
	// midRekey of them it is rekeyed, past maxMIDs deleted (see
	// rememberMID).
	midRekey            = 1536
	maxMIDs             = 2048
	rekeyOverlap        = 10 * time.Second // old SA pair kept after its replacement
	doomedGrace         = 30 * time.Second // longest wait for exchanges on a losing ISAKMP SA
	defaultNATKeepalive = 20 * time.Second
)

// Config is the engine's local configuration: what `crypto isakmp`
// statements say. Per-tunnel settings come with Start.
type Config struct {
	// Policies in priority order, the order Main Mode offers them.
	Policies []config.ISAKMPPolicy
	// PSK returns the pre-shared key for a peer address (config.KeyFor).
	PSK func(peer netip.Addr) (key string, ok bool)
	// KeyedPeer reports whether a peer address matches a `crypto isakmp
	// key` of its own: a host or a range, not the wildcard 0.0.0.0. A
	// Main Mode from an address that is neither that nor the destination
	// of a protected tunnel is ignored, so that spoofed MM1s from
	// anywhere cannot fill the half-open table. nil: tunnel destinations
	// only.
	KeyedPeer func(peer netip.Addr) bool
	// DPD is nil without `crypto isakmp keepalive`.
	DPD *config.DPD
	// NATKeepalive is the NAT keepalive interval; 0 means 20 s. Keepalives
	// are sent only while this side is behind a NAT.
	NATKeepalive time.Duration
	// ForceUDPEncap puts ESP in UDP even without a NAT, by sending a NAT-D
	// payload that cannot match (as strongSwan's encap=yes does).
	ForceUDPEncap bool
	// KeyLog enables the KeyLogIKE and KeyLogESP actions.
	KeyLog bool
	// Rand is the source of cookies, nonces, SPIs and Diffie-Hellman
	// private values; nil means crypto/rand.Reader. It must not fail.
	Rand io.Reader
}

// Protect asks for an IPsec SA pair protecting the traffic of one tunnel:
// IP protocol Protocol (47, GRE) between Local and Remote, which are also
// the addresses IKE runs between (as IOS does for tunnel protection).
type Protect struct {
	Name          string // the tunnel, e.g. "Tunnel0"
	Local, Remote netip.Addr
	Protocol      uint8
	TransformSets []config.TransformSet // in order of preference
	PFS           config.DHGroup        // 0: no PFS
	Lifetime      time.Duration         // 0: 3600 s
	LifetimeKB    uint64                // 0: 4608000 KB
	// Passive waits for the peer to negotiate (strongSwan's auto=add): no
	// Main Mode or Quick Mode is started from this side, not even to rekey.
	Passive bool
}

// Datagram is one UDP datagram received on port 500 or 4500. Data is the
// UDP payload as received: on port 4500 with its non-ESP marker (ESP and
// NAT keepalives on that port are not the engine's and are ignored).
type Datagram struct {
	Local, Remote netip.AddrPort
	Data          []byte
}

// Engine is the IKEv1 control plane: Main Mode with pre-shared keys and
// Quick Mode (RFC 2409), informational exchanges with DELETE,
// INITIAL-CONTACT (RFC 2407) and dead peer detection (RFC 3706), and NAT
// traversal (RFC 3947). It is a pure state machine: it does no I/O, starts
// no goroutines and reads no clock. Each method takes the current time and
// returns the actions the event caused; NextWake says when Tick must run.
//
// An Engine is not safe for concurrent use: the daemon serialises all calls
// (one goroutine owns it).
type Engine struct {
	cfg      Config
	policies []p1Policy
	rand     io.Reader

	peers     map[peerKey]*peer
	peerOrder []*peer // creation order, for deterministic iteration
	tunnels   map[string]*tunnel
	spis      map[uint32]bool    // our inbound SPIs in use
	dests     map[netip.Addr]int // tunnels per destination: the configured peers
	connID    int
	limiter   loglimit.Limiter
	// events counts Quick Mode starts and SA pair installs: the order in
	// which they happened here tells a rekey from a collision (see
	// replaces).
	events uint64

	now time.Time
	out []Action
}

// New returns an engine with configuration cfg.
func New(cfg Config) (*Engine, error) {
	e := &Engine{
		peers:   make(map[peerKey]*peer),
		tunnels: make(map[string]*tunnel),
		spis:    make(map[uint32]bool),
		dests:   make(map[netip.Addr]int),
	}
	if err := e.SetConfig(cfg); err != nil {
		return nil, err
	}
	return e, nil
}

// SetConfig replaces the configuration (a reload). Established SAs are
// kept; new negotiations use the new settings.
func (e *Engine) SetConfig(cfg Config) error {
	var ps []p1Policy
	for _, p := range cfg.Policies {
		pp, err := p1FromConfig(p)
		if err != nil {
			return fmt.Errorf("ike: %w", err)
		}
		ps = append(ps, pp)
	}
	if cfg.DPD != nil && (cfg.DPD.Interval <= 0 || cfg.DPD.Retry < 0) {
		return errors.New("ike: DPD interval must be positive")
	}
	e.cfg = cfg
	e.policies = ps
	e.rand = cfg.Rand
	if e.rand == nil {
		e.rand = rand.Reader
	}
	return nil
}

// Start adds (or replaces) the protection of a tunnel and starts
// negotiating its SA pair at once. Starting a tunnel again with the same
// settings does nothing.
func (e *Engine) Start(now time.Time, p Protect) ([]Action, error) {
	e.begin(now)
	t, err := e.newTunnel(p)
	if err != nil {
		return nil, err
	}
	if old := e.tunnels[p.Name]; old != nil {
		if protectEqual(old.p, t.p) {
			return e.finish(), nil
		}
		e.stopTunnel(old, "reconfigured")
		// ESP on the old pairs may still be in flight: not the peer's
		// fault (see UnknownSPI).
		t.deleted, t.invalidSPIAt = old.deleted, old.invalidSPIAt
	}
	key := peerKey{t.p.Local, t.p.Remote}
	pr := e.peers[key]
	if pr == nil {
		pr = e.newPeer(key)
	}
	t.peer = pr
	pr.tunnels = append(pr.tunnels, t)
	e.tunnels[p.Name] = t
	e.dests[t.p.Remote]++
	return e.finish(), nil
}

// Stop removes the protection of a tunnel: its SA pairs are deleted (with
// a DELETE to the peer), and the ISAKMP SAs too when no other tunnel goes
// to that peer.
func (e *Engine) Stop(now time.Time, name string) []Action {
	e.begin(now)
	if t := e.tunnels[name]; t != nil {
		e.stopTunnel(t, "protection removed")
	}
	return e.finish()
}

// ClearSessions is `clear crypto session`: every SA pair and ISAKMP SA is
// deleted, with DELETE notifications, and negotiated afresh.
func (e *Engine) ClearSessions(now time.Time) []Action {
	e.begin(now)
	for _, p := range slices.Clone(e.peerOrder) {
		for _, t := range p.tunnels {
			e.abortTunnelQM(t)
			for _, c := range slices.Clone(t.children) {
				e.deleteChild(t, c, true, "cleared")
			}
			t.failures, t.retryAt = 0, time.Time{}
		}
		for _, sa := range slices.Clone(p.sas) {
			e.deleteIKESA(sa, true, "cleared")
		}
		p.mmFailures, p.mmRetryAt = 0, time.Time{}
	}
	return e.finish()
}

// ClearISAKMP is `clear crypto isakmp`: every ISAKMP SA is deleted, with a
// DELETE notification; SA pairs stay.
func (e *Engine) ClearISAKMP(now time.Time) []Action {
	e.begin(now)
	for _, p := range slices.Clone(e.peerOrder) {
		for _, sa := range slices.Clone(p.sas) {
			e.deleteIKESA(sa, true, "cleared")
		}
		p.mmFailures, p.mmRetryAt = 0, time.Time{}
	}
	return e.finish()
}

// DataplaneActivity records that the data plane received authenticated
// traffic from a tunnel's peer: proof of life for dead peer detection.
func (e *Engine) DataplaneActivity(now time.Time, name string) []Action {
	e.begin(now)
	if t := e.tunnels[name]; t != nil {
		e.alive(t.peer)
	}
	return e.finish()
}

// UnknownSPI tells the engine that the data plane received ESP from a
// tunnel's peer on an SPI it has no SA for: the peer holds an SA pair
// that we do not (it missed our DELETE, or we lost the pair). The engine
// answers with INVALID-SPI, protected by the ISAKMP SA, so that the peer
// deletes the pair and negotiates a new one at once instead of sending
// into the void until dead peer detection or the lifetime ends it. At
// most one goes out per tunnel every 10 s, none for an SPI that a Quick
// Mode under way or a pair of ours has or a pair had within the last
// 20 s (packets in flight), and none without an established ISAKMP SA.
func (e *Engine) UnknownSPI(now time.Time, tunnel string, spi uint32) []Action {
	e.begin(now)
	if t := e.tunnels[tunnel]; t != nil {
		e.unknownSPI(t, spi)
	}
	return e.finish()
}

// Rekey negotiates a new SA pair for a tunnel now, because the pair whose
// inbound SPI is inSPI, the one the data plane sends on, reached its soft
// volume limit (or its hard one before a replacement came). It changes
// nothing when that pair is no longer the tunnel's current one (a newer
// pair replaces it already, and the data plane has not switched yet) or
// while a Quick Mode for the tunnel is under way (its pair is the
// replacement).
func (e *Engine) Rekey(now time.Time, name string, inSPI uint32) []Action {
	e.begin(now)
	if t := e.tunnels[name]; t != nil && !t.negotiating() {
		if c := t.current(); c != nil && c.inSPI == inSPI {
			if c.rekeyAt.After(now) {
				c.rekeyAt = now
			}
			t.retryAt = time.Time{}
		}
	}
	return e.finish()
}

// Receive processes one datagram from port 500 or 4500.
func (e *Engine) Receive(now time.Time, d Datagram) []Action {
	e.begin(now)
	e.receive(d)
	return e.finish()
}

// Tick runs the timers due at now: retransmissions, lifetimes, rekeying,
// dead peer detection, NAT keepalives.
func (e *Engine) Tick(now time.Time) []Action {
	e.begin(now)
	for _, p := range slices.Clone(e.peerOrder) {
		e.tickPeer(p)
	}
	return e.finish()
}

// NextWake returns when Tick must run next, or the zero time if no timer
// is armed. The daemon also runs every other event through the engine, so
// it need not call Tick earlier.
func (e *Engine) NextWake() time.Time {
	var w earliest
	for _, p := range e.peerOrder {
		e.peerTimers(p, &w)
	}
	return w.t
}

func (e *Engine) begin(now time.Time) {
	e.now = now
	e.out = nil
}

// finish deletes the ISAKMP SAs that ran out of message IDs, starts
// whatever negotiations are now due and returns the actions.
func (e *Engine) finish() []Action {
	for _, p := range slices.Clone(e.peerOrder) {
		for _, sa := range slices.Clone(p.sas) {
			if len(sa.mids) >= maxMIDs {
				e.deleteIKESA(sa, true, fmt.Sprintf("%d message IDs used", len(sa.mids)))
			}
		}
		e.drivePeer(p)
	}
	for _, p := range slices.Clone(e.peerOrder) {
		if len(p.tunnels) == 0 && len(p.sas) == 0 {
			e.removePeer(p)
		}
	}
	out := e.out
	e.out = nil
	return out
}

func (e *Engine) emit(a Action) { e.out = append(e.out, a) }

// sendMsg emits an IKE message, behind the non-ESP marker on port 4500.
func (e *Engine) sendMsg(local, remote netip.AddrPort, msg []byte) {
	data := msg
	if local.Port() == NATTPort {
		data = make([]byte, 4+len(msg))
		copy(data[4:], msg)
	}
	e.emit(Send{Local: local, Remote: remote, Data: data})
}

func (e *Engine) random(n int) []byte {
	b := make([]byte, n)
	if _, err := io.ReadFull(e.rand, b); err != nil {
		panic("ike: random source failed: " + err.Error())
	}
	return b
}

// event returns the next value of the Quick Mode event counter.
func (e *Engine) event() uint64 {
	e.events++
	return e.events
}

func (e *Engine) randUint32() uint32 { return binary.BigEndian.Uint32(e.random(4)) }

// jitter returns a rekey time: between 85% and 90% of the lifetime, so
// that the two ends rarely rekey at the same moment.
func (e *Engine) jitter(start time.Time, life time.Duration) time.Time {
	f := 0.85 + 0.05*float64(e.randUint32())/float64(1<<32)
	return start.Add(time.Duration(float64(life) * f))
}

func (e *Engine) cookie() [8]byte {
	for {
		var c [8]byte
		copy(c[:], e.random(8))
		if c != [8]byte{} {
			return c
		}
	}
}

// newSPI allocates an inbound SPI: above the reserved range 1-255 (RFC 4303
// section 2.1) and not in use.
func (e *Engine) newSPI() uint32 {
	for {
		s := e.randUint32()
		if s >= 256 && !e.spis[s] {
			e.spis[s] = true
			return s
		}
	}
}

// newMID picks a message ID for a new exchange on sa.
func (e *Engine) newMID(sa *ikeSA) uint32 {
	for {
		m := e.randUint32()
		if _, used := sa.mids[m]; m != 0 && !used && sa.qms[m] == nil {
			e.rememberMID(sa, m)
			return m
		}
	}
}

func digest(b []byte) [32]byte { return sha256.Sum256(b) }

func (e *Engine) newPeer(key peerKey) *peer {
	p := &peer{key: key, lastSeen: e.now}
	p.dpd.seq = e.randUint32() & 0x7fffffff
	e.peers[key] = p
	e.peerOrder = append(e.peerOrder, p)
	return p
}

func (e *Engine) removePeer(p *peer) {
	delete(e.peers, p.key)
	if i := slices.Index(e.peerOrder, p); i >= 0 {
		e.peerOrder = slices.Delete(e.peerOrder, i, i+1)
	}
}

func (e *Engine) newIKESA(p *peer, initiator bool) *ikeSA {
	e.connID++
	sa := &ikeSA{
		peer:      p,
		connID:    e.connID,
		initiator: initiator,
		created:   e.now,
		qms:       make(map[uint32]*quickMode),
		mids:      make(map[uint32]struct{}),
	}
	return sa
}

func (e *Engine) newTunnel(p Protect) (*tunnel, error) {
	switch {
	case p.Name == "":
		return nil, errors.New("ike: protection without a tunnel name")
	case !p.Local.IsValid() || !p.Remote.IsValid():
		return nil, fmt.Errorf("ike: %s: local and remote addresses required", p.Name)
	case p.Local.Unmap().Is4() != p.Remote.Unmap().Is4():
		return nil, fmt.Errorf("ike: %s: local and remote address families differ", p.Name)
	case len(p.TransformSets) == 0:
		return nil, fmt.Errorf("ike: %s: no transform set", p.Name)
	}
	p.Local, p.Remote = p.Local.Unmap(), p.Remote.Unmap()
	if p.Lifetime <= 0 {
		p.Lifetime = defaultP2Lifetime
	}
	p.Lifetime = max(p.Lifetime, minLifetime)
	if p.LifetimeKB == 0 {
		p.LifetimeKB = defaultP2LifeKB
	}
	p.TransformSets = slices.Clone(p.TransformSets)
	t := &tunnel{p: p}
	if p.PFS != 0 {
		if !v1Group(dh.Group(p.PFS)) {
			return nil, fmt.Errorf("ike: %s: unsupported PFS group %d", p.Name, p.PFS)
		}
		t.pfs = uint16(p.PFS)
	}
	for _, ts := range p.TransformSets {
		s, mode, err := SuiteFromTransformSet(ts)
		if err != nil {
			return nil, fmt.Errorf("ike: %s: %w", p.Name, err)
		}
		t.offers = append(t.offers, p2Offer{
			suite:    s,
			mode:     mode,
			group:    isakmp.Group(t.pfs),
			lifetime: p.Lifetime,
			lifeKB:   p.LifetimeKB,
		})
	}
	return t, nil
}

func protectEqual(a, b Protect) bool {
	return a.Name == b.Name && a.Local == b.Local && a.Remote == b.Remote &&
		a.Protocol == b.Protocol && a.PFS == b.PFS && a.Lifetime == b.Lifetime &&
		a.LifetimeKB == b.LifetimeKB && a.Passive == b.Passive && slices.Equal(a.TransformSets, b.TransformSets)
}

func (e *Engine) stopTunnel(t *tunnel, reason string) {
	e.abortTunnelQM(t)
	p := t.peer
	for _, sa := range p.sas {
		for mid, qm := range sa.qms {
			if qm.tun == t {
				delete(sa.qms, mid)
				if qm.step != qmDone {
					delete(e.spis, qm.inSPI)
				}
			}
		}
	}
	for _, c := range slices.Clone(t.children) {
		e.deleteChild(t, c, true, reason)
	}
	if i := slices.Index(p.tunnels, t); i >= 0 {
		p.tunnels = slices.Delete(p.tunnels, i, i+1)
	}
	delete(e.tunnels, t.p.Name)
	if e.dests[t.p.Remote]--; e.dests[t.p.Remote] <= 0 {
		delete(e.dests, t.p.Remote)
	}
	if len(p.tunnels) == 0 {
		for _, sa := range slices.Clone(p.sas) {
			e.deleteIKESA(sa, true, reason)
		}
	}
}

// abortTunnelQM forgets the tunnel's own Quick Mode under way.
func (e *Engine) abortTunnelQM(t *tunnel) {
	if t.qm != nil {
		delete(t.qm.sa.qms, t.qm.mid)
		delete(e.spis, t.qm.inSPI)
		t.qm = nil
	}
}

// drivePeer starts the negotiations that are due for a peer and its
// tunnels: a Main Mode when there is no usable ISAKMP SA (or the current
// one is due for rekeying), Quick Modes for tunnels without a fresh SA pair.
func (e *Engine) drivePeer(p *peer) {
	if len(p.tunnels) == 0 {
		return
	}
	if at, ok := e.mainModeDue(p); ok && !e.now.Before(at) {
		e.startMainMode(p)
	}
	best := p.bestSA()
	if best == nil {
		return
	}
	for _, t := range slices.Clone(p.tunnels) {
		if u, at, ok := quickModeDue(best, t); ok && !e.now.Before(at) {
			e.startQuickMode(best, u)
		}
	}
}

// responderQMDelay is how long the responder of a Main Mode leaves the
// first Quick Mode to the initiator before starting its own. Both would
// otherwise cross on the wire; strongSwan, as Main Mode initiator, answers
// a Quick Mode that arrives while its own is starting with
// PAYLOAD-MALFORMED, and the pair it does install later gets torn down.
const responderQMDelay = 3 * time.Second

// quickModeDue returns when t needs a Quick Mode over the ISAKMP SA sa,
// and the tunnel to negotiate for then: t or a twin that needs a pair
// more (see neediest). None is due for a passive tunnel, while a Quick
// Mode for it or a twin is under way, or before the back-off of a failure
// ends. For a tunnel's first SA pair, a Main Mode responder waits
// responderQMDelay for the initiator's Quick Mode (rekeys follow their
// own, jittered, schedule).
func quickModeDue(sa *ikeSA, t *tunnel) (*tunnel, time.Time, bool) {
	if t.p.Passive || t.twinNegotiating() {
		return nil, time.Time{}, false
	}
	u := t.neediest()
	at := maxTime(maxTime(t.needAt(), t.retryAt), u.retryAt)
	if !sa.initiator && len(u.children) == 0 {
		at = maxTime(at, sa.established.Add(responderQMDelay))
	}
	return u, at, true
}

// mainModeDue returns when a Main Mode with p should start.
func (e *Engine) mainModeDue(p *peer) (time.Time, bool) {
	if !slices.ContainsFunc(p.tunnels, func(t *tunnel) bool { return !t.p.Passive }) || p.negotiating() {
		return time.Time{}, false
	}
	best := p.bestSA()
	var at time.Time
	if best != nil {
		at = best.rekeyAt
	}
	if p.mmRetryAt.After(at) {
		at = p.mmRetryAt
	}
	return at, true
}

// alive records a sign of life from the peer.
func (e *Engine) alive(p *peer) {
	p.lastSeen = e.now
	if p.dpd.probing {
		p.dpd.probing = false
		p.dpd.retries = 0
		p.dpd.next = time.Time{}
	}
}

// failTunnel schedules a tunnel's next attempt after a failed Quick Mode.
func (e *Engine) failTunnel(t *tunnel) {
	t.failures++
	t.retryAt = e.now.Add(retransmit.Backoff(t.failures))
}

// failMainMode schedules the next Main Mode with p after a failure.
func (e *Engine) failMainMode(p *peer) {
	p.mmFailures++
	p.mmRetryAt = e.now.Add(retransmit.Backoff(p.mmFailures))
}

// tickPeer runs the timers of one peer.
func (e *Engine) tickPeer(p *peer) {
	now := e.now
	for _, sa := range slices.Clone(p.sas) {
		if resend, giveUp := sa.xmit.Fire(now); resend {
			e.sendMsg(sa.xmit.Local, sa.xmit.Remote, sa.xmit.Msg)
		} else if giveUp {
			e.logf(slog.LevelWarn, p.key.remote, "peer %s: no answer in Main Mode (%s) after %d retransmissions; giving up",
				p.key.remote, sa.step.state(), retransmit.Tries)
			p.remove(sa)
			e.failMainMode(p)
			continue
		}
		for mid, qm := range sa.qms {
			if resend, giveUp := qm.xmit.Fire(now); resend {
				e.sendMsg(qm.xmit.Local, qm.xmit.Remote, qm.xmit.Msg)
			} else if giveUp {
				delete(sa.qms, mid)
				delete(e.spis, qm.inSPI)
				if qm.initiator && qm.tun.qm == qm {
					e.logf(slog.LevelWarn, p.key.remote, "%s: peer %s: no answer in Quick Mode after %d retransmissions; giving up",
						qm.tun.p.Name, p.key.remote, retransmit.Tries)
					qm.tun.qm = nil
					e.failTunnel(qm.tun)
				}
			}
			if qm.step == qmDone && !now.Before(qm.expires) {
				delete(sa.qms, mid)
			}
		}
		switch {
		case sa.step != stepEstablished && !sa.initiator && now.Sub(sa.created) >= halfOpenTimeout:
			e.logf(slog.LevelDebug, p.key.remote, "peer %s: half-open ISAKMP SA timed out in %s", p.key.remote, sa.step.state())
			p.remove(sa)
		case sa.step == stepEstablished && !now.Before(sa.expires):
			e.deleteIKESA(sa, true, "lifetime expired")
		case !sa.doomed.IsZero() && (!sa.busy() || now.Sub(sa.doomed) >= doomedGrace):
			e.deleteIKESA(sa, true, "superseded")
		}
	}
	for _, t := range slices.Clone(p.tunnels) {
		for _, c := range slices.Clone(t.children) {
			switch {
			case !c.deleteAt.IsZero() && (!now.Before(c.deleteAt) || !now.Before(c.expires)):
				e.deleteChild(t, c, true, "superseded")
			case !now.Before(c.expires):
				e.deleteChild(t, c, true, "lifetime expired")
			}
		}
	}
	if e.peers[p.key] != p {
		return
	}
	e.dpdTick(p)
	e.keepaliveTick(p)
}

// peerTimers adds every deadline of p to w.
func (e *Engine) peerTimers(p *peer, w *earliest) {
	for _, sa := range p.sas {
		w.add(sa.xmit.Next)
		for _, qm := range sa.qms {
			w.add(qm.xmit.Next)
			if qm.step == qmDone {
				w.add(qm.expires)
			}
		}
		switch {
		case sa.step != stepEstablished && !sa.initiator:
			w.add(sa.created.Add(halfOpenTimeout))
		case sa.step == stepEstablished:
			w.add(sa.expires)
		}
		if !sa.doomed.IsZero() {
			if sa.busy() {
				w.add(sa.doomed.Add(doomedGrace))
			} else {
				w.add(sa.doomed)
			}
		}
	}
	for _, t := range p.tunnels {
		for _, c := range t.children {
			w.add(c.expires)
			w.add(c.deleteAt)
		}
	}
	if at, ok := e.mainModeDue(p); ok {
		w.add(maxTime(at, e.now))
	}
	if best := p.bestSA(); best != nil {
		for _, t := range p.tunnels {
			if _, at, ok := quickModeDue(best, t); ok {
				w.add(maxTime(at, e.now))
			}
		}
	}
	e.dpdTimers(p, w)
	w.add(p.keepaliveAt)
}

// maxTime returns the later of a and b; a zero a ("at once") becomes b.
func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
