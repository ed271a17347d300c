// Package api defines what the daemon answers on its control socket: plain
// data, shared by the daemon (which fills it) and the CLI (which renders it
// as IOS-style text or prints it as JSON). Nothing here formats text.
package api

import (
	"strings"
	"time"
)

// DefaultSocket is where `gresec run` listens unless told otherwise.
const DefaultSocket = "/run/gresec/gresec.sock"

// Request is one control command, e.g. {"args":["show","interfaces","Tunnel0"]}.
type Request struct {
	Args []string `json:"args"`
}

// Response carries either data or an error.
type Response struct {
	Error string `json:"error,omitempty"`
	// Problems lists configuration problems (for reload), one per line.
	Problems []string `json:"problems,omitempty"`
	Data     any      `json:"data,omitempty"`
}

// Interface is one interface as `show interfaces` describes it.
type Interface struct {
	Name        string `json:"name"`
	Kind        string `json:"kind"` // "tunnel", "loopback", "physical"
	Description string `json:"description,omitempty"`
	// Status is "up", "down" or "administratively down" (the first word of
	// IOS's "Tunnel0 is up").
	Status string `json:"status"`
	// LineProtocol is "up" or "down".
	LineProtocol string `json:"line_protocol"`
	// DownReason says why the line protocol is down.
	DownReason string `json:"down_reason,omitempty"`
	Address    string `json:"address,omitempty"` // CIDR
	// IPv6Addresses are the IPv6 addresses (CIDR), the link-local first;
	// IPv6Enabled says IPv6 runs on the interface (it has a link-local
	// address); IPv6MTU is the tunnel's IPv6 MTU (0: not a tunnel).
	IPv6Addresses []string `json:"ipv6_addresses,omitempty"`
	IPv6Enabled   bool     `json:"ipv6_enabled"`
	IPv6MTU       int      `json:"ipv6_mtu,omitempty"`
	MTU           int      `json:"mtu"`
	// LinuxName is the device name in Linux.
	LinuxName string  `json:"linux_name"`
	Tunnel    *Tunnel `json:"tunnel,omitempty"`
	// Counters are left out of `show ip interface brief`.
	Counters *Counters `json:"counters,omitempty"`
}

// Tunnel holds what `show interfaces TunnelN` adds for tunnels.
type Tunnel struct {
	Source          string `json:"source"`                     // address, "" if unresolved
	SourceInterface string `json:"source_interface,omitempty"` // when sourced from an interface
	Destination     string `json:"destination"`
	// Mode is the tunnel mode: "gre" over IPv4 (IOS's GRE/IP), "gre ipv6"
	// over IPv6 (GRE/IPv6).
	Mode         string  `json:"mode"`
	Key          *uint32 `json:"key,omitempty"`
	Sequencing   bool    `json:"sequencing"`
	Checksumming bool    `json:"checksumming"`
	// TransportMTU is the MTU of the underlay path; Overhead the bytes the
	// tunnel adds to each packet (min and max, max differs with padding).
	TransportMTU int    `json:"transport_mtu"`
	OverheadMin  int    `json:"overhead_min"`
	OverheadMax  int    `json:"overhead_max"`
	MaxInner     int    `json:"max_inner"`
	Protection   string `json:"protection,omitempty"` // profile name
	AdjustMSS    int    `json:"adjust_mss,omitempty"`
	AdjustMSS6   int    `json:"ipv6_adjust_mss,omitempty"`
	// UnderlayPrefix, UnderlayProtocol (connected, static, ospf, ...) and
	// UnderlayDevice are the kernel's route to the destination.
	UnderlayPrefix   string `json:"underlay_prefix,omitempty"`
	UnderlayProtocol string `json:"underlay_protocol,omitempty"`
	UnderlayDevice   string `json:"underlay_device,omitempty"`
	// RouteVia is the interface of `tunnel route-via`, RouteViaMandatory
	// its mode.
	RouteVia          string     `json:"route_via,omitempty"`
	RouteViaMandatory bool       `json:"route_via_mandatory,omitempty"`
	HoldDown          int        `json:"recursion_hold_down_seconds"`
	HoldDownLeft      int        `json:"recursion_hold_down_left_seconds,omitempty"`
	Keepalive         *Keepalive `json:"keepalive,omitempty"`
}

// Keepalive is the GRE keepalive state of a tunnel.
type Keepalive struct {
	Period    int       `json:"period_seconds"`
	Retries   int       `json:"retries"`
	Sent      uint64    `json:"sent"`
	Replies   uint64    `json:"replies"`
	Missed    int       `json:"missed"`
	LastReply time.Time `json:"last_reply,omitzero"`
}

