package isakmp

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// NotifyType is a notify message type (RFC 2408 section 3.14.1, RFC 2407
// section 4.6.3, RFC 3706 section 5). Types below 16384 are errors, the
// others status.
type NotifyType uint16

// Notify message types.
const (
	NotifyInvalidPayloadType      NotifyType = 1
	NotifyDOINotSupported         NotifyType = 2
	NotifySituationNotSupported   NotifyType = 3
	NotifyInvalidCookie           NotifyType = 4
	NotifyInvalidMajorVersion     NotifyType = 5
	NotifyInvalidMinorVersion     NotifyType = 6
	NotifyInvalidExchangeType     NotifyType = 7
	NotifyInvalidFlags            NotifyType = 8
	NotifyInvalidMessageID        NotifyType = 9
	NotifyInvalidProtocolID       NotifyType = 10
	NotifyInvalidSPI              NotifyType = 11
	NotifyInvalidTransformID      NotifyType = 12
	NotifyAttributesNotSupported  NotifyType = 13
	NotifyNoProposalChosen        NotifyType = 14
	NotifyBadProposalSyntax       NotifyType = 15
	NotifyPayloadMalformed        NotifyType = 16
	NotifyInvalidKeyInformation   NotifyType = 17
	NotifyInvalidIDInformation    NotifyType = 18
	NotifyInvalidCertEncoding     NotifyType = 19
	NotifyInvalidCertificate      NotifyType = 20
	NotifyCertTypeUnsupported     NotifyType = 21
	NotifyInvalidCertAuthority    NotifyType = 22
	NotifyInvalidHashInformation  NotifyType = 23
	NotifyAuthenticationFailed    NotifyType = 24
	NotifyInvalidSignature        NotifyType = 25
	NotifyAddressNotification     NotifyType = 26
	NotifySALifetime              NotifyType = 27
	NotifyCertificateUnavailable  NotifyType = 28
	NotifyUnsupportedExchangeType NotifyType = 29
	NotifyUnequalPayloadLengths   NotifyType = 30
	NotifyConnected               NotifyType = 16384
	NotifyResponderLifetime       NotifyType = 24576 // RFC 2407 4.6.3.1
	NotifyReplayStatus            NotifyType = 24577 // RFC 2407 4.6.3.2
	NotifyInitialContact          NotifyType = 24578 // RFC 2407 4.6.3.3
	NotifyRUThere                 NotifyType = 36136 // RFC 3706
	NotifyRUThereAck              NotifyType = 36137 // RFC 3706

	notifyFirstStatus NotifyType = 16384
)

// dpdSequenceLen is the size of the R-U-THERE sequence number.
const dpdSequenceLen = 4

// IsError reports whether t is an error type rather than a status type.
func (t NotifyType) IsError() bool { return t < notifyFirstStatus }

func (t NotifyType) String() string {
	switch t {
	case NotifyInvalidPayloadType:
		return "INVALID-PAYLOAD-TYPE"
	case NotifyDOINotSupported:
		return "DOI-NOT-SUPPORTED"
	case NotifySituationNotSupported:
		return "SITUATION-NOT-SUPPORTED"
	case NotifyInvalidCookie:
		return "INVALID-COOKIE"
	case NotifyInvalidMajorVersion:
		return "INVALID-MAJOR-VERSION"
	case NotifyInvalidMinorVersion:
		return "INVALID-MINOR-VERSION"
	case NotifyInvalidExchangeType:
		return "INVALID-EXCHANGE-TYPE"
	case NotifyInvalidFlags:
		return "INVALID-FLAGS"
	case NotifyInvalidMessageID:
		return "INVALID-MESSAGE-ID"
	case NotifyInvalidProtocolID:
		return "INVALID-PROTOCOL-ID"
	case NotifyInvalidSPI:
		return "INVALID-SPI"
	case NotifyInvalidTransformID:
		return "INVALID-TRANSFORM-ID"
	case NotifyAttributesNotSupported:
		return "ATTRIBUTES-NOT-SUPPORTED"
	case NotifyNoProposalChosen:
		return "NO-PROPOSAL-CHOSEN"
	case NotifyBadProposalSyntax:
		return "BAD-PROPOSAL-SYNTAX"
	case NotifyPayloadMalformed:
		return "PAYLOAD-MALFORMED"
	case NotifyInvalidKeyInformation:
		return "INVALID-KEY-INFORMATION"
	case NotifyInvalidIDInformation:
		return "INVALID-ID-INFORMATION"
	case NotifyInvalidCertEncoding:
		return "INVALID-CERT-ENCODING"
	case NotifyInvalidCertificate:
		return "INVALID-CERTIFICATE"
	case NotifyCertTypeUnsupported:
		return "CERT-TYPE-UNSUPPORTED"
	case NotifyInvalidCertAuthority:
		return "INVALID-CERT-AUTHORITY"
	case NotifyInvalidHashInformation:
		return "INVALID-HASH-INFORMATION"
	case NotifyAuthenticationFailed:
		return "AUTHENTICATION-FAILED"
	case NotifyInvalidSignature:
		return "INVALID-SIGNATURE"
	case NotifyAddressNotification:
		return "ADDRESS-NOTIFICATION"
	case NotifySALifetime:
		return "NOTIFY-SA-LIFETIME"
	case NotifyCertificateUnavailable:
		return "CERTIFICATE-UNAVAILABLE"
	case NotifyUnsupportedExchangeType:
		return "UNSUPPORTED-EXCHANGE-TYPE"
	case NotifyUnequalPayloadLengths:
		return "UNEQUAL-PAYLOAD-LENGTHS"
	case NotifyConnected:
		return "CONNECTED"
	case NotifyResponderLifetime:
		return "RESPONDER-LIFETIME"
	case NotifyReplayStatus:
		return "REPLAY-STATUS"
	case NotifyInitialContact:
		return "INITIAL-CONTACT"
	case NotifyRUThere:
		return "R-U-THERE"
	case NotifyRUThereAck:
		return "R-U-THERE-ACK"
	}
	return fmt.Sprintf("notify type %d", uint16(t))
}

