package ike

import (
	"bytes"
	"crypto/sha256"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/gresec/gresec/internal/config"
	"github.com/gresec/gresec/internal/isakmp"
)

// oneWay sets up A as initiator and B as passive responder.
func oneWay(t *testing.T, cfgA, cfgB Config) (*network, *node, *node) {
	n, a, b := pair(t, cfgA, cfgB)
	pb := protect(addrB, addrA)
	pb.Passive = true
	n.start(b, pb)
	n.start(a, protect(addrA, addrB))
	return n, a, b
}

func TestWrongPSK(t *testing.T) {
	cfgB := refConfig()
	cfgB.PSK = pskAll("WrongPassword")
	for _, aStarts := range []bool{true, false} {
		n, a, b := pair(t, refConfig(), cfgB)
		pa, pb := protect(addrA, addrB), protect(addrB, addrA)
		pa.Passive, pb.Passive = !aStarts, aStarts
		n.start(a, pa)
		n.start(b, pb)
		n.run(10 * time.Minute)
		for _, nd := range []*node{a, b} {
			if len(nd.installs()) != 0 {
				t.Fatalf("%s installed an SA pair with a wrong key", nd.name)
			}
			if s := nd.e.Snapshot(n.now); slices.ContainsFunc(s.ISAKMP, func(r ISAKMPSA) bool { return r.Status == "ACTIVE" }) {
				t.Fatalf("%s: established ISAKMP SA with a wrong key: %+v", nd.name, s.ISAKMP)
			}
		}
		initiator, responder := a, b
		if !aStarts {
			initiator, responder = b, a
		}
		if !responder.logged("pre-shared key mismatch with " + initiator.addr.String() + "?") {
			t.Errorf("responder did not log the likely cause naming the peer")
		}
		if !initiator.logged("pre-shared key mismatch with " + responder.addr.String() + "?") {
			t.Errorf("initiator did not log the likely cause naming the peer")
		}
		// The initiator gives up at once on the responder's notification and
		// backs off; no more than a handful of attempts in ten minutes.
		if mm1 := countMM1(initiator); mm1 < 3 || mm1 > 12 {
			t.Errorf("initiator started %d Main Modes in 10 minutes", mm1)
		}
	}
}

// countMM1 counts the Main Modes a node started (distinct MM1s).
func countMM1(nd *node) int {
	seen := map[[8]byte]bool{}
	for _, ts := range nd.sends {
		if h, ok := ikeHeader(ts.s); ok && h.Exchange == isakmp.ExchangeMainMode && h.ResponderCookie == [8]byte{} {
			seen[h.InitiatorCookie] = true
		}
	}
	return len(seen)
}

// TestRetransmitGiveUp runs an hour against a peer that never answers.
func TestRetransmitGiveUp(t *testing.T) {
	n := newNetwork(t)
	a := n.add("A", addrA, refConfig())
	n.start(a, protect(addrA, addrB))
	n.run(time.Hour)
	mm := a.sendsOf(isakmp.ExchangeMainMode)
	want := []time.Duration{0, 2 * time.Second, 6 * time.Second, 14 * time.Second, 30 * time.Second, 62 * time.Second}
	for i, w := range want {
		if mm[i].Sub(t0) != w {
			t.Fatalf("message %d sent at %v, want %v (all: %v)", i, mm[i].Sub(t0), w, mm[:8])
		}
	}
	// Attempt k starts after the give-up at 94 s plus the back-off.
	if got := mm[6].Sub(t0); got != 99*time.Second {
		t.Errorf("second attempt at %v, want 99s", got)
	}
	attempts := countMM1(a)
	if attempts < 8 || attempts > 20 {
		t.Errorf("%d attempts in an hour", attempts)
	}
	// Back-off grows and is capped at 5 minutes: the last gaps between
	// attempts are 94 s of retransmissions plus 300 s.
	var starts []time.Time
	seen := map[[8]byte]bool{}
	for _, ts := range a.sends {
		h, _ := ikeHeader(ts.s)
		if !seen[h.InitiatorCookie] {
			seen[h.InitiatorCookie] = true
			starts = append(starts, ts.at)
		}
	}
	last := starts[len(starts)-1].Sub(starts[len(starts)-2])
	if last != 394*time.Second {
		t.Errorf("gap between the last attempts %v, want 394s", last)
	}
	if !a.logged("giving up") {
		t.Error("no give-up logged")
	}
	if len(a.installs()) != 0 {
		t.Error("installed an SA without a peer")
	}
}

