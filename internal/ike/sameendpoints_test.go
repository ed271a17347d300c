package ike

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

// Tunnels with the same source and destination, told apart by their GRE
// key alone, have the same Quick Mode identities: the responder cannot
// tell which of them a Quick Mode is for. Each must still get its own SA
// pair at both ends, and keep exactly one (two while a rekey overlaps).

// sameEndpoints starts k tunnels between A and B at both ends, with
// lifetime life. starts says which ends initiate: "A", "B", "both", or
// "crossing": both, once an ISAKMP SA is up (another tunnel, IP in IP
// between the same addresses, made it), so that their first Quick Modes
// cross.
func sameEndpoints(t *testing.T, k int, starts string, life time.Duration) (*network, *node, *node, []string) {
	n, a, b := pair(t, quiet(refConfig()), quiet(refConfig()))
	n.quiet = true
	if starts == "crossing" {
		for _, nd := range []*node{a, b} {
			p := protect(nd.addr, otherAddr(nd.addr))
			p.Name, p.Protocol = "IPIP", 4
			n.start(nd, p)
		}
		n.run(time.Minute)
	}
	var names []string
	for i := range k {
		names = append(names, fmt.Sprintf("Tunnel%d", i))
	}
	for _, nd := range []*node{a, b} {
		for _, name := range names {
			p := protect(nd.addr, otherAddr(nd.addr))
			p.Name, p.Lifetime, p.LifetimeKB = name, life, 2560
			p.Passive = starts != "both" && starts != "crossing" && starts != nd.name
			n.start(nd, p)
		}
	}
	return n, a, b, names
}

func otherAddr(a netip.Addr) netip.Addr {
	if a == addrA {
		return addrB
	}
	return addrA
}

// checkEndpoints checks that each of the tunnels holds between 1 and max
// SA pairs at each end, that every pair is installed at both ends, and
// that the tunnels of the two ends correspond: all pairs of one tunnel at
// A sit on one tunnel at B, and no two tunnels at A share a tunnel at B.
// (Which tunnel at B does not matter: the data plane delivers GRE by its
// key among the tunnels to the peer.)
func checkEndpoints(t testing.TB, a, b *node, names []string, most int) {
	t.Helper()
	checkTraffic(t, a, b)
	for _, nd := range []*node{a, b} {
		for _, name := range names {
			c := nd.e.tunnels[name].children
			if len(c) < 1 || len(c) > most {
				t.Fatalf("%s %s holds %d SA pairs, want 1 to %d", nd.name, name, len(c), most)
			}
		}
	}
	inB := map[uint32]string{} // B's tunnel of each pair, by B's outbound SPI
	for _, i := range b.installed() {
		inB[i.Out.SPI] = i.Tunnel
	}
	peerOf := map[string]string{}
	for _, i := range a.installed() {
		tb, ok := inB[i.In.SPI]
		if !ok {
			t.Fatalf("A %s: pair %08x/%08x is not installed at B", i.Tunnel, i.In.SPI, i.Out.SPI)
		}
		if p, seen := peerOf[i.Tunnel]; seen && p != tb {
			t.Fatalf("A %s holds pairs of B's %s and %s", i.Tunnel, p, tb)
		}
		peerOf[i.Tunnel] = tb
	}
	var bs []string
	for _, tb := range peerOf {
		bs = append(bs, tb)
	}
	slices.Sort(bs)
	if len(slices.Compact(bs)) != len(peerOf) {
		t.Fatalf("tunnels of A share tunnels of B: %v", peerOf)
	}
	if len(b.installed()) != len(a.installed()) {
		t.Fatalf("A holds %d pairs, B %d", len(a.installed()), len(b.installed()))
	}
}

// TestSameEndpoints: two and three tunnels with the same endpoints,
// negotiated by A, by B, by both at once or with crossing Quick Modes,
// then rekeyed by time and by volume (one tunnel or all, at one end or at
// both at once): every tunnel holds one pair, the same at both ends, and
// never goes down.
func TestSameEndpoints(t *testing.T) {
	for _, k := range []int{2, 3} {
		for _, starts := range []string{"A", "B", "both", "crossing"} {
			t.Run(fmt.Sprintf("%d tunnels/%s initiates", k, starts), func(t *testing.T) {
				n, a, b, names := sameEndpoints(t, k, starts, 2*time.Minute)
				n.run(time.Minute)
				checkEndpoints(t, a, b, names, 1)
				if starts == "crossing" && (initiated(a, names) == 0 || initiated(b, names) == 0) {
					t.Errorf("A initiated %d Quick Modes, B %d: they did not cross", initiated(a, names), initiated(b, names))
				}
				// Rekeys by time: 2-minute lifetimes for 20 minutes.
				for range 20 * 6 {
					n.run(10 * time.Second)
					checkEndpoints(t, a, b, names, 3)
				}
				// Rekeys by volume, on one tunnel or all, at one end or
				// both, every 5 s.
				for ev := range 60 {
					tuns := names[ev%k : ev%k+1]
					if ev%3 == 0 {
						tuns = names
					}
					// B's data plane asks while A's Quick Modes are at
					// different points.
					for i, nd := range []*node{a, b}[:1+ev%2] {
						for range i * (ev / 2 % 4) {
							if len(n.queue) > 0 {
								n.step()
							}
						}
						for _, name := range tuns {
							n.record(nd, nd.e.Rekey(n.now, name, nd.sending(name, n.now)))
						}
					}
					n.run(5 * time.Second)
					checkEndpoints(t, a, b, names, 4)
				}
				n.run(15 * time.Second)
				checkEndpoints(t, a, b, names, 1)
				for _, nd := range []*node{a, b} {
					if d := actionsOf[SessionDown](nd.actions); len(d) != 0 {
						t.Errorf("%s: %s went down", nd.name, d[0].Tunnel)
					}
					ups := slices.DeleteFunc(nd.sessionUps(), func(u SessionUp) bool { return !slices.Contains(names, u.Tunnel) })
					if len(ups) != k {
						t.Errorf("%s: %d tunnels came up, want %d", nd.name, len(ups), k)
					}
				}
			})
		}
	}
}

// initiated counts the Quick Modes a node initiated for the tunnels.
func initiated(nd *node, names []string) int {
	n := 0
	for _, l := range nd.logs() {
		for _, name := range names {
			if strings.HasPrefix(l.Msg, name+": ") && strings.Contains(l.Msg, "initiating Quick Mode") {
				n++
			}
		}
	}
	return n
}
