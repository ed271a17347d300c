package isakmp

import (
	"encoding/binary"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestTshark has an independent dissector, Wireshark's, read what Marshal
// writes: the Main Mode messages and, sent in clear so that it can be
// dissected, a Quick Mode message and Informational ones. It is skipped when
// tshark is missing, except under CI=true, where tshark is required.
func TestTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tshark is required when CI=true: ", err)
		}
		t.Skip("tshark not installed")
	}

	var packets [][]byte
	for _, b := range [][]byte{mainMode1, mainMode3} {
		m, err := ParseMessage(b)
		if err != nil {
			t.Fatal(err)
		}
		out, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		packets = append(packets, out)
	}
	icky, rcky := cookie("c0ffee0011223344"), cookie("5566778899aabbcc")
	for _, c := range []struct {
		exchange ExchangeType
		first    PayloadType
		plain    []byte
	}{
		{ExchangeQuickMode, PayloadHash, quickMode1Plain},
		{ExchangeInformational, PayloadHash, dpdPlain},
		{ExchangeInformational, PayloadHash, deletePlain},
		{ExchangeInformational, PayloadNotification, initialContact},
	} {
		ps, err := ParsePlaintext(c.first, c.plain)
		if err != nil {
			t.Fatal(err)
		}
		m := &Message{
			Header:   Header{InitiatorCookie: icky, ResponderCookie: rcky, Exchange: c.exchange, MessageID: 0x1badcafe},
			Payloads: ps,
		}
		out, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		packets = append(packets, out)
	}

	file := filepath.Join(t.TempDir(), "isakmp.pcap")
	if err := os.WriteFile(file, pcap(packets), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tshark, "-n", "-r", file, "-V", "-d", "udp.port==500,isakmp")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir()) // no user preferences
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, out)
	}
	text := string(out)
	if n := strings.Count(text, "Internet Security Association and Key Management Protocol"); n != len(packets) {
		t.Errorf("tshark dissected %d ISAKMP messages, want %d", n, len(packets))
	}
	for _, bad := range []string{"Malformed", "Expert Info (Error", "Expert Info (Warning"} {
		if strings.Contains(text, bad) {
			t.Errorf("tshark reports %q", bad)
		}
	}
	// tshark's wording, as of Wireshark 4.0.
	for _, want := range []string{
		// Main Mode 1
		`Exchange type: Identity Protection \(Main Mode\) \(2\)`,
		`Transform ID: KEY_IKE \(1\)`,
		`IKE Attribute \(t=1,l=2\): Encryption-Algorithm: AES-CBC`,
		`IKE Attribute \(t=14,l=2\): Key-Length: 256`,
		`IKE Attribute \(t=2,l=2\): Hash-Algorithm: SHA2-256`,
		`IKE Attribute \(t=4,l=2\): Group-Description: 256-bit random ECP group`,
		`IKE Attribute \(t=3,l=2\): Authentication-Method: Pre-shared key`,
		`IKE Attribute \(t=11,l=2\): Life-Type: Seconds`,
		`IKE Attribute \(t=12,l=4\): Life-Duration: 86400`,
		`Vendor ID: RFC 3947 Negotiation of NAT-Traversal`,
		`Vendor ID: RFC 3706 DPD`,
		`Vendor ID: strongSwan`,
		// Main Mode 3
		`Payload: Key Exchange \(4\)`,
		`Payload: NAT-D \(RFC 3947\) \(20\)`,
		// Quick Mode 1
		`Exchange type: Quick Mode \(32\)`,
		`Protocol ID: IPSEC_ESP \(3\)`,
		`SPI: cafe0001`,
		`Transform ID: AES \(12\)`,
		`IPsec Attribute \(t=6,l=2\): Key-Length: 256`,
		`IPsec Attribute \(t=5,l=2\): Authentication-Algorithm: HMAC-SHA2-384`,
		`IPsec Attribute \(t=4,l=2\): Encapsulation-Mode: Transport`,
		`IPsec Attribute \(t=2,l=2\): SA-Life-Duration: 3600`,
		`IPsec Attribute \(t=1,l=2\): SA-Life-Type: Kilobytes`,
		`IPsec Attribute \(t=2,l=4\): SA-Life-Duration: 4608000`,
		`Transform ID: .*\(20\)`, // AES-GCM-16; Wireshark 4.0 has no name for it
		`Protocol ID: Generic Routing Encapsulation \(47\)`,
		`Identification Data:192\.0\.2\.1`,
		`Identification Data:198\.51\.100\.2`,
		// Informational
		`Notify Message Type: R-U-THERE \(36136\)`,
		`DPD ARE-YOU-THERE sequence: 975903757`,
		`Delete SPI: cafe0001`,
		`Notify Message Type: INITIAL-CONTACT \(24578\)`,
		`Delete SPI: 00112233445566778899aabbccddeeff`,
	} {
		if !regexp.MustCompile(want).MatchString(text) {
			t.Errorf("tshark output lacks %s", want)
		}
	}
	if t.Failed() {
		t.Log(text)
	}
}

// pcap returns a capture file (libpcap format, Ethernet link type) holding
// each ISAKMP message in a UDP datagram from 192.0.2.1:500 to
// 198.51.100.2:500.
func pcap(messages [][]byte) []byte {
	le := binary.LittleEndian
	var b []byte
	b = le.AppendUint32(b, 0xa1b2c3d4) // magic, microsecond timestamps
	b = le.AppendUint16(b, 2)          // version 2.4
	b = le.AppendUint16(b, 4)
	b = le.AppendUint32(b, 0)     // time zone
	b = le.AppendUint32(b, 0)     // timestamp accuracy
	b = le.AppendUint32(b, 65535) // snap length
	b = le.AppendUint32(b, 1)     // LINKTYPE_ETHERNET
	src, dst := netip.MustParseAddr("192.0.2.1").As4(), netip.MustParseAddr("198.51.100.2").As4()
	for i, msg := range messages {
		var frame []byte
		frame = append(frame, 0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1) // dst, src MAC
		frame = binary.BigEndian.AppendUint16(frame, 0x0800)
		ip := []byte{0x45, 0, 0, 0, 0, byte(i), 0x40, 0, 64, 17, 0, 0}
		binary.BigEndian.PutUint16(ip[2:], uint16(20+8+len(msg)))
		ip = append(ip, src[:]...)
		ip = append(ip, dst[:]...)
		binary.BigEndian.PutUint16(ip[10:], ipChecksum(ip))
		frame = append(frame, ip...)
		frame = binary.BigEndian.AppendUint16(frame, 500)
		frame = binary.BigEndian.AppendUint16(frame, 500)
		frame = binary.BigEndian.AppendUint16(frame, uint16(8+len(msg)))
		frame = binary.BigEndian.AppendUint16(frame, 0) // no UDP checksum
		frame = append(frame, msg...)

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