// dropNth drops the k-th (from 1) message of exchange x that node name
// sends.
func dropNth(name string, x isakmp.ExchangeType, k int) func(*node, Send) bool {
	count := 0
	return func(from *node, s Send) bool {
		h, ok := ikeHeader(s)
		if !ok || from.name != name || h.Exchange != x {
			return false
		}
		count++
		return count == k
	}
}

func TestLostPackets(t *testing.T) {
	mm, qm := isakmp.ExchangeMainMode, isakmp.ExchangeQuickMode
	for _, c := range []struct {
		name string
		from string
		x    isakmp.ExchangeType
		k    int
	}{
		{"MM1", "A", mm, 1}, {"MM2", "B", mm, 1}, {"MM3", "A", mm, 2}, {"MM4", "B", mm, 2},
		{"MM5", "A", mm, 3}, {"MM6", "B", mm, 3}, {"QM1", "A", qm, 1}, {"QM2", "B", qm, 1}, {"QM3", "A", qm, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			n, a, b := oneWay(t, refConfig(), refConfig())
			n.drop = dropNth(c.from, c.x, c.k)
			n.run(2 * time.Minute)
			established(t, a, b)
			if len(a.installs()) != 1 || len(b.installs()) != 1 {
				t.Errorf("installs: A %d, B %d", len(a.installs()), len(b.installs()))
			}
		})
	}
}

// TestSimultaneous starts both ends at every point of the other's
// exchange: they converge on one ISAKMP SA and one SA pair.
func TestSimultaneous(t *testing.T) {
	for k := 0; k <= 12; k++ {
		n, a, b := pair(t, refConfig(), refConfig())
		n.start(a, protect(addrA, addrB))
		for i := 0; i < k && len(n.queue) > 0; i++ {
			n.step()
		}
		n.start(b, protect(addrB, addrA))
		n.run(time.Minute)
		established(t, a, b)
		sa, sb := a.e.Snapshot(n.now), b.e.Snapshot(n.now)
		if len(sa.ISAKMP) != 1 || len(sb.ISAKMP) != 1 || sa.ISAKMP[0].InitiatorCookie != sb.ISAKMP[0].InitiatorCookie {
			t.Fatalf("k=%d: ISAKMP SAs A %+v B %+v", k, sa.ISAKMP, sb.ISAKMP)
		}
		for _, nd := range []*node{a, b} {
			if len(nd.sessionUps()) != 1 || len(actionsOf[SessionDown](nd.actions)) != 0 {
				t.Fatalf("k=%d: %s: session went up %d times, down %d times", k, nd.name,
					len(nd.sessionUps()), len(actionsOf[SessionDown](nd.actions)))
			}
		}
	}
}

// TestRekey runs short lifetimes: SA pairs and ISAKMP SAs are replaced
// before they expire, the new pair is installed before the old one is
// deleted, and the tunnel never goes down.
func TestRekey(t *testing.T) {
	pol := refPolicy()
	pol.Lifetime = 2 * time.Minute
	cfg := refConfig()
	cfg.Policies = []config.ISAKMPPolicy{pol}
	for _, both := range []bool{false, true} {
		n, a, b := pair(t, cfg, cfg)
		pa, pb := protect(addrA, addrB), protect(addrB, addrA)
		pa.Lifetime, pb.Lifetime = 2*time.Minute, 2*time.Minute
		pb.Passive = !both
		n.start(a, pa)
		n.start(b, pb)
		n.run(40 * time.Minute)
		n.run(15 * time.Second) // past any overlap
		for _, nd := range []*node{a, b} {
			if d := actionsOf[SessionDown](nd.actions); len(d) != 0 {
				t.Fatalf("both=%v: %s: tunnel went down during rekeying", both, nd.name)
			}
			if len(nd.installs()) < 20 {
				t.Errorf("both=%v: %s: %d SA pairs in 40 minutes with 2-minute lifetimes", both, nd.name, len(nd.installs()))
			}
			// Make-before-break: from the first install on, something is
			// always installed, and every deleted pair had a successor.
			live := 0
			for _, act := range nd.actions {
				switch act.(type) {
				case InstallPair:
					live++
				case DeletePair:
					live--
					if live < 1 {
						t.Fatalf("both=%v: %s: deleted the last SA pair", both, nd.name)
					}
				}
			}
			if nd.logged("lifetime expired") {
				t.Errorf("both=%v: %s: an SA expired instead of being rekeyed", both, nd.name)
			}
		}
		established(t, a, b)
		// Phase 1 was rekeyed too, and the old ISAKMP SAs deleted.
		if countMM1(a)+countMM1(b) < 16 {
			t.Errorf("both=%v: only %d Main Modes in 40 minutes with 2-minute lifetimes", both, countMM1(a)+countMM1(b))
		}
		for _, nd := range []*node{a, b} {
			if s := nd.e.Snapshot(n.now); len(s.ISAKMP) > 2 {
				t.Errorf("both=%v: %s: %d ISAKMP SAs", both, nd.name, len(s.ISAKMP))
			}
		}
	}
}

