// Package lineproto decides the line protocol of a TunnelN interface as
// SPEC section 4 describes: up only when the tunnel is not shut down, its
// source is valid, its destination has a route that does not run through a
// tunnel, and (with keepalive) replies keep arriving. A recursive route
// holds the tunnel down for a hold-down time, so that the overlay routing
// protocol converges instead of flapping the tunnel.
//
// It is a pure state machine: the caller passes observations and the time,
// and performs the actions. Not safe for concurrent use.
package lineproto

import (
	"fmt"
	"time"
)

// Inputs are the observations the line protocol depends on. An empty
// problem string means that condition holds.
type Inputs struct {
	AdminDown bool
	// SourceProblem says why the tunnel source is not usable.
	SourceProblem string
	// DestProblem says why the destination has no usable route.
	DestProblem string
	// Recursion, when set, describes the route that sends the tunnel's own
	// underlay into a tunnel (e.g. "192.0.2.0/24 via Tunnel0 (proto ospf)").
	Recursion string
	// KeepaliveProblem says why keepalives declare the peer unreachable.
	KeepaliveProblem string
}

// Machine is one tunnel's line protocol.
type Machine struct {
	// HoldDown is how long a tunnel stays down after recursive routing.
	HoldDown time.Duration

	up        bool
	reason    string
	holdUntil time.Time
	holdCause string
	// recursing remembers that the last update saw recursion, so that a
	// zero hold-down reports one detection per episode, not one per update.
	recursing bool
}

// Result says what one Update changed.
type Result struct {
	// Changed is set when the line protocol went up or down.
	Changed bool
	// RecursionDetected is set when a new hold-down started.
	RecursionDetected bool
}

// Up reports the line protocol.
func (m *Machine) Up() bool { return m.up }

// Reason says why the line protocol is down ("" when up).
func (m *Machine) Reason() string { return m.reason }

// HoldDownUntil is when the current recursion hold-down ends (zero if none).
func (m *Machine) HoldDownUntil() time.Time { return m.holdUntil }

// NextWake is when the machine must be updated again even with no new
// observation (the end of a hold-down), or the zero time.
func (m *Machine) NextWake(now time.Time) time.Time {
	if m.holdUntil.After(now) {
		return m.holdUntil
	}
	return time.Time{}
}

// Update feeds the current observations at time now.
func (m *Machine) Update(now time.Time, in Inputs) Result {
	var res Result
	recursion := in.Recursion != "" && !in.AdminDown
	// A recursion still there when a hold-down ends starts the next one
	// (and is logged again, as IOS does each time it retries).
	if recursion && !m.holdUntil.After(now) && (m.HoldDown > 0 || !m.recursing) {
		m.holdUntil = now.Add(m.HoldDown)
		m.holdCause = in.Recursion
		res.RecursionDetected = true
	}
	m.recursing = recursion
	if !m.holdUntil.After(now) {
		m.holdUntil = time.Time{}
	}
	reason := ""
	switch {
	case in.AdminDown:
		reason = "administratively down"
	case in.SourceProblem != "":
		reason = in.SourceProblem
	case m.holdUntil.After(now):
		left := m.holdUntil.Sub(now).Round(time.Second)
		reason = fmt.Sprintf("temporarily disabled due to recursive routing (%s), %s of hold-down left", m.holdCause, left)
	case recursion:
		// Only with a zero hold-down: down for as long as the route lasts.
		reason = fmt.Sprintf("temporarily disabled due to recursive routing (%s)", in.Recursion)
	case in.DestProblem != "":
		reason = in.DestProblem
	case in.KeepaliveProblem != "":
		reason = in.KeepaliveProblem
	}
	up := reason == ""
	res.Changed = up != m.up
	m.up = up
	m.reason = reason
	return res
}
