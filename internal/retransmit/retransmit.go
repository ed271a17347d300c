// Package retransmit is the retransmission policy of gresec's IKE engines
// (RFC 2408 section 5 and RFC 7296 section 2.1 leave it to the
// implementation): a request that expects an answer is sent again after 2,
// 4, 8, 16 and 32 seconds; 32 seconds after the fifth retransmission the
// exchange is given up, and a failed negotiation is tried again after a
// growing back-off. It keeps no clock: callers pass the time.
package retransmit

import (
	"net/netip"
	"time"
)

// The schedule.
const (
	Base = 2 * time.Second
	Max  = 32 * time.Second
	// Tries is how many times a request is retransmitted.
	Tries = 5
)

// A Timer holds the last message of an exchange that waits for an answer,
// and when to send it again. The zero Timer is not armed.
type Timer struct {
	Msg    []byte
	Local  netip.AddrPort
	Remote netip.AddrPort
	Sent   int       // retransmissions so far
	Next   time.Time // zero: not armed
}

// Arm records msg as sent now.
func (r *Timer) Arm(now time.Time, msg []byte, local, remote netip.AddrPort) {
	*r = Timer{Msg: msg, Local: local, Remote: remote, Next: now.Add(Base)}
}

// Stop disarms the timer.
func (r *Timer) Stop() { r.Next = time.Time{} }

// Fire reports, at now, whether the message is due again (resend) or the
// exchange has run out of retransmissions (giveUp).
func (r *Timer) Fire(now time.Time) (resend, giveUp bool) {
	if r.Next.IsZero() || now.Before(r.Next) {
		return false, false
	}
	if r.Sent == Tries {
		r.Next = time.Time{}
		return false, true
	}
	r.Sent++
	r.Next = now.Add(min(Base<<r.Sent, Max))
	return true, false
}

// Backoff is the wait before negotiating again after the n-th consecutive
// failure: 5 s, 10 s, 20 s ... up to 5 minutes.
func Backoff(n int) time.Duration {
	if n < 1 {
		return 0
	}
	if n > 7 {
		n = 7
	}
	return min(5*time.Second<<(n-1), 5*time.Minute)
}
