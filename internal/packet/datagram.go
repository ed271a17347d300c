package packet

import "net/netip"

// Datagram is one datagram read from an underlay socket into a caller's
// buffer: the batch element that the sockets (internal/linux) fill and the
// data plane consumes, so that neither imports the other.
type Datagram struct {
	// Buf is the caller's buffer; the socket reads into it.
	Buf []byte
	// Payload is the part of Buf after the outer IP (and UDP) headers.
	Payload []byte
	// Src is the sender; the port is 0 for raw IP.
	Src netip.AddrPort
}
