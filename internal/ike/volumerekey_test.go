package ike

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gresec/gresec/internal/isakmp"
)

// volumeProtect is the reference tunnel with IOS's smallest volume
// lifetime, so that the data plane's soft limit (Engine.Rekey) rekeys it
// long before its time lifetime.
func volumeProtect(local, remote netip.Addr) Protect {
	p := protect(local, remote)
	p.LifetimeKB = 2560
	return p
}

// checkTraffic checks what both data planes do with the installs and
// deletes so far (see InstallPair): each tunnel sends on its newest pair,
// and the peer has that pair's inbound side, with the same keys.
func checkTraffic(t testing.TB, a, b *node) {
	t.Helper()
	for _, ends := range [][2]*node{{a, b}, {b, a}} {
		from, to := ends[0], ends[1]
		inbound := map[uint32]InstallPair{}
		for _, i := range to.installed() {
			inbound[i.In.SPI] = i
		}
		out := map[string]InstallPair{}
		for _, i := range from.installed() {
			out[i.Tunnel] = i
		}
		for tun, o := range out {
			in, ok := inbound[o.Out.SPI]
			if !ok {
				t.Fatalf("%s %s sends on SPI %08x, which %s does not have", from.name, tun, o.Out.SPI, to.name)
			}
			if string(in.In.EncKey) != string(o.Out.EncKey) || string(in.In.AuthKey) != string(o.Out.AuthKey) {
				t.Fatalf("%s %s sends on SPI %08x with other keys than %s has", from.name, tun, o.Out.SPI, to.name)
			}
		}
	}
}

// TestVolumeRekey: the data plane's soft volume limit (Engine.Rekey)
// comes every few seconds, always less than 30 s apart: at one end; at
// both at the same moment (their Quick Modes cross); at the peer while
// the Quick Mode for it is under way or just done; or at the peer a
// second after the replacement was installed (its data plane still sent
// on the pair being replaced). Each event yields one new pair, two when
// the Quick Modes cross, of which one goes; never a burst of Quick Modes.
// Each end always sends on a pair the other has, and once the overlap is
// over one pair is left.
func TestVolumeRekey(t *testing.T) {
	for _, c := range []struct {
		name  string
		b     bool          // B's data plane asks too
		steps int           // once that many messages of A's Quick Mode are delivered
		late  time.Duration // or that long after A's
		pairs int           // new pairs per event at most (at least 1)
	}{
		{"one end", false, 0, 0, 1},
		{"both at once", true, 0, 0, 2},
		{"peer asks during QM1", true, 1, 0, 1},
		{"peer asks during QM2", true, 2, 0, 1},
		{"peer asks after QM3", true, 3, 0, 1},
		{"peer asks about the replaced pair", true, 0, time.Second, 1},
	} {
		for _, gap := range []time.Duration{3 * time.Second, 12 * time.Second, 29 * time.Second} {
			t.Run(fmt.Sprintf("%s/every %v", c.name, gap), func(t *testing.T) {
				n, a, b := pair(t, quiet(refConfig()), quiet(refConfig()))
				n.quiet = true
				n.start(a, volumeProtect(addrA, addrB))
				n.start(b, volumeProtect(addrB, addrA))
				n.run(time.Minute)
				established(t, a, b)
				// A storm of Quick Modes runs within one instant of
				// harness time: stop it at the first few.
				qmSent := 0
				n.drop = func(_ *node, s Send) bool {
					if h, ok := ikeHeader(s); ok && h.Exchange == isakmp.ExchangeQuickMode {
						if qmSent++; qmSent > 20*c.pairs {
							t.Fatalf("a storm of Quick Modes: %d messages at %v", qmSent, n.now.Sub(t0))
						}
					}
					return false
				}
				collisions := 0
				for ev := range 40 {
					qmSent = 0
					installsA, installsB := len(a.installs()), len(b.installs())
					qmA, qmB := countQM1(a), countQM1(b)
					next := n.now.Add(gap)
					// Both data planes reach the limit on the pair they
					// send on now; B may tell its engine later.
					bSPI := b.sending("Tunnel0", n.now)
					n.record(a, a.e.Rekey(n.now, "Tunnel0", a.sending("Tunnel0", n.now)))
					if c.b {
						for range c.steps {
							if len(n.queue) > 0 {
								n.step()
							}
						}
						if c.late > 0 {
							n.run(c.late)
						}
						n.record(b, b.e.Rekey(n.now, "Tunnel0", bSPI))
					}
					started := 0
					for n.now.Before(next) && started <= c.pairs {
						n.run(min(time.Second, next.Sub(n.now)))
						checkTraffic(t, a, b)
						started = countQM1(a) - qmA + countQM1(b) - qmB
					}
					newA, newB := len(a.installs())-installsA, len(b.installs())-installsB
					if newA != newB || newA < 1 || newA > c.pairs || started != newA {
						t.Fatalf("event %d: %d Quick Modes started, %d and %d new pairs installed at A and B, want 1 to %d",
							ev, started, newA, newB, c.pairs)
					}
					if newA == 2 {
						collisions++
					}
				}
				n.run(15 * time.Second)
				established(t, a, b)
				checkTraffic(t, a, b)
				if c.pairs == 2 && collisions == 0 {
					t.Error("the Quick Modes never crossed")
				}
				for _, nd := range []*node{a, b} {
					if len(actionsOf[SessionDown](nd.actions)) != 0 {
						t.Errorf("%s: the tunnel went down", nd.name)
					}
				}
			})
		}
	}
}

// countQM1 counts the Quick Modes a node initiated.
func countQM1(nd *node) int {
	n := 0
	for _, l := range nd.logs() {
		if strings.Contains(l.Msg, "initiating Quick Mode") {
			n++
		}
	}
	return n
}
