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

	// IKEv2Proposals, IKEv2Policies, IKEv2Keyrings and IKEv2Profiles are
	// the `crypto ikev2` sections in file order; names are unique within
	// each kind. A crypto ipsec profile uses IKEv2 when it names an
	// IKEv2 profile (Profile.IKEv2Profile), IKEv1 otherwise.
	IKEv2Proposals []*IKEv2Proposal
	IKEv2Policies  []*IKEv2Policy
	IKEv2Keyrings  []*IKEv2Keyring
	IKEv2Profiles  []*IKEv2Profile
	// IKEv2 holds the global `crypto ikev2` settings.
	IKEv2 IKEv2Settings
	// Trustpoints are the `crypto pki trustpoint` sections in file order.
	Trustpoints []*PKITrustpoint

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
	// IKEv2Profile is `set ikev2-profile NAME`: the SAs of this profile
	// are negotiated with IKEv2 under that profile. "" means IKEv1.
	IKEv2Profile string
	Pos          Pos
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

// IKEv2Proposal is a `crypto ikev2 proposal NAME` section: the transforms
// of one IKE SA proposal (RFC 7296 section 3.3.1). Every combination of
// one value from each list is acceptable; the lists are in preference
// order. A valid proposal has Encryption, PRF and Groups; Integrity is
// empty exactly when the ciphers are AEAD (AES-GCM).
type IKEv2Proposal struct {
	Name       string
	Encryption []IKEv2Cipher
	Integrity  []Hash
	// PRF is the `prf` line, or without one the Integrity list, as on IOS.
	PRF    []Hash
	Groups []DHGroup // IANA numbers: 14, 15, 16, 19, 20, 21, 31 (curve25519)
	Pos    Pos
}

// IKEv2Cipher is an encryption transform of an IKEv2 proposal: AES in CBC
// mode (RFC 3602) or, when AEAD, in GCM with a 16-octet ICV (RFC 5282).
type IKEv2Cipher struct {
	KeyBits int // 128, 192 or 256 (AEAD: 128 or 256)
	AEAD    bool
}

// IKEv2Policy is a `crypto ikev2 policy NAME` section: which proposals
// an IKE SA on the given local addresses may use.
type IKEv2Policy struct {
	Name string
	// Proposals name IKEv2Proposals, in preference order.
	Proposals []string
	// LocalAddresses are the `match address local` lines; none matches
	// every local address.
	LocalAddresses []netip.Addr
	Pos            Pos
}

// IKEv2Keyring is a `crypto ikev2 keyring NAME` section: pre-shared keys
// by peer.
type IKEv2Keyring struct {
	Name  string
	Peers []*IKEv2KeyringPeer // in file order; names are unique
	Pos   Pos
}

// IKEv2KeyringPeer is a `peer NAME` sub-section of a keyring. A peer is
// found by its address (the most specific prefix wins) or by the identity
// it sends; a valid peer has at least one of the two, and a key.
type IKEv2KeyringPeer struct {
	Name        string
	Description string
	// Hostname is `hostname NAME`, informational in this release.
	Hostname string
	// Address is `address IP [MASK]` or `address ipv6 PREFIX/LENGTH`; the
	// zero Prefix means none, 0.0.0.0/0 and ::/0 are the wildcards.
	Address netip.Prefix
	// Identity is `identity ...`; Kind IDNone means none.
	Identity IKEv2Identity
	// PSK is `pre-shared-key KEY`, the key of both directions.
	// LocalPSK (`pre-shared-key local KEY`, what this router signs with)
	// and RemotePSK (`pre-shared-key remote KEY`, what the peer signs
	// with) override it for their direction.
	PSK, LocalPSK, RemotePSK string
	Pos                      Pos
}

// IKEv2IDKind is the type of an IKEv2 identity (RFC 7296 section 3.5).
type IKEv2IDKind int

const (
	IDNone    IKEv2IDKind = iota
	IDAddress             // ID_IPV4_ADDR or ID_IPV6_ADDR
	IDFQDN                // ID_FQDN
	IDEmail               // ID_RFC822_ADDR
	IDKeyID               // ID_KEY_ID
	IDDN                  // ID_DER_ASN1_DN: the subject of the router's certificate
)

// IKEv2Identity is an IKE identity: Address for IDAddress, Value for
// IDFQDN, IDEmail and IDKeyID. `identity local dn` has no Value in the
// configuration: it is the subject of the trustpoint's certificate.
type IKEv2Identity struct {
	Kind    IKEv2IDKind
	Address netip.Addr
	Value   string
}

