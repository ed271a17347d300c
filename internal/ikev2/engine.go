package ikev2

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
	"github.com/gresec/gresec/internal/ike"
	"github.com/gresec/gresec/internal/loglimit"
)

// Defaults and limits.
const (
	defaultIKELifetime   = 24 * time.Hour // IOS `lifetime` default, 86400 s
	defaultChildLifetime = time.Hour
	defaultNATKeepalive  = 20 * time.Second
	// halfOpenTimeout drops a responder's IKE SA that got no IKE_AUTH.
	halfOpenTimeout = 30 * time.Second
	// defaultMaxHalfOpen bounds responder IKE SAs waiting for IKE_AUTH
	// when `crypto ikev2 limit max-in-negotiation-sa` is not set.
	defaultMaxHalfOpen = 1024
	// rekeyOverlap is how long a replaced CHILD_SA or IKE SA is kept after
	// its replacement is in place (make-before-break).
	rekeyOverlap = 10 * time.Second
	// duplicateWindow: two IKE SAs with one peer established within it
	// were negotiated at the same time (both ends initiated); one goes.
	duplicateWindow = 30 * time.Second
	nonceLen        = 32
	dpdRetries      = 5
	defaultDPDRetry = 2 * time.Second
	// cookieSecretLife is how long a cookie secret is used (RFC 7296
	// section 2.6 wants it changed periodically).
	cookieSecretLife = 5 * time.Minute
)

// Encryption is an IKE SA encryption transform: AES-CBC or AES-GCM with a
// 16-octet ICV, and the key size in bits.
type Encryption struct {
	ID      uint16 // wire.EncrAESCBC or wire.EncrAESGCM16
	KeyBits uint16
}

// Proposal is one IKE SA proposal, as `crypto ikev2 proposal` says it:
// every combination of its transforms is acceptable.
type Proposal struct {
	Encryption []Encryption
	Integrity  []uint16 // wire.Integ*; none for AES-GCM
	PRF        []uint16 // wire.PRF*
	Groups     []dh.Group
}

// Profile is what the IKEv2 profile of a tunnel says, with the keys of its
// keyring resolved for the tunnel's peer.
type Profile struct {
	Name      string
	Proposals []Proposal // in order of preference (the policy's)
	// LocalID is the identity this side sends (`identity local`); Kind
	// IDNone: its address.
	LocalID config.IKEv2Identity
	// RemoteID lists the identities accepted from the peer (`match
	// identity remote`); empty accepts any.
	RemoteID []config.IKEv2IdentityMatch
	// PSKLocal signs this side's AUTH, PSKRemote checks the peer's; they
	// are the same key unless the keyring says `pre-shared-key local` and
	// `remote`.
	PSKLocal, PSKRemote string
	DPD                 *config.DPD
	Lifetime            time.Duration // of the IKE SA; 0: 86400 s
	// NATKeepalive is the profile's `nat keepalive`; 0: Config's.
	NATKeepalive time.Duration
	// AuthLocal is how this side authenticates (`authentication local`;
	// 0: pre-share), AuthRemote what it accepts from the peer (empty:
	// pre-share).
	AuthLocal  config.IKEv2AuthMethod
	AuthRemote []config.IKEv2AuthMethod
	// Creds holds the trust points: the chain and key this side signs
	// with, and the CAs that verify the peer's certificate.
	Creds *Credentials
}

// signs reports whether this side authenticates with a signature.
func (pr Profile) signs() bool {
	return pr.AuthLocal == config.AuthRSASig || pr.AuthLocal == config.AuthECDSASig
}

// authRemote is what the profile accepts from the peer.
func (pr Profile) authRemote() []config.IKEv2AuthMethod {
	if len(pr.AuthRemote) == 0 {
		return []config.IKEv2AuthMethod{config.AuthPreShare}
	}
	return pr.AuthRemote
}

// verifiesSignatures reports whether the profile accepts a signature.
func (pr Profile) verifiesSignatures() bool {
	return slices.Contains(pr.authRemote(), config.AuthRSASig) || slices.Contains(pr.authRemote(), config.AuthECDSASig)
}

// Protect asks for a CHILD_SA protecting one tunnel, negotiated with
// IKEv2 under Profile. The embedded ike.Protect says what it protects and
// with which transform sets, as for IKEv1.
type Protect struct {
	ike.Protect
	Profile Profile
}

