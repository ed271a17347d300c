package ike

import (
	"net/netip"
	"testing"
	"time"

	"github.com/gresec/gresec/internal/isakmp"
)

// infoSends returns the informational messages a node sent from index
// from of its sends on.
func infoSends(nd *node, from int) []Send {
	var out []Send
	for _, ts := range nd.sends[from:] {
		if h, ok := ikeHeader(ts.s); ok && h.Exchange == isakmp.ExchangeInformational {
			out = append(out, ts.s)
		}
	}
	return out
}

// TestReplayKeepsNoDeadPeerAlive: B's R-U-THERE-ACKs captured in its
// first minutes and replayed after more than ten minutes, one every 8 s
// once B has died, do not keep B alive: A declares it dead as without
// them.
func TestReplayKeepsNoDeadPeerAlive(t *testing.T) {
	n, a, b := oneWay(t, quiet(dpdConfig(true)), quiet(refConfig()))
	n.run(5 * time.Minute)
	established(t, a, b)
	captured := infoSends(b, 0)
	if len(captured) < 20 {
		t.Fatalf("only %d informational messages from B", len(captured))
	}
	n.run(11 * time.Minute)
	n.drop = func(from *node, _ Send) bool { return from == b }
	died := n.now
	for _, s := range captured {
		n.run(8 * time.Second)
		n.record(a, a.e.Receive(n.now, Datagram{Local: s.Remote, Remote: s.Local, Data: s.Data}))
		if len(actionsOf[PeerDead](a.actions)) > 0 {
			break
		}
	}
	dead := actionsOf[PeerDead](a.actions)
	if len(dead) != 1 {
		t.Fatalf("B dead since %v, replays every 8 s: PeerDead %+v", n.now.Sub(died), dead)
	}
	if d := n.now.Sub(died); d > 40*time.Second {
		t.Errorf("B declared dead %v after it died", d)
	}
	if !a.logged("replayed informational message ID") {
		t.Error("the replays were not recognised as such")
	}
}

// TestStaleDPDAckNoSignOfLife: an R-U-THERE-ACK that answers an earlier
// probe, not the one under way, proves nothing even under a fresh message
// ID; only B sends it (it holds the keys), and B is otherwise silent.
func TestStaleDPDAckNoSignOfLife(t *testing.T) {
	n, a, b := oneWay(t, quiet(dpdConfig(true)), quiet(refConfig()))
	n.run(time.Minute)
	established(t, a, b)
	pa := a.e.peers[peerKey{addrA, addrB}]
	stale := pa.dpd.firstSeq // answered long ago
	pb := b.e.peers[peerKey{addrB, addrA}]
	n.drop = func(from *node, _ Send) bool { return from == b }
	died := n.now
	for range 30 {
		n.run(2 * time.Second)
		b.e.begin(n.now)
		sa := pb.bestSA()
		b.e.sendInfo(sa, isakmp.DPD(isakmp.NotifyRUThereAck, sa.ckyI, sa.ckyR, stale))
		for _, s := range actionsOf[Send](b.e.finish()) {
			n.record(a, a.e.Receive(n.now, Datagram{Local: s.Remote, Remote: s.Local, Data: s.Data}))
		}
	}
	if dead := actionsOf[PeerDead](a.actions); len(dead) != 1 {
		t.Fatalf("B silent but for stale R-U-THERE-ACKs for %v: PeerDead %+v", n.now.Sub(died), dead)
	}
}

