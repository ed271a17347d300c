package ike

import (
	"net/netip"
	"time"
)

// Retransmission (RFC 2408 section 5 leaves the policy to the
// implementation): a message that expects an answer is sent again after 2,
// 4, 8, 16 and 32 seconds; 32 seconds after the fifth retransmission the
// exchange is given up.
const (
	retransmitBase = 2 * time.Second
	retransmitMax  = 32 * time.Second
	maxRetransmits = 5
)

// retransmitter holds the last message of an exchange that waits for an
// answer, and when to send it again.
type retransmitter struct {
	msg    []byte
	local  netip.AddrPort
	remote netip.AddrPort
	sent   int       // retransmissions so far
	next   time.Time // zero: not armed
}

// arm records msg as sent now.
func (r *retransmitter) arm(now time.Time, msg []byte, local, remote netip.AddrPort) {
	*r = retransmitter{msg: msg, local: local, remote: remote, next: now.Add(retransmitBase)}
}

// stop disarms the timer.
func (r *retransmitter) stop() { r.next = time.Time{} }

// fire reports, at now, whether the message is due again (resend) or the
// exchange has run out of retransmissions (giveUp).
func (r *retransmitter) fire(now time.Time) (resend, giveUp bool) {
	if r.next.IsZero() || now.Before(r.next) {
		return false, false
	}
	if r.sent == maxRetransmits {
		r.next = time.Time{}
		return false, true
	}
	r.sent++
	r.next = now.Add(min(retransmitBase<<r.sent, retransmitMax))
	return true, false
}

// backoff is the wait before negotiating again after the n-th consecutive
// failure: 5 s, 10 s, 20 s ... up to 5 minutes.
func backoff(n int) time.Duration {
	if n < 1 {
		return 0
	}
	if n > 7 {
		n = 7
	}
	return min(5*time.Second<<(n-1), 5*time.Minute)
}

// earliest keeps the earliest non-zero time.
type earliest struct{ t time.Time }

func (e *earliest) add(t time.Time) {
	if !t.IsZero() && (e.t.IsZero() || t.Before(e.t)) {
		e.t = t
	}
}
