package wire

import (
	"fmt"
	"strings"
)

// Limits on what one message may hold. They bound the work a hostile peer
// can cause; real peers stay far below them (strongSwan's IKE_AUTH request
// has a dozen payloads, its widest default proposal about 40 transforms).
// Counts that the wire gives in one octet (selectors in a TS payload) need
// no limit of their own.
const (
	MaxPayloads   = 64  // payloads in one chain
	MaxProposals  = 64  // proposals in one SA payload
	MaxTransforms = 128 // transforms in one proposal
	MaxAttributes = 64  // attributes in one transform or CP payload
)

// PayloadType is the type of an IKEv2 payload, as found in the Next Payload
// field of the header and of each generic payload header (RFC 7296 section
// 3.2, RFC 7383 section 2.5).
type PayloadType uint8

// Payload types.
const (
	PayloadNone     PayloadType = 0
	PayloadSA       PayloadType = 33
	PayloadKE       PayloadType = 34
	PayloadIDi      PayloadType = 35
	PayloadIDr      PayloadType = 36
	PayloadCert     PayloadType = 37
	PayloadCertReq  PayloadType = 38
	PayloadAuth     PayloadType = 39
	PayloadNonce    PayloadType = 40
	PayloadNotify   PayloadType = 41
	PayloadDelete   PayloadType = 42
	PayloadVendorID PayloadType = 43
	PayloadTSi      PayloadType = 44
	PayloadTSr      PayloadType = 45
	PayloadSK       PayloadType = 46 // Encrypted and Authenticated
	PayloadCP       PayloadType = 47
	PayloadEAP      PayloadType = 48
	PayloadSKF      PayloadType = 53 // Encrypted and Authenticated Fragment
)

// String returns the notation of RFC 7296 section 1.2 (N for Notify, D for
// Delete, V for Vendor ID), except for the nonce, Ni or Nr there, which is
// "Nonce" here.
func (t PayloadType) String() string {
	switch t {
	case PayloadNone:
		return "none"
	case PayloadSA:
		return "SA"
	case PayloadKE:
		return "KE"
	case PayloadIDi:
		return "IDi"
	case PayloadIDr:
		return "IDr"
	case PayloadCert:
		return "CERT"
	case PayloadCertReq:
		return "CERTREQ"
	case PayloadAuth:
		return "AUTH"
	case PayloadNonce:
		return "Nonce"
	case PayloadNotify:
		return "N"
	case PayloadDelete:
		return "D"
	case PayloadVendorID:
		return "V"
	case PayloadTSi:
		return "TSi"
	case PayloadTSr:
		return "TSr"
	case PayloadSK:
		return "SK"
	case PayloadCP:
		return "CP"
	case PayloadEAP:
		return "EAP"
	case PayloadSKF:
		return "SKF"
	}
	return fmt.Sprintf("payload type %d", uint8(t))
}

// known reports whether this package decodes payloads of type t; payloads of
// other types are Unknown, and refused if critical.
func (t PayloadType) known() bool {
	return t >= PayloadSA && t <= PayloadEAP || t == PayloadSKF
}

// ExchangeType is the exchange type of an IKE header (RFC 7296 section 3.1).
type ExchangeType uint8

// Exchange types.
const (
	ExchangeIKESAInit     ExchangeType = 34
	ExchangeIKEAuth       ExchangeType = 35
	ExchangeCreateChildSA ExchangeType = 36
	ExchangeInformational ExchangeType = 37
)

func (e ExchangeType) String() string {
	switch e {
	case ExchangeIKESAInit:
		return "IKE_SA_INIT"
	case ExchangeIKEAuth:
		return "IKE_AUTH"
	case ExchangeCreateChildSA:
		return "CREATE_CHILD_SA"
	case ExchangeInformational:
		return "INFORMATIONAL"
	}
	return fmt.Sprintf("exchange type %d", uint8(e))
}

// Flags are the flags of an IKE header (RFC 7296 section 3.1).
type Flags uint8

// Header flags.
const (
	// FlagInitiator is set in messages sent by the original initiator of
	// the IKE SA (not of the exchange).
	FlagInitiator Flags = 1 << 3
	// FlagVersion says the sender can speak a higher major version; IKEv2
	// implementations send it clear.
	FlagVersion Flags = 1 << 4
	// FlagResponse marks a response.
	FlagResponse Flags = 1 << 5

	flagsDefined = FlagInitiator | FlagVersion | FlagResponse
)

func (f Flags) String() string {
	var s []string
	if f&FlagInitiator != 0 {
		s = append(s, "I")
	}
	if f&FlagVersion != 0 {
		s = append(s, "V")
	}
	if f&FlagResponse != 0 {
		s = append(s, "R")
	}
	if rest := f &^ flagsDefined; rest != 0 {
		s = append(s, fmt.Sprintf("%#02x", uint8(rest)))
	}
	if len(s) == 0 {
		return "0"
	}
	return strings.Join(s, "|")
}

// ProtocolID is a security protocol identifier (RFC 7296 section 3.3.1),
// used in proposals, notifications and deletes.
type ProtocolID uint8

// Protocol identifiers. A notification about no SA has protocol 0.
const (
	ProtoNone ProtocolID = 0
	ProtoIKE  ProtocolID = 1
	ProtoAH   ProtocolID = 2
	ProtoESP  ProtocolID = 3
)

func (p ProtocolID) String() string {
	switch p {
	case ProtoNone:
		return "none"
	case ProtoIKE:
		return "IKE"
	case ProtoAH:
		return "AH"
	case ProtoESP:
		return "ESP"
	}
	return fmt.Sprintf("protocol %d", uint8(p))
}
