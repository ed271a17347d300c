package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gresec/gresec/internal/api"
	"github.com/gresec/gresec/internal/lab"
)

// TestIKEv2ReferenceConfig: two gresec daemons with issue 12's IKEv2
// configuration (the reference topology, its crypto isakmp statements
// replaced by the IKEv2 proposal, policy, keyring and profile) negotiate
// with IKEv2 on their own and carry ping and iperf3; their ESP decrypts
// with tshark from the keylog with every ICV good, and the IKE_AUTH they
// exchanged decrypts with the keylog's IKEv2 lines. The IKEv2 views show
// the tunnel, and clear crypto ikev2 sa renegotiates it.
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
	checkIKEv2Views(t, l)
}

// ikev2SA returns a router's IKEv2 SA from `show --json crypto ikev2 sa`,
// once there is exactly one and it is READY.
func ikev2SA(t *testing.T, l *lab.Lab, r string) (api.IKEv2SA, bool) {
	t.Helper()
	code, out, stderr := gresec(t, "show", "--socket", l.Socket(r), "--json", "crypto", "ikev2", "sa")
	var sas api.IKEv2SAs
	if code != 0 || json.Unmarshal([]byte(out), &sas) != nil {
		t.Fatalf("%s: show --json crypto ikev2 sa: exit %d %s%s", r, code, out, stderr)
	}
	if len(sas.SAs) != 1 || sas.SAs[0].Status != "READY" || len(sas.SAs[0].Children) == 0 {
		return api.IKEv2SA{}, false
	}
	return sas.SAs[0], true
}

