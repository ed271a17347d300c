package e2e

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gresec/gresec/internal/lab"
)

// waitSAs waits until a router's Tunnel0 has an outbound SA.
func waitSAs(t *testing.T, l *lab.Lab, r string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := ipsecSAs(t, l, r)
		if s.OutboundSPI != 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no IPsec SA after %s: %+v", r, timeout, s)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestIKEReferenceConfig: two gresec daemons with the reference
// configuration unchanged (transport mode, esp-aes 256 esp-sha384-hmac,
// IKE aes256/sha256/group 19 with a pre-shared key) negotiate with IKEv1 on
// their own, carry ping and iperf3, and their ESP decrypts with tshark from
// the keylog with every ICV good.
func TestIKEReferenceConfig(t *testing.T) {
	requireTools(t, "tshark", "tcpdump", "iperf3")
	l := startLabWith(t, lab.Options{KeyLog: true, Config: func(r lab.Router) string { return r.Config(true) }})
	waitUp(t, l)
	waitSAs(t, l, "left", 20*time.Second)
	waitSAs(t, l, "right", 20*time.Second)
	pcap := capture(t, l, "left", "any", "ip proto 50 or udp port 4500 or udp port 500", func() {
		run(t, l, "left-host", "ping", "-c", "5", "-i", "0.2", "-W", "2", "10.2.0.10")
	})
	checkESPCapture(t, l, pcap, "transport")
	if g, err := iperf(t, l, 2); err != nil || g <= 0 {
		t.Fatalf("iperf3 across the IKE-negotiated tunnel: %v", err)
	} else {
		t.Logf("iperf3: %.2f Gbit/s", g)
	}
	s := ipsecSAs(t, l, "left")
	if s.Inbound[0].Transform != "esp-256-aes esp-sha384-hmac" || s.Inbound[0].Mode != "transport" {
		t.Errorf("negotiated %q %q", s.Inbound[0].Transform, s.Inbound[0].Mode)
	}
	_, isakmp, _ := gresec(t, "show", "--socket", l.Socket("left"), "crypto", "isakmp", "sa")
	if !strings.Contains(isakmp, "QM_IDLE") || !strings.Contains(isakmp, "ACTIVE") {
		t.Errorf("show crypto isakmp sa:\n%s", isakmp)
	}
	_, sock, _ := gresec(t, "show", "--socket", l.Socket("left"), "crypto", "socket")
	for _, want := range []string{"Number of Crypto Socket connections 1", "Tunnel0 Peers (local/remote): 192.0.2.1/192.0.2.2", "(192.0.2.1/255.255.255.255/0/47)", "Socket State: Open", `Map-name: "Tunnel0-head-0"`} {
		if !strings.Contains(sock, want) {
			t.Errorf("show crypto socket lacks %q:\n%s", want, sock)
		}
	}
}

// TestIKEWrongPSK: mismatched pre-shared keys install nothing, leave the
// tunnel failing closed, and both daemons say which peer and why, and
// keep running.
func TestIKEWrongPSK(t *testing.T) {
	var logs logBuffer
	l := startLabWith(t, lab.Options{Out: &logs, Config: func(r lab.Router) string {
		cfg := r.Config(true)
		if r.Name == "right" {
			cfg = strings.Replace(cfg, "SecretPassword12", "OtherPassword34", 1)
		}
		return cfg
	}})
	waitUp(t, l)
	time.Sleep(4 * time.Second)
	for _, r := range []string{"left", "right"} {
		if s := ipsecSAs(t, l, r); len(s.Inbound) != 0 || s.OutboundSPI != 0 {
			t.Errorf("%s installed SAs with a wrong key: %+v", r, s)
		}
	}
	if out, err := l.Exec(t.Context(), "left-host", "ping", "-c", "2", "-i", "0.2", "-W", "1", "10.2.0.10"); err == nil {
		t.Errorf("ping crossed a tunnel whose IKE failed:\n%s", out)
	}
	text := logs.String()
	if !strings.Contains(strings.ToLower(text), "key") || !strings.Contains(text, "192.0.2.") {
		t.Errorf("no log line naming the peer and a key mismatch:\n%s", text)
	}
	if strings.Contains(text, "SecretPassword12") || strings.Contains(text, "OtherPassword34") {
		t.Errorf("a pre-shared key reached the log")
	}
	// Both daemons still answer.
	for _, r := range []string{"left", "right"} {
		if _, err := l.Tunnel(r); err != nil {
			t.Errorf("%s: %v", r, err)
		}
	}
}

// TestIKEForceEncapAndClear: `crypto isakmp nat force-encap` puts ESP in
// UDP 4500 without a NAT; `clear crypto session` renegotiates new SAs and
// traffic continues.
func TestIKEForceEncapAndClear(t *testing.T) {
	requireTools(t, "tshark", "tcpdump")
	l := startLabWith(t, lab.Options{KeyLog: true, Config: func(r lab.Router) string {
		return strings.Replace(r.Config(true), "crypto isakmp keepalive 10 periodic\n", "crypto isakmp keepalive 10 periodic\ncrypto isakmp nat force-encap\n", 1)
	}})
	waitUp(t, l)
	waitSAs(t, l, "left", 20*time.Second)
	waitSAs(t, l, "right", 20*time.Second)
	pcap := capture(t, l, "left", "any", "ip proto 50 or udp port 4500", func() {
		run(t, l, "left-host", "ping", "-c", "5", "-i", "0.2", "-W", "2", "10.2.0.10")
	})
	if raw := strings.TrimSpace(tshark(t, "-r", pcap, "-Y", "ip.proto == 50")); raw != "" {
		t.Errorf("raw ESP despite force-encap:\n%s", raw)
	}
	checkESPCapture(t, l, pcap, "transport")
	s := ipsecSAs(t, l, "left")
	if !s.Inbound[0].UDPEncap || s.PeerPort != 4500 {
		t.Errorf("SA %+v peer port %d, want UDP-Encaps and 4500", s.Inbound[0], s.PeerPort)
	}
	clearAndRenegotiate(t, l, "left", s.OutboundSPI)
	run(t, l, "left-host", "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.2.0.10")
	_, sess, _ := gresec(t, "show", "--socket", l.Socket("left"), "crypto", "session")
	_, cmap, _ := gresec(t, "show", "--socket", l.Socket("left"), "crypto", "map")
	for _, want := range []string{"Interface: Tunnel0", "Session status: UP-ACTIVE", "Peer: 192.0.2.2"} {
		if !strings.Contains(sess, want) {
			t.Errorf("show crypto session lacks %q:\n%s", want, sess)
		}
	}
	for _, want := range []string{`"Tunnel0-head-0"`, "Peer = 192.0.2.2", "permit gre host 192.0.2.1 host 192.0.2.2", "TRANSFORM", "Tunnel0"} {
		if !strings.Contains(cmap, want) {
			t.Errorf("show crypto map lacks %q:\n%s", want, cmap)
		}
	}
}

// TestIKEDeadPeer: DPD (periodic, 10 s, then 5 retries) declares a peer
// that vanished without a word dead: its SAs go, the tunnel fails closed;
// when the peer returns, protection comes back by itself.
func TestIKEDeadPeer(t *testing.T) {
	var logs logBuffer
	l := startLabWith(t, lab.Options{Out: &logs, Config: func(r lab.Router) string {
		// No GRE keepalive: only DPD may notice here.
		return strings.Replace(r.Config(true), " keepalive 10 3\n", "", 1)
	}})
	waitUp(t, l)
	waitSAs(t, l, "left", 20*time.Second)
	if err := syscall.Kill(l.Pid("right"), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	l.StopDaemon("right") // reaps it
	start := time.Now()
	deadline := start.Add(45 * time.Second)
	for {
		if s := ipsecSAs(t, l, "left"); s.OutboundSPI == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("DPD did not remove the dead peer's SAs in 45 s")
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("DPD declared the peer dead after %s", time.Since(start).Round(time.Second))
	if !strings.Contains(logs.String(), "dead") {
		t.Errorf("no log line says the peer is dead")
	}
	if err := l.StartDaemon(t.Context(), "right"); err != nil {
		t.Fatal(err)
	}
	waitSAs(t, l, "left", 60*time.Second)
	waitSAs(t, l, "right", 30*time.Second)
	run(t, l, "left-host", "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.2.0.10")
}

// TestIKEFollowsRouteVia: on a protected tunnel pinned with `tunnel
// route-via ... mandatory`, IKE takes the pinned path like ESP does: with a
// route that sends the peer's address into the tunnel itself, a new
// negotiation (clear crypto session) still completes and traffic crosses.
func TestIKEFollowsRouteVia(t *testing.T) {
	l := startLab(t, func(r lab.Router) string {
		cfg := r.Config(true)
		if r.Name == "left" {
			cfg = withTunnelLines(cfg, "tunnel route-via "+r.Core[0].Dev+" mandatory")
		}
		return cfg
	})
	waitUp(t, l)
	waitSAs(t, l, "left", 20*time.Second)
	run(t, l, "left", "ip", "route", "add", "192.0.2.2/32", "dev", "Tunnel0", "metric", "0")
	clearAndRenegotiate(t, l, "left", ipsecSAs(t, l, "left").OutboundSPI)
	run(t, l, "left-host", "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.2.0.10")
}

// clearAndRenegotiate runs `clear crypto session` on a router and waits
// for IKE to install a new outbound SA (SPI other than before).
func clearAndRenegotiate(t *testing.T, l *lab.Lab, r string, before uint32) {
	t.Helper()
	if code, _, stderr := gresec(t, "clear", "--socket", l.Socket(r), "crypto", "session"); code != 0 {
		t.Fatalf("clear crypto session: %s", stderr)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := ipsecSAs(t, l, r)
		if s.OutboundSPI != 0 && s.OutboundSPI != before {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no new SA after clear crypto session: %+v", r, s)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
