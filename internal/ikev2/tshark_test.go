package ikev2

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/gresec/gresec/internal/config"
	"github.com/gresec/gresec/internal/ike"
	"github.com/gresec/gresec/internal/ikev2/wire"
)

// TestTsharkDecryptsKeyLog: a session between two engines (IKE_AUTH,
// CHILD_SA rekeys with PFS, an IKE SA rekey, a liveness check), written to
// a pcap with gopacket; the engines' KeyLogIKEv2 lines, given to tshark as
// its ikev2_decryption_table, decrypt every IKE_AUTH and CREATE_CHILD_SA:
// tshark reads the identity of both IKE_AUTHs and the nonce of every
// CREATE_CHILD_SA, which only decryption reveals. tshark is an
// independent implementation of RFC 7296's framing and cryptography.
func TestTsharkDecryptsKeyLog(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tshark is required when CI=true: ", err)
		}
		t.Skip("tshark not installed")
	}
	pr := profile()
	pr.Lifetime = 20 * time.Minute
	pr.DPD = &config.DPD{Interval: 10 * time.Minute, Periodic: true}
	pa, pb := protection("Tunnel0", addrA, addrB, pr), protection("Tunnel0", addrB, addrA, pr)
	pa.Lifetime, pb.Lifetime = 8*time.Minute, 8*time.Minute
	pa.PFS, pb.PFS = 19, 19
	pb.Passive = true
	n := newNet(t, &pa, &pb)
	n.runFor(30 * time.Minute)
	n.checkPaired()

	var lines []string
	for _, a := range actionsOf[ike.KeyLogIKEv2](n.a.actions) {
		lines = append(lines, a.Line())
	}
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(65535, layers.LinkTypeRaw); err != nil {
		t.Fatal(err)
	}
	auths, creates := 0, 0
	for i, s := range n.captured {
		h, ok := headerOf(s)
		if !ok {
			continue
		}
		switch h.Exchange {
		case wire.ExchangeIKEAuth:
			auths++
		case wire.ExchangeCreateChildSA:
			creates++
		}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IP(s.Local.Addr().AsSlice()), DstIP: net.IP(s.Remote.Addr().AsSlice())}
		udp := &layers.UDP{SrcPort: layers.UDPPort(s.Local.Port()), DstPort: layers.UDPPort(s.Remote.Port())}
		if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		out := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(out, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ip, udp, gopacket.Payload(s.Data)); err != nil {
			t.Fatal(err)
		}
		ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(out.Bytes()), Length: len(out.Bytes())}
		if err := w.WritePacket(ci, out.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	if auths != 2 || creates < 8 || len(lines) < 2 {
		t.Fatalf("session: %d IKE_AUTH, %d CREATE_CHILD_SA, %d IKE key lines", auths, creates, len(lines))
	}
	file := filepath.Join(t.TempDir(), "ikev2.pcap")
	if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"-n", "-r", file}
	for _, l := range lines {
		args = append(args, "-o", "uat:ikev2_decryption_table:"+l)
	}
	// Per message: the exchange, the identity's type (IKE_AUTH) and the
	// nonce (CREATE_CHILD_SA), which only decryption reveals.
	args = append(args, "-T", "fields", "-E", "separator=|", "-e", "isakmp.exchangetype", "-e", "isakmp.id.type", "-e", "isakmp.nonce")
	cmd := exec.Command(tshark, args...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, out)
	}
	seenAuth, seenCreate := 0, 0
	for _, row := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(row, "|")
		if len(f) < 3 {
			continue
		}
		x, _ := strconv.Atoi(f[0])
		switch wire.ExchangeType(x) {
		case wire.ExchangeIKEAuth:
			if f[1] == "" {
				t.Errorf("an IKE_AUTH did not decrypt: %q", row)
			}
			seenAuth++
		case wire.ExchangeCreateChildSA:
			if f[2] == "" {
				t.Errorf("a CREATE_CHILD_SA did not decrypt: %q", row)
			}
			seenCreate++
		}
	}
	if seenAuth != auths || seenCreate != creates {
		t.Errorf("tshark saw %d IKE_AUTH and %d CREATE_CHILD_SA, the capture has %d and %d", seenAuth, seenCreate, auths, creates)
	}
}
