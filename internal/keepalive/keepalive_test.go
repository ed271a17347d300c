package keepalive

import (
	"testing"
	"time"
)

func TestKeepalive(t *testing.T) {
	t0 := time.Unix(0, 0)
	m := Machine{Period: 10 * time.Second, Retries: 3}
	if !m.Tick(t0) {
		t.Fatal("first tick sends no keepalive")
	}
	now := t0
	// Three periods without reply: down after the third.
	for i := 1; i <= 3; i++ {
		if m.Problem() != "" {
			t.Fatalf("down after %d missed periods, want 3", i-1)
		}
		now = now.Add(10 * time.Second)
		if !m.Tick(now) {
			t.Fatalf("period %d: no keepalive sent", i)
		}
	}
	if m.Problem() == "" || m.Missed() != 3 {
		t.Fatalf("after 3 missed periods: missed=%d problem=%q", m.Missed(), m.Problem())
	}
	if m.Tick(now.Add(5 * time.Second)) {
		t.Fatal("keepalive sent before the period ended")
	}
	m.Reply(now.Add(6 * time.Second))
	if m.Problem() != "" {
		t.Fatal("a reply did not bring the peer back at once")
	}
	// A reply in each period keeps it up.
	for i := range 10 {
		now = now.Add(10 * time.Second)
		m.Tick(now)
		m.Reply(now.Add(time.Second))
		if m.Problem() != "" {
			t.Fatalf("period %d: down despite replies", i)
		}
	}
}
