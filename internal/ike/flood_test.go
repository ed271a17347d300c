package ike

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// TestHalfOpenFlood: with the wildcard key, spoofed MM1s arrive at 1000
// a second from random addresses and 1000 a second from the real peer's
// own address (random cookies, port 500 or random) while that peer, 50 ms
// away, initiates. Main Mode and Quick Mode complete within 5 s, and the
// random addresses cost no state.
func TestHalfOpenFlood(t *testing.T) {
	_, _, _, fromA, _ := recorded(t)
	mm1 := fromA[0]
	for _, delay := range []time.Duration{time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond} {
		n, a, b := oneWay(t, quiet(refConfig()), quiet(refConfig()))
		n.quiet = true
		type flight struct {
			at time.Time
			s  Send
		}
		var air []flight
		// take puts what n.record queued on the wire, delay away.
		take := func(nd *node, as []Action) {
			n.record(nd, as)
			for _, s := range n.queue {
				air = append(air, flight{n.now.Add(delay), s})
			}
			n.queue = n.queue[:0]
		}
		take(a, nil) // A's MM1, queued by Start
		rng := rand.New(rand.NewPCG(1, uint64(delay)))
		spoof := func(src netip.AddrPort) {
			msg := modify(mm1, func(c []byte) { binary.BigEndian.PutUint64(c[:8], rng.Uint64()) })
			take(b, b.e.Receive(n.now, Datagram{Local: netip.AddrPortFrom(addrB, Port), Remote: src, Data: msg}))
		}
		start := n.now
		var up time.Duration
		for ms := 0; ms <= 5000 && up == 0; ms++ {
			n.now = start.Add(time.Duration(ms) * time.Millisecond)
			var stranger [4]byte
			binary.BigEndian.PutUint32(stranger[:], rng.Uint32())
			spoof(netip.AddrPortFrom(netip.AddrFrom4(stranger), uint16(rng.Uint32())))
			port := uint16(Port)
			if rng.IntN(2) == 0 {
				port = uint16(1024 + rng.IntN(60000))
			}
			spoof(netip.AddrPortFrom(addrA, port))
			for len(air) > 0 && !air[0].at.After(n.now) {
				f := air[0]
				air = air[1:]
				for _, nd := range []*node{a, b} {
					if nd.addr == f.s.Remote.Addr() {
						take(nd, nd.e.Receive(n.now, Datagram{Local: f.s.Remote, Remote: f.s.Local, Data: f.s.Data}))
					}
				}
			}
			for _, nd := range []*node{a, b} {
				if w := nd.e.NextWake(); !w.IsZero() && !w.After(n.now) {
					take(nd, nd.e.Tick(n.now))
				}
			}
			if len(a.installed()) == 1 && len(b.installed()) == 1 {
				up = n.now.Sub(start)
			}
		}
		if up == 0 {
			t.Fatalf("delay %v: no SA pair after 5 s of flood (A: %d Main Modes started)", delay, countMM1(a))
		}
		t.Logf("delay %v: SA pair up after %v, %d Main Mode(s)", delay, up, countMM1(a))
		established(t, a, b)
		if len(b.e.peers) != 1 {
			t.Errorf("delay %v: B keeps %d peers; random addresses got state", delay, len(b.e.peers))
		}
		if slices.ContainsFunc(b.sends, func(s timedSend) bool { return s.s.Remote.Addr() != addrA }) {
			t.Errorf("delay %v: B answered a random address", delay)
		}
		if h := b.e.peers[peerKey{addrB, addrA}].halfOpen(); h > maxHalfOpenPerPeer {
			t.Errorf("delay %v: %d half-open SAs with A", delay, h)
		}
	}
}