func TestDelete(t *testing.T) {
	// A has a key for B of its own, so that it still answers B's Main
	// Mode once it no longer has a tunnel to B.
	cfgA := refConfig()
	cfgA.KeyedPeer = func(netip.Addr) bool { return true }
	n, a, b := pair(t, cfgA, refConfig())
	n.start(a, protect(addrA, addrB))
	pb := protect(addrB, addrA)
	n.start(b, pb)
	n.run(time.Minute)
	established(t, a, b)
	n.record(a, a.e.Stop(n.now, "Tunnel0"))
	n.run(time.Second)
	if len(a.installed()) != 0 || len(b.installed()) != 0 {
		t.Fatalf("after Stop: A %d, B %d pairs", len(a.installed()), len(b.installed()))
	}
	for _, nd := range []*node{a, b} {
		if len(actionsOf[SessionDown](nd.actions)) != 1 {
			t.Errorf("%s: no SessionDown", nd.name)
		}
	}
	if !b.logged("IPsec SA pair deleted") || !b.logged("ISAKMP SA (conn-id") || !b.logged("deleted by peer") {
		t.Error("B did not honour the DELETEs")
	}
	// B still wants protection: A answers its Quick Mode with
	// INVALID-ID-INFORMATION, and B backs off.
	n.run(2 * time.Minute)
	if len(b.installed()) != 0 {
		t.Fatal("B got an SA pair from a peer without the tunnel")
	}
	if !b.logged("refused Quick Mode with INVALID-ID-INFORMATION") {
		t.Error("B did not log the refusal")
	}
}

func TestInitialContact(t *testing.T) {
	n, a, b := pair(t, refConfig(), refConfig())
	n.start(a, protect(addrA, addrB))
	n.start(b, protect(addrB, addrA))
	n.run(time.Minute)
	_, oldB := established(t, a, b)
	// A restarts: a new engine, same address, knows nothing.
	a.e, _ = New(quiet(refConfig()))
	a.actions = nil
	n.run(time.Second) // A is silent; B keeps its stale SAs
	n.start(a, protect(addrA, addrB))
	n.run(time.Minute)
	if !b.logged("INITIAL-CONTACT: flushed") {
		t.Error("B did not flush on INITIAL-CONTACT")
	}
	if !slices.ContainsFunc(b.deletes(), func(d DeletePair) bool { return d.InSPI == oldB.In.SPI }) {
		t.Error("B kept the stale SA pair")
	}
	established(t, a, b)
	if s := b.e.Snapshot(n.now); len(s.ISAKMP) != 1 {
		t.Errorf("B has %d ISAKMP SAs", len(s.ISAKMP))
	}
}

func dpdConfig(periodic bool) Config {
	c := refConfig()
	c.DPD = &config.DPD{Interval: 10 * time.Second, Retry: 2 * time.Second, Periodic: periodic}
	return c
}

