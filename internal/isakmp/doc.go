// Package isakmp encodes and decodes ISAKMP messages (RFC 2408) as IKEv1
// (RFC 2409) uses them with the IPsec DOI (RFC 2407), NAT traversal
// (RFC 3947, including the draft-era payload types and encapsulation modes
// that older peers still send) and dead peer detection (RFC 3706).
//
// The package is a pure codec: bytes in, plain structs out, and back. It does
// no I/O, keeps no state and knows nothing of exchanges, keys or policy. An
// encrypted message (flag E) is split into its header and its ciphertext;
// the IKE engine decrypts the body and hands the plaintext to ParsePlaintext.
//
// Every length and count read from the wire is checked against the bytes
// actually present before it is used, the number of payloads, proposals,
// transforms and attributes is capped (MaxPayloads and friends), and nothing
// is allocated beyond what the input holds. Parse errors are *ParseError
// values that say where the fault is and wrap a sentinel error (ErrShortPayload,
// ErrSPISize, ...); NotifyFor maps them to the notify message type a peer
// should be answered with.
//
// Parsed payloads never alias the input buffer, except the body returned by
// SplitMessage and the spans returned by SplitPayloads, which index into it.
// Values of this package are not safe for concurrent mutation, like any Go
// struct, but the functions share no state.
package isakmp