// Counters are an interface's packet counters; Detail names each drop reason.
type Counters struct {
	InPackets  uint64            `json:"in_packets"`
	InBytes    uint64            `json:"in_bytes"`
	InErrors   uint64            `json:"in_errors"`
	OutPackets uint64            `json:"out_packets"`
	OutBytes   uint64            `json:"out_bytes"`
	OutDrops   uint64            `json:"out_drops"`
	OutErrors  uint64            `json:"out_errors"`
	Detail     map[string]uint64 `json:"detail,omitempty"`
}

// Route is one entry of `show ip route` or `show ipv6 route`.
type Route struct {
	Code string `json:"code"` // IOS code: C, L, S, O, R, B, K...
	// Receive is set on a local route (IOS's "receive"): an address of
	// the router.
	Receive  bool      `json:"receive,omitempty"`
	Prefix   string    `json:"prefix"`
	Distance int       `json:"distance"`
	Metric   int       `json:"metric"`
	Nexthops []Nexthop `json:"nexthops"`
}

// Nexthop is one path of a Route.
type Nexthop struct {
	Gateway   string `json:"gateway,omitempty"`
	Interface string `json:"interface,omitempty"`
}

// RouteTable is `show ip route` or `show ipv6 route`.
type RouteTable struct {
	Routes []Route `json:"routes"`
}

// Interfaces is `show interfaces`, `show ip interface brief` and `show
// ipv6 interface brief`.
type Interfaces struct {
	Interfaces []Interface `json:"interfaces"`
}

// RunningConfig is `show running-config`.
type RunningConfig struct {
	Text string `json:"text"`
}

// IPsecSAs is `show crypto ipsec sa`.
type IPsecSAs struct {
	Tunnels []IPsecTunnel `json:"tunnels"`
}

// IPsecTunnel is one protected tunnel's crypto map entry and its SAs.
type IPsecTunnel struct {
	Interface   string   `json:"interface"`
	MapTag      string   `json:"crypto_map_tag"` // Tunnel0-head-0
	LocalAddr   string   `json:"local_addr"`
	LocalIdent  Selector `json:"local_ident"`
	RemoteIdent Selector `json:"remote_ident"`
	Peer        string   `json:"current_peer"`
	PeerPort    int      `json:"current_peer_port"`
	// PFSGroup is the Diffie-Hellman group of perfect forward secrecy (0:
	// none).
	PFSGroup int `json:"pfs_group"`

	Encaps         uint64 `json:"pkts_encaps"`
	Encrypt        uint64 `json:"pkts_encrypt"`
	Digest         uint64 `json:"pkts_digest"`
	Decaps         uint64 `json:"pkts_decaps"`
	Decrypt        uint64 `json:"pkts_decrypt"`
	Verify         uint64 `json:"pkts_verify"`
	SendErrors     uint64 `json:"send_errors"`
	RecvErrors     uint64 `json:"recv_errors"`
	ReplayFailures uint64 `json:"replay_failures"`
	AuthFailures   uint64 `json:"auth_failures"`
	// DroppedNoSA counts GRE not sent for want of an SA (fail closed);
	// DroppedClear counts clear GRE received from the peer and dropped.
	DroppedNoSA  uint64 `json:"dropped_no_sa"`
	DroppedClear uint64 `json:"dropped_clear"`

	PathMTU      int    `json:"path_mtu"`
	PlaintextMTU int    `json:"plaintext_mtu"`
	OutboundSPI  uint32 `json:"current_outbound_spi"`

	Inbound  []IPsecSA `json:"inbound_esp_sas"`
	Outbound []IPsecSA `json:"outbound_esp_sas"`
}

// Selector is one side of the traffic an SA protects: an address and
// mask, an IP protocol and a port (0: any).
type Selector struct {
	Addr     string `json:"addr"`
	Mask     string `json:"mask"` // a dotted mask, or an IPv6 prefix length
	Protocol int    `json:"protocol"`
	Port     int    `json:"port"`
}

// HostGRE is the selector of GRE to or from one host; an IPv6 host's mask
// is its prefix length, 128, as IOS writes it.
func HostGRE(addr string) Selector {
	if strings.Contains(addr, ":") {
		return Selector{Addr: addr, Mask: "128", Protocol: 47}
	}
	return Selector{Addr: addr, Mask: "255.255.255.255", Protocol: 47}
}