// TestDPD: a healthy peer answers R-U-THERE; a dead one is declared dead
// after five retries, its SAs deleted, and protection starts again.
func TestDPD(t *testing.T) {
	for _, periodic := range []bool{true, false} {
		n, a, b := oneWay(t, dpdConfig(periodic), refConfig())
		n.run(time.Minute)
		established(t, a, b)
		first := len(a.sendsOf(isakmp.ExchangeInformational))
		firstAcks := len(b.sendsOf(isakmp.ExchangeInformational))
		n.run(5 * time.Minute)
		if len(actionsOf[PeerDead](a.actions)) != 0 {
			t.Fatalf("periodic=%v: a healthy peer was declared dead", periodic)
		}
		probes := len(a.sendsOf(isakmp.ExchangeInformational)) - first
		if probes < 28 || probes > 32 {
			t.Errorf("periodic=%v: %d R-U-THERE in 5 minutes with a 10 s interval", periodic, probes)
		}
		if got := len(b.sendsOf(isakmp.ExchangeInformational)) - firstAcks; got != probes {
			t.Errorf("periodic=%v: %d R-U-THERE-ACK for %d R-U-THERE", periodic, got, probes)
		}
		// B dies.
		n.drop = func(from *node, _ Send) bool { return from == b }
		before := len(a.sendsOf(isakmp.ExchangeInformational))
		died := n.now
		n.run(time.Minute)
		dead := actionsOf[PeerDead](a.actions)
		if len(dead) != 1 || dead[0].Remote != addrB {
			t.Fatalf("periodic=%v: PeerDead %+v", periodic, dead)
		}
		if got := len(a.sendsOf(isakmp.ExchangeInformational)) - before; got != 6 {
			t.Errorf("periodic=%v: %d R-U-THERE to the dead peer, want 1 + 5 retries", periodic, got)
		}
		if len(a.installed()) != 0 || len(actionsOf[SessionDown](a.actions)) != 1 {
			t.Errorf("periodic=%v: SAs of the dead peer not removed", periodic)
		}
		// Re-initiation follows at once.
		mm := a.sendsOf(isakmp.ExchangeMainMode)
		if last := mm[len(mm)-1]; !last.After(died.Add(20 * time.Second)) {
			t.Errorf("periodic=%v: no new Main Mode after the peer died", periodic)
		}
		// The peer comes back: protection recovers.
		n.drop = nil
		n.run(10 * time.Minute)
		if len(a.installed()) != 1 {
			t.Errorf("periodic=%v: no recovery after the peer returned", periodic)
		}
	}
}

// TestDPDOnDemand: with traffic from the peer, on-demand DPD stays quiet.
func TestDPDOnDemand(t *testing.T) {
	n, a, b := oneWay(t, dpdConfig(false), refConfig())
	n.run(time.Minute)
	established(t, a, b)
	before := len(a.sendsOf(isakmp.ExchangeInformational))
	for range 60 {
		n.run(5 * time.Second)
		n.record(a, a.e.DataplaneActivity(n.now, "Tunnel0"))
	}
	if got := len(a.sendsOf(isakmp.ExchangeInformational)) - before; got != 0 {
		t.Errorf("%d R-U-THERE while traffic flowed", got)
	}
}

func TestNoProposalChosen(t *testing.T) {
	n, a, b := pair(t, refConfig(), refConfig())
	pb := protect(addrB, addrA) // AES-256/SHA-384
	pb.Passive = true
	n.start(b, pb)
	weak := config.TransformSet{Name: "OTHER", Cipher: config.ESPAESCBC, KeyBits: 128, Integrity: config.IntegritySHA1, Mode: config.ModeTransport}
	n.start(a, protect(addrA, addrB, weak))
	n.run(3 * time.Minute)
	if len(a.installs()) != 0 || len(b.installs()) != 0 {
		t.Fatal("installed an SA pair without a common proposal")
	}
	if !a.logged("refused Quick Mode with NO-PROPOSAL-CHOSEN") {
		t.Error("A did not log the peer's refusal")
	}
	if !b.logged("no acceptable Quick Mode proposal") {
		t.Error("B did not log why it refused")
	}
	qm := a.sendsOf(isakmp.ExchangeQuickMode)
	if len(qm) < 4 || len(qm) > 8 {
		t.Fatalf("%d Quick Mode attempts in 3 minutes", len(qm))
	}
	for i := 2; i < len(qm); i++ {
		if qm[i].Sub(qm[i-1]) <= qm[i-1].Sub(qm[i-2]) {
			t.Errorf("no back-off between attempts: %v", qm)
		}
	}
	// Adding a common transform set on B fixes it at the next attempt.
	pb.TransformSets = append(pb.TransformSets, weak)
	n.start(b, pb)
	n.run(10 * time.Minute)
	established(t, a, b)
}

