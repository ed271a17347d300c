package wire

import (
	"errors"
	"fmt"
)

// Sentinel errors. Decode functions return them wrapped in a *DecodeError
// that locates the fault; Encode functions wrap them with fmt.Errorf. Test
// with errors.Is.
var (
	// ErrShortHeader: fewer bytes than the 28-byte IKE header.
	ErrShortHeader = errors.New("shorter than the IKE header")
	// ErrMajorVersion: the major version is not 2 (RFC 7296 section 3.1).
	// A version 1 message is IKEv1, for package isakmp; a higher one is
	// answered with INVALID_MAJOR_VERSION.
	ErrMajorVersion = errors.New("unsupported major version")
	// ErrMessageLength: the header's length field is less than the header.
	ErrMessageLength = errors.New("message length shorter than the header")
	// ErrTruncated: the datagram is shorter than the header's length field.
	ErrTruncated = errors.New("message truncated")
	// ErrTrailingData: bytes follow the message (the datagram is longer than
	// the header's length field) or the last payload of a chain (one whose
	// Next Payload is 0) ends before its container.
	ErrTrailingData = errors.New("trailing data")
	// ErrFlags: a header to encode has flags other than I, V and R. On
	// receipt the other bits are ignored (RFC 7296 section 3.1).
	ErrFlags = errors.New("undefined flags set")

	// ErrShortPayload: a payload or substructure is too short for its
	// header or fixed fields, or a chain announces a payload where the
	// bytes end.
	ErrShortPayload = errors.New("payload too short")
	// ErrPayloadLength: a payload or substructure length field is below its
	// minimum or runs past the end of its container.
	ErrPayloadLength = errors.New("payload length out of range")
	// ErrTooManyPayloads: more than MaxPayloads payloads in a chain.
	ErrTooManyPayloads = errors.New("too many payloads")
	// ErrPayloadTooLong: a payload to encode does not fit its 16-bit length.
	ErrPayloadTooLong = errors.New("payload too long")
	// ErrUnsupportedCritical: a payload of a type this package does not know
	// has the critical bit set. The DecodeError's Type is that type, which
	// the UNSUPPORTED_CRITICAL_PAYLOAD notify carries (RFC 7296 section 2.5).
	ErrUnsupportedCritical = errors.New("unsupported critical payload")
	// ErrEncryptedNotLast: an SK or SKF payload is not the last payload of
	// its chain (RFC 7296 section 3.14, RFC 7383 section 2.5).
	ErrEncryptedNotLast = errors.New("encrypted payload is not the last")
	// ErrNotEncrypted: SplitProtected was given a message whose last payload
	// is not SK or SKF.
	ErrNotEncrypted = errors.New("message has no encrypted payload")

	// ErrNoProposals: an SA payload holds no proposal.
	ErrNoProposals = errors.New("no proposals")
	// ErrTooManyProposals: more than MaxProposals proposals.
	ErrTooManyProposals = errors.New("too many proposals")
	// ErrNoTransforms: a proposal holds no transform.
	ErrNoTransforms = errors.New("no transforms")
	// ErrTooManyTransforms: more than MaxTransforms transforms.
	ErrTooManyTransforms = errors.New("too many transforms")
	// ErrTransformCount: a proposal's transform count disagrees with the
	// transforms it holds.
	ErrTransformCount = errors.New("transform count mismatch")
	// ErrSubstructureType: a proposal's Last Substruc field is not 0 or 2, or
	// a transform's is not 0 or 3 (RFC 7296 sections 3.3.1 and 3.3.2).
	ErrSubstructureType = errors.New("bad last substruc in SA")
	// ErrSubstructureChain: the last proposal or transform does not end its
	// container, or the container ends while the chain announces more.
	ErrSubstructureChain = errors.New("SA substructures do not fill their container")
	// ErrSPISize: an SPI size that the protocol does not allow.
	ErrSPISize = errors.New("invalid SPI size")
	// ErrSPICount: a Delete payload's SPI count disagrees with its length,
	// or is not zero for the IKE SA.
	ErrSPICount = errors.New("SPI count mismatch")
	// ErrProtocol: a Delete payload names a protocol other than IKE, AH and
	// ESP.
	ErrProtocol = errors.New("protocol ID not IKE, AH or ESP")

	// ErrShortAttribute: an attribute runs past the end of its container.
	ErrShortAttribute = errors.New("attribute truncated")
	// ErrTooManyAttributes: more than MaxAttributes attributes.
	ErrTooManyAttributes = errors.New("too many attributes")
	// ErrAttributeType: an attribute type to encode does not fit 15 bits.
	ErrAttributeType = errors.New("attribute type out of range")
	// ErrAttributeValue: an attribute value too long to encode.
	ErrAttributeValue = errors.New("attribute value out of range")

	// ErrIDData: identification data whose length does not fit its type.
	ErrIDData = errors.New("identification data does not match its type")
	// ErrNonceLength: a nonce outside MinNonceLen to MaxNonceLen bytes.
	ErrNonceLength = errors.New("nonce length out of range")
	// ErrNotifyData: notification data of the wrong size for its type.
	ErrNotifyData = errors.New("bad notification data")
	// ErrTSCount: a TS payload's selector count is zero or disagrees with
	// the selectors it holds.
	ErrTSCount = errors.New("traffic selector count mismatch")
	// ErrTSLength: a traffic selector's length does not suit its type.
	ErrTSLength = errors.New("traffic selector length does not match its type")
	// ErrFragmentNumber: an SKF payload's fragment number is 0 or above its
	// total (RFC 7383 section 2.5).
	ErrFragmentNumber = errors.New("bad fragment number")
	// ErrEncryptedLength: an SK or SKF body shorter than the IV and ICV
	// lengths given to split it, plus the pad length byte.
	ErrEncryptedLength = errors.New("encrypted payload too short for its IV and ICV")
	// ErrPadding: decrypted content whose pad length runs past its start.
	ErrPadding = errors.New("bad padding")
)