// IKEv2MatchKind says what a `match identity remote` line compares.
type IKEv2MatchKind int

const (
	MatchAny         IKEv2MatchKind = iota + 1 // any
	MatchAddress                               // address IP [MASK] | address ipv6 PREFIX
	MatchFQDN                                  // fqdn NAME
	MatchFQDNDomain                            // fqdn domain NAME
	MatchEmail                                 // email ADDRESS
	MatchEmailDomain                           // email domain NAME
	MatchKeyID                                 // key-id ID
)

// IKEv2IdentityMatch is one `match identity remote` line of a profile:
// Prefix for MatchAddress, Value for the others but MatchAny.
type IKEv2IdentityMatch struct {
	Kind   IKEv2MatchKind
	Prefix netip.Prefix
	Value  string
}

// IKEv2AuthMethod is an `authentication local|remote` method.
type IKEv2AuthMethod int

const (
	AuthPreShare IKEv2AuthMethod = iota + 1 // pre-share: a keyring key
	AuthRSASig                              // rsa-sig: RSA certificate (RFC 7296, RFC 7427)
	AuthECDSASig                            // ecdsa-sig: ECDSA certificate (RFC 4754, RFC 7427)
)

// IKEv2Profile is a `crypto ikev2 profile NAME` section: how peers whose
// identity matches are authenticated. A valid profile has at least one
// MatchRemote, an AuthLocal and at least one AuthRemote; pre-share needs
// the Keyring, a signature the trustpoints.
type IKEv2Profile struct {
	Name        string
	Description string
	// MatchRemote are the `match identity remote` lines; the profile
	// applies to a peer whose identity any of them matches.
	MatchRemote []IKEv2IdentityMatch
	// LocalIdentity is `identity local`; Kind IDNone means the local
	// address, as on IOS.
	LocalIdentity IKEv2Identity
	AuthLocal     IKEv2AuthMethod
	// AuthRemote are the methods the peer may use, in file order.
	AuthRemote []IKEv2AuthMethod
	// Keyring is `keyring local NAME`; "" means none.
	Keyring string
	// SignTrustpoint holds the router's certificate and key (`pki
	// trustpoint NAME` or `... sign`); VerifyTrustpoints hold the CAs the
	// peer's certificate is checked against (`pki trustpoint NAME` or
	// `... verify`), in file order.
	SignTrustpoint    string
	VerifyTrustpoints []string
	// DPD is `dpd INTERVAL RETRY periodic|on-demand`; nil means the
	// global `crypto ikev2 dpd` (see IKEv2DPDFor).
	DPD *DPD
	// Lifetime is the IKE SA lifetime (default 86400 s).
	Lifetime time.Duration
	// NATKeepalive is `nat keepalive`; 0 means the global setting.
	NATKeepalive time.Duration
	Pos          Pos
}

// IKEv2Settings are the global `crypto ikev2` statements.
type IKEv2Settings struct {
	// NATKeepalive is `crypto ikev2 nat keepalive`; 0 means none, as on IOS.
	NATKeepalive time.Duration
	// DPD is `crypto ikev2 dpd`, for profiles without their own; nil: off.
	DPD *DPD
	// CookieChallenge is `crypto ikev2 cookie-challenge N`: answer with
	// a cookie (RFC 7296 section 2.6) once N IKE SAs are half open; 0: never.
	CookieChallenge int
	// MaxInNegotiationSA is `crypto ikev2 limit max-in-negotiation-sa`
	// and MaxSA `crypto ikev2 limit max-sa`; 0 means no limit.
	MaxInNegotiationSA int
	MaxSA              int
	// Fragmentation is `crypto ikev2 fragmentation [mtu N]` (RFC 7383);
	// FragmentationMTU is 0 for the default of 576.
	Fragmentation    bool
	FragmentationMTU int
	// NoDefaultPolicy is `no crypto ikev2 policy default`: without any
	// crypto ikev2 policy, no proposal is acceptable (see IKEv2ProposalsFor).
	NoDefaultPolicy bool
}

// PKITrustpoint is a `crypto pki trustpoint NAME` section. IOS enrolls
// with a CA; gresec reads PEM files instead, whose paths are absolute.
// Parse does not open them (Options.FileReadable checks them).
type PKITrustpoint struct {
	Name string
	// CACertFile is `ca-certificate file PATH`: the CA certificates that
	// verify peers (verify use).
	CACertFile string
	// CertFile and KeyFile are `certificate file PATH` and `private-key
	// file PATH`: the router's own certificate chain and key (sign use).
	CertFile, KeyFile string
	Pos               Pos
}