// TestNATTraversal puts A behind a NAT that rewrites ports: NAT-D detects
// it, IKE floats to 4500, ESP goes in UDP to the rewritten port, and A
// (only A) sends keepalives.
func TestNATTraversal(t *testing.T) {
	inside, outside := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("198.51.100.1")
	for _, aStarts := range []bool{true, false} {
		n := newNetwork(t)
		n.nat = &natBox{inside: inside, outside: outside, rewrite: true}
		a := n.add("A", inside, refConfig())
		b := n.add("B", addrB, refConfig())
		pa, pb := protect(inside, addrB), protect(addrB, outside)
		pa.Passive, pb.Passive = !aStarts, aStarts
		n.start(a, pa)
		n.start(b, pb)
		n.run(2 * time.Minute)
		ia, ib := established(t, a, b)
		if ia.Encap == nil || *ia.Encap != (UDPEncap{LocalPort: 4500, RemotePort: 4500}) {
			t.Errorf("aStarts=%v: A's encapsulation %+v", aStarts, ia.Encap)
		}
		if ib.Encap == nil || *ib.Encap != (UDPEncap{LocalPort: 4500, RemotePort: 24500}) {
			t.Errorf("aStarts=%v: B's encapsulation %+v", aStarts, ib.Encap)
		}
		sa := a.e.Snapshot(n.now).ISAKMP[0]
		if !sa.NATT || !sa.LocalBehindNAT || sa.RemoteBehindNAT {
			t.Errorf("aStarts=%v: A's view of the NAT %+v", aStarts, sa)
		}
		keepalives := func(nd *node) int {
			c := 0
			for _, s := range nd.sends {
				if len(s.s.Data) == 1 && s.s.Data[0] == 0xff {
					c++
				}
			}
			return c
		}
		if k := keepalives(a); k < 5 || k > 6 {
			t.Errorf("aStarts=%v: A sent %d keepalives in 2 minutes", aStarts, k)
		}
		if k := keepalives(b); k != 0 {
			t.Errorf("aStarts=%v: B, not behind a NAT, sent %d keepalives", aStarts, k)
		}
	}
}

func TestClear(t *testing.T) {
	n, a, b := pair(t, refConfig(), refConfig())
	n.start(a, protect(addrA, addrB))
	n.start(b, protect(addrB, addrA))
	n.run(time.Minute)
	old, _ := established(t, a, b)
	n.record(a, a.e.ClearSessions(n.now))
	n.run(time.Minute)
	ia, _ := established(t, a, b)
	if ia.In.SPI == old.In.SPI {
		t.Error("clear crypto session kept the SA pair")
	}
	n.record(a, a.e.ClearISAKMP(n.now))
	n.run(time.Minute)
	if got, _ := established(t, a, b); got.In.SPI != ia.In.SPI {
		t.Error("clear crypto isakmp replaced the SA pair")
	}
	if s := b.e.Snapshot(n.now); len(s.ISAKMP) != 1 || s.ISAKMP[0].Status != "ACTIVE" {
		t.Errorf("after clear crypto isakmp: B's ISAKMP SAs %+v", s.ISAKMP)
	}
}

// TestResponderLifetime: a responder with a shorter SA lifetime uses it and
// tells the initiator with RESPONDER-LIFETIME (RFC 2407 4.6.3.1).
func TestResponderLifetime(t *testing.T) {
	n, a, b := pair(t, refConfig(), refConfig())
	pb := protect(addrB, addrA)
	pb.Passive, pb.Lifetime, pb.LifetimeKB = true, 30*time.Minute, 1000
	n.start(b, pb)
	n.start(a, protect(addrA, addrB))
	n.run(time.Minute)
	ia, ib := established(t, a, b)
	for _, i := range []InstallPair{ia, ib} {
		if i.Lifetime != 30*time.Minute || i.LifetimeKB != 1000 {
			t.Errorf("lifetime %v / %d KB, want 30m / 1000", i.Lifetime, i.LifetimeKB)
		}
	}
}

