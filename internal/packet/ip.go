package packet

// IP protocol numbers (IANA "Assigned Internet Protocol Numbers") the data
// plane looks at.
const (
	ProtoHopByHop uint8 = 0
	ProtoICMP     uint8 = 1
	ProtoTCP      uint8 = 6
	ProtoUDP      uint8 = 17
	ProtoRouting  uint8 = 43
	ProtoFragment uint8 = 44
	ProtoGRE      uint8 = 47
	ProtoESP      uint8 = 50
	ProtoAH       uint8 = 51
	ProtoICMPv6   uint8 = 58
	ProtoNoNext   uint8 = 59
	ProtoDestOpts uint8 = 60
)

// Version returns the IP version nibble of the packet in b, or 0 if b is empty.
func Version(b []byte) int {
	if len(b) == 0 {
		return 0
	}
	return int(b[0] >> 4)
}

// DSCP returns the DiffServ code point of an IPv4 or IPv6 packet (the top
// six bits of the ToS or traffic class byte), 0 for anything else.
func DSCP(b []byte) byte {
	switch {
	case len(b) >= 2 && b[0]>>4 == 4:
		return b[1] >> 2
	case len(b) >= 2 && b[0]>>4 == 6:
		// The traffic class straddles the first two bytes.
		return (b[0]<<4 | b[1]>>4) >> 2
	}
	return 0
}
