package ikev2

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gresec/gresec/internal/config"
	"github.com/gresec/gresec/internal/dh"
	"github.com/gresec/gresec/internal/ike"
	"github.com/gresec/gresec/internal/ikev2/wire"
)

// TestEstablish: A initiates as soon as its tunnel starts; IKE_SA_INIT and
// IKE_AUTH give both ends one mirrored transport-mode pair.
func TestEstablish(t *testing.T) {
	p := protection("Tunnel0", addrB, addrA, profile())
	p.Passive = true // B waits, so that A is the initiator
	n := newNet(t, nil, &p)
	n.runFor(time.Second)
	n.checkPaired()
	got := n.a.installed()[0]
	if got.Mode != ike.ModeTransport || got.Encap != nil || got.Local != addrA || got.Remote != addrB {
		t.Errorf("A installed %+v", got)
	}
	if want := []string{"IKE_SA_INIT", "IKE_AUTH"}; !slices.Equal(n.a.exchanges(), want) {
		t.Errorf("A sent %v, want %v", n.a.exchanges(), want)
	}
	if want := []string{"IKE_SA_INITR", "IKE_AUTHR"}; !slices.Equal(n.b.exchanges(), want) {
		t.Errorf("B sent %v, want %v", n.b.exchanges(), want)
	}
	for _, x := range []*node{n.a, n.b} {
		if ups := actionsOf[ike.SessionUp](x.actions); len(ups) != 1 || ups[0].Tunnel != "Tunnel0" {
			t.Errorf("%s: session ups %v", x.name, ups)
		}
		if kl := actionsOf[ike.KeyLogIKEv2](x.actions); len(kl) != 1 {
			t.Errorf("%s: %d IKEv2 key log lines", x.name, len(kl))
		}
	}
	// Nothing more happens for a while (DPD is off, lifetimes are long).
	before := len(n.a.sent) + len(n.b.sent)
	n.runFor(30 * time.Minute)
	if after := len(n.a.sent) + len(n.b.sent); after != before {
		t.Errorf("%d messages in 30 idle minutes", after-before)
	}
}

// TestBothInitiate: both ends initiate at once; they end with one IKE SA
// and one pair, the same at both ends.
func TestBothInitiate(t *testing.T) {
	n := newNet(t, nil, nil)
	n.runFor(time.Minute)
	n.checkPaired()
	if len(n.a.installed()) != 1 {
		t.Fatalf("A holds %d pairs, want 1\n%s%s", len(n.a.installed()), n.a.logText(), n.b.logText())
	}
	for _, x := range []*node{n.a, n.b} {
		if got := len(x.e.peers[peerKey{x.addr, n.other(x).addr}].sas); got != 1 {
			t.Errorf("%s holds %d IKE SAs, want 1", x.name, got)
		}
	}
}

// TestGCMAndGroups: an AEAD IKE SA with a PRF of its own, Curve25519 and
// tunnel mode.
func TestGCMAndGroups(t *testing.T) {
	for _, g := range []dh.Group{dh.MODP2048, dh.ECP384, dh.ECP521, dh.Curve25519} {
		pr := profile()
		pr.Proposals = []Proposal{{Encryption: []Encryption{{wire.EncrAESGCM16, 256}}, PRF: []uint16{wire.PRFHMACSHA2_512}, Groups: []dh.Group{g}}}
		pa, pb := protection("Tunnel0", addrA, addrB, pr), protection("Tunnel0", addrB, addrA, pr)
		for _, p := range []*Protect{&pa, &pb} {
			p.TransformSets = []config.TransformSet{{Name: "GCM", Cipher: config.ESPAESGCM, KeyBits: 256, Mode: config.ModeTunnel}}
		}
		pb.Passive = true
		n := newNet(t, &pa, &pb)
		n.runFor(time.Second)
		n.checkPaired()
		if m := n.a.installed()[0].Mode; m != ike.ModeTunnel {
			t.Errorf("group %d: mode %v", g, m)
		}
	}
}

// TestInvalidKE: the initiator's first group is not the responder's; the
// responder asks for its own and the initiator retries with it.
func TestInvalidKE(t *testing.T) {
	pr := profile()
	pr.Proposals[0].Groups = []dh.Group{dh.MODP2048, dh.ECP256}
	pa := protection("Tunnel0", addrA, addrB, pr)
	pb := protection("Tunnel0", addrB, addrA, profile()) // group 19 only
	pb.Passive = true
	n := newNet(t, &pa, &pb)
	n.runFor(time.Second)
	n.checkPaired()
	if want := []string{"IKE_SA_INIT", "IKE_SA_INIT", "IKE_AUTH"}; !slices.Equal(n.a.exchanges(), want) {
		t.Errorf("A sent %v, want %v", n.a.exchanges(), want)
	}
}

