package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/gresec/gresec/internal/lab"
)

// TestIKEv2ReferenceConfig: two gresec daemons with issue 12's IKEv2
// configuration (the reference topology, its crypto isakmp statements
// replaced by the IKEv2 proposal, policy, keyring and profile) negotiate
// with IKEv2 on their own and carry ping and iperf3; their ESP decrypts
// with tshark from the keylog with every ICV good, and the IKE_AUTH they
// exchanged decrypts with the keylog's IKEv2 lines.
func TestIKEv2ReferenceConfig(t *testing.T) {
	requireTools(t, "tshark", "tcpdump", "iperf3")
	l := startLabWith(t, lab.Options{KeyLog: true, Config: func(r lab.Router) string { return r.ConfigIKEv2() }})
	pcapIKE := capture(t, l, "left", "any", "udp port 500 or udp port 4500", func() {
		waitUp(t, l)
		waitSAs(t, l, "left", 20*time.Second)
		waitSAs(t, l, "right", 20*time.Second)
	})
	pcap := capture(t, l, "left", "any", "ip proto 50 or udp port 4500 or udp port 500", func() {
		run(t, l, "left-host", "ping", "-c", "5", "-i", "0.2", "-W", "2", "10.2.0.10")
	})
	checkESPCapture(t, l, pcap, "transport")
	if g, err := iperf(t, l, 2); err != nil || g <= 0 {
		t.Fatalf("iperf3 across the IKEv2-negotiated tunnel: %v", err)
	} else {
		t.Logf("iperf3: %.2f Gbit/s", g)
	}
	s := ipsecSAs(t, l, "left")
	if s.Inbound[0].Transform != "esp-256-aes esp-sha384-hmac" || s.Inbound[0].Mode != "transport" {
		t.Errorf("negotiated %q %q", s.Inbound[0].Transform, s.Inbound[0].Mode)
	}
	_, sess, _ := gresec(t, "show", "--socket", l.Socket("left"), "crypto", "session")
	if !strings.Contains(sess, "UP-ACTIVE") {
		t.Errorf("show crypto session:\n%s", sess)
	}
	// tshark decrypts IKE_AUTH with the keylog's ikev2 lines.
	args := append(espDecryptArgs(t, l.KeyLogPath("left")), "-r", pcapIKE, "-Y", "isakmp.exchangetype == 35", "-T", "fields", "-e", "isakmp.auth.method")
	out := strings.Fields(tshark(t, args...))
	if len(out) < 2 {
		t.Errorf("tshark decrypted %d IKE_AUTH messages, want the request and the response: %q", len(out), out)
	}
	for _, m := range out {
		if m != "2" { // Shared Key Message Integrity Code
			t.Errorf("IKE_AUTH AUTH method %q, want 2 (PSK)", m)
		}
	}
}

// TestLabScenarioIKEv2: `gresec lab ikev2` brings the reference topology
// up with IKEv2, shows both sessions UP-ACTIVE and the SAs, pings LAN to
// LAN, and removes its namespaces.
func TestLabScenarioIKEv2(t *testing.T) {
	t.Parallel()
	out := labScenario(t, "ikev2", 2*time.Minute)
	for _, want := range []string{
		"set ikev2-profile IKEV2", "IKEv2 SA ", "left# show crypto session", "right# show crypto session",
		"Session status: UP-ACTIVE", "left# show crypto ipsec sa", "esp-256-aes esp-sha384-hmac",
		"5 received, 0% packet loss", "Scenario ikev2 done",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}
