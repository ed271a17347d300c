package wire

import (
	"encoding/binary"
	"fmt"
)

// NotifyType is a notify message type (RFC 7296 section 3.10.1 and the IANA
// "IKEv2 Notify Message Types" registry). Types below 16384 are errors, the
// others status.
type NotifyType uint16

// Error types.
const (
	NotifyUnsupportedCriticalPayload NotifyType = 1
	NotifyInvalidIKESPI              NotifyType = 4
	NotifyInvalidMajorVersion        NotifyType = 5
	NotifyInvalidSyntax              NotifyType = 7
	NotifyInvalidMessageID           NotifyType = 9
	NotifyInvalidSPI                 NotifyType = 11
	NotifyNoProposalChosen           NotifyType = 14
	NotifyInvalidKEPayload           NotifyType = 17
	NotifyAuthenticationFailed       NotifyType = 24
	NotifySinglePairRequired         NotifyType = 34
	NotifyNoAdditionalSAs            NotifyType = 35
	NotifyInternalAddressFailure     NotifyType = 36
	NotifyFailedCPRequired           NotifyType = 37
	NotifyTSUnacceptable             NotifyType = 38
	NotifyInvalidSelectors           NotifyType = 39
	NotifyTemporaryFailure           NotifyType = 43 // RFC 7296 section 2.25
	NotifyChildSANotFound            NotifyType = 44
)

// Status types.
const (
	NotifyInitialContact            NotifyType = 16384
	NotifySetWindowSize             NotifyType = 16385
	NotifyAdditionalTSPossible      NotifyType = 16386
	NotifyIPCompSupported           NotifyType = 16387
	NotifyNATDetectionSourceIP      NotifyType = 16388
	NotifyNATDetectionDestinationIP NotifyType = 16389
	NotifyCookie                    NotifyType = 16390
	NotifyUseTransportMode          NotifyType = 16391
	NotifyHTTPCertLookupSupported   NotifyType = 16392
	NotifyRekeySA                   NotifyType = 16393
	NotifyESPTFCPaddingNotSupported NotifyType = 16394
	NotifyNonFirstFragmentsAlso     NotifyType = 16395
	NotifyMOBIKESupported           NotifyType = 16396 // RFC 4555
	NotifyNoAdditionalAddresses     NotifyType = 16399 // RFC 4555
	NotifyMultipleAuthSupported     NotifyType = 16404 // RFC 4739
	NotifyRedirectSupported         NotifyType = 16406 // RFC 5685
	NotifyEAPOnlyAuthentication     NotifyType = 16417 // RFC 5998
	NotifyChildlessIKEv2Supported   NotifyType = 16418 // RFC 6023
	NotifyMessageIDSyncSupported    NotifyType = 16420 // RFC 6311
	NotifyFragmentationSupported    NotifyType = 16430 // RFC 7383
	NotifySignatureHashAlgorithms   NotifyType = 16431 // RFC 7427

	notifyFirstStatus NotifyType = 16384
)

// Notification data sizes that RFC 7296 fixes.
const (
	natDetectionLen = 20 // a SHA-1 digest, section 2.23
	maxCookieLen    = 64 // section 2.6
)

// IsError reports whether t is an error type rather than a status type.
func (t NotifyType) IsError() bool { return t < notifyFirstStatus }

