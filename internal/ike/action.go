package ike

import (
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/gresec/gresec/internal/esp"
)

// An Action is something the engine asks its caller to do. Every method of
// Engine that takes an event returns the actions it caused, in the order
// they must be carried out. The concrete types are Send, InstallPair,
// PeerMoved, DeletePair, PeerDead, SessionUp, SessionDown, KeyLogIKE,
// KeyLogIKEv2, KeyLogESP and Log.
type Action interface{ action() }

// Send asks for one UDP datagram. Data is the UDP payload exactly as it
// goes on the wire: on port 4500 the engine has already put the 4-byte
// non-ESP marker (RFC 3948 section 2.2) in front of an IKE message, and a
// NAT keepalive is the single byte 0xFF.
type Send struct {
	Local, Remote netip.AddrPort
	Data          []byte
}

// Mode is the IPsec encapsulation mode of an SA pair.
type Mode uint8

// Encapsulation modes.
const (
	ModeTunnel Mode = iota + 1
	ModeTransport
)

func (m Mode) String() string {
	switch m {
	case ModeTunnel:
		return "Tunnel"
	case ModeTransport:
		return "Transport"
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// UDPEncap asks for ESP in UDP (RFC 3948) between these ports.
type UDPEncap struct {
	LocalPort, RemotePort uint16
}

// SAKeys are one direction of an SA pair: the SPI the receiving side chose
// and the keys, in the lengths esp.NewInbound and esp.NewOutbound take
// (Suite.KeyLen, Suite.AuthKeyLen).
type SAKeys struct {
	SPI     uint32
	EncKey  []byte
	AuthKey []byte
}

// InstallPair asks the data plane to create an ESP SA pair for a protected
// tunnel. Make-before-break is the data plane's part: when the tunnel
// already has a pair, the new one takes over outbound traffic at once and
// the older inbound SA keeps accepting packets until the engine deletes it
// with DeletePair. If the engine deletes the pair that carries outbound
// traffic while another remains, the most recently installed remaining
// pair takes over; with none left the tunnel fails closed.
type InstallPair struct {
	Tunnel        string
	Local, Remote netip.Addr // the tunnel endpoints (outer addresses)
	Mode          Mode
	Suite         esp.Suite
	In, Out       SAKeys
	Encap         *UDPEncap // nil: plain ESP (IP protocol 50)
	Lifetime      time.Duration
	LifetimeKB    uint64 // volume limit; call Engine.Rekey at the soft limit
}

// PeerMoved reports that a peer behind a NAT now sends from another port
// (the NAT made a new mapping): an authenticated IKE message came from it.
// The tunnel's SA pairs with ESP in UDP now go to Remote; the data plane
// must send its ESP there (Encap) from now on. Keys and SPIs are
// unchanged.
type PeerMoved struct {
	Tunnel string
	Remote netip.AddrPort
	Encap  UDPEncap
}

// DeletePair asks the data plane to remove an SA pair.
type DeletePair struct {
	Tunnel string
	InSPI  uint32
	OutSPI uint32
}

// PeerDead reports that dead peer detection gave up on a peer: five
// R-U-THERE retransmissions without an answer (RFC 3706). The engine has
// already removed the peer's SAs (DeletePair actions precede this one) and
// will negotiate again with back-off.
type PeerDead struct {
	Remote netip.Addr
}

// SessionUp reports that a protected tunnel has its first SA pair; the
// daemon logs `%CRYPTO-5-SESSION_STATUS: Crypto tunnel is UP. Peer B:500`.
type SessionUp struct {
	Tunnel string
	Peer   netip.AddrPort
}

// SessionDown reports that a protected tunnel lost its last SA pair.
type SessionDown struct {
	Tunnel string
	Peer   netip.AddrPort
}

// KeyLogIKE carries the keys of an ISAKMP SA for a debugging key log. It is
// only emitted when Config.KeyLog is set.
type KeyLogIKE struct {
	InitiatorCookie [8]byte
	EncKey          []byte
}

// Line returns the entry as Wireshark's ikev1_decryption_table takes it
// (tshark -o 'uat:ikev1_decryption_table:LINE'): initiator cookie and
// encryption key in bare hex.
func (k KeyLogIKE) Line() string {
	return hex.EncodeToString(k.InitiatorCookie[:]) + "," + hex.EncodeToString(k.EncKey)
}

// KeyLogESP carries the keys of one direction of an ESP SA for a debugging
// key log. It is only emitted when Config.KeyLog is set.
type KeyLogESP struct {
	Src, Dst netip.Addr
	SPI      uint32
	Suite    esp.Suite
	EncKey   []byte
	AuthKey  []byte
}

// Line returns the entry as Wireshark's esp_sa table takes it (tshark -o
// 'uat:esp_sa:LINE'). Addresses are wildcards so that a capture behind a
// NAT decrypts too.
func (k KeyLogESP) Line() string {
	family := "IPv4"
	if k.Dst.Is6() && !k.Dst.Is4In6() {
		family = "IPv6"
	}
	auth := "0x"
	if len(k.AuthKey) > 0 {
		auth += hex.EncodeToString(k.AuthKey)
	}
	return fmt.Sprintf(`"%s","*","*","0x%08x","%s","0x%s","%s","%s"`,
		family, k.SPI, k.Suite.WiresharkEncryption(), hex.EncodeToString(k.EncKey),
		k.Suite.WiresharkAuthentication(), auth)
}

// Log is a notable event for the daemon's log. Msg never holds key
// material or the pre-shared key. Peer is the peer concerned, if any.
type Log struct {
	Level slog.Level
	Peer  netip.Addr
	Msg   string
}

func (Send) action()        {}
func (InstallPair) action() {}
func (DeletePair) action()  {}
func (PeerMoved) action()   {}
func (PeerDead) action()    {}
func (SessionUp) action()   {}
func (SessionDown) action() {}
func (KeyLogIKE) action()   {}
func (KeyLogESP) action()   {}
func (Log) action()         {}

// KeyLogIKEv2 carries the keys of an IKEv2 SA for a debugging key log. The
// IKEv2 engine (package ikev2) emits it only when its Config.KeyLog is set.
// EncName and IntegName are the algorithms as Wireshark names them.
type KeyLogIKEv2 struct {
	SPIi, SPIr [8]byte
	EncName    string
	SKei, SKer []byte
	IntegName  string
	SKai, SKar []byte
}

// Line returns the entry as Wireshark's ikev2_decryption_table takes it
// (tshark -o 'uat:ikev2_decryption_table:LINE'): the SPIs, SK_ei, SK_er,
// the encryption algorithm, SK_ai, SK_ar and the integrity algorithm.
func (k KeyLogIKEv2) Line() string {
	return fmt.Sprintf(`%x,%x,%x,%x,"%s",%x,%x,"%s"`, k.SPIi, k.SPIr, k.SKei, k.SKer, k.EncName, k.SKai, k.SKar, k.IntegName)
}

func (KeyLogIKEv2) action() {}