// Config is the engine's global configuration: the `crypto ikev2`
// statements outside profiles.
type Config struct {
	// NATKeepalive is the NAT keepalive interval; 0 means 20 s. Keepalives
	// go out only while this side is behind a NAT.
	NATKeepalive time.Duration
	// CookieThreshold is `crypto ikev2 cookie-challenge N`: with N or more
	// half-open IKE SAs, a new IKE_SA_INIT must return a cookie first
	// (RFC 7296 section 2.6). 0: never.
	CookieThreshold int
	// MaxInNegotiation is `crypto ikev2 limit max-in-negotiation-sa N`:
	// at most N half-open IKE SAs; more IKE_SA_INITs are dropped. 0: 1024.
	MaxInNegotiation int
	// ForceUDPEncap puts ESP in UDP even without a NAT (a NAT detection
	// hash that cannot match, as strongSwan's encap=yes).
	ForceUDPEncap bool
	// FragmentMTU is `crypto ikev2 fragmentation mtu`: the IP packet size
	// that IKE fragments fit (RFC 7383); 0: 1280.
	FragmentMTU int
	// KeyLog enables the KeyLogIKEv2 and KeyLogESP actions.
	KeyLog bool
	// Rand is the source of SPIs, nonces and private values; nil means
	// crypto/rand.Reader. It must not fail.
	Rand io.Reader
}

// Engine is the IKEv2 control plane. It is a pure state machine like
// ike.Engine, with the same methods and actions; see the package comment.
// An Engine is not safe for concurrent use.
type Engine struct {
	cfg  Config
	rand io.Reader

	peers     map[peerKey]*peer
	peerOrder []*peer
	tunnels   map[string]*tunnel
	sas       map[[8]byte]*ikeSA // by our SPI
	halfOpen  int                // responder IKE SAs waiting for IKE_AUTH
	spis      map[uint32]bool    // our inbound ESP SPIs in use
	dests     map[netip.Addr]int // tunnels per destination
	limiter   loglimit.Limiter

	cookieSecret, oldCookieSecret []byte
	cookieSecretAt                time.Time

	now time.Time
	out []ike.Action
}

// New returns an engine with configuration cfg.
func New(cfg Config) (*Engine, error) {
	e := &Engine{
		peers:   make(map[peerKey]*peer),
		tunnels: make(map[string]*tunnel),
		sas:     make(map[[8]byte]*ikeSA),
		spis:    make(map[uint32]bool),
		dests:   make(map[netip.Addr]int),
	}
	if err := e.SetConfig(cfg); err != nil {
		return nil, err
	}
	return e, nil
}

// SetConfig replaces the global configuration. Established SAs stay.
func (e *Engine) SetConfig(cfg Config) error {
	if cfg.NATKeepalive < 0 || cfg.CookieThreshold < 0 || cfg.MaxInNegotiation < 0 {
		return errors.New("ikev2: negative limit")
	}
	e.cfg = cfg
	e.rand = cfg.Rand
	if e.rand == nil {
		e.rand = rand.Reader
	}
	return nil
}

// checkProtect validates a protection request.
func checkProtect(p Protect) error {
	if p.Name == "" || !p.Local.IsValid() || !p.Remote.IsValid() {
		return errors.New("ikev2: protection needs a tunnel name and both endpoints")
	}
	if p.Local.Is4() != p.Remote.Is4() {
		return fmt.Errorf("ikev2: %s: endpoints %s and %s are of different families", p.Name, p.Local, p.Remote)
	}
	if len(p.TransformSets) == 0 {
		return fmt.Errorf("ikev2: %s: no transform set", p.Name)
	}
	for _, ts := range p.TransformSets {
		if _, _, err := ike.SuiteFromTransformSet(ts); err != nil {
			return fmt.Errorf("ikev2: %s: %w", p.Name, err)
		}
	}
	if p.PFS != 0 && !dh.Group(p.PFS).Supported() {
		return fmt.Errorf("ikev2: %s: PFS group %d is not supported", p.Name, p.PFS)
	}
	if len(p.Profile.Proposals) == 0 {
		return fmt.Errorf("ikev2: %s: profile %s has no proposal", p.Name, p.Profile.Name)
	}
	for _, pr := range p.Profile.Proposals {
		if err := pr.check(); err != nil {
			return fmt.Errorf("ikev2: %s: profile %s: %w", p.Name, p.Profile.Name, err)
		}
	}
	pr := p.Profile
	if (!pr.signs() && pr.PSKLocal == "") || (slices.Contains(pr.authRemote(), config.AuthPreShare) && pr.PSKRemote == "") {
		return fmt.Errorf("ikev2: %s: profile %s has no pre-shared key for %s", p.Name, pr.Name, p.Remote)
	}
	if pr.signs() && (pr.Creds == nil || len(pr.Creds.Chain) == 0 || pr.Creds.Key == nil) {
		return fmt.Errorf("ikev2: %s: profile %s signs but has no certificate and key", p.Name, pr.Name)
	}
	if pr.verifiesSignatures() && (pr.Creds == nil || len(pr.Creds.CAs) == 0) {
		return fmt.Errorf("ikev2: %s: profile %s accepts signatures but has no CA certificate", p.Name, pr.Name)
	}
	if d := p.Profile.DPD; d != nil && d.Interval <= 0 {
		return fmt.Errorf("ikev2: %s: DPD interval must be positive", p.Name)
	}
	return nil
}

