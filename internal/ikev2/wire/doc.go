// Package wire encodes and decodes IKEv2 messages (RFC 7296), with IKE
// fragmentation (RFC 7383), AEAD framing (RFC 5282) and the signature
// authentication of RFC 7427.
//
// The package is a pure codec: bytes in, plain structs out, and back. It does
// no I/O, keeps no state and does no cryptography. A protected message ends
// with an Encrypted (SK) or EncryptedFragment (SKF) payload whose body stays
// opaque; SplitProtected locates its IV, ciphertext and ICV and the bytes an
// integrity check or an AEAD covers, the IKE engine decrypts, Unpad removes
// the padding and DecodePayloads decodes the inner chain, starting with the
// type the SK payload announces. Sending goes the other way: EncodePayloads,
// Pad, encrypt, and an Encrypted payload as the message's last payload.
//
// Every length and count read from the wire is checked against the bytes
// actually present before it is used, the number of payloads, proposals,
// transforms and attributes is capped (MaxPayloads and friends), and nothing
// is allocated beyond what the input holds. Decode errors are *DecodeError
// values that say where the fault is and wrap a sentinel error
// (ErrShortPayload, ErrSPISize, ...); NotifyFor maps them to the notify
// message type a peer should be answered with. An unknown payload with the
// critical bit set fails with ErrUnsupportedCritical (RFC 7296 section 2.5);
// an unknown payload without it is kept as an *Unknown, which the engine
// ignores and which encodes back to the same bytes.
//
// Decoded payloads never alias the input buffer; the spans of SplitPayloads
// and the parts of SplitProtected do. Values of this package are not safe for
// concurrent mutation, like any Go struct, but the functions share no state.
package wire
