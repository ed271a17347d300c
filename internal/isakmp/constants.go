package isakmp

import (
	"fmt"
	"strings"
)

// Limits on what one message may hold. They bound the work a hostile peer
// can cause; real IKEv1 peers stay far below them (a Main Mode offer from
// strongSwan, IOS or libreswan has one proposal, a few transforms and about
// a dozen payloads).
const (
	MaxPayloads   = 64 // payloads in one chain
	MaxProposals  = 64 // proposals in one SA payload
	MaxTransforms = 64 // transforms in one proposal
	MaxAttributes = 64 // data attributes in one transform
)

// PayloadType is the type of an ISAKMP payload, as found in the Next Payload
// field of the header and of each generic payload header (RFC 2408
// section 3.1, RFC 3947 section 7).
type PayloadType uint8

// Payload types.
const (
	PayloadNone         PayloadType = 0
	PayloadSA           PayloadType = 1
	PayloadProposal     PayloadType = 2 // only inside an SA payload
	PayloadTransform    PayloadType = 3 // only inside a proposal
	PayloadKE           PayloadType = 4
	PayloadID           PayloadType = 5
	PayloadCert         PayloadType = 6
	PayloadCertRequest  PayloadType = 7
	PayloadHash         PayloadType = 8
	PayloadSignature    PayloadType = 9
	PayloadNonce        PayloadType = 10
	PayloadNotification PayloadType = 11
	PayloadDelete       PayloadType = 12
	PayloadVendorID     PayloadType = 13
	PayloadNATD         PayloadType = 20 // RFC 3947
	PayloadNATOA        PayloadType = 21 // RFC 3947
	// The private-use values of draft-ietf-ipsec-nat-t-ike-02/03, still
	// sent by peers that negotiate NAT-T with a draft vendor ID.
	PayloadNATDDraft  PayloadType = 130
	PayloadNATOADraft PayloadType = 131
)

func (t PayloadType) String() string {
	switch t {
	case PayloadNone:
		return "none"
	case PayloadSA:
		return "SA"
	case PayloadProposal:
		return "proposal"
	case PayloadTransform:
		return "transform"
	case PayloadKE:
		return "KE"
	case PayloadID:
		return "ID"
	case PayloadCert:
		return "CERT"
	case PayloadCertRequest:
		return "CR"
	case PayloadHash:
		return "HASH"
	case PayloadSignature:
		return "SIG"
	case PayloadNonce:
		return "nonce"
	case PayloadNotification:
		return "notification"
	case PayloadDelete:
		return "delete"
	case PayloadVendorID:
		return "vendor ID"
	case PayloadNATD:
		return "NAT-D"
	case PayloadNATOA:
		return "NAT-OA"
	case PayloadNATDDraft:
		return "NAT-D (draft)"
	case PayloadNATOADraft:
		return "NAT-OA (draft)"
	}
	return fmt.Sprintf("payload type %d", uint8(t))
}

// ExchangeType is the exchange type of an ISAKMP header (RFC 2408
// section 3.1; Quick Mode and New Group Mode from RFC 2409 Appendix A).
type ExchangeType uint8

// Exchange types.
const (
	ExchangeBase          ExchangeType = 1
	ExchangeMainMode      ExchangeType = 2 // Identity Protection
	ExchangeAuthOnly      ExchangeType = 3
	ExchangeAggressive    ExchangeType = 4
	ExchangeInformational ExchangeType = 5
	ExchangeQuickMode     ExchangeType = 32
	ExchangeNewGroupMode  ExchangeType = 33
)

func (e ExchangeType) String() string {
	switch e {
	case ExchangeBase:
		return "Base"
	case ExchangeMainMode:
		return "Main Mode"
	case ExchangeAuthOnly:
		return "Authentication Only"
	case ExchangeAggressive:
		return "Aggressive Mode"
	case ExchangeInformational:
		return "Informational"
	case ExchangeQuickMode:
		return "Quick Mode"
	case ExchangeNewGroupMode:
		return "New Group Mode"
	}
	return fmt.Sprintf("exchange type %d", uint8(e))
}

