package dataplane

import "sync/atomic"

// Counters are one tunnel's packet counters. Each direction's goroutine adds
// a batch's worth at a time; readers see a consistent-enough snapshot.
type Counters struct {
	InPackets, InBytes   atomic.Uint64
	OutPackets, OutBytes atomic.Uint64

	// Output drops, by reason.
	OutDownDrops      atomic.Uint64 // line protocol down
	OutNoSADrops      atomic.Uint64 // protected tunnel without an outbound SA
	OutRecursionDrops atomic.Uint64 // would be encapsulated into its own tunnel
	OutErrors         atomic.Uint64 // the underlay refused the datagram
	OutTooBig         atomic.Uint64 // above the tunnel MTU with DF: ICMP sent back
	OutMalformed      atomic.Uint64 // not an IP packet
	OutReadErrors     atomic.Uint64 // the overlay failed a read (retried)

	// Input errors and drops, by reason.
	InMalformed     atomic.Uint64 // not a GRE packet we can decode
	InKeyMismatch   atomic.Uint64 // key absent, present or different
	InChecksumError atomic.Uint64
	InSeqDrops      atomic.Uint64 // out of sequence with sequence-datagrams
	InClearDrops    atomic.Uint64 // clear GRE on a protected tunnel
	InUnknownProto  atomic.Uint64 // payload neither IPv4 nor IPv6
	InDownDrops     atomic.Uint64 // line protocol down
	InErrors        atomic.Uint64 // the overlay refused the packet

	// IPsec.
	Encrypted      atomic.Uint64 // GRE frames sealed into ESP
	Decrypted      atomic.Uint64 // ESP packets verified and decrypted
	InNoSA         atomic.Uint64 // ESP with an unknown SPI, or none installed
	InAuthFailures atomic.Uint64 // ICV did not verify
	InReplayDrops  atomic.Uint64 // replayed or too old
	InPolicyDrops  atomic.Uint64 // decrypted but not this tunnel's GRE

	MSSClamped atomic.Uint64

	KeepalivesSent      atomic.Uint64
	KeepaliveReplies    atomic.Uint64
	KeepalivesReflected atomic.Uint64
}

// Snapshot is a plain copy of Counters.
type Snapshot struct {
	InPackets, InBytes, OutPackets, OutBytes                                   uint64
	OutDownDrops, OutNoSADrops, OutRecursionDrops, OutErrors                   uint64
	OutTooBig, OutMalformed, OutReadErrors                                     uint64
	InMalformed, InKeyMismatch, InChecksumError, InSeqDrops                    uint64
	InClearDrops, InUnknownProto, InDownDrops, InErrors                        uint64
	MSSClamped, KeepalivesSent, KeepaliveReplies, KeepalivesReflected          uint64
	Encrypted, Decrypted, InNoSA, InAuthFailures, InReplayDrops, InPolicyDrops uint64
}

// Snapshot copies the counters.
func (c *Counters) Snapshot() Snapshot {
	return Snapshot{
		InPackets: c.InPackets.Load(), InBytes: c.InBytes.Load(),
		OutPackets: c.OutPackets.Load(), OutBytes: c.OutBytes.Load(),
		OutDownDrops: c.OutDownDrops.Load(), OutNoSADrops: c.OutNoSADrops.Load(),
		OutRecursionDrops: c.OutRecursionDrops.Load(), OutErrors: c.OutErrors.Load(),
		OutTooBig: c.OutTooBig.Load(), OutMalformed: c.OutMalformed.Load(),
		OutReadErrors: c.OutReadErrors.Load(),
		InMalformed:   c.InMalformed.Load(), InKeyMismatch: c.InKeyMismatch.Load(),
		InChecksumError: c.InChecksumError.Load(), InSeqDrops: c.InSeqDrops.Load(),
		InClearDrops: c.InClearDrops.Load(), InUnknownProto: c.InUnknownProto.Load(),
		InDownDrops: c.InDownDrops.Load(), InErrors: c.InErrors.Load(),
		MSSClamped: c.MSSClamped.Load(), KeepalivesSent: c.KeepalivesSent.Load(),
		KeepaliveReplies: c.KeepaliveReplies.Load(), KeepalivesReflected: c.KeepalivesReflected.Load(),
		Encrypted: c.Encrypted.Load(), Decrypted: c.Decrypted.Load(), InNoSA: c.InNoSA.Load(),
		InAuthFailures: c.InAuthFailures.Load(), InReplayDrops: c.InReplayDrops.Load(), InPolicyDrops: c.InPolicyDrops.Load(),
	}
}

// OutDrops is the sum of output drops, as IOS's "output drops".
func (s Snapshot) OutDrops() uint64 {
	return s.OutDownDrops + s.OutNoSADrops + s.OutRecursionDrops + s.OutTooBig + s.OutMalformed
}

// InDrops is the sum of input errors, as IOS's "input errors".
func (s Snapshot) InDrops() uint64 {
	return s.InMalformed + s.InKeyMismatch + s.InChecksumError + s.InSeqDrops +
		s.InClearDrops + s.InUnknownProto + s.InDownDrops + s.InErrors +
		s.InNoSA + s.InAuthFailures + s.InReplayDrops + s.InPolicyDrops
}
