package ike

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/gresec/gresec/internal/isakmp"
)

// TestInvalidSPI: B loses its SA pair without A hearing of it; A keeps
// sending ESP on it. B's data plane reports the unknown SPI: once the
// pair's packets in flight are past, B answers with a protected
// INVALID-SPI (at most one per 10 s), and A deletes the pair and
// negotiates a new one at once.
func TestInvalidSPI(t *testing.T) {
	n, a, b := oneWay(t, refConfig(), refConfig())
	n.run(time.Minute)
	ia, ib := established(t, a, b)
	tb := b.e.tunnels["Tunnel0"]
	n.drop = func(from *node, _ Send) bool { return from == b } // B's DELETE is lost
	b.e.begin(n.now)
	b.e.deleteChild(tb, tb.children[0], true, "lost")
	n.record(b, b.e.finish())
	n.drop = nil
	n.run(time.Second)
	if len(a.installed()) != 1 || len(b.installed()) != 0 {
		t.Fatalf("pairs: A %d, B %d", len(a.installed()), len(b.installed()))
	}
	unknown := func() []Action {
		acts := b.e.UnknownSPI(n.now, "Tunnel0", ib.In.SPI)
		n.record(b, acts)
		return acts
	}
	notifies := func(acts []Action) int { return len(actionsOf[Send](acts)) }
	if got := notifies(unknown()); got != 0 {
		t.Fatalf("INVALID-SPI for a pair deleted a second ago (%d sent)", got)
	}
	n.queue = nil
	n.run(20 * time.Second)
	sent := n.now
	if got := notifies(unknown()); got != 1 {
		t.Fatalf("%d INVALID-SPI sent 21 s after the pair was deleted, want 1", got)
	}
	if got := notifies(unknown()) + notifies(b.e.UnknownSPI(n.now, "Tunnel0", 0x12345678)); got != 0 {
		t.Fatalf("%d more INVALID-SPI at once", got)
	}
	n.run(time.Second)
	if !slices.ContainsFunc(a.deletes(), func(d DeletePair) bool { return d.OutSPI == ia.Out.SPI }) {
		t.Fatal("A kept the pair the peer does not know")
	}
	if !a.logged("INVALID-SPI") {
		t.Error("A did not log why it deleted the pair")
	}
	na, _ := established(t, a, b)
	if na.In.SPI == ia.In.SPI {
		t.Fatal("no new SA pair")
	}
	if up := a.installs()[len(a.installs())-1]; up.In.SPI != na.In.SPI {
		t.Fatal("install order")
	}
	if d := n.now.Sub(sent); d > time.Second {
		t.Errorf("new pair %v after INVALID-SPI", d)
	}

	// Nothing for the inbound SPI of a Quick Mode under way (the peer may
	// send before we install), even past the rate limit.
	n.run(11 * time.Second)
	n.record(a, a.e.Rekey(n.now, "Tunnel0", a.sending("Tunnel0", n.now)))
	n.step() // QM1 reaches B; B's QM2 is in flight
	var qmSPI uint32
	for _, sa := range b.e.peers[peerKey{addrB, addrA}].sas {
		for _, qm := range sa.qms {
			if qm.step == qmAwaitQM3 {
				qmSPI = qm.inSPI
			}
		}
	}
	if qmSPI == 0 {
		t.Fatal("no Quick Mode under way at B")
	}
	if got := notifies(b.e.UnknownSPI(n.now, "Tunnel0", qmSPI)); got != 0 {
		t.Errorf("INVALID-SPI for the SPI of a Quick Mode under way")
	}
	n.run(time.Minute)

	// An INVALID-SPI in clear (anyone can forge one) changes nothing.
	cur, _ := established(t, a, b)
	sa := a.e.peers[peerKey{addrA, addrB}].bestSA()
	clearMsg, err := marshalClear(isakmp.Header{InitiatorCookie: sa.ckyI, ResponderCookie: sa.ckyR, Exchange: isakmp.ExchangeInformational, MessageID: 77},
		[]isakmp.Payload{&isakmp.Notification{DOI: isakmp.DOIIPsec, Protocol: isakmp.ProtoESP, SPI: be32(cur.Out.SPI), Type: isakmp.NotifyInvalidSPI}})
	if err != nil {
		t.Fatal(err)
	}
	before := fingerprint(a.e)
	acts := a.e.Receive(n.now, Datagram{Local: netip.AddrPortFrom(addrA, Port), Remote: netip.AddrPortFrom(addrB, Port), Data: clearMsg})
	if fingerprint(a.e) != before || len(actionsOf[DeletePair](acts)) != 0 {
		t.Error("an unprotected INVALID-SPI changed state")
	}
}

// TestUnknownSPIWithoutISAKMPSA: with no ISAKMP SA there is nothing to
// protect an INVALID-SPI with, and nothing is sent.
func TestUnknownSPIWithoutISAKMPSA(t *testing.T) {
	n := newNetwork(t)
	a := n.add("A", addrA, refConfig())
	p := protect(addrA, addrB)
	p.Passive = true
	n.start(a, p)
	acts := a.e.UnknownSPI(n.now, "Tunnel0", 0x1000)
	if len(actionsOf[Send](acts)) != 0 {
		t.Errorf("sent %+v", acts)
	}
	if acts := a.e.UnknownSPI(n.now, "Tunnel9", 0x1000); len(acts) != 0 {
		t.Errorf("unknown tunnel: %+v", acts)
	}
}