// String returns the name in the IANA registry.
func (t NotifyType) String() string {
	switch t {
	case NotifyUnsupportedCriticalPayload:
		return "UNSUPPORTED_CRITICAL_PAYLOAD"
	case NotifyInvalidIKESPI:
		return "INVALID_IKE_SPI"
	case NotifyInvalidMajorVersion:
		return "INVALID_MAJOR_VERSION"
	case NotifyInvalidSyntax:
		return "INVALID_SYNTAX"
	case NotifyInvalidMessageID:
		return "INVALID_MESSAGE_ID"
	case NotifyInvalidSPI:
		return "INVALID_SPI"
	case NotifyNoProposalChosen:
		return "NO_PROPOSAL_CHOSEN"
	case NotifyInvalidKEPayload:
		return "INVALID_KE_PAYLOAD"
	case NotifyAuthenticationFailed:
		return "AUTHENTICATION_FAILED"
	case NotifySinglePairRequired:
		return "SINGLE_PAIR_REQUIRED"
	case NotifyNoAdditionalSAs:
		return "NO_ADDITIONAL_SAS"
	case NotifyInternalAddressFailure:
		return "INTERNAL_ADDRESS_FAILURE"
	case NotifyFailedCPRequired:
		return "FAILED_CP_REQUIRED"
	case NotifyTSUnacceptable:
		return "TS_UNACCEPTABLE"
	case NotifyInvalidSelectors:
		return "INVALID_SELECTORS"
	case NotifyTemporaryFailure:
		return "TEMPORARY_FAILURE"
	case NotifyChildSANotFound:
		return "CHILD_SA_NOT_FOUND"
	case NotifyInitialContact:
		return "INITIAL_CONTACT"
	case NotifySetWindowSize:
		return "SET_WINDOW_SIZE"
	case NotifyAdditionalTSPossible:
		return "ADDITIONAL_TS_POSSIBLE"
	case NotifyIPCompSupported:
		return "IPCOMP_SUPPORTED"
	case NotifyNATDetectionSourceIP:
		return "NAT_DETECTION_SOURCE_IP"
	case NotifyNATDetectionDestinationIP:
		return "NAT_DETECTION_DESTINATION_IP"
	case NotifyCookie:
		return "COOKIE"
	case NotifyUseTransportMode:
		return "USE_TRANSPORT_MODE"
	case NotifyHTTPCertLookupSupported:
		return "HTTP_CERT_LOOKUP_SUPPORTED"
	case NotifyRekeySA:
		return "REKEY_SA"
	case NotifyESPTFCPaddingNotSupported:
		return "ESP_TFC_PADDING_NOT_SUPPORTED"
	case NotifyNonFirstFragmentsAlso:
		return "NON_FIRST_FRAGMENTS_ALSO"
	case NotifyMOBIKESupported:
		return "MOBIKE_SUPPORTED"
	case NotifyNoAdditionalAddresses:
		return "NO_ADDITIONAL_ADDRESSES"
	case NotifyMultipleAuthSupported:
		return "MULTIPLE_AUTH_SUPPORTED"
	case NotifyRedirectSupported:
		return "REDIRECT_SUPPORTED"
	case NotifyEAPOnlyAuthentication:
		return "EAP_ONLY_AUTHENTICATION"
	case NotifyChildlessIKEv2Supported:
		return "CHILDLESS_IKEV2_SUPPORTED"
	case NotifyMessageIDSyncSupported:
		return "IKEV2_MESSAGE_ID_SYNC_SUPPORTED"
	case NotifyFragmentationSupported:
		return "IKEV2_FRAGMENTATION_SUPPORTED"
	case NotifySignatureHashAlgorithms:
		return "SIGNATURE_HASH_ALGORITHMS"
	}
	return fmt.Sprintf("notify type %d", uint16(t))
}

// A Notify is a Notify payload (RFC 7296 section 3.10):
//
//	Protocol ID (1) | SPI Size (1) | Notify Message Type (2) |
//	SPI (SPI Size) | Notification Data
//
// A notification about the IKE SA or about no SA has no SPI (RFC 7296 wants
// Protocol 0 then, and a receiver to ignore it); one about a CHILD_SA, such
// as REKEY_SA, carries the 4-octet SPI of AH or ESP.
type Notify struct {
	Protocol ProtocolID
	SPI      []byte
	Type     NotifyType
	Data     []byte
}

// NewNotify returns a notification about no particular SA.
func NewNotify(t NotifyType, data []byte) *Notify {
	return &Notify{Type: t, Data: data}
}

// PayloadType implements Payload.
func (*Notify) PayloadType() PayloadType { return PayloadNotify }

// Decode decodes a Notify payload body. Data that a notification cannot be
// used without must have the size RFC 7296 and RFC 7427 give it: 20 octets
// for NAT detection, 1 to 64 for a cookie, 2 for INVALID_KE_PAYLOAD, 1 for
// UNSUPPORTED_CRITICAL_PAYLOAD, pairs of octets for
// SIGNATURE_HASH_ALGORITHMS. Data of other types is not checked: a status
// notify that should have none is better ignored than the whole message.
func (n *Notify) Decode(b []byte) error {
	if len(b) < 4 {
		return derr(PayloadNotify, "N", 0, ErrShortPayload)
	}
	proto := ProtocolID(b[0])
	spiSize := int(b[1])
	typ := NotifyType(binary.BigEndian.Uint16(b[2:]))
	if !notifySPISizeOK(proto, spiSize) {
		return derr(PayloadNotify, "N", 1, ErrSPISize)
	}
	if 4+spiSize > len(b) {
		return derr(PayloadNotify, "N", 1, ErrShortPayload)
	}
	data := b[4+spiSize:]
	if !notifyDataOK(typ, data) {
		return derr(PayloadNotify, "N("+typ.String()+")", 4+spiSize, ErrNotifyData)
	}
	*n = Notify{
		Protocol: proto,
		SPI:      clone(b[4 : 4+spiSize]),
		Type:     typ,
		Data:     clone(data),
	}
	return nil
}

// AppendBody implements Payload.
func (n *Notify) AppendBody(b []byte) ([]byte, error) {
	if len(n.SPI) > 0xff || !notifySPISizeOK(n.Protocol, len(n.SPI)) {
		return nil, ErrSPISize
	}
	if !notifyDataOK(n.Type, n.Data) {
		return nil, ErrNotifyData
	}
	b = append(b, byte(n.Protocol), byte(len(n.SPI)))
	b = binary.BigEndian.AppendUint16(b, uint16(n.Type))
	b = append(b, n.SPI...)
	return append(b, n.Data...), nil
}

// notifySPISizeOK reports whether a notification about protocol proto may
// carry an SPI of n octets: none, or for AH and ESP one of 4 octets.
func notifySPISizeOK(proto ProtocolID, n int) bool {
	switch proto {
	case ProtoAH, ProtoESP:
		return n == 0 || n == 4
	}
	return true
}

