package loglimit

import (
	"net/netip"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	var l Limiter
	t0 := time.Unix(1_000_000, 0)
	peer := netip.MustParseAddr("192.0.2.1")
	if ok, _, _ := l.Allow("malformed", peer, t0, true); !ok {
		t.Fatal("first event refused")
	}
	for i := range 3 {
		if ok, _, _ := l.Allow("malformed", peer, t0.Add(time.Duration(i+1)*time.Second), true); ok {
			t.Fatal("second event within the interval allowed")
		}
	}
	if ok, _, _ := l.Allow("auth", peer, t0, true); !ok {
		t.Error("another kind shares the budget")
	}
	ok, n, others := l.Allow("malformed", peer, t0.Add(Interval), true)
	if !ok || n != 3 || others {
		t.Errorf("after the interval: ok %v, suppressed %d, others %v; want true 3 false", ok, n, others)
	}
	// Strangers share StrangerLines first lines a minute per kind.
	given := 0
	for i := range 3 * StrangerLines {
		a := netip.AddrFrom4([4]byte{10, 0, 0, byte(i)})
		if ok, _, _ := l.Allow("malformed", a, t0, false); ok {
			given++
		}
	}
	if given != StrangerLines {
		t.Errorf("%d strangers logged, want %d", given, StrangerLines)
	}
	ok, n, others = l.Allow("malformed", netip.MustParseAddr("10.1.0.0"), t0.Add(Interval), false)
	if !ok || n != 2*StrangerLines || !others {
		t.Errorf("next minute: ok %v, suppressed %d, others %v; want true %d true", ok, n, others, 2*StrangerLines)
	}
}
