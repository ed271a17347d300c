package esp

import "sync/atomic"

// Lifetime holds an SA's volume limits (RFC 4301 section 4.4.2.1). A zero
// field means no limit. Bytes are payload bytes: what Seal was given and
// what Open returned.
//
// When a soft limit is reached the key manager should negotiate a
// replacement SA; at a hard limit Seal and Open refuse with ErrExpired.
// Time-based lifetimes are the key manager's, with its clock.
type Lifetime struct {
	SoftBytes, HardBytes     uint64
	SoftPackets, HardPackets uint64
}

// Stats are an SA's counters, in the sense of IOS `show crypto ipsec sa`.
type Stats struct {
	// Packets and Bytes count what was sealed, or opened and accepted
	// (payload bytes).
	Packets, Bytes uint64
	// AuthFailures counts inbound packets whose ICV did not verify.
	AuthFailures uint64
	// ReplayFailures counts inbound packets rejected by the replay window.
	ReplayFailures uint64
	// Errors counts every other refused packet: too short, bad length,
	// wrong SPI, bad padding, no room, lifetime or sequence numbers used
	// up.
	Errors uint64
}

// counters are atomic so that Stats and the lifetime checks may run in
// any goroutine while one goroutine seals or opens.
type counters struct {
	packets, bytes, auth, replay, errors atomic.Uint64
}

// SetLifetime sets the SA's volume limits. Call it before the SA carries
// traffic.
func (sa *SA) SetLifetime(l Lifetime) { sa.life = l }

// Lifetime returns the SA's volume limits.
func (sa *SA) Lifetime() Lifetime { return sa.life }

// Stats returns a snapshot of the SA's counters. It is safe for concurrent
// use.
func (sa *SA) Stats() Stats {
	return Stats{
		Packets:        sa.stats.packets.Load(),
		Bytes:          sa.stats.bytes.Load(),
		AuthFailures:   sa.stats.auth.Load(),
		ReplayFailures: sa.stats.replay.Load(),
		Errors:         sa.stats.errors.Load(),
	}
}

// Expired reports whether the SA has reached a hard limit: bytes, packets,
// or (outbound) the last sequence number. It is safe for concurrent use.
func (sa *SA) Expired() bool {
	p := sa.stats.packets.Load()
	return over(sa.stats.bytes.Load(), sa.life.HardBytes) ||
		over(p, sa.life.HardPackets) ||
		sa.outbound && p >= sa.maxSeq
}

// SoftExpired reports whether the SA has reached a soft limit, or is
// expired. An outbound SA also soft-expires when 15/16 of its sequence
// number space is used, so that a rekey happens before ErrSeqExhausted.
// It is safe for concurrent use.
func (sa *SA) SoftExpired() bool {
	p := sa.stats.packets.Load()
	return sa.Expired() ||
		over(sa.stats.bytes.Load(), sa.life.SoftBytes) ||
		over(p, sa.life.SoftPackets) ||
		sa.outbound && p >= sa.maxSeq-sa.maxSeq>>4
}

func over(n, limit uint64) bool { return limit != 0 && n >= limit }

// hardExpired is Expired for the data path, which knows the sequence
// number separately.
func (sa *SA) hardExpired() bool {
	return over(sa.stats.bytes.Load(), sa.life.HardBytes) ||
		over(sa.stats.packets.Load(), sa.life.HardPackets)
}

func (sa *SA) count(err error) {
	switch err {
	case ErrAuth:
		sa.stats.auth.Add(1)
	case ErrReplay:
		sa.stats.replay.Add(1)
	case ErrDummy:
		// A valid packet without payload.
	default:
		sa.stats.errors.Add(1)
	}
}
