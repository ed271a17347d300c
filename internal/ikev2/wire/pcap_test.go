package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// A datagram is one IKE message as it crossed the wire in UDP: on port 4500
// without the non-ESP marker, which readPcap checks and removes and
// writePcap adds.
type datagram struct {
	src, dst netip.AddrPort
	ike      []byte
}

// nonESPMarker precedes IKE messages on port 4500 (RFC 3948 section 2.2).
var nonESPMarker = []byte{0, 0, 0, 0}

// readPcap returns the IKE messages in a libpcap capture of Ethernet frames
// carrying IPv4 and UDP to or from port 500 or 4500.
func readPcap(b []byte) ([]datagram, error) {
	if len(b) < 24 {
		return nil, errors.New("pcap: short file header")
	}
	var bo binary.ByteOrder
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4, 0xa1b23c4d:
		bo = binary.LittleEndian
	case 0xd4c3b2a1, 0x4d3cb2a1:
		bo = binary.BigEndian
	default:
		return nil, errors.New("pcap: not a libpcap file")
	}
	if lt := bo.Uint32(b[20:]); lt != 1 {
		return nil, fmt.Errorf("pcap: link type %d, want Ethernet", lt)
	}
	var out []datagram
	for off := 24; off < len(b); {
		if len(b)-off < 16 {
			return nil, errors.New("pcap: short record header")
		}
		n := int(bo.Uint32(b[off+8:]))
		if n > len(b)-off-16 {
			return nil, errors.New("pcap: short record")
		}
		frame := b[off+16 : off+16+n]
		off += 16 + n
		d, err := parseFrame(frame)
		if err != nil {
			return nil, fmt.Errorf("pcap: frame %d: %w", len(out)+1, err)
		}
		out = append(out, d)
	}
	return out, nil
}

func parseFrame(f []byte) (datagram, error) {
	if len(f) < 14+20 || binary.BigEndian.Uint16(f[12:]) != 0x0800 {
		return datagram{}, errors.New("not IPv4 over Ethernet")
	}
	ip := f[14:]
	ihl := int(ip[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(ip[2:]))
	if ip[0]>>4 != 4 || ihl < 20 || total < ihl+8 || total > len(ip) || ip[9] != 17 {
		return datagram{}, errors.New("not a whole UDP datagram in IPv4")
	}
	src, _ := netip.AddrFromSlice(ip[12:16])
	dst, _ := netip.AddrFromSlice(ip[16:20])
	udp := ip[ihl:total]
	sport, dport := binary.BigEndian.Uint16(udp), binary.BigEndian.Uint16(udp[2:])
	if int(binary.BigEndian.Uint16(udp[4:])) != len(udp) {
		return datagram{}, errors.New("UDP length disagrees with IP")
	}
	payload := udp[8:]
	switch {
	case sport == 4500 || dport == 4500:
		if len(payload) < 4 || string(payload[:4]) != string(nonESPMarker) {
			return datagram{}, errors.New("port 4500 without the non-ESP marker")
		}
		payload = payload[4:]
	case sport != 500 && dport != 500:
		return datagram{}, fmt.Errorf("UDP ports %d to %d", sport, dport)
	}
	return datagram{
		src: netip.AddrPortFrom(src, sport),
		dst: netip.AddrPortFrom(dst, dport),
		ike: payload,
	}, nil
}

// writePcap returns a libpcap file (Ethernet link type) holding each
// datagram in IPv4 and UDP.
func writePcap(ds []datagram) []byte {
	le := binary.LittleEndian
	var b []byte
	b = le.AppendUint32(b, 0xa1b2c3d4) // magic, microsecond timestamps
	b = le.AppendUint16(b, 2)          // version 2.4
	b = le.AppendUint16(b, 4)
	b = le.AppendUint32(b, 0)     // time zone
	b = le.AppendUint32(b, 0)     // timestamp accuracy
	b = le.AppendUint32(b, 65535) // snap length
	b = le.AppendUint32(b, 1)     // LINKTYPE_ETHERNET
	for i, d := range ds {
		payload := d.ike
		if d.src.Port() == 4500 || d.dst.Port() == 4500 {
			payload = append(append([]byte{}, nonESPMarker...), payload...)
		}
		var frame []byte
		frame = append(frame, 0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1) // dst, src MAC
		frame = binary.BigEndian.AppendUint16(frame, 0x0800)
		ip := []byte{0x45, 0, 0, 0, 0, byte(i), 0x40, 0, 64, 17, 0, 0}
		binary.BigEndian.PutUint16(ip[2:], uint16(20+8+len(payload)))
		ip = append(ip, d.src.Addr().AsSlice()...)
		ip = append(ip, d.dst.Addr().AsSlice()...)
		binary.BigEndian.PutUint16(ip[10:], ipChecksum(ip))
		frame = append(frame, ip...)
		frame = binary.BigEndian.AppendUint16(frame, d.src.Port())
		frame = binary.BigEndian.AppendUint16(frame, d.dst.Port())
		frame = binary.BigEndian.AppendUint16(frame, uint16(8+len(payload)))
		frame = binary.BigEndian.AppendUint16(frame, 0) // no UDP checksum
		frame = append(frame, payload...)

		b = le.AppendUint32(b, uint32(1700000000+i)) // seconds
		b = le.AppendUint32(b, 0)                    // microseconds
		b = le.AppendUint32(b, uint32(len(frame)))   // captured length
		b = le.AppendUint32(b, uint32(len(frame)))   // original length
		b = append(b, frame...)
	}
	return b
}

func ipChecksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i < len(h); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}
