package ikev2

import (
	"net/netip"
	"testing"
	"time"

	"github.com/gresec/gresec/internal/ike"
)

// FuzzReceive feeds arbitrary datagrams to an engine with an established
// IKE SA, on both IKE ports: nothing may panic, and the SA must survive
// what cannot authenticate. The seeds are every message of a session
// (both directions, rekeys included), which the fuzzer mutates.
func FuzzReceive(f *testing.F) {
	seed := newNet(&testing.T{}, nil, nil)
	seed.runFor(3 * time.Hour)
	for _, s := range seed.captured {
		f.Add(s.Data, s.Local.Port() == ike.NATTPort)
	}
	f.Fuzz(func(t *testing.T, data []byte, natt bool) {
		n := newNet(t, nil, nil)
		n.runFor(time.Second)
		port := uint16(ike.Port)
		if natt {
			port = ike.NATTPort
		}
		d := ike.Datagram{Local: netip.AddrPortFrom(addrA, port), Remote: netip.AddrPortFrom(addrB, port), Data: data}
		n.take(n.a, n.a.e.Receive(n.now, d))
		d.Remote = netip.AddrPortFrom(netip.MustParseAddr("203.0.113.9"), port)
		n.take(n.a, n.a.e.Receive(n.now, d))
		n.runFor(time.Minute)
		if len(n.a.installed()) == 0 {
			t.Fatalf("A lost its pair\n%s", n.a.logText())
		}
	})
}
