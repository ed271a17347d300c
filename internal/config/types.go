// Package config holds gresec's typed configuration and the parser for its
// IOS-style configuration language (SPEC section 3).
//
// The parser is pure: text in, a *Config and diagnostics out. Nothing here
// touches the host; checks that need the host (does interface eth0 exist?)
// go through the Options hooks.
package config

import (
	"net/netip"
	"time"
)

// Config is one complete, validated gresec configuration.
type Config struct {
	Hostname string

	// Interfaces in the order they first appear in the file.
	Interfaces []*Interface

	// ISAKMPPolicies sorted by ascending priority (the order proposals are sent).
	ISAKMPPolicies []*ISAKMPPolicy
	// ISAKMPKeys in file order; use KeyFor to pick the most specific.
	ISAKMPKeys []*ISAKMPKey
	// DPD is nil unless `crypto isakmp keepalive` is configured.
	DPD *DPD
	// NATKeepalive is the NAT-T keepalive interval; 0 means the default (20 s,
	// sent only while behind a NAT).
	NATKeepalive time.Duration
	// ForceUDPEncap is `crypto isakmp nat force-encap`: ESP in UDP 4500 even
	// without a NAT (strongSwan's encap = yes), for paths that drop protocol 50.
	ForceUDPEncap bool

	// TransformSets and Profiles in file order; names are unique.
	TransformSets []*TransformSet
	Profiles      []*Profile

	// ReplayWindow is the ESP anti-replay window in packets (default 64).
	ReplayWindow int

	// IPv6UnicastRouting is `ipv6 unicast-routing`: forward IPv6 between
	// interfaces. Without it, as on IOS, IPv6 addresses and routes still
	// serve the router's own traffic (the GRE underlay among it).
	IPv6UnicastRouting bool

	// Routes are the `ip route`s, then the `ipv6 route`s, each in file
	// order (as show running-config lists them). The family of Prefix
	// says which statement a route came from.
	Routes []*StaticRoute
}

// Pos is a place in the configuration file (1-based line and column).
type Pos struct {
	Line, Col int
}

// InterfaceKind says how gresec realises an interface on Linux.
type InterfaceKind int

const (
	// Physical is an existing Linux interface, named as Linux names it.
	Physical InterfaceKind = iota
	// Loopback is a LoopbackN interface that gresec creates.
	Loopback
	// Tunnel is a TunnelN GRE interface that gresec creates.
	Tunnel
)

// Interface is an `interface NAME` section.
type Interface struct {
	// Name is canonical: "Tunnel0", "Loopback0" (abbreviations such as "tu0"
	// or "Tunnel 0" are normalised), or the Linux name of a physical interface.
	Name        string
	Kind        InterfaceKind
	Description string
	// Address is the primary `ip address`; the zero Prefix means none.
	Address netip.Prefix
	// IPv6Addresses are the `ipv6 address PREFIX/LENGTH [eui-64]` lines in
	// file order; an interface may have several, as on IOS.
	IPv6Addresses []IPv6Address
	// IPv6LinkLocal is `ipv6 address FE80::X link-local`; the zero Addr
	// means the host chooses the link-local address.
	IPv6LinkLocal netip.Addr
	// IPv6Enable is `ipv6 enable`: IPv6 with only a link-local address.
	// IPv6Enabled also counts the addresses.
	IPv6Enable bool
	Shutdown   bool
	// Tunnel is non-nil exactly when Kind == Tunnel.
	Tunnel *TunnelConfig
	Pos    Pos
}

// IPv6Address is one `ipv6 address` of an interface.
//
//	ipv6 address PREFIX/LENGTH            an address and its on-link prefix
//	ipv6 address PREFIX/LENGTH eui-64     the interface identifier (the low
//	                                      64 bits) from the MAC address
//
// EUI64 is accepted on physical interfaces only, where the host derives the
// identifier from the interface's MAC address as IOS does. TunnelN and
// LoopbackN interfaces have no MAC; IOS borrows one from another interface
// of the box, so the address would change with the host's hardware and the
// peer, which routes to it, could not know it. gresec refuses eui-64 there
// and asks for the whole address.
type IPv6Address struct {
	// Prefix is the address with its prefix length. With EUI64 the low 64
	// bits are zero and LENGTH is at most 64.
	Prefix netip.Prefix
	EUI64  bool
}

// TunnelMode is `tunnel mode`: the encapsulation and the underlay family.
// Either mode carries both IPv4 and IPv6 inside.
type TunnelMode int

const (
	// ModeGREIP is `tunnel mode gre ip`, the default: GRE over IPv4.
	ModeGREIP TunnelMode = iota
	// ModeGREIPv6 is `tunnel mode gre ipv6`: GRE over IPv6 (RFC 7676).
	ModeGREIPv6
)

