package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gresec/gresec/internal/api"
	"github.com/gresec/gresec/internal/lab"
)

// NAT traversal through a real NAT: the lab's Options.NAT puts left behind
// a namespace that translates its private tunnel source (10.99.0.1) to
// 192.0.2.1 with nftables snat (a masquerade to a fixed address), with or
// without UDP source port rewriting.

// startNATLab runs the protected reference configuration with left behind
// the NAT and waits for the SAs.
func startNATLab(t *testing.T, ports string, out *logBuffer) *lab.Lab {
	t.Helper()
	requireRoot(t)
	requireTools(t, "nft", "conntrack", "tshark", "tcpdump")
	opts := lab.Options{KeyLog: true, NAT: true, NATPorts: ports, Config: func(r lab.Router) string { return r.Config(true) }}
	if out != nil {
		opts.Out = out
	}
	l := startLabWith(t, opts)
	waitUp(t, l)
	waitSAs(t, l, "left", 20*time.Second)
	waitSAs(t, l, "right", 20*time.Second)
	return l
}

// waitSettled waits until each side has one SA pair, the other's match:
// both ends initiate at start, and the loser of the two pairs is deleted
// about 10 s later. A NAT rebinding in that moment would lose the DELETE
// (it goes to the old port), which is not what TestNATRebinding is about.
func waitSettled(t *testing.T, l *lab.Lab) {
	t.Helper()
	deadline := time.Now().Add(25 * time.Second)
	for {
		ls, rs := ipsecSAs(t, l, "left"), ipsecSAs(t, l, "right")
		if len(ls.Inbound) == 1 && len(rs.Inbound) == 1 && ls.OutboundSPI == rs.Inbound[0].SPI && rs.OutboundSPI == ls.Inbound[0].SPI {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("SA pairs did not settle: left %+v right %+v", ls, rs)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// isakmpSA is a router's established ISAKMP SA, from --json.
func isakmpSA(t *testing.T, l *lab.Lab, r string) api.ISAKMPSA {
	t.Helper()
	code, out, stderr := gresec(t, "show", "--socket", l.Socket(r), "--json", "crypto", "isakmp", "sa", "detail")
	var sas api.ISAKMPSAs
	if code != 0 || json.Unmarshal([]byte(out), &sas) != nil {
		t.Fatalf("%s: show crypto isakmp sa detail: exit %d %s%s", r, code, out, stderr)
	}
	for _, sa := range sas.SAs {
		if sa.State == "QM_IDLE" {
			return sa
		}
	}
	t.Fatalf("%s: no established ISAKMP SA: %s", r, out)
	return api.ISAKMPSA{}
}

// checkNATDetected checks both sides' view of the NAT and that ESP goes in
// UDP 4500 (from the NAT's outside port, on right).
func checkNATDetected(t *testing.T, l *lab.Lab, rewrite bool) (rightPeerPort int) {
	t.Helper()
	ls, rs := isakmpSA(t, l, "left"), isakmpSA(t, l, "right")
	if !ls.NATT || !ls.LocalBehindNAT || ls.RemoteBehindNAT {
		t.Errorf("left's view of the NAT: nat_t %v local_behind_nat %v remote_behind_nat %v", ls.NATT, ls.LocalBehindNAT, ls.RemoteBehindNAT)
	}
	if !rs.NATT || rs.LocalBehindNAT || !rs.RemoteBehindNAT {
		t.Errorf("right's view of the NAT: nat_t %v local_behind_nat %v remote_behind_nat %v", rs.NATT, rs.LocalBehindNAT, rs.RemoteBehindNAT)
	}
	if !strings.HasSuffix(ls.Local, ":4500") || ls.Remote != "192.0.2.2:4500" {
		t.Errorf("left's ISAKMP SA runs %s -> %s, want port 4500 both ways", ls.Local, ls.Remote)
	}
	_, text, _ := gresec(t, "show", "--socket", l.Socket("right"), "crypto", "isakmp", "sa", "detail")
	if !strings.Contains(strings.ToUpper(text), "NAT") {
		t.Errorf("show crypto isakmp sa detail does not mention the NAT:\n%s", text)
	}
	ll, rr := ipsecSAs(t, l, "left"), ipsecSAs(t, l, "right")
	if !ll.Inbound[0].UDPEncap || ll.PeerPort != 4500 {
		t.Errorf("left: SA %+v peer port %d, want UDP-Encaps to 4500", ll.Inbound[0], ll.PeerPort)
	}
	if !rr.Inbound[0].UDPEncap || rr.Peer != lab.NATPublic {
		t.Errorf("right: SA %+v peer %s, want UDP-Encaps to %s", rr.Inbound[0], rr.Peer, lab.NATPublic)
	}
	if rewrite && (rr.PeerPort < 20000 || rr.PeerPort > 20099) {
		t.Errorf("right: peer port %d, want the NAT's rewritten port in 20000-20099", rr.PeerPort)
	}
	if !rewrite && rr.PeerPort != 4500 {
		t.Errorf("right: peer port %d, want 4500 (the NAT keeps ports)", rr.PeerPort)
	}
	return rr.PeerPort
}

// pingAcrossChecked pings LAN to LAN while capturing on left (behind the
// NAT, where ESP is 4500 to 4500) and checks the ESP in UDP decrypts with
// tshark and scapy from the keylog.
func pingAcrossChecked(t *testing.T, l *lab.Lab) {
	t.Helper()
	pcap := capture(t, l, "left", "any", "ip proto 50 or udp port 4500", func() {
		run(t, l, "left-host", "ping", "-c", "5", "-i", "0.2", "-W", "2", "10.2.0.10")
	})
	if raw := strings.TrimSpace(tshark(t, "-r", pcap, "-Y", "ip.proto == 50")); raw != "" {
		t.Errorf("raw ESP through the NAT:\n%s", raw)
	}
	checkESPCapture(t, l, pcap, "transport")
}

// TestNATTraversal: gresec behind a NAT that keeps ports, towards gresec:
// NAT-D detects it, IKE floats to 4500, ESP goes in UDP, traffic crosses
// and decrypts with tshark.
func TestNATTraversal(t *testing.T) {
	l := startNATLab(t, "", nil)
	checkNATDetected(t, l, false)
	pingAcrossChecked(t, l)
}

// TestNATTraversalPortRewrite: the same through a NAT that rewrites source
// ports (masquerade to :20000-20099 random): right talks to the NAT's
// port, not 4500.
func TestNATTraversalPortRewrite(t *testing.T) {
	l := startNATLab(t, "20000-20099", nil)
	checkNATDetected(t, l, true)
	pingAcrossChecked(t, l)
}

// TestNATRebinding: while traffic flows, the NAT forgets its mappings
// (conntrack -F) and makes new ones in another port range: left's ESP now
// arrives at right from a new port. Right follows the peer to it on the
// first authenticated IKE message (left's DPD), without renegotiating,
// and traffic continues.
func TestNATRebinding(t *testing.T) {
	var logs logBuffer
	l := startNATLab(t, "20000-20099", &logs)
	before := checkNATDetected(t, l, true)
	waitSettled(t, l)
	run(t, l, "left-host", "ping", "-c", "2", "-i", "0.2", "-W", "2", "10.2.0.10")
	spi := ipsecSAs(t, l, "right").OutboundSPI
	if err := l.SetNATPorts(t.Context(), "20100-20199"); err != nil {
		t.Fatal(err)
	}
	if err := l.FlushNAT(t.Context()); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	// Traffic from left keeps the new mapping busy; replies resume once
	// right moved.
	deadline := start.Add(30 * time.Second)
	for {
		if _, err := l.Exec(t.Context(), "left-host", "ping", "-c", "1", "-W", "1", "10.2.0.10"); err == nil {
			if rr := ipsecSAs(t, l, "right"); rr.PeerPort >= 20100 && rr.PeerPort <= 20199 {
				break
			}
		}
		if time.Now().After(deadline) {
			m, _ := l.NATMappings(t.Context())
			t.Fatalf("traffic did not recover in 30 s after the NAT rebinding (port was %d): right %+v\nNAT:\n%s",
				before, ipsecSAs(t, l, "right"), m)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("right followed the peer from port %d to %d after %s", before, ipsecSAs(t, l, "right").PeerPort, time.Since(start).Round(100*time.Millisecond))
	run(t, l, "left-host", "ping", "-c", "5", "-i", "0.2", "-W", "2", "10.2.0.10")
	if got := ipsecSAs(t, l, "right").OutboundSPI; got != spi {
		t.Errorf("the move renegotiated the SAs (outbound SPI 0x%08x -> 0x%08x); it should only move the port", spi, got)
	}
	if !strings.Contains(logs.String(), "NAT mapping changed") {
		t.Errorf("right did not log the move")
	}
	if strings.Contains(logs.String(), "is dead") {
		t.Errorf("a peer was declared dead during the rebinding")
	}
}

// TestLabScenarioNAT: `gresec lab nat` shows NAT detection, the float to
// UDP 4500, traffic across the NAT, and the tunnel following the NAT to a
// new port; it removes its namespaces.
func TestLabScenarioNAT(t *testing.T) {
	requireTools(t, "nft", "conntrack")
	out := labScenario(t, "nat", 2*time.Minute)
	for _, want := range []string{
		"this side behind a NAT: yes", "peer behind a NAT: yes",
		"The float to UDP 4500", ":4500 -> 192.0.2.2:4500", "Transport UDP-Encaps",
		"5 received, 0% packet loss", "Peer port change followed", "no renegotiation",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, "not available yet") {
		t.Error("the nat scenario still says it is not available")
	}
}
