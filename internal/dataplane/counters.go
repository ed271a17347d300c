package dataplane

import (
	"iter"
	"strconv"
	"strings"
	"sync/atomic"
)

// Counter names one of a tunnel's packet counters; counterTable says what
// it is called and which sums it belongs to.
type Counter int

const (
	InPackets Counter = iota
	InBytes
	OutPackets
	OutBytes

	// Output drops, by reason.
	OutDownDrops      // line protocol down
	OutNoSADrops      // protected tunnel without an outbound SA
	OutRecursionDrops // would be encapsulated into its own tunnel
	OutErrors         // the underlay refused the datagram
	OutTooBig         // above the tunnel MTU with DF: ICMP sent back
	OutMalformed      // not an IP packet
	OutReadErrors     // the overlay failed a read (retried)
	OutPathTooBig     // above the underlay's path MTU (EMSGSIZE), among OutErrors

	// Input errors and drops, by reason.
	InMalformed   // not a GRE packet we can decode
	InKeyMismatch // key absent, present or different
	InChecksumError
	InSeqDrops     // out of sequence with sequence-datagrams
	InClearDrops   // clear GRE on a protected tunnel
	InUnknownProto // payload neither IPv4 nor IPv6
	InDownDrops    // line protocol down
	InErrors       // the overlay refused the packet

	// IPsec.
	Encrypted      // GRE frames sealed into ESP
	Decrypted      // ESP packets verified and decrypted
	InNoSA         // ESP with an unknown SPI, or none installed
	InAuthFailures // ICV did not verify
	InReplayDrops  // replayed or too old
	InPolicyDrops  // decrypted but not this tunnel's GRE

	MSSClamped

	KeepalivesSent
	KeepaliveReplies
	KeepalivesReflected

	numCounters
)

// counterKind says which totals a counter adds to.
type counterKind uint8

const (
	outDrop counterKind = 1 << iota // in Snapshot.OutDrops, IOS's "output drops"
	inDrop                          // in Snapshot.InDrops, IOS's "input errors"
	detail                          // listed by name in `show interfaces`
)

// counterTable is the one list of counter names; `show interfaces` JSON
// uses them as keys, so a detail counter's name must not change.
var counterTable = [numCounters]struct {
	name string
	kind counterKind
}{
	InPackets:  {"in_packets", 0},
	InBytes:    {"in_bytes", 0},
	OutPackets: {"out_packets", 0},
	OutBytes:   {"out_bytes", 0},

	OutDownDrops:      {"out_line_protocol_down", outDrop | detail},
	OutNoSADrops:      {"out_no_ipsec_sa", outDrop | detail},
	OutRecursionDrops: {"out_recursive", outDrop | detail},
	OutErrors:         {"out_underlay_errors", 0},
	OutTooBig:         {"out_too_big_icmp_sent", outDrop | detail},
	OutPathTooBig:     {"out_path_mtu_exceeded", detail},
	OutMalformed:      {"out_not_ip", outDrop | detail},
	OutReadErrors:     {"out_overlay_read_errors", 0},

	InMalformed:     {"in_malformed", inDrop | detail},
	InKeyMismatch:   {"in_key_mismatch", inDrop | detail},
	InChecksumError: {"in_checksum_errors", inDrop | detail},
	InSeqDrops:      {"in_out_of_sequence", inDrop | detail},
	InClearDrops:    {"in_clear_on_protected", inDrop | detail},
	InUnknownProto:  {"in_unknown_protocol", inDrop | detail},
	InDownDrops:     {"in_line_protocol_down", inDrop | detail},
	InErrors:        {"in_overlay_errors", inDrop | detail},

	Encrypted:      {"encrypted", 0},
	Decrypted:      {"decrypted", 0},
	InNoSA:         {"in_no_ipsec_sa", inDrop},
	InAuthFailures: {"in_auth_failures", inDrop},
	InReplayDrops:  {"in_replayed", inDrop},
	InPolicyDrops:  {"in_policy_mismatch", inDrop},

	MSSClamped: {"mss_clamped", detail},

	KeepalivesSent:      {"keepalives_sent", 0},
	KeepaliveReplies:    {"keepalive_replies", 0},
	KeepalivesReflected: {"keepalives_reflected", detail},
}

// String is the counter's snake_case name.
func (k Counter) String() string {
	if k < 0 || k >= numCounters {
		return "counter(" + strconv.Itoa(int(k)) + ")"
	}
	return counterTable[k].name
}

// Counters are one tunnel's packet counters. Each direction's goroutine adds
// a batch's worth at a time; readers see a consistent-enough snapshot.
type Counters struct {
	v [numCounters]atomic.Uint64
}

// Add adds n to counter k.
func (c *Counters) Add(k Counter, n uint64) { c.v[k].Add(n) }

// Load reads counter k.
func (c *Counters) Load(k Counter) uint64 { return c.v[k].Load() }

// ref is counter k itself, for code that counts without knowing tunnels.
func (c *Counters) ref(k Counter) *atomic.Uint64 { return &c.v[k] }

// Snapshot is a plain copy of Counters, indexed by Counter.
type Snapshot [numCounters]uint64

// Snapshot copies the counters.
func (c *Counters) Snapshot() Snapshot {
	var s Snapshot
	for k := range c.v {
		s[k] = c.v[k].Load()
	}
	return s
}

// sum adds up the counters of a kind.
func (s *Snapshot) sum(kind counterKind) uint64 {
	var n uint64
	for k, c := range counterTable {
		if c.kind&kind != 0 {
			n += s[k]
		}
	}
	return n
}

// OutDrops is the sum of output drops, as IOS's "output drops".
func (s Snapshot) OutDrops() uint64 { return s.sum(outDrop) }

// InDrops is the sum of input errors, as IOS's "input errors".
func (s Snapshot) InDrops() uint64 { return s.sum(inDrop) }

// Detail yields the name and value of each counter `show interfaces`
// lists by name: the drop reasons, MSS clamps and reflected keepalives.
func (s Snapshot) Detail() iter.Seq2[string, uint64] {
	return func(yield func(string, uint64) bool) {
		for k, c := range counterTable {
			if c.kind&detail != 0 && !yield(c.name, s[k]) {
				return
			}
		}
	}
}

// String lists the counters that are not zero, by name, for test failures
// and logs.
func (s Snapshot) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for k, v := range s {
		if v == 0 {
			continue
		}
		if b.Len() > 1 {
			b.WriteByte(' ')
		}
		b.WriteString(counterTable[k].name)
		b.WriteByte('=')
		b.WriteString(strconv.FormatUint(v, 10))
	}
	b.WriteByte('}')
	return b.String()
}