// TunnelConfig holds the tunnel-only sub-commands of a TunnelN interface.
type TunnelConfig struct {
	// IPMTU is `ip mtu`; 0 means derived from the underlay MTU and overhead.
	IPMTU int
	// AdjustMSS is `ip tcp adjust-mss`; 0 means off.
	AdjustMSS int
	// IPv6MTU is `ipv6 mtu`; 0 means derived from the underlay MTU and
	// overhead, as on IOS (not taken from IPMTU).
	IPv6MTU int
	// IPv6AdjustMSS is `ipv6 tcp adjust-mss`, for TCP over IPv6; 0 means off.
	IPv6AdjustMSS int

	// Exactly one of SourceInterface and SourceAddr is set once valid.
	// SourceAddr and Destination are of the Mode's family once valid: IPv4
	// for gre ip, IPv6 for gre ipv6; a source interface gives its first
	// address of that family.
	SourceInterface string // canonical interface name
	SourceAddr      netip.Addr
	Destination     netip.Addr
	Mode            TunnelMode

	// Key is valid when HasKey (RFC 2890 key).
	HasKey   bool
	Key      uint32
	Sequence bool // `tunnel sequence-datagrams`
	Checksum bool // `tunnel checksum`

	// ProtectionProfile names a `crypto ipsec profile`; "" means unprotected.
	ProtectionProfile string

	// Keepalive is nil unless `keepalive` is configured.
	Keepalive *Keepalive

	// RouteVia is nil unless `tunnel route-via` is configured.
	RouteVia *RouteVia

	// RecursionHoldDown is `tunnel recursion hold-down` (default 60 s).
	RecursionHoldDown time.Duration
}

// Keepalive is the GRE keepalive of a tunnel.
type Keepalive struct {
	Period  time.Duration // default 10 s
	Retries int           // default 3
}

// RouteVia pins a tunnel's underlay to an interface.
type RouteVia struct {
	Interface string
	Mandatory bool // false: preferred
}

// ISAKMPPolicy is a `crypto isakmp policy PRIORITY` section.
type ISAKMPPolicy struct {
	Priority int
	// Encryption is always AES; EncryptionBits is 128, 192 or 256.
	EncryptionBits int
	Hash           Hash
	// Authentication is always pre-share in this release.
	Group    DHGroup
	Lifetime time.Duration // default 86400 s
	Pos      Pos
}

// Hash is an IKE hash/PRF algorithm.
type Hash int

const (
	HashSHA1 Hash = iota + 1
	HashSHA256
	HashSHA384
	HashSHA512
)

// DHGroup is a Diffie-Hellman group number (14, 15, 16 MODP; 19, 20, 21 ECP).
type DHGroup int

// ISAKMPKey is a `crypto isakmp key KEY address IP [MASK]` or
// `crypto isakmp key KEY address ipv6 PREFIX/LENGTH` line.
type ISAKMPKey struct {
	Key string
	// Peer is the address and mask; 0.0.0.0/0 is the IPv4 wildcard, ::/0
	// the IPv6 one.
	Peer netip.Prefix
	Pos  Pos
}

// DPD is `crypto isakmp keepalive SECONDS [RETRY] [periodic|on-demand]`.
type DPD struct {
	Interval time.Duration
	Retry    time.Duration // default 2 s
	Periodic bool          // default on-demand
}

// ESPCipher is the encryption transform of a transform set.
type ESPCipher int

const (
	ESPAESCBC ESPCipher = iota + 1 // esp-aes
	ESPAESGCM                      // esp-gcm (RFC 4106, 16-byte ICV)
)

// ESPIntegrity is the integrity transform of a transform set (none with GCM).
type ESPIntegrity int

const (
	IntegrityNone   ESPIntegrity = iota
	IntegritySHA1                // esp-sha-hmac, HMAC-SHA1-96
	IntegritySHA256              // esp-sha256-hmac, HMAC-SHA-256-128
	IntegritySHA384              // esp-sha384-hmac, HMAC-SHA-384-192
	IntegritySHA512              // esp-sha512-hmac, HMAC-SHA-512-256
)

// ESPMode is the IPsec encapsulation mode of a transform set.
type ESPMode int

const (
	ModeTunnel ESPMode = iota // IOS default
	ModeTransport
)

// TransformSet is `crypto ipsec transform-set NAME CIPHER [INTEGRITY]`.
type TransformSet struct {
	Name      string
	Cipher    ESPCipher
	KeyBits   int // 128, 192, 256 (esp-aes); 128, 256 (esp-gcm)
	Integrity ESPIntegrity
	Mode      ESPMode
	Pos       Pos
}

// Profile is `crypto ipsec profile NAME`.
type Profile struct {
	Name string
	// TransformSets are names of transform sets, in preference order.
	TransformSets []string
	// PFS is the `set pfs` group; 0 means no PFS.
	PFS DHGroup
	// The name mirrors IOS's "lifetime seconds" and is relied upon by other
	// packages; the value is a Duration all the same.
	//lint:ignore ST1011 field name is part of the shared contract
	LifetimeSeconds   time.Duration // default 3600 s
	LifetimeKilobytes uint64        // default 4608000
	Pos               Pos
}

// StaticRoute is `ip route PREFIX MASK (NEXT-HOP | INTERFACE [NEXT-HOP]) [DISTANCE]`
// or `ipv6 route PREFIX/LENGTH (NEXT-HOP | INTERFACE [NEXT-HOP]) [DISTANCE]`;
// Prefix and NextHop are of one family. A link-local IPv6 next hop always
// comes with its Interface (NextHop carries no zone).
type StaticRoute struct {
	Prefix    netip.Prefix
	Interface string     // canonical name; "" when only a next hop is given
	NextHop   netip.Addr // zero when only an interface is given
	Distance  int        // default 1
	Pos       Pos
}
