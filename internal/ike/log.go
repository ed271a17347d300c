package ike

import (
	"fmt"
	"log/slog"
	"net/netip"
	"time"
)

// Logging. Events that a peer can cause at will (malformed or unexpected
// messages, failed authentication) are rate limited per peer and kind, so
// that a flood costs one line a minute; the first one always gets through.

const (
	logInterval     = time.Minute
	maxLimitEntries = 4096
)

type limitKey struct {
	kind string
	addr netip.Addr
}

type limitEntry struct {
	last       time.Time
	suppressed int
}

// limiter decides which rate-limited events are logged.
type limiter struct {
	m map[limitKey]*limitEntry
}

// allow reports whether an event of the given kind from addr may be
// logged (or answered) now, and how many were suppressed since the last
// one.
func (l *limiter) allow(kind string, addr netip.Addr, now time.Time) (bool, int) {
	if l.m == nil {
		l.m = make(map[limitKey]*limitEntry)
	}
	k := limitKey{kind, addr}
	if e, ok := l.m[k]; ok {
		if now.Sub(e.last) < logInterval && !now.Before(e.last) {
			e.suppressed++
			return false, 0
		}
		n := e.suppressed
		*e = limitEntry{last: now}
		return true, n
	}
	if len(l.m) >= maxLimitEntries {
		for k, e := range l.m {
			if now.Sub(e.last) >= logInterval {
				delete(l.m, k)
			}
		}
		if len(l.m) >= maxLimitEntries {
			return false, 0 // a flood from many addresses: stay quiet
		}
	}
	l.m[k] = &limitEntry{last: now}
	return true, 0
}

// logf emits a Log action.
func (e *Engine) logf(level slog.Level, peer netip.Addr, format string, args ...any) {
	e.emit(Log{Level: level, Peer: peer, Msg: fmt.Sprintf(format, args...)})
}

// logLimited emits a Log action unless one of the same kind about the same
// peer went out within the last minute. It reports whether it logged.
func (e *Engine) logLimited(kind string, level slog.Level, peer netip.Addr, format string, args ...any) bool {
	ok, suppressed := e.limiter.allow(kind, peer, e.now)
	if !ok {
		return false
	}
	msg := fmt.Sprintf(format, args...)
	if suppressed > 0 {
		msg += fmt.Sprintf(" (%d similar suppressed)", suppressed)
	}
	e.emit(Log{Level: level, Peer: peer, Msg: msg})
	return true
}