// TestPSKMismatch: different keys fail authentication at the responder;
// nothing is installed and the initiator backs off.
func TestPSKMismatch(t *testing.T) {
	pr := profile()
	pr.PSKLocal, pr.PSKRemote = "WrongPassword", "WrongPassword"
	pa := protection("Tunnel0", addrA, addrB, pr)
	pb := protection("Tunnel0", addrB, addrA, profile())
	pb.Passive = true
	n := newNet(t, &pa, &pb)
	n.runFor(time.Minute)
	if len(n.a.installed())+len(n.b.installed()) != 0 {
		t.Fatal("a pair was installed with mismatched keys")
	}
	if !n.b.logged("pre-shared keys differ") || !n.a.logged("AUTHENTICATION_FAILED") {
		t.Errorf("logs:\n%s%s", n.a.logText(), n.b.logText())
	}
	inits := 0
	for _, x := range n.a.exchanges() {
		if x == "IKE_SA_INIT" {
			inits++
		}
	}
	if inits < 2 || inits > 6 {
		t.Errorf("%d attempts in a minute, want a few with back-off", inits)
	}
	for _, s := range actionsOf[ike.Log](append(n.a.actions, n.b.actions...)) {
		if strings.Contains(s.Msg, "SecretPassword12") || strings.Contains(s.Msg, "WrongPassword") {
			t.Errorf("a log line holds a key: %s", s.Msg)
		}
	}
}

// TestChildRekey: over a day, CHILD_SAs are rekeyed before they expire,
// make-before-break: at every moment both ends hold the pair the other
// sends on.
func TestChildRekey(t *testing.T) {
	for _, pfs := range []config.DHGroup{0, 14} {
		pa, pb := protection("Tunnel0", addrA, addrB, profile()), protection("Tunnel0", addrB, addrA, profile())
		pa.Lifetime, pb.Lifetime = 10*time.Minute, 10*time.Minute
		pa.PFS, pb.PFS = pfs, pfs
		n := newNet(t, &pa, &pb)
		n.runFor(time.Second)
		for range 24 * 6 {
			n.runFor(10 * time.Minute)
			n.checkPaired()
			if l := len(n.a.installed()); l > 2 {
				t.Fatalf("pfs %d: A holds %d pairs", pfs, l)
			}
		}
		installs := len(actionsOf[ike.InstallPair](n.a.actions))
		if installs < 24*6 || installs > 24*6*2 {
			t.Errorf("pfs %d: %d installs in a day of 10-minute lifetimes", pfs, installs)
		}
		if downs := actionsOf[ike.SessionDown](n.a.actions); len(downs) != 0 {
			t.Errorf("pfs %d: session went down %d times", pfs, len(downs))
		}
		for _, l := range actionsOf[ike.Log](n.a.actions) {
			if strings.Contains(l.Msg, "lifetime expired") {
				t.Errorf("pfs %d: %s", pfs, l.Msg)
				break
			}
		}
	}
}

// TestIKERekey: IKE SAs of 15 minutes are rekeyed in place; the CHILD_SAs
// move to the new IKE SA and traffic keys stay.
func TestIKERekey(t *testing.T) {
	pr := profile()
	pr.Lifetime = 15 * time.Minute
	pa, pb := protection("Tunnel0", addrA, addrB, pr), protection("Tunnel0", addrB, addrA, pr)
	pa.Lifetime, pb.Lifetime = 4*time.Hour, 4*time.Hour
	n := newNet(t, &pa, &pb)
	n.runFor(time.Second)
	first := n.a.installed()[0].In.SPI
	for range 8 {
		n.runFor(15 * time.Minute)
		n.checkPaired()
	}
	if n.a.installed()[0].In.SPI != first {
		t.Error("the CHILD_SA changed although only the IKE SA was rekeyed")
	}
	rekeys := 0
	for _, x := range append(n.a.exchanges(), n.b.exchanges()...) {
		if x == "CREATE_CHILD_SA" {
			rekeys++
		}
	}
	if rekeys < 7 {
		t.Errorf("%d rekeys in 2 hours of 15-minute IKE SAs", rekeys)
	}
	for _, x := range []*node{n.a, n.b} {
		if got := len(x.e.peers[peerKey{x.addr, n.other(x).addr}].sas); got != 1 {
			t.Errorf("%s holds %d IKE SAs\n%s", x.name, got, x.logText())
		}
	}
}

