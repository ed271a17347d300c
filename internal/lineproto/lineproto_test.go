package lineproto

import (
	"strings"
	"testing"
	"time"
)

func TestLineProtocol(t *testing.T) {
	t0 := time.Unix(1000, 0)
	m := Machine{HoldDown: 60 * time.Second}
	if r := m.Update(t0, Inputs{}); !r.Changed || !m.Up() {
		t.Fatalf("healthy inputs: up=%v changed=%v, want up and changed", m.Up(), r.Changed)
	}
	if r := m.Update(t0, Inputs{}); r.Changed {
		t.Fatal("same inputs changed the state")
	}
	cases := []struct {
		in   Inputs
		want string
	}{
		{Inputs{AdminDown: true, SourceProblem: "x"}, "administratively down"},
		{Inputs{SourceProblem: "tunnel source Loopback0 has no address"}, "tunnel source Loopback0 has no address"},
		{Inputs{DestProblem: "no route to tunnel destination"}, "no route to tunnel destination"},
		{Inputs{KeepaliveProblem: "keepalive: 3 replies missed"}, "keepalive: 3 replies missed"},
	}
	for _, c := range cases {
		r := m.Update(t0, c.in)
		if m.Up() || m.Reason() != c.want {
			t.Errorf("%+v: up=%v reason=%q, want down %q", c.in, m.Up(), m.Reason(), c.want)
		}
		_ = r
		m.Update(t0, Inputs{})
	}
}

func TestRecursionHoldDown(t *testing.T) {
	t0 := time.Unix(1000, 0)
	m := Machine{HoldDown: 60 * time.Second}
	m.Update(t0, Inputs{})
	r := m.Update(t0.Add(time.Second), Inputs{Recursion: "192.0.2.0/24 via Tunnel0 (ospf)"})
	if !r.Changed || !r.RecursionDetected || m.Up() {
		t.Fatalf("recursion: %+v up=%v", r, m.Up())
	}
	if !strings.Contains(m.Reason(), "recursive routing") {
		t.Errorf("reason %q does not say recursive routing", m.Reason())
	}
	// The route is gone at once (the routing protocol lost the tunnel), but
	// the hold-down keeps the tunnel down: no flap.
	for s := 2; s < 61; s += 5 {
		if r := m.Update(t0.Add(time.Duration(s)*time.Second), Inputs{}); r.Changed || m.Up() {
			t.Fatalf("at %ds the tunnel came up during hold-down", s)
		}
	}
	if w := m.NextWake(t0.Add(30 * time.Second)); !w.Equal(t0.Add(61 * time.Second)) {
		t.Errorf("NextWake = %v, want end of hold-down", w)
	}
	if r := m.Update(t0.Add(61*time.Second), Inputs{}); !r.Changed || !m.Up() {
		t.Fatalf("after hold-down: up=%v", m.Up())
	}
	// Recursion again right after: a new hold-down, detected once.
	r = m.Update(t0.Add(62*time.Second), Inputs{Recursion: "x"})
	if !r.RecursionDetected || m.Up() {
		t.Fatal("second recursion not detected")
	}
	if r := m.Update(t0.Add(63*time.Second), Inputs{Recursion: "x"}); r.RecursionDetected {
		t.Fatal("recursion during hold-down reported twice")
	}
}

// TestRecursionWithoutHoldDown: `tunnel recursion hold-down 0` still keeps
// the tunnel down while the recursive route lasts, detected once.
func TestRecursionWithoutHoldDown(t *testing.T) {
	t0 := time.Unix(1000, 0)
	m := Machine{}
	m.Update(t0, Inputs{})
	if r := m.Update(t0, Inputs{Recursion: "192.0.2.0/24 via Tunnel0, proto rip"}); !r.RecursionDetected || m.Up() {
		t.Fatalf("recursion with hold-down 0: %+v up=%v", r, m.Up())
	}
	for s := 1; s < 5; s++ {
		r := m.Update(t0.Add(time.Duration(s)*time.Second), Inputs{Recursion: "192.0.2.0/24 via Tunnel0, proto rip"})
		if r.RecursionDetected || m.Up() {
			t.Fatalf("at %ds: %+v up=%v, want still down and no new detection", s, r, m.Up())
		}
		if !strings.Contains(m.Reason(), "192.0.2.0/24 via Tunnel0, proto rip") {
			t.Errorf("reason %q does not name the route", m.Reason())
		}
	}
	if r := m.Update(t0.Add(5*time.Second), Inputs{}); !r.Changed || !m.Up() {
		t.Fatal("route gone: the tunnel did not come back up")
	}
	if r := m.Update(t0.Add(6*time.Second), Inputs{Recursion: "x"}); !r.RecursionDetected {
		t.Fatal("a new episode was not detected")
	}
}

// TestRecursionPersistsAcrossHoldDowns: a recursion still present when the
// hold-down ends starts the next hold-down at once: the tunnel never comes
// up in between, and each retry is reported (one log line per hold-down).
func TestRecursionPersistsAcrossHoldDowns(t *testing.T) {
	t0 := time.Unix(1000, 0)
	m := Machine{HoldDown: 10 * time.Second}
	m.Update(t0, Inputs{})
	in := Inputs{Recursion: "172.16.1.0/24 via Tunnel0, proto ospf"}
	detections := 0
	for s := 1; s <= 35; s++ {
		r := m.Update(t0.Add(time.Duration(s)*time.Second), in)
		if r.RecursionDetected {
			detections++
		}
		if m.Up() {
			t.Fatalf("at %ds the tunnel came up while the recursion lasted", s)
		}
	}
	if detections != 4 { // at 1, 11, 21 and 31 s
		t.Errorf("%d detections in 35 s with a 10 s hold-down, want 4", detections)
	}
	if !strings.Contains(m.Reason(), "hold-down left") || !strings.Contains(m.Reason(), "proto ospf") {
		t.Errorf("reason %q should name the route and the hold-down left", m.Reason())
	}
}