// A DecodeError locates a malformed message: which payload or substructure,
// and the byte offset of the faulty field within the buffer given to the
// decode function. Err is one of the package's sentinel errors.
type DecodeError struct {
	// Payload names the structure, outermost first, e.g.
	// "SA/proposal 1/transform 2/attribute 1"; proposals, transforms,
	// selectors and attributes are counted from 1 in the order they appear.
	Payload string
	// Type is the type of the payload at fault, 0 for the header. For
	// ErrUnsupportedCritical it is the unknown type.
	Type   PayloadType
	Offset int
	Err    error
}

func (e *DecodeError) Error() string {
	if e.Payload == "" {
		return fmt.Sprintf("ikev2: offset %d: %v", e.Offset, e.Err)
	}
	return fmt.Sprintf("ikev2: %s at offset %d: %v", e.Payload, e.Offset, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// NotifyFor returns the error notify (RFC 7296 section 3.10.1) that answers
// a message that failed to decode with err, and its notification data:
// UNSUPPORTED_CRITICAL_PAYLOAD with the one-octet payload type,
// INVALID_MAJOR_VERSION (no data: the version the responder speaks goes in
// the header) or INVALID_SYNTAX. It returns 0 for nil. RFC 7296 section 2.21
// says when to answer at all: not to a response, and not unprotected where
// the message should have been protected; that is the engine's policy.
func NotifyFor(err error) (NotifyType, []byte) {
	var de *DecodeError
	switch {
	case err == nil:
		return 0, nil
	case errors.Is(err, ErrUnsupportedCritical) && errors.As(err, &de):
		return NotifyUnsupportedCriticalPayload, []byte{byte(de.Type)}
	case errors.Is(err, ErrMajorVersion):
		return NotifyInvalidMajorVersion, nil
	}
	return NotifyInvalidSyntax, nil
}

// derr returns a DecodeError for a fault at off in the payload of type t,
// in the structure named payload.
func derr(t PayloadType, payload string, off int, err error) *DecodeError {
	return &DecodeError{Payload: payload, Type: t, Offset: off, Err: err}
}

// nest places an error from a nested structure that starts at base within
// its parent, naming the nested structure name (or nothing if name is "").
func nest(err error, t PayloadType, name string, base int) error {
	var de *DecodeError
	if !errors.As(err, &de) {
		return derr(t, name, base, err)
	}
	p := de.Payload
	switch {
	case name == "":
	case p == "":
		p = name
	default:
		p = name + "/" + p
	}
	if de.Type != 0 {
		t = de.Type
	}
	return derr(t, p, base+de.Offset, de.Err)
}

// nth names the n-th (from 1) substructure of a kind in error paths.
func nth(kind string, n int) string { return fmt.Sprintf("%s %d", kind, n) }