// TestDPDDeadPeer: B falls silent; A's liveness checks go unanswered and
// A declares the peer dead, removes the pair and negotiates again.
func TestDPDDeadPeer(t *testing.T) {
	pr := profile()
	pr.DPD = &config.DPD{Interval: 10 * time.Second, Retry: 3 * time.Second, Periodic: true}
	pa, pb := protection("Tunnel0", addrA, addrB, pr), protection("Tunnel0", addrB, addrA, pr)
	n := newNet(t, &pa, &pb)
	n.runFor(time.Minute)
	n.checkPaired()
	silent := n.now
	n.drop = func(from *node, _ ike.Send) bool { return from == n.b }
	n.runFor(time.Minute)
	dead := actionsOf[ike.PeerDead](n.a.actions)
	if len(dead) != 1 {
		t.Fatalf("%d PeerDead\n%s", len(dead), n.a.logText())
	}
	if len(n.a.installed()) != 0 {
		t.Error("the dead peer's pair stays")
	}
	_ = silent
	// B comes back: a new IKE SA.
	n.drop = nil
	n.runFor(10 * time.Minute)
	if len(n.a.installed()) == 0 {
		t.Fatalf("no pair after the peer came back\n%s", n.a.logText())
	}
}

// TestNoAnswer: the peer never answers; IKE_SA_INIT is retransmitted with
// back-off and given up, then tried again later.
func TestNoAnswer(t *testing.T) {
	n := newNet(t, nil, nil)
	n.drop = func(*node, ike.Send) bool { return true }
	n.runFor(5 * time.Minute)
	if !n.a.logged("no answer to IKE_SA_INIT after 5 retransmissions") {
		t.Errorf("logs:\n%s", n.a.logText())
	}
	n.drop = nil
	n.runFor(10 * time.Minute)
	n.checkPaired()
}

// TestNAT: A is behind a NAT: both detect it, IKE moves to 4500, ESP is
// encapsulated, A sends keepalives, and a new NAT mapping is followed.
func TestNAT(t *testing.T) {
	pa, pb := protection("Tunnel0", addrA, addrB, profile()), protection("Tunnel0", addrB, addrA, profile())
	pb.Passive = true
	n := newNet(t, &pa, &pb)
	n.queue = nil
	n.natPort = 20000
	n.a.actions, n.b.actions, n.a.sent, n.b.sent = nil, nil, nil, nil
	n.a.e, n.b.e = newNode(t, "A", addrA, 1, Config{}).e, newNode(t, "B", addrB, 2, Config{}).e
	n.start(n.a, pa)
	n.start(n.b, pb)
	n.runFor(time.Second)
	n.checkPaired()
	for _, x := range []*node{n.a, n.b} {
		p := x.installed()[0]
		if p.Encap == nil {
			t.Fatalf("%s: no UDP encapsulation behind a NAT", x.name)
		}
	}
	if e := n.a.installed()[0].Encap; e.LocalPort != 4500 || e.RemotePort != 4500 {
		t.Errorf("A encap %+v", e)
	}
	if e := n.b.installed()[0].Encap; e.LocalPort != 4500 || e.RemotePort != 24500 {
		t.Errorf("B encap %+v", e)
	}
	n.runFor(time.Minute)
	keepalives := 0
	for _, s := range n.a.sent {
		if len(s.Data) == 1 && s.Data[0] == 0xff {
			keepalives++
		}
	}
	if keepalives < 2 || keepalives > 3 {
		t.Errorf("%d NAT keepalives in a minute, want one every 20 s", keepalives)
	}
	// The profile's `nat keepalive` overrides the global interval.
	pa.Profile.NATKeepalive = 5 * time.Second
	n.start(n.a, pa)
	n.runFor(time.Second)
	before := len(n.a.sent)
	n.runFor(time.Minute)
	keepalives = 0
	for _, s := range n.a.sent[before:] {
		if len(s.Data) == 1 && s.Data[0] == 0xff {
			keepalives++
		}
	}
	if keepalives < 11 || keepalives > 13 {
		t.Errorf("%d NAT keepalives in a minute with nat keepalive 5", keepalives)
	}
	// The NAT forgets the mapping; A's next request comes from a new port.
	n.natPort = 30000
	pa.Lifetime = 5 * time.Minute // force a rekey from A soon
	n.start(n.a, pa)
	n.runFor(20 * time.Minute)
	moved := actionsOf[ike.PeerMoved](n.b.actions)
	if len(moved) == 0 || moved[len(moved)-1].Remote.Port() != 34500 {
		t.Errorf("B followed the NAT: %v\n%s", moved, n.b.logText())
	}
}