// Start adds (or replaces) the protection of a tunnel and negotiates its
// CHILD_SA at once. Starting a tunnel again with the same settings does
// nothing.
func (e *Engine) Start(now time.Time, p Protect) ([]ike.Action, error) {
	e.begin(now)
	if err := checkProtect(p); err != nil {
		return nil, err
	}
	p.Local, p.Remote = p.Local.Unmap(), p.Remote.Unmap()
	if old := e.tunnels[p.Name]; old != nil {
		if old.p.Equal(p) {
			return e.finish(), nil
		}
		e.stopTunnel(old, "reconfigured")
	}
	key := peerKey{p.Local, p.Remote}
	pr := e.peers[key]
	if pr == nil {
		pr = &peer{key: key}
		e.peers[key] = pr
		e.peerOrder = append(e.peerOrder, pr)
	}
	t := &tunnel{p: p, peer: pr}
	pr.tunnels = append(pr.tunnels, t)
	e.tunnels[p.Name] = t
	e.dests[p.Remote]++
	return e.finish(), nil
}

// Stop removes the protection of a tunnel: its CHILD_SAs are deleted with
// a Delete to the peer, and the IKE SA too when no other tunnel uses it.
func (e *Engine) Stop(now time.Time, name string) []ike.Action {
	e.begin(now)
	if t := e.tunnels[name]; t != nil {
		e.stopTunnel(t, "protection removed")
	}
	return e.finish()
}

// ClearSessions is `clear crypto session` and `clear crypto ikev2 sa`:
// every IKE SA is deleted with its CHILD_SAs, with a Delete to the peer,
// and negotiated afresh.
func (e *Engine) ClearSessions(now time.Time) []ike.Action {
	e.begin(now)
	for _, p := range slices.Clone(e.peerOrder) {
		for _, sa := range slices.Clone(p.sas) {
			e.deleteIKESA(sa, true, "cleared")
		}
		p.failures, p.retryAt = 0, time.Time{}
	}
	return e.finish()
}

// DataplaneActivity records authenticated traffic from a tunnel's peer:
// proof of life for dead peer detection.
func (e *Engine) DataplaneActivity(now time.Time, name string) []ike.Action {
	e.begin(now)
	if t := e.tunnels[name]; t != nil {
		t.peer.lastSeen = now
	}
	return e.finish()
}

// UnknownSPI is told of ESP on an SPI the data plane has no SA for. IKEv2
// has no INVALID_SPI answer outside an exchange that would help here (RFC
// 7296 section 2.21.4 makes it optional); dead peer detection and the
// peer's own lifetimes resolve it. It is accepted for symmetry with IKEv1.
func (e *Engine) UnknownSPI(now time.Time, tunnel string, spi uint32) []ike.Action {
	e.begin(now)
	return e.finish()
}

// Rekey rekeys a tunnel's CHILD_SA now, because the pair with inbound SPI
// inSPI reached its soft volume limit. It does nothing when that pair is
// not the tunnel's newest or a rekey is already under way.
func (e *Engine) Rekey(now time.Time, name string, inSPI uint32) []ike.Action {
	e.begin(now)
	if t := e.tunnels[name]; t != nil {
		if c := t.newest(); c != nil && c.inSPI == inSPI && c.rekeyAt.After(now) {
			c.rekeyAt = now
		}
	}
	return e.finish()
}

// Receive processes one datagram from port 500 or 4500 that holds an IKEv2
// message (on 4500 after the non-ESP marker).
func (e *Engine) Receive(now time.Time, d ike.Datagram) []ike.Action {
	e.begin(now)
	e.receive(d)
	return e.finish()
}

// Tick runs the timers due at now.
func (e *Engine) Tick(now time.Time) []ike.Action {
	e.begin(now)
	for _, p := range slices.Clone(e.peerOrder) {
		e.tickPeer(p)
	}
	return e.finish()
}

// NextWake returns when Tick must run next, or the zero time.
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

// finish starts what negotiations are now due and returns the actions.
func (e *Engine) finish() []ike.Action {
	for _, p := range slices.Clone(e.peerOrder) {
		e.drivePeer(p)
	}
	out := e.out
	e.out = nil
	return out
}

func (e *Engine) emit(a ike.Action) { e.out = append(e.out, a) }

