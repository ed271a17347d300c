package isakmp

import (
	"errors"
	"fmt"
)

// Sentinel errors. Parse functions return them wrapped in a *ParseError that
// locates the fault; Marshal functions wrap them with fmt.Errorf. Test with
// errors.Is.
var (
	// ErrShortHeader: fewer bytes than the 28-byte ISAKMP header.
	ErrShortHeader = errors.New("shorter than the ISAKMP header")
	// ErrMajorVersion: the major version is not 1 (an IKEv2 message, say).
	ErrMajorVersion = errors.New("unsupported major version")
	// ErrMinorVersion: the minor version is not 0.
	ErrMinorVersion = errors.New("unsupported minor version")
	// ErrInvalidFlags: flag bits other than E, C and A are set.
	ErrInvalidFlags = errors.New("undefined flags set")
	// ErrMessageLength: the header's length field is less than the header.
	ErrMessageLength = errors.New("message length shorter than the header")
	// ErrTruncated: the datagram is shorter than the header's length field.
	ErrTruncated = errors.New("message truncated")
	// ErrTrailingData: bytes follow the message (the datagram is longer than
	// the header's length field) or follow the last payload of a chain that
	// is not decrypted plaintext. A lenient caller can use ParseHeader and
	// cut the datagram to Header.Length itself.
	ErrTrailingData = errors.New("trailing data")
	// ErrEncrypted: ParseMessage was given an encrypted message; use
	// SplitMessage and ParsePlaintext instead.
	ErrEncrypted = errors.New("message is encrypted")

	// ErrShortPayload: a payload or substructure is too short for its
	// header or fixed fields.
	ErrShortPayload = errors.New("payload too short")
	// ErrPayloadLength: a payload or substructure length field is below its
	// minimum or runs past the end of its container.
	ErrPayloadLength = errors.New("payload length out of range")
	// ErrTooManyPayloads: more than MaxPayloads payloads in a chain.
	ErrTooManyPayloads = errors.New("too many payloads")
	// ErrPayloadTooLong: a payload to marshal does not fit its 16-bit length.
	ErrPayloadTooLong = errors.New("payload too long")

	// ErrDOINotSupported: an SA payload's DOI is not the IPsec DOI.
	ErrDOINotSupported = errors.New("DOI not supported")
	// ErrSituationNotSupported: an SA payload's situation asks for
	// secrecy or integrity labels (RFC 2407 section 4.2).
	ErrSituationNotSupported = errors.New("situation not supported")
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
	// ErrSubstructureType: a proposal's next payload field is not 0 or 2, or
	// a transform's is not 0 or 3 (RFC 2408 sections 3.5 and 3.6).
	ErrSubstructureType = errors.New("bad next payload in SA substructure")
	// ErrSubstructureChain: the last proposal or transform (next payload 0)
	// does not end its container, or the container ends while the chain
	// announces more.
	ErrSubstructureChain = errors.New("SA substructures do not fill their container")
	// ErrSPISize: an SPI size that the protocol does not allow.
	ErrSPISize = errors.New("invalid SPI size")
	// ErrSPICount: a Delete payload's SPI count is zero or disagrees with
	// its length.
	ErrSPICount = errors.New("SPI count mismatch")

	// ErrShortAttribute: a data attribute runs past the end of its transform.
	ErrShortAttribute = errors.New("attribute truncated")
	// ErrTooManyAttributes: more than MaxAttributes attributes in a transform.
	ErrTooManyAttributes = errors.New("too many attributes")
	// ErrAttributeType: an attribute type to marshal does not fit 15 bits.
	ErrAttributeType = errors.New("attribute type out of range")
	// ErrAttributeValue: a variable attribute value too long to marshal, or
	// too long (or empty) to read as an integer.
	ErrAttributeValue = errors.New("attribute value out of range")
	// ErrLifetime: life type and life duration attributes are not in
	// pairs, or the life type is unknown (RFC 2407 section 4.5).
	ErrLifetime = errors.New("bad life type/duration pair")

	// ErrIDData: identification data whose length does not fit its ID type.
	ErrIDData = errors.New("identification data does not match its type")
	// ErrNonceLength: a nonce outside 8 to 256 bytes (RFC 2409 section 5).
	ErrNonceLength = errors.New("nonce length out of range")
	// ErrNotifyData: notification data of the wrong size for its type
	// (R-U-THERE carries a 4-byte sequence number).
	ErrNotifyData = errors.New("bad notification data")
	// ErrNATOA: a NAT-OA payload with an unknown address type or an address
	// of the wrong length.
	ErrNATOA = errors.New("bad NAT-OA address")
)