// TestStop: stopping A's tunnel deletes the pair at both ends.
func TestStop(t *testing.T) {
	n := newNet(t, nil, nil)
	n.runFor(time.Second)
	n.checkPaired()
	n.take(n.a, n.a.e.Stop(n.now, "Tunnel0"))
	n.runFor(time.Second)
	if len(n.a.installed()) != 0 || len(n.b.installed()) != 0 {
		t.Errorf("pairs left: A %d, B %d", len(n.a.installed()), len(n.b.installed()))
	}
}

// TestRekeyCollision: both ends rekey the CHILD_SA at the same instant
// (RFC 7296 section 2.8.1): the redundant new CHILD_SA is deleted by its
// creator, the old one too, and both ends keep the same single pair.
func TestRekeyCollision(t *testing.T) {
	n := newNet(t, nil, nil)
	n.runFor(time.Minute)
	n.checkPaired()
	spiA, spiB := n.a.installed()[0].In.SPI, n.b.installed()[0].In.SPI
	n.take(n.a, n.a.e.Rekey(n.now, "Tunnel0", spiA))
	n.take(n.b, n.b.e.Rekey(n.now, "Tunnel0", spiB))
	for _, x := range []*node{n.a, n.b} {
		if !slices.Contains(x.exchanges(), "CREATE_CHILD_SA") {
			t.Fatalf("%s did not rekey", x.name)
		}
	}
	n.runFor(2 * time.Minute)
	n.checkPaired()
	if l := len(n.a.installed()); l != 1 {
		t.Fatalf("A holds %d pairs after a rekey collision\n%s%s", l, n.a.logText(), n.b.logText())
	}
	if n.a.installed()[0].In.SPI == spiA {
		t.Error("the old pair survived")
	}
	if len(actionsOf[ike.SessionDown](n.a.actions)) != 0 {
		t.Error("the session went down")
	}
}

// TestIKERekeyCollision: both ends rekey the IKE SA at once (RFC 7296
// section 2.8.2): one new IKE SA survives at both ends, with the CHILD_SA.
func TestIKERekeyCollision(t *testing.T) {
	n := newNet(t, nil, nil)
	n.runFor(time.Minute)
	for _, x := range []*node{n.a, n.b} {
		x.e.peers[peerKey{x.addr, n.other(x).addr}].best().rekeyAt = n.now
	}
	n.take(n.a, n.a.e.Tick(n.now))
	n.take(n.b, n.b.e.Tick(n.now))
	for _, x := range []*node{n.a, n.b} {
		if !slices.Contains(x.exchanges(), "CREATE_CHILD_SA") {
			t.Fatalf("%s did not rekey", x.name)
		}
	}
	n.runFor(5 * time.Minute)
	n.checkPaired()
	var spis [][8]byte
	for _, x := range []*node{n.a, n.b} {
		p := x.e.peers[peerKey{x.addr, n.other(x).addr}]
		if len(p.sas) != 1 {
			t.Fatalf("%s holds %d IKE SAs\n%s%s", x.name, len(p.sas), n.a.logText(), n.b.logText())
		}
		spis = append(spis, p.sas[0].spiI)
	}
	if spis[0] != spis[1] {
		t.Errorf("A kept IKE SA %x, B %x", spis[0], spis[1])
	}
	// The survivor works: a CHILD_SA rekey over it.
	spiA := n.a.installed()[0].In.SPI
	n.take(n.a, n.a.e.Rekey(n.now, "Tunnel0", spiA))
	n.runFor(time.Minute)
	n.checkPaired()
	if n.a.installed()[0].In.SPI == spiA {
		t.Errorf("no CHILD_SA rekey over the surviving IKE SA\n%s", n.a.logText())
	}
}

