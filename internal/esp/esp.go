// Package esp implements the IP Encapsulating Security Payload of RFC 4303
// for one security association at a time, with the transforms gresec
// negotiates: AES-CBC (RFC 3602) with HMAC-SHA-1-96 (RFC 2404) or
// HMAC-SHA-256/384/512 (RFC 4868), and AES-GCM with a 16-byte ICV
// (RFC 4106). It also has the packet tests of UDP encapsulation for NAT
// traversal (RFC 3948).
//
// The package is a codec: bytes in, bytes out, no I/O and no clock. Seal
// and Open work in place on the caller's buffer and allocate nothing. What
// an ESP payload is (a GRE packet in transport mode, an IP packet in tunnel
// mode) is the caller's business; it passes and gets back the next header.
//
// # Buffer contract
//
// Seal takes buf with the payload in buf[off:], at least Suite.Headroom()
// bytes (at most MaxHeadroom) free before it, and at least
// Suite.Tailroom(len(buf)-off) bytes (at most MaxTailroom) of spare
// capacity after it. It writes the ESP header and IV in front of the
// payload, encrypts the payload in place, appends padding, trailer and ICV
// in the spare capacity, and returns the ESP packet, a subslice of buf's
// underlying array. A data plane that reserves MaxHeadroom plus its outer
// headers in front of every packet, and MaxTailroom behind it, never needs
// to look at the suite.
//
// Open takes an ESP packet (from the SPI on) and decrypts it in place; the
// payload it returns is a subslice of the packet.
//
// # Concurrency
//
// An SA is one direction of one security association. Seal and Open are
// not safe for concurrent use: one goroutine seals on an outbound SA, one
// opens on an inbound SA. Stats, Expired and SoftExpired may be called from
// any goroutine at any time.
package esp

import "errors"

// Wire sizes.
const (
	// HeaderLen is the ESP header: SPI and sequence number.
	HeaderLen = 8
	// MaxHeadroom is the most any suite's Headroom can be (header + CBC IV).
	MaxHeadroom = HeaderLen + 16
	// MaxTailroom is the most any suite's Tailroom can be (15 bytes of CBC
	// padding, the trailer, a 32-byte HMAC-SHA-512-256 ICV).
	MaxTailroom = 15 + trailerLen + 32

	trailerLen = 2 // pad length, next header
	saltLen    = 4 // AES-GCM salt (RFC 4106 section 4)
	gcmTagLen  = 16
)

// Next header values (IANA protocol numbers) of the payloads gresec
// carries.
const (
	NextHeaderIPv4 = 4  // tunnel mode, inner IPv4
	NextHeaderIPv6 = 41 // tunnel mode, inner IPv6
	NextHeaderGRE  = 47 // transport mode, GRE
	NextHeaderNone = 59 // dummy packet (RFC 4303 section 2.6)
)

// Errors of Seal and Open. Open's errors also count in the inbound SA's
// Stats.
var (
	ErrShort        = errors.New("esp: packet too short")
	ErrBadLength    = errors.New("esp: ciphertext not a multiple of the block size")
	ErrSPI          = errors.New("esp: SPI does not match the SA")
	ErrReplay       = errors.New("esp: replayed or too old sequence number")
	ErrAuth         = errors.New("esp: integrity check failed")
	ErrBadPadding   = errors.New("esp: bad padding")
	ErrDummy        = errors.New("esp: dummy packet (next header 59)")
	ErrSeqExhausted = errors.New("esp: sequence number space exhausted; rekey")
	ErrExpired      = errors.New("esp: SA lifetime expired")
	ErrNoRoom       = errors.New("esp: buffer lacks headroom or tailroom")
	ErrDirection    = errors.New("esp: SA used in the wrong direction")
)
