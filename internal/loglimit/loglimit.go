// Package loglimit rate-limits the log lines (and answers) that a peer can
// cause at will, such as malformed or unexpected IKE messages and failed
// authentication: one line a minute per peer and kind. The first event of a
// configured peer (a tunnel destination) always gets through; addresses that
// are no tunnel destination, which a spoofed flood has without end, share a
// small budget of first lines per kind, and the rest is counted into the next
// line that does go out. Memory is bounded. It keeps no clock: callers pass
// the time. A Limiter is not safe for concurrent use.
package loglimit

import (
	"fmt"
	"net/netip"
	"time"
)

// Limits.
const (
	// Interval is the least time between two lines of one kind and peer.
	Interval = time.Minute
	// MaxEntries bounds the (kind, peer) pairs remembered.
	MaxEntries = 4096
	// StrangerLines is how many addresses that are no tunnel destination
	// get a first line per kind and minute.
	StrangerLines = 10
)

type limitKey struct {
	kind string
	addr netip.Addr
}

type limitEntry struct {
	last       time.Time
	suppressed int
	known      bool // a tunnel destination
}

// strangerBudget counts the first lines given to unknown addresses within
// the current minute, and those refused.
type strangerBudget struct {
	start      time.Time
	given      int
	suppressed int
}

// A Limiter decides which rate-limited events are logged (or answered). Its
// memory is bounded: when the table is full, the oldest entry goes,
// strangers' before tunnel destinations'.
type Limiter struct {
	m         map[limitKey]*limitEntry
	strangers map[string]*strangerBudget // by kind, a fixed set of strings
}

// Allow reports whether an event of the given kind from addr may be
// logged (or answered) now, and how many similar ones were suppressed
// since the last that was: from addr, or from other unknown addresses
// when others is set. known says addr is a configured peer.
func (l *Limiter) Allow(kind string, addr netip.Addr, now time.Time, known bool) (ok bool, suppressed int, others bool) {
	if l.m == nil {
		l.m = make(map[limitKey]*limitEntry)
		l.strangers = make(map[string]*strangerBudget)
	}
	k := limitKey{kind, addr}
	if e, ok := l.m[k]; ok {
		if now.Sub(e.last) < Interval && !now.Before(e.last) {
			e.suppressed++
			return false, 0, false
		}
		n := e.suppressed
		*e = limitEntry{last: now, known: known}
		return true, n, false
	}
	n := 0
	if !known {
		b := l.strangers[kind]
		if b == nil {
			b = &strangerBudget{start: now}
			l.strangers[kind] = b
		}
		if now.Sub(b.start) >= Interval || now.Before(b.start) {
			b.start, b.given = now, 0
		}
		if b.given >= StrangerLines {
			b.suppressed++
			return false, 0, false
		}
		b.given++
		n, b.suppressed = b.suppressed, 0
	}
	if len(l.m) >= MaxEntries {
		l.evict(now)
	}
	l.m[k] = &limitEntry{last: now, known: known}
	return true, n, n > 0
}

// evict makes room for one entry: entries past their interval go, else
// the oldest stranger's, else the oldest of all.
func (l *Limiter) evict(now time.Time) {
	for k, e := range l.m {
		if now.Sub(e.last) >= Interval || now.Before(e.last) {
			delete(l.m, k)
		}
	}
	if len(l.m) < MaxEntries {
		return
	}
	var victim limitKey
	var old *limitEntry
	for k, e := range l.m {
		if old == nil || (old.known && !e.known) || (old.known == e.known && e.last.Before(old.last)) {
			victim, old = k, e
		}
	}
	delete(l.m, victim)
}

// Line returns msg with a note of what was suppressed since the last line
// of its kind about addr, and false when it may not be logged now (see
// Allow).
func (l *Limiter) Line(kind string, addr netip.Addr, now time.Time, known bool, msg string) (string, bool) {
	ok, suppressed, others := l.Allow(kind, addr, now, known)
	switch {
	case !ok:
		return "", false
	case others:
		msg += fmt.Sprintf(" (%d similar from other addresses suppressed)", suppressed)
	case suppressed > 0:
		msg += fmt.Sprintf(" (%d similar suppressed)", suppressed)
	}
	return msg, true
}

// Len is the number of entries the limiter holds.
func (l *Limiter) Len() int { return len(l.m) }