func notifyDataOK(t NotifyType, data []byte) bool {
	switch t {
	case NotifyUnsupportedCriticalPayload:
		return len(data) == 1 // the payload type
	case NotifyInvalidKEPayload:
		return len(data) == 2 // the group the responder wants
	case NotifyNATDetectionSourceIP, NotifyNATDetectionDestinationIP:
		return len(data) == natDetectionLen
	case NotifyCookie:
		return len(data) >= 1 && len(data) <= maxCookieLen
	case NotifySignatureHashAlgorithms:
		return len(data)%2 == 0
	}
	return true
}

// Group returns the Diffie-Hellman group that an INVALID_KE_PAYLOAD
// notification asks for.
func (n *Notify) Group() (Group, bool) {
	if n.Type != NotifyInvalidKEPayload || len(n.Data) != 2 {
		return 0, false
	}
	return Group(binary.BigEndian.Uint16(n.Data)), true
}

// HashAlgorithm is a hash algorithm of the SIGNATURE_HASH_ALGORITHMS
// notification (RFC 7427 section 4, RFC 8420).
type HashAlgorithm uint16

// Hash algorithms.
const (
	HashSHA1     HashAlgorithm = 1
	HashSHA2_256 HashAlgorithm = 2
	HashSHA2_384 HashAlgorithm = 3
	HashSHA2_512 HashAlgorithm = 4
	HashIdentity HashAlgorithm = 5 // RFC 8420, for Ed25519 and Ed448
)

// HashAlgorithms returns the hash algorithms that a SIGNATURE_HASH_ALGORITHMS
// notification lists.
func (n *Notify) HashAlgorithms() ([]HashAlgorithm, bool) {
	if n.Type != NotifySignatureHashAlgorithms || len(n.Data)%2 != 0 {
		return nil, false
	}
	hs := make([]HashAlgorithm, len(n.Data)/2)
	for i := range hs {
		hs[i] = HashAlgorithm(binary.BigEndian.Uint16(n.Data[2*i:]))
	}
	return hs, true
}

// SignatureHashAlgorithms returns a SIGNATURE_HASH_ALGORITHMS notification
// listing hs.
func SignatureHashAlgorithms(hs ...HashAlgorithm) *Notify {
	data := make([]byte, 0, 2*len(hs))
	for _, h := range hs {
		data = binary.BigEndian.AppendUint16(data, uint16(h))
	}
	return NewNotify(NotifySignatureHashAlgorithms, data)
}

// A Delete is a Delete payload (RFC 7296 section 3.11):
//
//	Protocol ID (1) | SPI Size (1) | Num of SPIs (2) | SPIs
//
// Deleting the IKE SA names no SPI (the header has them); deleting
// CHILD_SAs names the SPIs their sender expects inbound, 4 octets each.
type Delete struct {
	Protocol ProtocolID // ProtoIKE, ProtoAH or ProtoESP
	SPIs     []uint32   // none for ProtoIKE
}

// PayloadType implements Payload.
func (*Delete) PayloadType() PayloadType { return PayloadDelete }

// Decode decodes a Delete payload body.
func (d *Delete) Decode(b []byte) error {
	if len(b) < 4 {
		return derr(PayloadDelete, "D", 0, ErrShortPayload)
	}
	proto := ProtocolID(b[0])
	size := int(b[1])
	count := int(binary.BigEndian.Uint16(b[2:]))
	want := 0
	switch proto {
	case ProtoIKE:
	case ProtoAH, ProtoESP:
		want = 4
	default:
		return derr(PayloadDelete, "D", 0, ErrProtocol)
	}
	if size != want {
		return derr(PayloadDelete, "D", 1, ErrSPISize)
	}
	// Check the count against the octets present before allocating for it.
	rest := b[4:]
	if count*size != len(rest) || proto == ProtoIKE && count != 0 {
		return derr(PayloadDelete, "D", 2, ErrSPICount)
	}
	var spis []uint32
	if count > 0 {
		spis = make([]uint32, count)
		for i := range spis {
			spis[i] = binary.BigEndian.Uint32(rest[4*i:])
		}
	}
	*d = Delete{Protocol: proto, SPIs: spis}
	return nil
}

// AppendBody implements Payload.
func (d *Delete) AppendBody(b []byte) ([]byte, error) {
	size := 0
	switch d.Protocol {
	case ProtoIKE:
		if len(d.SPIs) != 0 {
			return nil, ErrSPICount
		}
	case ProtoAH, ProtoESP:
		size = 4
		if len(d.SPIs) > 0xffff {
			return nil, ErrSPICount
		}
	default:
		return nil, ErrProtocol
	}
	b = append(b, byte(d.Protocol), byte(size))
	b = binary.BigEndian.AppendUint16(b, uint16(len(d.SPIs)))
	for _, spi := range d.SPIs {
		b = binary.BigEndian.AppendUint32(b, spi)
	}
	return b, nil
}