// A Notification is a Notification payload (RFC 2408 section 3.14):
//
//	DOI (4) | Protocol-ID (1) | SPI Size (1) | Notify Message Type (2) |
//	SPI (SPI Size) | Notification Data
//
// For notifications about the ISAKMP SA the SPI is empty or the two cookies
// (16 bytes); for ESP and AH it is empty or the 4-byte SPI.
type Notification struct {
	DOI      DOI
	Protocol ProtocolID
	SPI      []byte
	Type     NotifyType
	Data     []byte
}

// PayloadType implements Payload.
func (*Notification) PayloadType() PayloadType { return PayloadNotification }

// Parse parses a Notification payload body. R-U-THERE and R-U-THERE-ACK
// must carry a 4-byte sequence number.
func (n *Notification) Parse(b []byte) error {
	if len(b) < 8 {
		return perr("notification", 0, ErrShortPayload)
	}
	proto := ProtocolID(b[4])
	spiSize := int(b[5])
	typ := NotifyType(binary.BigEndian.Uint16(b[6:]))
	if !notifySPISizeOK(proto, spiSize) {
		return perr("notification", 5, ErrSPISize)
	}
	if 8+spiSize > len(b) {
		return perr("notification", 5, ErrShortPayload)
	}
	data := b[8+spiSize:]
	if !notifyDataOK(typ, data) {
		return perr("notification", 8+spiSize, ErrNotifyData)
	}
	*n = Notification{
		DOI:      DOI(binary.BigEndian.Uint32(b)),
		Protocol: proto,
		SPI:      bytes.Clone(b[8 : 8+spiSize]),
		Type:     typ,
		Data:     bytes.Clone(data),
	}
	return nil
}

// AppendBody implements Payload.
func (n *Notification) AppendBody(b []byte) ([]byte, error) {
	if !notifySPISizeOK(n.Protocol, len(n.SPI)) {
		return nil, ErrSPISize
	}
	if !notifyDataOK(n.Type, n.Data) {
		return nil, ErrNotifyData
	}
	b = binary.BigEndian.AppendUint32(b, uint32(n.DOI))
	b = append(b, byte(n.Protocol), byte(len(n.SPI)))
	b = binary.BigEndian.AppendUint16(b, uint16(n.Type))
	b = append(b, n.SPI...)
	return append(b, n.Data...), nil
}

// notifySPISizeOK reports whether a notification about protocol proto may
// carry an SPI of n bytes: none, or one of the protocol's size.
func notifySPISizeOK(proto ProtocolID, n int) bool {
	switch proto {
	case ProtoESP, ProtoAH:
		return n == 0 || n == 4
	case ProtoIPComp:
		return n == 0 || n == 2 || n == 4
	}
	return n <= 16 // ISAKMP: "MAY be from zero (0) to sixteen (16)"
}

func notifyDataOK(t NotifyType, data []byte) bool {
	switch t {
	case NotifyRUThere, NotifyRUThereAck:
		return len(data) == dpdSequenceLen
	}
	return true
}

// DPD returns an R-U-THERE or R-U-THERE-ACK notification (RFC 3706 section
// 5) for the ISAKMP SA with the given cookies, carrying sequence number seq.
func DPD(t NotifyType, initiator, responder [8]byte, seq uint32) *Notification {
	spi := make([]byte, 0, 16)
	spi = append(spi, initiator[:]...)
	spi = append(spi, responder[:]...)
	return &Notification{
		DOI:      DOIIPsec,
		Protocol: ProtoISAKMP,
		SPI:      spi,
		Type:     t,
		Data:     binary.BigEndian.AppendUint32(nil, seq),
	}
}

// DPDSequence returns the sequence number of an R-U-THERE or R-U-THERE-ACK
// notification.
func (n *Notification) DPDSequence() (uint32, bool) {
	if (n.Type != NotifyRUThere && n.Type != NotifyRUThereAck) || len(n.Data) != dpdSequenceLen {
		return 0, false
	}
	return binary.BigEndian.Uint32(n.Data), true
}