// IPsecSA is one ESP SA.
type IPsecSA struct {
	SPI       uint32 `json:"spi"`
	Transform string `json:"transform"` // esp-256-aes esp-sha384-hmac
	Mode      string `json:"mode"`      // "transport" or "tunnel"
	// UDPEncap is set for ESP in UDP (NAT traversal, RFC 3948).
	UDPEncap         bool   `json:"udp_encap"`
	RemainingKB      uint64 `json:"remaining_kilobytes"`
	RemainingSeconds int    `json:"remaining_seconds"`
	ReplayWindow     int    `json:"replay_window,omitempty"`
	// Retiring is set on a pair that a rekey replaced and that still
	// accepts packets for a while.
	Retiring bool `json:"retiring"`
}

// ISAKMPSAs is `show crypto isakmp sa [detail]`.
type ISAKMPSAs struct {
	SAs []ISAKMPSA `json:"sas"`
}

// ISAKMPSA is one ISAKMP (phase 1) SA.
type ISAKMPSA struct {
	Dst             string `json:"dst"`
	Src             string `json:"src"`
	State           string `json:"state"` // MM_NO_STATE ... QM_IDLE
	ConnID          int    `json:"conn_id"`
	Status          string `json:"status"` // ACTIVE once established
	Initiator       bool   `json:"initiator"`
	InitiatorCookie string `json:"initiator_cookie"`
	ResponderCookie string `json:"responder_cookie"`
	Cipher          string `json:"cipher"`
	KeyBits         int    `json:"key_bits"`
	Hash            string `json:"hash"`
	Auth            string `json:"auth"`
	Group           int    `json:"dh_group"`
	LifetimeSeconds int    `json:"lifetime_remaining_seconds"`
	Local           string `json:"local"`
	Remote          string `json:"remote"`
	NATT            bool   `json:"nat_t"`
	LocalBehindNAT  bool   `json:"local_behind_nat"`
	RemoteBehindNAT bool   `json:"remote_behind_nat"`
	DPD             bool   `json:"dpd"`
}

// IKEv2SAs is `show crypto ikev2 sa [detailed]`.
type IKEv2SAs struct {
	SAs []IKEv2SA `json:"sas"`
}

// IKEv2SA is one IKE SA of IKEv2 (RFC 7296).
type IKEv2SA struct {
	// TunnelID numbers the IKE SAs (IOS's Tunnel-id); SessionID numbers
	// the peers, whose IKE SAs and CHILD_SAs form one session.
	TunnelID   int    `json:"tunnel_id"`
	SessionID  int    `json:"session_id"`
	Local      string `json:"local"`
	LocalPort  int    `json:"local_port"`
	Remote     string `json:"remote"`
	RemotePort int    `json:"remote_port"`
	// Status is READY once authenticated, IN-NEG while negotiating,
	// DELETE while being deleted or replaced by a rekey.
	Status     string `json:"status"`
	Encryption string `json:"encryption"` // AES-CBC, AES-GCM
	KeyBits    int    `json:"key_bits"`
	PRF        string `json:"prf"`
	// Integrity is empty for AES-GCM, which has none of its own.
	Integrity       string `json:"integrity,omitempty"`
	Group           int    `json:"dh_group"`
	AuthSign        string `json:"auth_sign"`   // how this side authenticates: PSK
	AuthVerify      string `json:"auth_verify"` // how the peer does
	LifetimeSeconds int    `json:"lifetime_seconds"`
	ActiveSeconds   int    `json:"active_seconds"`
	// LocalSPI and RemoteSPI are the IKE SPIs of this side and the peer,
	// in hex.
	LocalSPI  string `json:"local_spi"`
	RemoteSPI string `json:"remote_spi"`
	LocalID   string `json:"local_id"`
	RemoteID  string `json:"remote_id"`
	// Message IDs of the next request each side sends; Window is how many
	// requests may be outstanding (RFC 7296 section 2.3).
	LocalNextMID  uint32 `json:"local_next_message_id"`
	RemoteNextMID uint32 `json:"remote_next_message_id"`
	Window        int    `json:"window"`
	// DPD: the liveness check interval and retry in seconds, 0 if not
	// configured.
	DPDInterval     int  `json:"dpd_interval_seconds"`
	DPDRetry        int  `json:"dpd_retry_seconds"`
	NATT            bool `json:"nat_t"`
	LocalBehindNAT  bool `json:"local_behind_nat"`
	RemoteBehindNAT bool `json:"remote_behind_nat"`
	Initiator       bool `json:"initiator"`
	// Tunnels are the interfaces whose CHILD_SAs this IKE SA carries.
	Tunnels  []string     `json:"tunnels,omitempty"`
	Children []IKEv2Child `json:"children,omitempty"`
}