// waitIKEv2SA waits for a router's one READY IKEv2 SA whose SPI is not
// notSPI.
func waitIKEv2SA(t *testing.T, l *lab.Lab, r, notSPI string, timeout time.Duration) api.IKEv2SA {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if sa, ok := ikev2SA(t, l, r); ok && sa.LocalSPI != notSPI {
			return sa
		}
		if time.Now().After(deadline) {
			_, out, _ := gresec(t, "show", "--socket", l.Socket(r), "crypto", "ikev2", "sa", "detailed")
			t.Fatalf("%s: no IKEv2 SA up after %s:\n%s", r, timeout, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkIKEv2Views: show crypto ikev2 sa [detailed] and session [detailed]
// describe the reference tunnel in IOS's layout and as JSON, the two ends
// agree on the SPIs, and clear crypto ikev2 sa brings up a new IKE SA.
func checkIKEv2Views(t *testing.T, l *lab.Lab) {
	t.Helper()
	sock := l.Socket("left")
	left := waitIKEv2SA(t, l, "left", "", 20*time.Second)
	right := waitIKEv2SA(t, l, "right", "", 20*time.Second)
	if left.LocalSPI != right.RemoteSPI || left.RemoteSPI != right.LocalSPI || left.Initiator == right.Initiator {
		t.Errorf("IKE SPIs: left %s/%s, right %s/%s", left.LocalSPI, left.RemoteSPI, right.LocalSPI, right.RemoteSPI)
	}
	if c := left.Children[0]; c.InSPI != right.Children[0].OutSPI || c.LocalSelector.StartAddr != "192.0.2.1" || c.Mode != "transport" {
		t.Errorf("left's CHILD_SA %+v, right's %+v", c, right.Children[0])
	}

	row := fmt.Sprintf("%-10d%-22s%-22s%-21s%-7s\n", left.TunnelID, "192.0.2.1/500", "192.0.2.2/500", "none/none", "READY")
	spis := fmt.Sprintf("      Local spi: %s       Remote spi: %s\n", strings.ToUpper(left.LocalSPI), strings.ToUpper(left.RemoteSPI))
	child := fmt.Sprintf("          ESP spi in/out: 0x%X/0x%X  \n", left.Children[0].InSPI, left.Children[0].OutSPI)
	for _, v := range []struct {
		words []string
		want  []string
	}{
		{[]string{"crypto", "ikev2", "sa"}, []string{
			" IPv4 Crypto IKEv2  SA \n\nTunnel-id Local                 Remote                fvrf/ivrf            Status \n" + row,
			"      Encr: AES-CBC, keysize: 256, PRF: SHA256, Hash: SHA256, DH Grp:19, Auth sign: PSK, Auth verify: PSK\n",
			"      Life/Active Time: 86400/",
			" IPv6 Crypto IKEv2  SA \n\n",
		}},
		{[]string{"crypto", "ikev2", "sa", "detail"}, []string{
			row, "      Status Description: Negotiation done\n", spis,
			"      Local id: 192.0.2.1\n      Remote id: 192.0.2.2\n",
			"      Local window:      1              Remote window:      1\n",
			"      DPD configured for 10 seconds, retry 3\n", "      NAT-T is not detected\n",
		}},
		{[]string{"crypto", "ikev2", "session"}, []string{
			" IPv4 Crypto IKEv2 Session \n\nSession-id:1, Status:UP-ACTIVE, IKE count:1, CHILD count:1\n\n", row,
			"Child sa: local selector  192.0.2.1/0 - 192.0.2.1/65535\n          remote selector 192.0.2.2/0 - 192.0.2.2/65535\n" + child,
		}},
		{[]string{"crypto", "ikev2", "session", "detailed"}, []string{
			spis, child, "          Encr: AES-CBC, keysize: 256, esp_hmac: SHA384\n          ah_hmac: None, comp: IPCOMP_NONE, mode transport\n",
		}},
		{[]string{"crypto", "session"}, []string{"  IKEv2 SA: local 192.0.2.1/500 remote 192.0.2.2/500 Active\n"}},
	} {
		code, out, stderr := gresec(t, append([]string{"show", "--socket", sock}, v.words...)...)
		if code != 0 {
			t.Errorf("show %s: exit %d %s", strings.Join(v.words, " "), code, stderr)
			continue
		}
		for _, w := range v.want {
			if !strings.Contains(out, w) {
				t.Errorf("show %s lacks %q:\n%s", strings.Join(v.words, " "), w, out)
			}
		}
	}
	code, out, stderr := gresec(t, "show", "--socket", sock, "--json", "crypto", "ikev2", "session", "detailed")
	var ss api.IKEv2Sessions
	if code != 0 || json.Unmarshal([]byte(out), &ss) != nil || len(ss.Sessions) != 1 || ss.Sessions[0].Status != "UP-ACTIVE" ||
		len(ss.Sessions[0].SAs) != 1 || ss.Sessions[0].SAs[0].LocalSPI != left.LocalSPI {
		t.Errorf("show --json crypto ikev2 session detailed: exit %d %s%s", code, out, stderr)
	}

	if code, out, stderr := gresec(t, "clear", "--socket", sock, "crypto", "ikev2", "sa"); code != 0 || out != "crypto ikev2 sa cleared\n" {
		t.Fatalf("clear crypto ikev2 sa: exit %d %s%s", code, out, stderr)
	}
	again := waitIKEv2SA(t, l, "left", left.LocalSPI, 20*time.Second)
	if again.Children[0].InSPI == left.Children[0].InSPI {
		t.Errorf("the CHILD_SA survived clear crypto ikev2 sa: %+v", again.Children[0])
	}
	waitSAs(t, l, "left", 20*time.Second)
	run(t, l, "left-host", "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.2.0.10")
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

// ikev2OverIPv6 is the dual-stack configuration (GRE over the IPv6 core)
// protected with IKEv2: the keyring and the profile's match name IPv6
// peers.
func ikev2OverIPv6(r lab.Router) string {
	c := lab.ToIKEv2(r.DualStackConfig(true))
	c = strings.Replace(c, "  address 0.0.0.0 0.0.0.0\n", "  address ipv6 ::/0\n", 1)
	return strings.Replace(c, " match identity remote address 0.0.0.0\n", " match identity remote address ipv6 ::/0\n", 1)
}

// TestIKEv2OverIPv6Underlay: issue 13's underlay (GRE from Loopback0's
// IPv6 address over an IPv6-only core) protected by IKEv2 between IPv6
// endpoints: ID_IPV6_ADDR identities, NAT detection over IPv6, IPv6
// selectors for GRE; IPv4 and IPv6 cross, ESP over IPv6 decrypts from the
// key log with every ICV good.
func TestIKEv2OverIPv6Underlay(t *testing.T) {
	requireTools(t, "tcpdump", "tshark")
	l := startLabWith(t, lab.Options{IPv6Core: true, KeyLog: true, Config: ikev2OverIPv6})
	waitUp(t, l)
	waitSAs(t, l, "left", 20*time.Second)
	waitSAs(t, l, "right", 20*time.Second)
	right := lab.IPv6Of("right")
	ping6Until(t, l, "left-host", right.LANHost, 10*time.Second)
	pcap := capture(t, l, "left", "any", "ip6 proto 50 or ip6 proto 47 or udp port 4500", func() {
		for _, args := range [][]string{{"-4", "10.2.0.10"}, {"-6", right.LANHost}} {
			out := run(t, l, "left-host", "ping", args[0], "-c", "5", "-i", "0.2", "-W", "2", args[1])
			if !strings.Contains(out, " 0% packet loss") {
				t.Errorf("ping %s over IKEv2 over IPv6 lost packets:\n%s", args[1], out)
			}
		}
	})
	args := append(espDecryptArgs(t, l.KeyLogPath("left")), "-r", pcap, "-Y", "esp", "-T", "fields", "-e", "ipv6.nxt", "-e", "esp.icv_good")
	out := strings.TrimSpace(tshark(t, args...))
	lines := strings.Split(out, "\n")
	if len(lines) < 20 {
		t.Fatalf("tshark saw %d ESP packets, want at least 20:\n%s", len(lines), out)
	}
	for _, ln := range lines {
		if f := strings.Split(ln, "\t"); len(f) < 2 || strings.Split(f[0], ",")[0] != "50" || f[1] != "1" {
			t.Errorf("tshark: ESP packet not over IPv6 or not decrypted with a good ICV: %q", ln)
		}
	}
	_, sa, _ := gresec(t, "show", "--socket", l.Socket("left"), "crypto", "ikev2", "sa", "detailed")
	if !strings.Contains(sa, "IPv6 Crypto IKEv2") || !strings.Contains(sa, "2001:db8:ffff::2/500") || !strings.Contains(sa, "READY") {
		t.Errorf("show crypto ikev2 sa detailed has no READY IPv6 SA:\n%s", sa)
	}
}