func (e *Engine) logf(level slog.Level, peer netip.Addr, format string, args ...any) {
	e.emit(ike.Log{Level: level, Peer: peer, Msg: fmt.Sprintf(format, args...)})
}

// logLimited logs unless a line of the kind about the peer went out
// within the last minute; it reports whether it logged.
func (e *Engine) logLimited(kind string, level slog.Level, peer netip.Addr, format string, args ...any) bool {
	msg, ok := e.limiter.Line(kind, peer, e.now, e.dests[peer] > 0, fmt.Sprintf(format, args...))
	if ok {
		e.emit(ike.Log{Level: level, Peer: peer, Msg: msg})
	}
	return ok
}

func (e *Engine) random(n int) []byte {
	b := make([]byte, n)
	if _, err := io.ReadFull(e.rand, b); err != nil {
		panic("ikev2: random source failed: " + err.Error())
	}
	return b
}

// newIKESPI returns an IKE SPI not in use here (never zero).
func (e *Engine) newIKESPI() [8]byte {
	for {
		var s [8]byte
		copy(s[:], e.random(8))
		if s != ([8]byte{}) && e.sas[s] == nil {
			return s
		}
	}
}

// newSPI returns an inbound ESP SPI not in use (above 255, RFC 4303).
func (e *Engine) newSPI() uint32 {
	for {
		s := binary.BigEndian.Uint32(e.random(4))
		if s > 255 && !e.spis[s] {
			e.spis[s] = true
			return s
		}
	}
}

// jitter returns a rekey time for a lifetime starting at start: between
// 85 and 90 percent of it, so that two ends seldom rekey at once.
func (e *Engine) jitter(start time.Time, life time.Duration) time.Time {
	frac := 850 + int64(binary.BigEndian.Uint16(e.random(2))%50)
	return start.Add(time.Duration(int64(life) / 1000 * frac))
}

// cookieFor returns the cookie for an IKE_SA_INIT (RFC 7296 section 2.6):
// a version octet and H(Ni | IPi | SPIi | secret). prev selects the
// previous secret, so that a cookie stays valid across one change.
func (e *Engine) cookieFor(ni []byte, from netip.Addr, spiI [8]byte, prev bool) []byte {
	if e.cookieSecret == nil || e.now.Sub(e.cookieSecretAt) > cookieSecretLife {
		e.oldCookieSecret, e.cookieSecret = e.cookieSecret, e.random(32)
		e.cookieSecretAt = e.now
	}
	secret := e.cookieSecret
	if prev {
		secret = e.oldCookieSecret
	}
	h := sha256.New()
	h.Write(ni)
	a := from.As16()
	h.Write(a[:])
	h.Write(spiI[:])
	h.Write(secret)
	return append([]byte{1}, h.Sum(nil)...)
}

// earliest keeps the earliest non-zero time.
type earliest struct{ t time.Time }

func (w *earliest) add(t time.Time) {
	if !t.IsZero() && (w.t.IsZero() || t.Before(w.t)) {
		w.t = t
	}
}

// Equal reports whether two protection requests ask for the same: the
// engine keeps a tunnel's SAs when Start gives it an Equal request.
func (a Protect) Equal(b Protect) bool {
	return a.Name == b.Name && a.Local == b.Local && a.Remote == b.Remote && a.Protocol == b.Protocol &&
		slices.Equal(a.TransformSets, b.TransformSets) && a.PFS == b.PFS && a.Lifetime == b.Lifetime &&
		a.LifetimeKB == b.LifetimeKB && a.Passive == b.Passive && profileEqual(a.Profile, b.Profile)
}

func profileEqual(a, b Profile) bool {
	if len(a.Proposals) != len(b.Proposals) {
		return false
	}
	for i := range a.Proposals {
		x, y := a.Proposals[i], b.Proposals[i]
		if !slices.Equal(x.Encryption, y.Encryption) || !slices.Equal(x.Integrity, y.Integrity) ||
			!slices.Equal(x.PRF, y.PRF) || !slices.Equal(x.Groups, y.Groups) {
			return false
		}
	}
	sameDPD := (a.DPD == nil) == (b.DPD == nil) && (a.DPD == nil || *a.DPD == *b.DPD)
	return a.Name == b.Name && a.LocalID == b.LocalID && slices.Equal(a.RemoteID, b.RemoteID) &&
		a.PSKLocal == b.PSKLocal && a.PSKRemote == b.PSKRemote && sameDPD && a.Lifetime == b.Lifetime &&
		a.NATKeepalive == b.NATKeepalive &&
		a.AuthLocal == b.AuthLocal && slices.Equal(a.AuthRemote, b.AuthRemote) && a.Creds.equal(b.Creds)
}