// TestRekeyNow: the data plane's soft volume limit (Rekey) replaces the
// pair at once, make-before-break.
func TestRekeyNow(t *testing.T) {
	n, a, b := oneWay(t, refConfig(), refConfig())
	n.run(time.Minute)
	old, _ := established(t, a, b)
	n.record(a, a.e.Rekey(n.now, "Tunnel0", a.sending("Tunnel0", n.now)))
	n.run(time.Second)
	if len(a.installed()) != 2 {
		t.Fatalf("%d pairs during the overlap, want 2", len(a.installed()))
	}
	n.run(time.Minute)
	ia, _ := established(t, a, b)
	if ia.In.SPI == old.In.SPI {
		t.Error("Rekey did not replace the pair")
	}
	if len(actionsOf[SessionDown](a.actions)) != 0 {
		t.Error("the tunnel went down")
	}
}

func TestIPv6(t *testing.T) {
	a6, b6 := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	n := newNetwork(t)
	a := n.add("A", a6, refConfig())
	b := n.add("B", b6, refConfig())
	n.start(a, protect(a6, b6))
	n.start(b, protect(b6, a6))
	n.run(time.Minute)
	ia, ib := established(t, a, b)
	// The NAT-D hashes of the 16-byte addresses match on both sides: no
	// NAT, so ESP goes straight over IPv6, not in UDP.
	if ia.Encap != nil || ib.Encap != nil {
		t.Errorf("UDP encapsulation between IPv6 peers without a NAT: %+v %+v", ia.Encap, ib.Encap)
	}
	if ia.Local != a6 || ia.Remote != b6 {
		t.Errorf("A's pair runs %s -> %s", ia.Local, ia.Remote)
	}
}

// TestNATDHashIPv6: a NAT-D hash over an IPv6 address hashes its 16
// bytes (RFC 3947 section 3.2), computed here independently.
func TestNATDHashIPv6(t *testing.T) {
	h, _ := hashByID(isakmp.HashSHA256)
	ckyI, ckyR := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}, [8]byte{9, 10, 11, 12, 13, 14, 15, 16}
	ap := netip.MustParseAddrPort("[2001:db8::1]:500")
	want := sha256.Sum256(append(append(append(ckyI[:], ckyR[:]...), ap.Addr().AsSlice()...), 0x01, 0xf4))
	if got := natdHash(h, ckyI, ckyR, ap); !bytes.Equal(got, want[:]) {
		t.Errorf("natdHash = %x, want %x", got, want)
	}
	// detectNAT sees no NAT when the peer hashed the same addresses...
	peer := netip.MustParseAddrPort("[2001:db8::2]:500")
	natds := []*isakmp.NATD{{Hash: natdHash(h, ckyI, ckyR, ap)}, {Hash: natdHash(h, ckyI, ckyR, peer)}}
	if l, r := detectNAT(h, ckyI, ckyR, natds, ap, peer); l || r {
		t.Errorf("detectNAT(same addresses) = %v, %v", l, r)
	}
	// ...and one when the address we are seen from differs.
	if l, _ := detectNAT(h, ckyI, ckyR, natds, netip.MustParseAddrPort("[2001:db8::9]:500"), peer); !l {
		t.Error("detectNAT missed a changed IPv6 address")
	}
}

func TestNegotiatingView(t *testing.T) {
	n := newNetwork(t)
	a := n.add("A", addrA, refConfig())
	n.start(a, protect(addrA, addrB))
	s := a.e.Snapshot(n.now)
	if len(s.ISAKMP) != 1 || s.ISAKMP[0].State != "MM_NO_STATE" || s.ISAKMP[0].Status != "" ||
		s.ISAKMP[0].Dst != addrB || s.ISAKMP[0].Src != addrA {
		t.Errorf("ISAKMP view while negotiating: %+v", s.ISAKMP)
	}
	if len(s.Sessions) != 1 || s.Sessions[0].Status != "DOWN-NEGOTIATING" {
		t.Errorf("session view: %+v", s.Sessions)
	}
}