// TestCookie: with as many half-open IKE SAs as cookie-challenge allows,
// the responder answers IKE_SA_INIT with a cookie and keeps no state; the
// initiator repeats its request with it and gets through.
func TestCookie(t *testing.T) {
	pa, pb := protection("Tunnel0", addrA, addrB, profile()), protection("Tunnel0", addrB, addrA, profile())
	pb.Passive = true
	n := &network{t: t, now: t0,
		a: newNode(t, "A", addrA, 1, Config{}),
		b: newNode(t, "B", addrB, 2, Config{CookieThreshold: 1})}
	n.b.e.halfOpen = 1 // as if a spoofed IKE_SA_INIT were pending
	n.start(n.b, pb)
	n.start(n.a, pa)
	n.runFor(time.Second)
	n.checkPaired()
	if want := []string{"IKE_SA_INIT", "IKE_SA_INIT", "IKE_AUTH"}; !slices.Equal(n.a.exchanges(), want) {
		t.Errorf("A sent %v, want %v", n.a.exchanges(), want)
	}
	if got := len(n.b.e.sas); got != 1 {
		t.Errorf("B holds %d IKE SAs", got)
	}
}

// TestMaxInNegotiation: past the limit, IKE_SA_INIT is dropped.
func TestMaxInNegotiation(t *testing.T) {
	pa, pb := protection("Tunnel0", addrA, addrB, profile()), protection("Tunnel0", addrB, addrA, profile())
	pb.Passive = true
	n := &network{t: t, now: t0,
		a: newNode(t, "A", addrA, 1, Config{}),
		b: newNode(t, "B", addrB, 2, Config{MaxInNegotiation: 1})}
	n.b.e.halfOpen = 1
	n.start(n.b, pb)
	n.start(n.a, pa)
	n.runFor(time.Second)
	if len(n.b.exchanges()) != 0 || !n.b.logged("max-in-negotiation-sa") {
		t.Errorf("B answered %v\n%s", n.b.exchanges(), n.b.logText())
	}
}

// TestSnapshot: the views' rows of an established tunnel.
func TestSnapshot(t *testing.T) {
	pr := profile()
	pr.DPD = &config.DPD{Interval: 10 * time.Second, Retry: 3 * time.Second, Periodic: true}
	pa, pb := protection("Tunnel0", addrA, addrB, pr), protection("Tunnel0", addrB, addrA, pr)
	pb.Passive = true
	n := newNet(t, &pa, &pb)
	n.runFor(2 * time.Minute)
	s := n.a.e.Snapshot(n.now)
	if len(s.SAs) != 1 || len(s.IPsec) != 1 || len(s.Sessions) != 1 {
		t.Fatalf("snapshot %+v", s)
	}
	sa := s.SAs[0]
	if sa.Status != "READY" || sa.Encryption != "AES-CBC" || sa.KeyBits != 256 || sa.PRF != "SHA256" || sa.Hash != "SHA256" ||
		sa.Group != 19 || !sa.Initiator || sa.Active < time.Minute || sa.Lifetime != 24*time.Hour || sa.Children != 1 ||
		sa.DPDInterval != 10*time.Second || sa.LocalID != "192.0.2.1" {
		t.Errorf("IKE SA row %+v", sa)
	}
	if ip := s.IPsec[0]; ip.Mode != "Transport" || ip.Transform != "esp-256-aes esp-sha384-hmac" || !ip.Current {
		t.Errorf("IPsec row %+v", ip)
	}
	if ss := s.Sessions[0]; ss.Status != "UP-ACTIVE" || ss.ISAKMPSAs != 1 || ss.ActiveSAs != 2 {
		t.Errorf("session row %+v", ss)
	}
}