// A ParseError locates a malformed message: which payload or substructure,
// and the byte offset of the faulty field within the buffer given to the
// parse function. Err is one of the package's sentinel errors.
type ParseError struct {
	// Payload names the structure, outermost first, e.g.
	// "SA/proposal 1/transform 2/attribute 3"; proposals, transforms and
	// attributes are counted from 1 in the order they appear.
	Payload string
	Offset  int
	Err     error
}

func (e *ParseError) Error() string {
	if e.Payload == "" {
		return fmt.Sprintf("isakmp: offset %d: %v", e.Offset, e.Err)
	}
	return fmt.Sprintf("isakmp: %s at offset %d: %v", e.Payload, e.Offset, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// NotifyFor returns the notify message type (RFC 2408 section 3.14.1) that
// best describes why a message failed to parse with err: the specific type
// where one fits (INVALID-MAJOR-VERSION, BAD-PROPOSAL-SYNTAX,
// INVALID-ID-INFORMATION, ...), PAYLOAD-MALFORMED otherwise. Whether to send
// it at all is the caller's policy (RFC 2408 section 5 leaves most of these
// optional). It returns 0 for nil and for ErrEncrypted, which is no fault of
// the peer.
func NotifyFor(err error) NotifyType {
	switch {
	case err == nil, errors.Is(err, ErrEncrypted):
		return 0
	case errors.Is(err, ErrMajorVersion):
		return NotifyInvalidMajorVersion
	case errors.Is(err, ErrMinorVersion):
		return NotifyInvalidMinorVersion
	case errors.Is(err, ErrInvalidFlags):
		return NotifyInvalidFlags
	case errors.Is(err, ErrDOINotSupported):
		return NotifyDOINotSupported
	case errors.Is(err, ErrSituationNotSupported):
		return NotifySituationNotSupported
	case errors.Is(err, ErrSPISize):
		return NotifyInvalidSPI
	case errors.Is(err, ErrNoProposals), errors.Is(err, ErrNoTransforms),
		errors.Is(err, ErrTransformCount), errors.Is(err, ErrSubstructureType),
		errors.Is(err, ErrSubstructureChain):
		return NotifyBadProposalSyntax
	case errors.Is(err, ErrIDData):
		return NotifyInvalidIDInformation
	case errors.Is(err, ErrTruncated), errors.Is(err, ErrTrailingData):
		return NotifyUnequalPayloadLengths
	}
	return NotifyPayloadMalformed
}

// perr returns a ParseError for a fault at off in the structure named payload.
func perr(payload string, off int, err error) *ParseError {
	return &ParseError{Payload: payload, Offset: off, Err: err}
}

// nest places an error from a nested structure that starts at base within
// its parent, naming the nested structure name (or nothing if name is "").
func nest(err error, name string, base int) error {
	var pe *ParseError
	if !errors.As(err, &pe) {
		return perr(name, base, err)
	}
	p := pe.Payload
	switch {
	case name == "":
	case p == "":
		p = name
	default:
		p = name + "/" + p
	}
	return perr(p, base+pe.Offset, pe.Err)
}

// nth names the n-th (from 1) substructure of a kind in error paths.
func nth(kind string, n int) string { return fmt.Sprintf("%s %d", kind, n) }