// TestReplayMovesNoPeer: a message A sent through its NAT, captured and
// replayed after more than ten minutes from another port, moves neither
// B's ISAKMP SA nor its SA pair to the attacker's port.
func TestReplayMovesNoPeer(t *testing.T) {
	inside, outside := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("198.51.100.1")
	n := newNetwork(t)
	n.nat = &natBox{inside: inside, outside: outside, rewrite: true}
	a := n.add("A", inside, quiet(dpdConfig(true)))
	b := n.add("B", addrB, quiet(refConfig()))
	pb := protect(addrB, outside)
	pb.Passive = true
	n.start(a, protect(inside, addrB))
	n.start(b, pb)
	n.run(2 * time.Minute)
	established(t, a, b)
	captured := infoSends(a, 0)
	if len(captured) == 0 {
		t.Fatal("A sent no informational message")
	}
	n.run(11 * time.Minute)
	attacker := netip.AddrPortFrom(outside, 34567)
	before := len(b.actions)
	for _, s := range captured {
		n.record(b, b.e.Receive(n.now, Datagram{Local: netip.AddrPortFrom(addrB, s.Remote.Port()), Remote: attacker, Data: s.Data}))
	}
	if m := actionsOf[PeerMoved](b.actions[before:]); len(m) != 0 {
		t.Fatalf("replays moved the peer: %+v", m)
	}
	snap := b.e.Snapshot(n.now)
	if len(snap.ISAKMP) != 1 || snap.ISAKMP[0].Remote.Port() != 24500 {
		t.Errorf("B's ISAKMP SAs after the replays: %+v", snap.ISAKMP)
	}
	for _, c := range snap.IPsec {
		if c.Peer.Port() != 24500 {
			t.Errorf("B's SA pair now goes to %v", c.Peer)
		}
	}
	n.run(time.Minute)
	if len(actionsOf[PeerDead](a.actions))+len(actionsOf[PeerDead](b.actions)) != 0 {
		t.Error("a peer was declared dead")
	}
}

// probesFrom makes nd send k R-U-THEREs to its peer at once and delivers
// them with the answers.
func probesFrom(n *network, nd *node, key peerKey, k int) {
	p := nd.e.peers[key]
	nd.e.begin(n.now)
	for range k {
		nd.e.sendRUThere(p, p.bestSA())
	}
	n.record(nd, nd.e.finish())
	n.deliver()
}

// TestMessageIDsForLife: message IDs are never forgotten; an ISAKMP SA
// that has used many is rekeyed (make-before-break, the tunnel stays up),
// and one that cannot be rekeyed is deleted at the cap.
func TestMessageIDsForLife(t *testing.T) {
	n, a, b := oneWay(t, quiet(refConfig()), quiet(refConfig()))
	n.run(time.Minute)
	pair0, _ := established(t, a, b)
	keyA, keyB := peerKey{addrA, addrB}, peerKey{addrB, addrA}
	old := a.e.peers[keyA].bestSA()
	// Each R-U-THERE and its answer use two message IDs.
	probesFrom(n, b, keyB, midRekey/2-10)
	if got := len(old.mids); got < midRekey-20 {
		t.Fatalf("%d message IDs remembered after %d exchanges", got, midRekey-20)
	}
	if countMM1(a) != 1 {
		t.Fatal("rekeyed too early")
	}
	probesFrom(n, b, keyB, 20)
	n.run(time.Minute)
	if countMM1(a) != 2 || !a.logged("message IDs; rekeying it") {
		t.Fatalf("%d Main Modes after %d message IDs", countMM1(a), len(old.mids))
	}
	for _, nd := range []*node{a, b} {
		s := nd.e.Snapshot(n.now)
		if len(s.ISAKMP) != 1 || s.ISAKMP[0].ConnID == old.connID && nd == a {
			t.Errorf("%s: ISAKMP SAs after the rekey %+v", nd.name, s.ISAKMP)
		}
		if len(actionsOf[SessionDown](nd.actions)) != 0 {
			t.Errorf("%s: the tunnel went down", nd.name)
		}
	}
	if got, _ := established(t, a, b); got.In.SPI != pair0.In.SPI {
		t.Error("the SA pair was replaced")
	}

	// Now A cannot rekey (its Main Modes are lost): at the cap the worn
	// ISAKMP SA is deleted, the SA pair stays.
	worn := a.e.peers[keyA].bestSA()
	n.drop = func(from *node, s Send) bool {
		h, ok := ikeHeader(s)
		return from == a && ok && h.Exchange == isakmp.ExchangeMainMode
	}
	probesFrom(n, b, keyB, maxMIDs/2)
	if a.e.peers[keyA].find(worn.ckyI, worn.ckyR) != nil {
		t.Fatalf("an ISAKMP SA with %d message IDs lives on", len(worn.mids))
	}
	if !a.logged("message IDs used") {
		t.Error("the deletion was not logged with its reason")
	}
	if got, _ := established(t, a, b); got.In.SPI != pair0.In.SPI {
		t.Error("the SA pair went with the ISAKMP SA")
	}
}