// TestNATRebinding: the NAT in front of A loses its mapping and makes a
// new one with other ports. B learns A's new port from the first
// authenticated message (A's periodic R-U-THERE), moves its ISAKMP SA and
// its ESP-in-UDP SA pair there (PeerMoved), and both stay up without a new
// negotiation. A datagram from the new port that does not authenticate
// moves nothing.
func TestNATRebinding(t *testing.T) {
	inside, outside := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("198.51.100.1")
	n := newNetwork(t)
	n.nat = &natBox{inside: inside, outside: outside, rewrite: true}
	a := n.add("A", inside, dpdConfig(true))
	b := n.add("B", addrB, dpdConfig(true))
	pa, pb := protect(inside, addrB), protect(addrB, outside)
	pb.Passive = true
	n.start(a, pa)
	n.start(b, pb)
	n.run(time.Minute)
	_, ib := established(t, a, b)
	if ib.Encap == nil || ib.Encap.RemotePort != 24500 {
		t.Fatalf("B's encapsulation before the move: %+v", ib.Encap)
	}
	installsA, installsB := len(a.installs()), len(b.installs())

	// A forged datagram from the new port: B's cookies, garbage body.
	before := len(b.actions)
	bogus := make([]byte, 4+28+48)
	copy(bogus[4:], a.sends[len(a.sends)-1].s.Data[4:4+16]) // the cookies
	bogus[4+16] = byte(isakmp.PayloadHash)
	bogus[4+17] = 0x10
	bogus[4+18] = byte(isakmp.ExchangeInformational)
	bogus[4+19] = 1 // encrypted
	bogus[4+23] = 7 // message ID
	bogus[4+27] = byte(len(bogus) - 4)
	n.record(b, b.e.Receive(n.now, Datagram{
		Local: netip.AddrPortFrom(addrB, NATTPort), Remote: netip.AddrPortFrom(outside, 34500), Data: bogus,
	}))
	if m := actionsOf[PeerMoved](b.actions[before:]); len(m) != 0 {
		t.Fatalf("an unauthenticated datagram moved the peer: %+v", m)
	}

	n.nat.base = 30000 // the NAT forgets the mapping: 4500 -> 34500 now
	n.run(30 * time.Second)
	moved := actionsOf[PeerMoved](b.actions[before:])
	want := PeerMoved{Tunnel: pb.Name, Remote: netip.AddrPortFrom(outside, 34500), Encap: UDPEncap{LocalPort: 4500, RemotePort: 34500}}
	if len(moved) != 1 || moved[0] != want {
		t.Fatalf("PeerMoved actions %+v, want one %+v", moved, want)
	}
	if m := actionsOf[PeerMoved](a.actions); len(m) != 0 {
		t.Errorf("A, whose peer did not move, reported %+v", m)
	}
	if len(a.installs()) != installsA || len(b.installs()) != installsB || len(b.deletes()) != 0 {
		t.Errorf("the move renegotiated: installs %d/%d -> %d/%d, B deletes %d",
			installsA, installsB, len(a.installs()), len(b.installs()), len(b.deletes()))
	}
	if !b.logged("NAT mapping changed") {
		t.Errorf("B did not log the move")
	}
	// B's own messages now go to the new port, and DPD keeps both alive.
	n.run(2 * time.Minute)
	last := b.sends[len(b.sends)-1].s
	if last.Remote.Port() != 34500 {
		t.Errorf("B still sends to %v", last.Remote)
	}
	snap := b.e.Snapshot(n.now)
	if len(snap.ISAKMP) != 1 || len(actionsOf[PeerDead](b.actions)) != 0 || len(actionsOf[PeerDead](a.actions)) != 0 {
		t.Errorf("peers declared dead or ISAKMP SAs lost after the move: %+v", snap.ISAKMP)
	}
	for _, c := range snap.IPsec {
		if c.Peer.Port() != 34500 {
			t.Errorf("B's SA pair still shows peer %v", c.Peer)
		}
	}
	if snap.ISAKMP[0].Remote.Port() != 34500 {
		t.Errorf("B's ISAKMP SA still shows peer %v", snap.ISAKMP[0].Remote)
	}
}