// TestSpoofedInitFlood: a flood of IKE_SA_INIT requests from a tunnel's
// destination address, each with a new SPI (as a spoofer sends them):
// with cookie-challenge 10, B keeps ten half-open IKE SAs and answers the
// rest with a stateless cookie; without, it stops at the
// max-in-negotiation limit; the half-open SAs time out, and the real peer
// gets through afterwards.
func TestSpoofedInitFlood(t *testing.T) {
	for _, cfg := range []Config{{CookieThreshold: 10}, {MaxInNegotiation: 50}} {
		pa, pb := protection("Tunnel0", addrA, addrB, profile()), protection("Tunnel0", addrB, addrA, profile())
		pb.Passive = true
		n := &network{t: t, now: t0, a: newNode(t, "A", addrA, 1, Config{}), b: newNode(t, "B", addrB, 2, cfg)}
		n.start(n.b, pb)
		n.start(n.a, pa)
		init := n.queue[0].d
		n.queue = nil
		cookies, answers := 0, 0
		for i := range 2000 {
			d := init
			d.Data = slices.Clone(init.Data)
			d.Data[0], d.Data[1], d.Data[2] = byte(i>>16), byte(i>>8), byte(i)
			for _, a := range n.b.e.Receive(n.now, d) {
				if s, ok := a.(ike.Send); ok {
					answers++
					if m, err := wire.Decode(s.Data); err == nil && len(m.Payloads) == 1 {
						if nt, ok := m.Payloads[0].(*wire.Notify); ok && nt.Type == wire.NotifyCookie {
							cookies++
						}
					}
				}
			}
		}
		limit := max(cfg.CookieThreshold, cfg.MaxInNegotiation)
		if n.b.e.halfOpen != limit || len(n.b.e.sas) != limit {
			t.Errorf("%+v: %d half-open, %d IKE SAs kept, want %d", cfg, n.b.e.halfOpen, len(n.b.e.sas), limit)
		}
		if cfg.CookieThreshold > 0 && cookies != 2000-limit {
			t.Errorf("%d cookies for %d requests past the threshold", cookies, 2000-limit)
		}
		if cfg.MaxInNegotiation > 0 && answers != limit {
			t.Errorf("%d answers past the limit of %d", answers, limit)
		}
		n.runFor(time.Minute)
		if n.b.e.halfOpen > 1 {
			t.Errorf("%+v: %d half-open after a minute", cfg, n.b.e.halfOpen)
		}
		n.runFor(5 * time.Minute)
		n.checkPaired()
	}
}

// TestIPv6Peers: IKEv2 between IPv6 endpoints: ID_IPV6_ADDR identities,
// NAT detection over 16-octet addresses, IPv6 traffic selectors for GRE.
func TestIPv6Peers(t *testing.T) {
	a6, b6 := netip.MustParseAddr("2001:db8:ffff::1"), netip.MustParseAddr("2001:db8:ffff::2")
	pr := profile()
	pr.RemoteID = []config.IKEv2IdentityMatch{{Kind: config.MatchAddress, Prefix: netip.MustParsePrefix("::/0")}}
	pa, pb := protection("Tunnel0", a6, b6, pr), protection("Tunnel0", b6, a6, pr)
	pb.Passive = true
	n := &network{t: t, now: t0, a: newNode(t, "A", a6, 1, Config{}), b: newNode(t, "B", b6, 2, Config{})}
	n.start(n.a, pa)
	n.start(n.b, pb)
	n.runFor(time.Second)
	n.checkPaired()
	if p := n.a.installed()[0]; p.Local != a6 || p.Remote != b6 || p.Encap != nil {
		t.Errorf("A installed %+v", p)
	}
	if s := n.a.e.Snapshot(n.now).SAs[0]; s.LocalID != a6.String() || s.Status != "READY" {
		t.Errorf("SA row %+v", s)
	}
}

// TestPeerRestart: B loses all state (a restart: a new engine with the
// same configuration) while A holds the IKE SA and the pair. B initiates
// afresh with INITIAL_CONTACT; A drops its stale IKE SA and pair at once
// and both end with one mirrored pair, without waiting for a lifetime or
// dead peer detection.
func TestPeerRestart(t *testing.T) {
	n := newNet(t, nil, nil)
	n.runFor(time.Minute)
	n.checkPaired()
	stale := n.a.installed()[0].In.SPI
	pb := protection("Tunnel0", addrB, addrA, profile())
	n.b = newNode(t, "B", addrB, 3, Config{KeyLog: true})
	n.start(n.b, pb)
	n.runFor(time.Second)
	n.checkPaired()
	if got := n.a.installed(); len(got) != 1 || got[0].In.SPI == stale {
		t.Errorf("A holds %d pairs after the restart (stale %08x kept: %v)\n%s", len(got), stale, len(got) > 0 && got[0].In.SPI == stale, n.a.logText())
	}
	if !n.a.logged("initial contact from the peer") {
		t.Errorf("A did not act on INITIAL_CONTACT:\n%s", n.a.logText())
	}
	if got := len(n.a.e.peers[peerKey{addrA, addrB}].sas); got != 1 {
		t.Errorf("A holds %d IKE SAs", got)
	}
}
