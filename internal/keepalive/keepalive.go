// Package keepalive is the GRE keepalive timer of a tunnel, as IOS runs it
// (`keepalive PERIOD RETRIES`): a keepalive goes out every period; after
// RETRIES consecutive periods without a reply the peer is declared
// unreachable; the next reply brings it back at once.
//
// It is a pure state machine driven by the caller's clock. Not safe for
// concurrent use.
package keepalive

import (
	"fmt"
	"time"
)

// Machine is one tunnel's keepalive state.
type Machine struct {
	Period  time.Duration
	Retries int

	nextSend  time.Time
	replied   bool
	missed    int
	lastReply time.Time
}

// Reply records a reply from the peer.
func (m *Machine) Reply(now time.Time) {
	m.replied = true
	m.missed = 0
	m.lastReply = now
}

// Tick advances the machine to now and reports whether a keepalive is due.
// Each period that ends without a reply counts as missed.
func (m *Machine) Tick(now time.Time) (send bool) {
	if m.nextSend.IsZero() {
		m.nextSend = now.Add(m.Period)
		return true
	}
	if now.Before(m.nextSend) {
		return false
	}
	if !m.replied {
		m.missed++
	}
	m.replied = false
	m.nextSend = now.Add(m.Period)
	return true
}

// NextWake is when Tick must run next.
func (m *Machine) NextWake() time.Time { return m.nextSend }

// Missed is the number of consecutive periods without a reply.
func (m *Machine) Missed() int { return m.missed }

// LastReply is when the last reply arrived (zero if none).
func (m *Machine) LastReply() time.Time { return m.lastReply }

// Problem says why keepalives take the line protocol down, or "".
func (m *Machine) Problem() string {
	if m.missed < m.Retries {
		return ""
	}
	return fmt.Sprintf("keepalive: no reply from the peer for %d periods of %s", m.missed, m.Period)
}

// Reset forgets the history, as when the tunnel is reconfigured.
func (m *Machine) Reset() { *m = Machine{Period: m.Period, Retries: m.Retries} }
