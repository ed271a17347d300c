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

// TestIKEv2NATRebinding: left behind a NAT that rewrites ports, both
// routers on issue 12's IKEv2 configuration: NAT detection floats IKE to
// 4500 and ESP into UDP; when the NAT loses its mappings and picks new
// ports, right follows left to the new port after the next authenticated
// IKE message (DPD every 10 s), with the same SAs.
func TestIKEv2NATRebinding(t *testing.T) {
	requireRoot(t)
	requireTools(t, "nft", "conntrack")
	var logs logBuffer
	l := startLabWith(t, lab.Options{KeyLog: true, NAT: true, NATPorts: "20000-20099", Out: &logs,
		Config: func(r lab.Router) string { return r.ConfigIKEv2() }})
	waitUp(t, l)
	waitSAs(t, l, "left", 20*time.Second)
	waitSAs(t, l, "right", 20*time.Second)
	waitSettled(t, l)
	rs := ipsecSAs(t, l, "right")
	if rs.PeerPort < 20000 || rs.PeerPort > 20099 {
		t.Fatalf("right does not see left behind the NAT: peer port %d", rs.PeerPort)
	}
	run(t, l, "left-host", "ping", "-c", "2", "-i", "0.2", "-W", "2", "10.2.0.10")
	spi := rs.OutboundSPI
	if err := l.SetNATPorts(t.Context(), "20100-20199"); err != nil {
		t.Fatal(err)
	}
	if err := l.FlushNAT(t.Context()); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	deadline := start.Add(30 * time.Second)
	for {
		if _, err := l.Exec(t.Context(), "left-host", "ping", "-c", "1", "-W", "1", "10.2.0.10"); err == nil {
			if rr := ipsecSAs(t, l, "right"); rr.PeerPort >= 20100 && rr.PeerPort <= 20199 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("traffic did not recover in 30 s after the NAT rebinding: right %+v", ipsecSAs(t, l, "right"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("right followed left from port %d to %d after %s", rs.PeerPort, ipsecSAs(t, l, "right").PeerPort, time.Since(start).Round(100*time.Millisecond))
	run(t, l, "left-host", "ping", "-c", "5", "-i", "0.2", "-W", "2", "10.2.0.10")
	if got := ipsecSAs(t, l, "right").OutboundSPI; got != spi {
		t.Errorf("the move renegotiated the SAs (outbound SPI 0x%08x -> 0x%08x); it should only move the port", spi, got)
	}
	if strings.Contains(logs.String(), "is dead") {
		t.Errorf("a peer was declared dead during the rebinding")
	}
}
