package esp

// UDP encapsulation of ESP for NAT traversal (RFC 3948). On UDP port 4500
// one socket carries three kinds of datagram, told apart by their first
// bytes: ESP (a non-zero SPI), IKE (behind a 4-byte zero non-ESP marker)
// and NAT keepalives (a single 0xFF byte).

// Ports and sizes of RFC 3948.
const (
	NATTPort         = 4500 // UDP port of ESP-in-UDP and of IKE after NAT detection
	UDPEncapLen      = 8    // the UDP header ESP-in-UDP adds to each packet
	NonESPMarkerLen  = 4    // the zero bytes in front of IKE on port 4500
	natKeepaliveByte = 0xff
)

// UDPPayload is what a datagram received on NATTPort carries.
type UDPPayload uint8

// The kinds of UDPPayload.
const (
	UDPInvalid   UDPPayload = iota // none of the below: drop it
	UDPESP                         // an ESP packet, from the SPI on
	UDPIKE                         // an IKE message behind the non-ESP marker
	UDPKeepalive                   // a NAT keepalive: drop it
)

// IsNonESPMarker reports whether a UDP payload starts with the non-ESP
// marker, i.e. carries IKE (RFC 3948 section 2.2).
func IsNonESPMarker(udpPayload []byte) bool {
	return len(udpPayload) >= NonESPMarkerLen &&
		udpPayload[0]|udpPayload[1]|udpPayload[2]|udpPayload[3] == 0
}

// IsNATKeepalive reports whether a UDP payload is a NAT keepalive: one
// 0xFF byte (RFC 3948 section 2.3).
func IsNATKeepalive(udpPayload []byte) bool {
	return len(udpPayload) == 1 && udpPayload[0] == natKeepaliveByte
}

// ClassifyUDP tells what a datagram received on NATTPort carries. An ESP
// packet must at least hold its header; SA.Open checks the rest.
func ClassifyUDP(udpPayload []byte) UDPPayload {
	switch {
	case IsNATKeepalive(udpPayload):
		return UDPKeepalive
	case IsNonESPMarker(udpPayload):
		return UDPIKE
	case len(udpPayload) >= HeaderLen:
		return UDPESP
	}
	return UDPInvalid
}
