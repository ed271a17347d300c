package ike

import (
	"encoding/binary"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gresec/gresec/internal/esp"
	"github.com/gresec/gresec/internal/packet"
)

// TestTsharkDecrypts has Wireshark's IKEv1 dissector, an independent
// implementation, decrypt a whole exchange of two engines given only the
// keys of the KeyLogIKE actions: it derives the phase 1 IV from the KE
// payloads itself and follows the CBC chaining into Main Mode, Quick Mode
// and informational messages. It also checks the ESP keys of the
// KeyLogESP lines on a packet sealed with them. Skipped without tshark,
// except under CI=true.
func TestTsharkDecrypts(t *testing.T) {
	tsharkDecrypts(t, addrA, addrB, []string{
		"Identification Data:192.0.2.1", // MM5, decrypted
		"Identification Data:192.0.2.2", // MM6
		"ID type: IPV4_ADDR (1)",
	})
}

// TestTsharkDecryptsIPv6 is TestTsharkDecrypts between IPv6 peers: the
// identities are of type IPV6_ADDR, in Main Mode and in Quick Mode (GRE
// between the two addresses), and the ESP keys decrypt ESP over IPv6.
func TestTsharkDecryptsIPv6(t *testing.T) {
	a6, b6 := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	tsharkDecrypts(t, a6, b6, []string{
		"Identification Data:2001:db8::1",
		"Identification Data:2001:db8::2",
		"ID type: IPV6_ADDR (5)",
	})
}

// tsharkDecrypts runs the exchange between engines at addresses a and b
// and checks tshark's view of it, with wants on top of what every
// exchange shows.
func tsharkDecrypts(t *testing.T, addrA, addrB netip.Addr, wants []string) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tshark is required when CI=true: ", err)
		}
		t.Skip("tshark not installed")
	}
	n := newNetwork(t)
	a := n.add("A", addrA, dpdConfig(true))
	b := n.add("B", addrB, refConfig())
	n.start(a, protect(addrA, addrB))
	pb := protect(addrB, addrA)
	pb.Passive = true
	n.start(b, pb)
	n.run(25 * time.Second) // Main Mode, Quick Mode, two R-U-THERE and ACKs
	n.record(a, a.e.Stop(n.now, "Tunnel0"))
	if len(a.installs()) != 1 || len(b.installs()) != 1 {
		t.Fatalf("installs: A %d, B %d", len(a.installs()), len(b.installs()))
	}
	checkPair(t, a.installs()[0], b.installs()[0])

	// Interleave both sides' datagrams in the order they were sent.
	var all []timedSend
	for _, nd := range []*node{a, b} {
		all = append(all, nd.sends...)
	}
	sortSends(all)
	var frames [][]byte
	for _, s := range all {
		frames = append(frames, udpFrame(s.s))
	}
	// One ESP packet sealed with A's outbound key, for the esp_sa table.
	inst := a.installs()[0]
	out, err := esp.NewOutbound(inst.Out.SPI, inst.Suite, inst.Out.EncKey, inst.Out.AuthKey, false)
	if err != nil {
		t.Fatal(err)
	}
	gre := []byte{0, 0, 0x08, 0, 0x45, 0, 0, 20, 0, 0, 0, 0, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2}
	buf := make([]byte, esp.MaxHeadroom+len(gre), esp.MaxHeadroom+len(gre)+esp.MaxTailroom)
	copy(buf[esp.MaxHeadroom:], gre)
	pkt, err := out.Seal(buf, esp.MaxHeadroom, esp.NextHeaderGRE)
	if err != nil {
		t.Fatal(err)
	}
	frames = append(frames, ipFrame(50, inst.Local, inst.Remote, pkt))

	file := filepath.Join(t.TempDir(), "ike.pcap")
	if err := os.WriteFile(file, pcapFile(frames), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"-n", "-r", file, "-V", "-o", "esp.enable_encryption_decode:TRUE", "-o", "esp.enable_authentication_check:TRUE"}
	for _, k := range actionsOf[KeyLogIKE](a.actions) {
		args = append(args, "-o", "uat:ikev1_decryption_table:"+k.Line())
	}
	for _, k := range actionsOf[KeyLogESP](a.actions) {
		args = append(args, "-o", "uat:esp_sa:"+k.Line())
	}
	cmd := exec.Command(tshark, args...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	outText, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, outText)
	}
	text := string(outText)
	for _, want := range append(wants,
		"Protocol ID: Generic Routing Encapsulation (47)", // Quick Mode identities
		"Authentication Algorithm: HMAC-SHA2-384 (6)",     // RFC 4868 value
		"Transform ID: AES (12)",                          // Quick Mode proposal
		"Notify Message Type: R-U-THERE (36136)",
		"Notify Message Type: R-U-THERE-ACK (36137)",
		"Protocol ID: IPSEC_ESP (3)", // the ESP DELETE
		"Good: True",                 // the ESP ICV
	) {
		if !strings.Contains(strings.ReplaceAll(text, ": ", ":"), strings.ReplaceAll(want, ": ", ":")) {
			t.Errorf("tshark output lacks %q", want)
		}
	}
	for _, bad := range []string{"Malformed", "Expert Info (Error"} {
		if strings.Contains(text, bad) {
			t.Errorf("tshark reports %q", bad)
		}
	}
	if t.Failed() {
		t.Logf("tshark output:\n%s", text)
	}
}

func sortSends(s []timedSend) {
	slices.SortFunc(s, func(a, b timedSend) int { return a.seq - b.seq })
}

func udpFrame(s Send) []byte {
	udp := binary.BigEndian.AppendUint16(nil, s.Local.Port())
	udp = binary.BigEndian.AppendUint16(udp, s.Remote.Port())
	udp = binary.BigEndian.AppendUint16(udp, uint16(8+len(s.Data)))
	udp = binary.BigEndian.AppendUint16(udp, 0)
	udp = append(udp, s.Data...)
	if s.Local.Addr().Is6() {
		// IPv6 forbids a zero UDP checksum.
		ck := packet.Checksum(udp, packet.PseudoHeaderSum(17, s.Local.Addr(), s.Remote.Addr(), len(udp)))
		binary.BigEndian.PutUint16(udp[6:], ck)
	}
	return ipFrame(17, s.Local.Addr(), s.Remote.Addr(), udp)
}

func ipFrame(proto byte, src, dst netip.Addr, payload []byte) []byte {
	if src.Is6() {
		ip := []byte{0x60, 0, 0, 0, 0, 0, proto, 64}
		binary.BigEndian.PutUint16(ip[4:], uint16(len(payload)))
		ip = append(append(ip, src.AsSlice()...), dst.AsSlice()...)
		return append(ip, payload...)
	}
	ip := []byte{0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, proto, 0, 0}
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(payload)))
	s4, d4 := src.As4(), dst.As4()
	ip = append(append(ip, s4[:]...), d4[:]...)
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	return append(ip, payload...)
}

// pcapFile writes raw IPv4 and IPv6 frames (LINKTYPE_RAW) into a pcap
// file.
func pcapFile(frames [][]byte) []byte {
	le := binary.LittleEndian
	b := le.AppendUint32(nil, 0xa1b2c3d4)
	b = le.AppendUint16(b, 2)
	b = le.AppendUint16(b, 4)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, 65535)
	b = le.AppendUint32(b, 101) // LINKTYPE_RAW
	for i, f := range frames {
		b = le.AppendUint32(b, uint32(1700000000+i))
		b = le.AppendUint32(b, 0)
		b = le.AppendUint32(b, uint32(len(f)))
		b = le.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return b
}
