package ike

import (
	"fmt"
	"log/slog"
	"net/netip"
	"time"
)

// Logging. Events that a peer can cause at will (malformed or unexpected
// messages, failed authentication) are rate limited per peer and kind, so
// that a flood costs one line a minute. The first event of a configured
// peer (a tunnel destination) always gets through; addresses that are no
// tunnel destination, which a spoofed flood has without end, share a small
// budget of first lines per kind, and the rest is counted into the next
// line that does go out.

const (
	logInterval     = time.Minute
	maxLimitEntries = 4096
	// strangerLines is how many addresses that are no tunnel destination
	// get a first line per kind and minute.
	strangerLines = 10
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

// limiter decides which rate-limited events are logged (or answered). Its
// memory is bounded: when the table is full, the oldest entry goes,
// strangers' before tunnel destinations'.
type limiter struct {
	m         map[limitKey]*limitEntry
	strangers map[string]*strangerBudget // by kind, a fixed set of strings
}

// allow reports whether an event of the given kind from addr may be
// logged (or answered) now, and how many similar ones were suppressed
// since the last that was: from addr, or from other unknown addresses
// when others is set. known says addr is a configured peer.
func (l *limiter) allow(kind string, addr netip.Addr, now time.Time, known bool) (ok bool, suppressed int, others bool) {
	if l.m == nil {
		l.m = make(map[limitKey]*limitEntry)
		l.strangers = make(map[string]*strangerBudget)
	}
	k := limitKey{kind, addr}
	if e, ok := l.m[k]; ok {
		if now.Sub(e.last) < logInterval && !now.Before(e.last) {
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
		if now.Sub(b.start) >= logInterval || now.Before(b.start) {
			b.start, b.given = now, 0
		}
		if b.given >= strangerLines {
			b.suppressed++
			return false, 0, false
		}
		b.given++
		n, b.suppressed = b.suppressed, 0
	}
	if len(l.m) >= maxLimitEntries {
		l.evict(now)
	}
	l.m[k] = &limitEntry{last: now, known: known}
	return true, n, n > 0
}

// evict makes room for one entry: entries past their interval go, else
// the oldest stranger's, else the oldest of all.
func (l *limiter) evict(now time.Time) {
	for k, e := range l.m {
		if now.Sub(e.last) >= logInterval || now.Before(e.last) {
			delete(l.m, k)
		}
	}
	if len(l.m) < maxLimitEntries {
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

// configured reports whether addr is the destination of a protected
// tunnel.
func (e *Engine) configured(addr netip.Addr) bool { return e.dests[addr] > 0 }

// allow is limiter.allow at the engine's current time.
func (e *Engine) allow(kind string, addr netip.Addr) bool {
	ok, _, _ := e.limiter.allow(kind, addr, e.now, e.configured(addr))
	return ok
}

// logf emits a Log action.
func (e *Engine) logf(level slog.Level, peer netip.Addr, format string, args ...any) {
	e.emit(Log{Level: level, Peer: peer, Msg: fmt.Sprintf(format, args...)})
}

// logLimited emits a Log action unless one of the same kind about the same
// peer went out within the last minute. It reports whether it logged.
func (e *Engine) logLimited(kind string, level slog.Level, peer netip.Addr, format string, args ...any) bool {
	ok, suppressed, others := e.limiter.allow(kind, peer, e.now, e.configured(peer))
	if !ok {
		return false
	}
	msg := fmt.Sprintf(format, args...)
	switch {
	case others:
		msg += fmt.Sprintf(" (%d similar from other addresses suppressed)", suppressed)
	case suppressed > 0:
		msg += fmt.Sprintf(" (%d similar suppressed)", suppressed)
	}
	e.emit(Log{Level: level, Peer: peer, Msg: msg})
	return true
}