// Flags are the flags of an ISAKMP header (RFC 2408 section 3.1).
type Flags uint8

// Header flags.
const (
	FlagEncryption Flags = 1 << 0 // E: the payloads are encrypted
	FlagCommit     Flags = 1 << 1 // C: commit, RFC 2408 section 3.1
	FlagAuthOnly   Flags = 1 << 2 // A: authentication only

	flagsDefined = FlagEncryption | FlagCommit | FlagAuthOnly
)

func (f Flags) String() string {
	var s []string
	if f&FlagEncryption != 0 {
		s = append(s, "E")
	}
	if f&FlagCommit != 0 {
		s = append(s, "C")
	}
	if f&FlagAuthOnly != 0 {
		s = append(s, "A")
	}
	if rest := f &^ flagsDefined; rest != 0 {
		s = append(s, fmt.Sprintf("%#02x", uint8(rest)))
	}
	if len(s) == 0 {
		return "0"
	}
	return strings.Join(s, "|")
}

// DOI is a Domain of Interpretation (RFC 2408 section 2.1).
type DOI uint32

// Domains of interpretation.
const (
	DOIISAKMP DOI = 0 // generic ISAKMP, seen in some notifications
	DOIIPsec  DOI = 1 // RFC 2407
)

// Situation is the situation field of an SA payload in the IPsec DOI
// (RFC 2407 section 4.2).
type Situation uint32

// IPsec DOI situations. Only SitIdentityOnly is supported: the others append
// labelled-domain fields to the SA payload that no IKEv1 peer in use sends.
const (
	SitIdentityOnly Situation = 1
	SitSecrecy      Situation = 2
	SitIntegrity    Situation = 4
)

// ProtocolID is a security protocol identifier of the IPsec DOI (RFC 2407
// section 4.4.1), used in proposals, notifications and deletes.
type ProtocolID uint8

// Protocol identifiers.
const (
	ProtoISAKMP ProtocolID = 1
	ProtoAH     ProtocolID = 2
	ProtoESP    ProtocolID = 3
	ProtoIPComp ProtocolID = 4
)

func (p ProtocolID) String() string {
	switch p {
	case ProtoISAKMP:
		return "ISAKMP"
	case ProtoAH:
		return "AH"
	case ProtoESP:
		return "ESP"
	case ProtoIPComp:
		return "IPCOMP"
	}
	return fmt.Sprintf("protocol %d", uint8(p))
}

// TransformID is the transform identifier of a transform payload. Its meaning
// depends on the proposal's protocol: KEY_IKE for ISAKMP (RFC 2409
// Appendix A), an ESP, AH or IPComp transform for the others (RFC 2407
// section 4.4 and the IANA "ISAKMP Registry").
type TransformID uint8

// Transform identifiers.
const (
	TransformKeyIKE TransformID = 1 // the only ISAKMP transform

	ESPDES             TransformID = 2
	ESP3DES            TransformID = 3
	ESPNull            TransformID = 11 // RFC 2410
	ESPAESCBC          TransformID = 12 // RFC 3602; key length attribute required
	ESPAESCTR          TransformID = 13 // RFC 3686
	ESPAESCCM8         TransformID = 14 // RFC 4309
	ESPAESCCM12        TransformID = 15
	ESPAESCCM16        TransformID = 16
	ESPAESGCM8         TransformID = 18 // RFC 4106
	ESPAESGCM12        TransformID = 19
	ESPAESGCM16        TransformID = 20
	ESPNullAuthAESGMAC TransformID = 23 // RFC 4543 (21 in IKEv2)

	AHMD5    TransformID = 2
	AHSHA1   TransformID = 3
	AHSHA256 TransformID = 5 // RFC 4868
	AHSHA384 TransformID = 6
	AHSHA512 TransformID = 7

	IPCompOUI     TransformID = 1
	IPCompDeflate TransformID = 2
	IPCompLZS     TransformID = 3
)