// IKEv2Child is one CHILD_SA: an ESP SA pair and the traffic it protects.
type IKEv2Child struct {
	Interface      string       `json:"interface"`
	LocalSelector  TrafficRange `json:"local_selector"`
	RemoteSelector TrafficRange `json:"remote_selector"`
	InSPI          uint32       `json:"in_spi"`
	OutSPI         uint32       `json:"out_spi"`
	Encryption     string       `json:"encryption"` // AES-CBC, AES-GCM
	KeyBits        int          `json:"key_bits"`
	Integrity      string       `json:"integrity,omitempty"` // SHA1, SHA256...; empty for AES-GCM
	Mode           string       `json:"mode"`                // "transport" or "tunnel"
	UDPEncap       bool         `json:"udp_encap"`
}

// TrafficRange is an IKEv2 traffic selector (RFC 7296 section 3.13.1):
// an address range, a port range and an IP protocol (0: any).
type TrafficRange struct {
	StartAddr string `json:"start_addr"`
	EndAddr   string `json:"end_addr"`
	StartPort int    `json:"start_port"`
	EndPort   int    `json:"end_port"`
	Protocol  int    `json:"protocol"`
}

// IKEv2Sessions is `show crypto ikev2 session [detailed]`.
type IKEv2Sessions struct {
	Sessions []IKEv2Session `json:"sessions"`
}

// IKEv2Session is what is negotiated with one peer: its IKE SAs, each
// with its CHILD_SAs.
type IKEv2Session struct {
	SessionID int `json:"session_id"`
	// Status is UP-ACTIVE (an IKE SA up and CHILD_SAs), UP-IDLE (an IKE SA
	// up, no CHILD_SA), UP-NO-IKE (CHILD_SAs only) or DOWN-NEGOTIATING.
	Status string    `json:"status"`
	SAs    []IKEv2SA `json:"sas"`
}

// CryptoSessions is `show crypto session`.
type CryptoSessions struct {
	Sessions []CryptoSession `json:"sessions"`
}

// CryptoSession is one protected tunnel's session.
type CryptoSession struct {
	Interface string `json:"interface"`
	Peer      string `json:"peer"`
	PeerPort  int    `json:"peer_port"`
	Status    string `json:"status"` // UP-ACTIVE, UP-NO-IKE, DOWN-NEGOTIATING, DOWN
	ISAKMPSAs int    `json:"isakmp_sas"`
	ActiveSAs int    `json:"active_ipsec_sas"`
	Local     string `json:"local"`
	Remote    string `json:"remote"`
	// IKEVersion is 1 or 2; an IKEv2 session lists its IKE SAs.
	IKEVersion int          `json:"ike_version"`
	IKEv2SAs   []SessionIKE `json:"ikev2_sas,omitempty"`
}

// SessionIKE is an IKE SA of a crypto session: its endpoints, and
// whether it is established.
type SessionIKE struct {
	Local      string `json:"local"`
	LocalPort  int    `json:"local_port"`
	Remote     string `json:"remote"`
	RemotePort int    `json:"remote_port"`
	Active     bool   `json:"active"`
}

// CryptoMaps is `show crypto map`.
type CryptoMaps struct {
	Maps []CryptoMap `json:"maps"`
}

// CryptoMap is the crypto map IOS derives from a tunnel's profile.
type CryptoMap struct {
	Tag     string `json:"tag"` // Tunnel0-head-0
	Profile string `json:"profile"`
	Peer    string `json:"peer"`
	// ACL is what the crypto map's access list permits: GRE between the
	// tunnel endpoints.
	ACL             Selector `json:"acl_source"`
	ACLDest         Selector `json:"acl_destination"`
	TransformSets   []string `json:"transform_sets"`
	PFSGroup        int      `json:"pfs_group"`
	LifetimeSeconds int      `json:"lifetime_seconds"`
	LifetimeKB      uint64   `json:"lifetime_kilobytes"`
	Interface       string   `json:"interface"`
}

// CryptoSockets is `show crypto socket`: the crypto socket IOS opens for
// each protected tunnel as soon as it is configured and up, without waiting
// for traffic.
type CryptoSockets struct {
	Sockets []CryptoSocket `json:"sockets"`
}

// CryptoSocket is one tunnel's crypto socket.
type CryptoSocket struct {
	Interface   string   `json:"interface"`
	Local       string   `json:"local"`
	Remote      string   `json:"remote"`
	LocalIdent  Selector `json:"local_ident"`
	RemoteIdent Selector `json:"remote_ident"`
	Profile     string   `json:"profile"`
	MapTag      string   `json:"crypto_map_tag"`
	// State is "Open" with an SA pair installed, "Opening" while IKE
	// negotiates, "Closed" when the tunnel cannot negotiate (shut down, no
	// source).
	State string `json:"state"`
}
