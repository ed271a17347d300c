package ike

import (
	"fmt"
	"log/slog"
	"net/netip"
)

// Logging. Events that a peer can cause at will are rate limited per peer
// and kind (package loglimit).

// configured reports whether addr is the destination of a protected
// tunnel.
func (e *Engine) configured(addr netip.Addr) bool { return e.dests[addr] > 0 }

// allow is limiter.allow at the engine's current time.
func (e *Engine) allow(kind string, addr netip.Addr) bool {
	ok, _, _ := e.limiter.Allow(kind, addr, e.now, e.configured(addr))
	return ok
}

// logf emits a Log action.
func (e *Engine) logf(level slog.Level, peer netip.Addr, format string, args ...any) {
	e.emit(Log{Level: level, Peer: peer, Msg: fmt.Sprintf(format, args...)})
}

// logLimited emits a Log action unless one of the same kind about the same
// peer went out within the last minute. It reports whether it logged.
func (e *Engine) logLimited(kind string, level slog.Level, peer netip.Addr, format string, args ...any) bool {
	msg, ok := e.limiter.Line(kind, peer, e.now, e.configured(peer), fmt.Sprintf(format, args...))
	if ok {
		e.emit(Log{Level: level, Peer: peer, Msg: msg})
	}
	return ok
}
