package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gresec/gresec/internal/api"
	"github.com/gresec/gresec/internal/lab"
)

// ipv6Side is one router's IPv6 addressing in the dual-stack tests.
type ipv6Side struct {
	lan, host, tunnel, peerLAN, peerTunnel string
}

var ipv6Sides = map[string]ipv6Side{
	"left":  {lan: "2001:db8:1::1", host: "2001:db8:1::10", tunnel: "2001:db8:ff::1", peerLAN: "2001:db8:2::/48", peerTunnel: "2001:db8:ff::2"},
	"right": {lan: "2001:db8:2::1", host: "2001:db8:2::10", tunnel: "2001:db8:ff::2", peerLAN: "2001:db8:1::/48", peerTunnel: "2001:db8:ff::1"},
}

// overlayConfig is issue 13's overlay: the lab's configuration (plain GRE
// over the IPv4 core) with IPv6 on the LAN and inside Tunnel0.
func overlayConfig(r lab.Router) string {
	s := ipv6Sides[r.Name]
	cfg := r.Config(false)
	cfg = strings.Replace(cfg, "!\ninterface Loopback0\n", "!\nipv6 unicast-routing\n!\ninterface Loopback0\n", 1)
	cfg = strings.Replace(cfg, " description LAN\n", " description LAN\n ipv6 address "+s.lan+"/64\n", 1)
	cfg = strings.Replace(cfg, " ip mtu 1400\n", " ip mtu 1400\n ipv6 address "+s.tunnel+"/64\n ipv6 mtu 1400\n ipv6 tcp adjust-mss 1340\n", 1)
	return cfg + "ipv6 route " + s.peerLAN + " Tunnel0\n"
}

// addHostIPv6 gives each LAN host its IPv6 address and default route.
func addHostIPv6(t *testing.T, l *lab.Lab) {
	t.Helper()
	for name, s := range ipv6Sides {
		host := name + "-host"
		run(t, l, host, "ip", "-6", "addr", "add", s.host+"/64", "dev", "eth0", "nodad")
		run(t, l, host, "ip", "-6", "route", "add", "default", "via", s.lan)
	}
}

// ping6Until pings until a reply comes (the routers' LAN addresses pass
// duplicate address detection first), at most for d.
func ping6Until(t *testing.T, l *lab.Lab, node, dst string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		out, err := l.Exec(context.Background(), node, "ping", "-6", "-c", "1", "-W", "1", dst)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no ping6 reply from %s in %s:\n%s", node, dst, d, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestIPv6Overlay: issue 13's overlay between two gresec routers over the
// IPv4 core: the addresses and the IPv6 static reach the kernel, ping6
// crosses the tunnel LAN to LAN and to the peer's tunnel address, a TCP
// SYN over IPv6 arrives with its MSS clamped to ipv6 tcp adjust-mss, an
// oversize ping6 gets a Packet Too Big with ipv6 mtu, and the IPv6 views
// answer in text and JSON.
func TestIPv6Overlay(t *testing.T) {
	requireTools(t, "iperf3", "tcpdump", "tshark")
	l := startLab(t, overlayConfig)
	addHostIPv6(t, l)
	waitUp(t, l)
	ping6Until(t, l, "left-host", ipv6Sides["right"].host, 10*time.Second)
	out := run(t, l, "left-host", "ping", "-6", "-c", "5", "-i", "0.2", "-W", "2", ipv6Sides["right"].host)
	if !strings.Contains(out, " 0% packet loss") {
		t.Fatalf("ping6 LAN to LAN lost packets:\n%s", out)
	}
	run(t, l, "left", "ping", "-6", "-c", "2", "-i", "0.2", "-W", "2", ipv6Sides["left"].peerTunnel)
	rt := strings.TrimSpace(run(t, l, "left", "ip", "-6", "route", "show", "proto", "47"))
	if !strings.Contains(rt, "2001:db8:2::/48 dev Tunnel0") {
		t.Errorf("the IPv6 static is not in the kernel with gresec's protocol: %q", rt)
	}
	if mtu := strings.TrimSpace(run(t, l, "left", "cat", "/proc/sys/net/ipv6/conf/Tunnel0/mtu")); mtu != "1400" {
		t.Errorf("Tunnel0's IPv6 MTU is %s, want 1400", mtu)
	}

	// MSS: both hosts offer 1440 (1500 less 60); the SYN reaches right-host
	// with at most 1340.
	srv := exec.Command("ip", "netns", "exec", l.NS("right-host"), "iperf3", "-s", "-1", "-B", ipv6Sides["right"].host)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	time.Sleep(300 * time.Millisecond)
	// (tcp[tcpflags] is IPv4 only in pcap filters; the TCP header follows
	// the fixed IPv6 header here.)
	syn := capture(t, l, "right-host", "eth0", "ip6 and tcp and ip6[53] & 2 != 0", func() {
		run(t, l, "left-host", "timeout", "30", "iperf3", "-6", "-c", ipv6Sides["right"].host, "-t", "1")
	})
	mss := strings.TrimSpace(tshark(t, "-r", syn, "-Y", "tcp.flags.syn == 1 && tcp.flags.ack == 0", "-T", "fields", "-e", "tcp.options.mss_val"))
	if mss == "" {
		t.Fatal("no IPv6 SYN captured at right-host")
	}
	for _, v := range strings.Split(mss, "\n") {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err != nil || n > 1340 {
			t.Errorf("IPv6 SYN arrives with MSS %q, want at most 1340", v)
		}
	}
	t.Logf("IPv6 SYN MSS at right-host: %s", strings.ReplaceAll(mss, "\n", ", "))

	// Packet Too Big: 1400 bytes of payload make a 1448-byte IPv6 packet.
	// The kernel, which forwards into Tunnel0 with its IPv6 MTU, answers
	// first, from left's LAN address (the data plane's own Packet Too Big,
	// for what passes the kernel, is in the unit tests).
	ptb, _ := l.Exec(context.Background(), "left-host", "ping", "-6", "-c", "2", "-i", "0.3", "-W", "1", "-M", "do", "-s", "1400", ipv6Sides["right"].host)
	if !strings.Contains(ptb, "Packet too big: mtu=1400") {
		t.Errorf("oversize ping6: want a Packet Too Big with mtu=1400:\n%s", ptb)
	}
	out = run(t, l, "left-host", "ping", "-6", "-c", "2", "-i", "0.3", "-W", "2", "-s", "1352", ipv6Sides["right"].host)
	if !strings.Contains(out, " 0% packet loss") {
		t.Errorf("a ping6 of exactly ipv6 mtu (1400 bytes) is lost:\n%s", out)
	}

	// The views.
	code, text, stderr := gresec(t, "show", "--socket", l.Socket("left"), "ipv6", "route")
	if code != 0 || !strings.Contains(text, "S   2001:DB8:2::/48 [1/0]") || !strings.Contains(text, "L   2001:DB8:FF::1/128 [0/0]") {
		t.Errorf("show ipv6 route (exit %d):\n%s%s", code, text, stderr)
	}
	code, text, stderr = gresec(t, "show", "--socket", l.Socket("left"), "ipv6", "interface", "brief")
	if code != 0 || !strings.Contains(text, "    FE80::1\n    2001:DB8:FF::1\n") {
		t.Errorf("show ipv6 interface brief (exit %d):\n%s%s", code, text, stderr)
	}
	code, text, _ = gresec(t, "show", "--socket", l.Socket("left"), "interfaces", "Tunnel0")
	for _, want := range []string{"IPv6 is enabled, link-local address is FE80::1", "IPv6 address is 2001:DB8:FF::1/64", "IPv6 MTU 1400 bytes", "TCP MSS (IPv6) adjusted to 1340"} {
		if code != 0 || !strings.Contains(text, want) {
			t.Errorf("show interfaces Tunnel0 lacks %q:\n%s", want, text)
		}
	}
	data, err := l.Show("left", "ipv6", "interface", "brief")
	if err != nil {
		t.Fatal(err)
	}
	var ifs api.Interfaces
	if err := json.Unmarshal(data, &ifs); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, i := range ifs.Interfaces {
		if i.Name == "left-lan" {
			found = fmt.Sprint(i.IPv6Addresses) != "[]" && strings.Contains(fmt.Sprint(i.IPv6Addresses), "2001:db8:1::1/64")
		}
	}
	if !found {
		t.Errorf("show --json ipv6 interface brief: left-lan lacks 2001:db8:1::1/64: %s", data)
	}
}

// iperf3Run runs one short iperf3 TCP transfer from left-host to the
// address dst on right-host and returns the bits per second received.
func iperf3Run(t *testing.T, l *lab.Lab, dst string, family string) float64 {
	t.Helper()
	srv := exec.Command("ip", "netns", "exec", l.NS("right-host"), "iperf3", "-s", "-1", "-B", dst)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	time.Sleep(300 * time.Millisecond)
	js := run(t, l, "left-host", "timeout", "30", "iperf3", family, "-c", dst, "-t", "2", "-J")
	var res struct {
		End struct {
			SumReceived struct {
				Bytes         float64 `json:"bytes"`
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	if err := json.Unmarshal([]byte(js), &res); err != nil {
		t.Fatalf("iperf3 output: %v\n%s", err, js)
	}
	if res.End.SumReceived.Bytes < 1e6 {
		t.Fatalf("iperf3 %s moved only %.0f bytes", family, res.End.SumReceived.Bytes)
	}
	return res.End.SumReceived.BitsPerSecond
}

// TestGREOverIPv6Underlay: gresec to gresec over the IPv6-only core (GRE
// over IPv6 from each Loopback0's IPv6 address): ping and ping6 LAN to
// LAN, iperf3 over both families; tshark dissects the capture of the
// core links as GRE over IPv6 carrying IPv4 (0x0800) and IPv6 (0x86DD),
// between the loopbacks, with no malformed packet, and the outer traffic
// class is the inner DSCP.
func TestGREOverIPv6Underlay(t *testing.T) {
	requireTools(t, "iperf3", "tcpdump", "tshark")
	l := startLabWith(t, lab.Options{IPv6Core: true})
	waitUp(t, l)
	left, right := lab.IPv6Of("left"), lab.IPv6Of("right")
	ping6Until(t, l, "left-host", right.LANHost, 10*time.Second)
	pcap := capture(t, l, "left", "any", "ip6 proto 47", func() {
		out := run(t, l, "left-host", "ping", "-c", "3", "-i", "0.2", "-W", "2", "-Q", "0xb8", "10.2.0.10")
		if !strings.Contains(out, " 0% packet loss") {
			t.Errorf("ping LAN to LAN over the IPv6 underlay lost packets:\n%s", out)
		}
		out = run(t, l, "left-host", "ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", right.LANHost)
		if !strings.Contains(out, " 0% packet loss") {
			t.Errorf("ping6 LAN to LAN over the IPv6 underlay lost packets:\n%s", out)
		}
	})
	fields := tshark(t, "-r", pcap, "-Y", "gre && (icmp || icmpv6.type == 128 || icmpv6.type == 129)", "-T", "fields",
		"-e", "ipv6.src", "-e", "ipv6.dst", "-e", "gre.proto", "-e", "ipv6.tclass")
	lines := strings.Split(strings.TrimSpace(fields), "\n")
	if len(lines) < 12 {
		t.Fatalf("tshark found %d GRE-over-IPv6 echo packets, want at least 12:\n%s", len(lines), fields)
	}
	protos := map[string]int{}
	for _, ln := range lines {
		f := strings.Split(ln, "\t")
		if len(f) < 4 {
			t.Fatalf("fields %q", ln)
		}
		src, dst := strings.Split(f[0], ",")[0], strings.Split(f[1], ",")[0]
		if !(src == left.Loopback && dst == right.Loopback || src == right.Loopback && dst == left.Loopback) {
			t.Errorf("GRE between %s and %s, want the loopbacks", src, dst)
		}
		protos[f[2]]++
		tc, _ := strconv.ParseUint(strings.TrimPrefix(strings.Split(f[3], ",")[0], "0x"), 16, 8)
		if f[2] == "0x0800" && tc != 0xb8 {
			t.Errorf("outer traffic class %s of an inner IPv4 packet with ToS 0xb8", f[3])
		}
	}
	if protos["0x0800"] < 6 || protos["0x86dd"] < 6 {
		t.Errorf("GRE protocol types %v, want IPv4 and IPv6 inside", protos)
	}
	if bad := tshark(t, "-r", pcap, "-Y", "_ws.malformed || _ws.expert.severity >= \"Error\""); strings.TrimSpace(bad) != "" {
		t.Errorf("tshark reports malformed packets or errors:\n%s", bad)
	}
	v4 := iperf3Run(t, l, "10.2.0.10", "-4")
	v6 := iperf3Run(t, l, right.LANHost, "-6")
	t.Logf("iperf3 TCP over GRE over IPv6: IPv4 inside %.2f Gbit/s, IPv6 inside %.2f Gbit/s", v4/1e9, v6/1e9)
}

// TestIPsecOverIPv6Underlay: the protected tunnel over the IPv6-only core:
// the two daemons negotiate IKEv1 over IPv6 (identities of type
// IPV6_ADDR), carry ping and ping6 LAN to LAN and iperf3 of both families
// in ESP over IPv6 (next header 50), and tshark decrypts every ESP packet
// of the capture from the keylog, with a good ICV and GRE carrying IPv4
// and IPv6 inside; no GRE crosses the core in clear.
func TestIPsecOverIPv6Underlay(t *testing.T) {
	requireTools(t, "iperf3", "tcpdump", "tshark")
	l := startLabWith(t, lab.Options{IPv6Core: true, KeyLog: true, Config: func(r lab.Router) string { return r.DualStackConfig(true) }})
	waitUp(t, l)
	waitSAs(t, l, "left", 20*time.Second)
	waitSAs(t, l, "right", 20*time.Second)
	right := lab.IPv6Of("right")
	ping6Until(t, l, "left-host", right.LANHost, 10*time.Second)
	pcap := capture(t, l, "left", "any", "ip6 proto 50 or ip6 proto 47 or udp port 4500", func() {
		for _, args := range [][]string{{"-4", "10.2.0.10"}, {"-6", right.LANHost}} {
			out := run(t, l, "left-host", "ping", args[0], "-c", "5", "-i", "0.2", "-W", "2", args[1])
			if !strings.Contains(out, " 0% packet loss") {
				t.Errorf("ping %s over the protected IPv6 underlay lost packets:\n%s", args[1], out)
			}
		}
	})
	if clear := strings.TrimSpace(tshark(t, "-r", pcap, "-Y", "gre && !esp")); clear != "" {
		t.Errorf("GRE in clear on the core of a protected tunnel:\n%s", clear)
	}
	args := append(espDecryptArgs(t, l.KeyLogPath("left")), "-r", pcap, "-Y", "esp", "-T", "fields",
		"-e", "ipv6.nxt", "-e", "esp.spi", "-e", "esp.icv_good", "-e", "gre.proto")
	out := strings.TrimSpace(tshark(t, args...))
	lines := strings.Split(out, "\n")
	if len(lines) < 20 {
		t.Fatalf("tshark saw %d ESP packets, want at least 20 (10 requests, 10 replies):\n%s", len(lines), out)
	}
	protos := map[string]int{}
	for _, ln := range lines {
		f := strings.Split(ln, "\t")
		if len(f) < 4 || strings.Split(f[0], ",")[0] != "50" || f[2] != "1" {
			t.Errorf("tshark: ESP packet not over IPv6 (next header 50) or not decrypted with a good ICV: %q", ln)
			continue
		}
		protos[f[3]]++
	}
	if protos["0x0800"] < 10 || protos["0x86dd"] < 10 {
		t.Errorf("decrypted GRE protocol types %v, want IPv4 and IPv6 (10 each)", protos)
	}
	if bad := strings.TrimSpace(tshark(t, append(espDecryptArgs(t, l.KeyLogPath("left")), "-r", pcap, "-Y", "_ws.malformed || _ws.expert.severity >= \"Error\"")...)); bad != "" {
		t.Errorf("tshark reports errors in the decrypted capture:\n%s", bad)
	}
	_, isakmp, _ := gresec(t, "show", "--socket", l.Socket("left"), "crypto", "isakmp", "sa")
	// (Either side may have initiated the SA that lasts: the peer is its
	// dst or its src.)
	if !strings.Contains(isakmp, "IPv6 Crypto ISAKMP SA") || !strings.Contains(isakmp, "QM_IDLE") || !strings.Contains(isakmp, ": 2001:DB8:FFFF::2\n") {
		t.Errorf("show crypto isakmp sa has no IPv6 peer in QM_IDLE:\n%s", isakmp)
	}
	_, sas, _ := gresec(t, "show", "--socket", l.Socket("left"), "crypto", "ipsec", "sa")
	if !strings.Contains(sas, "current_peer 2001:db8:ffff::2") || !strings.Contains(sas, "(2001:db8:ffff::1/128/47/0)") {
		t.Errorf("show crypto ipsec sa has no IPv6 peer and selectors:\n%s", sas)
	}
	v4 := iperf3Run(t, l, "10.2.0.10", "-4")
	v6 := iperf3Run(t, l, right.LANHost, "-6")
	t.Logf("iperf3 TCP over ESP over IPv6: IPv4 inside %.2f Gbit/s, IPv6 inside %.2f Gbit/s", v4/1e9, v6/1e9)
}

// TestIPv6UnderlayRouteViaAndECMP: over the IPv6 core the two ipv6 route
// statics to the peer's loopback make one equal-cost route with two
// nexthops; `tunnel route-via l-c2 mandatory` pins the IPv6 underlay
// through l-c2 with IPv6 policy routing (a rule and the /128 in the
// slot's table), and fails closed when that path dies.
func TestIPv6UnderlayRouteViaAndECMP(t *testing.T) {
	ctx := context.Background()
	l := startLabWith(t, lab.Options{IPv6Core: true, Config: func(r lab.Router) string {
		cfg := r.DualStackConfig(false)
		if r.Name == "left" {
			cfg = withTunnelLines(cfg, "tunnel route-via "+r.Core[1].Dev+" mandatory")
		}
		return cfg
	}})
	waitUp(t, l)
	left, right := l.Routers()[0], lab.IPv6Of("right")
	leftV6 := lab.IPv6Of("left")
	rt := run(t, l, "right", "ip", "-6", "route", "show", leftV6.Loopback)
	if strings.Count(rt, "nexthop via") != 2 {
		t.Errorf("right's route to %s is not equal-cost over both core paths:\n%s", leftV6.Loopback, rt)
	}
	ti, err := l.Tunnel("left")
	if err != nil {
		t.Fatal(err)
	}
	if ti.Tunnel.UnderlayDevice != left.Core[1].Dev {
		t.Errorf("left's underlay leaves by %q, want the pinned %s", ti.Tunnel.UnderlayDevice, left.Core[1].Dev)
	}
	if rules := run(t, l, "left", "ip", "-6", "rule", "show"); !strings.Contains(rules, "fwmark 0x470000 lookup 4700") || !strings.Contains(rules, "fwmark 0x470000 unreachable") {
		t.Errorf("ip -6 rule lacks the pin's rules:\n%s", rules)
	}
	if tbl := run(t, l, "left", "ip", "-6", "route", "show", "table", "4700"); !strings.Contains(tbl, right.Loopback+" via "+leftV6.Core[1].NextHop+" dev "+left.Core[1].Dev) {
		t.Errorf("table 4700 = %q, want the /128 via %s", tbl, left.Core[1].Dev)
	}
	run(t, l, "left-host", "ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", right.LANHost)
	if err := l.FailCore(left.Core[1].CoreNS, true); err != nil {
		t.Fatal(err)
	}
	ti, err = l.WaitLineProtocol(ctx, "left", "down", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ti.DownReason, "via "+left.Core[1].Dev+" (route-via mandatory)") {
		t.Errorf("down reason %q", ti.DownReason)
	}
}

// TestIPv6UnderlayPathMTU: the IPv6 core's links towards right carry only
// 1400 bytes. GRE over IPv6 is never fragmented: the core's Packet Too
// Big reaches left's GRE socket (IPV6_RECVERR), and the tunnel then
// answers inner packets above 1400 less its 44 bytes with Packet Too Big
// (IPv6) and fragmentation needed (IPv4, DF) of 1356, so that the hosts'
// path MTU discovery goes through; 1356 bytes pass.
func TestIPv6UnderlayPathMTU(t *testing.T) {
	l := startLabWith(t, lab.Options{IPv6Core: true, Config: func(r lab.Router) string {
		cfg := r.DualStackConfig(false)
		for _, ln := range []string{" ip mtu 1380\n", " ipv6 mtu 1380\n"} {
			cfg = strings.Replace(cfg, ln, "", 1)
		}
		return cfg
	}})
	for _, c := range l.Routers()[1].Core {
		run(t, l, c.CoreNS, "ip", "link", "set", c.CoreDev, "mtu", "1400")
	}
	waitUp(t, l)
	right := lab.IPv6Of("right")
	ping6Until(t, l, "left-host", right.LANHost, 10*time.Second)
	out, _ := l.Exec(context.Background(), "left-host", "ping", "-6", "-c", "4", "-i", "0.3", "-W", "1", "-M", "do", "-s", "1400", right.LANHost)
	if !strings.Contains(out, "Packet too big: mtu=1356") {
		t.Errorf("a 1448-byte ping6 over the 1400-byte IPv6 core: want Packet Too Big with mtu=1356:\n%s", out)
	}
	out = run(t, l, "left-host", "ping", "-6", "-c", "2", "-i", "0.3", "-W", "2", "-M", "do", "-s", "1308", right.LANHost)
	if !strings.Contains(out, " 0% packet loss") {
		t.Errorf("a ping6 of 1356 bytes is lost:\n%s", out)
	}
	out, _ = l.Exec(context.Background(), "left-host", "ping", "-4", "-c", "2", "-i", "0.3", "-W", "1", "-M", "do", "-s", "1400", "10.2.0.10")
	if !strings.Contains(out, "mtu = 1356") && !strings.Contains(out, "mtu=1356") {
		t.Errorf("a 1428-byte IPv4 ping with DF: want fragmentation needed with mtu 1356:\n%s", out)
	}
	ti, err := l.Tunnel("left")
	if err != nil {
		t.Fatal(err)
	}
	if ti.Tunnel.TransportMTU != 1400 || ti.Tunnel.MaxInner != 1356 {
		t.Errorf("show interfaces Tunnel0: transport MTU %d, largest inner packet %d; want 1400 and 1356",
			ti.Tunnel.TransportMTU, ti.Tunnel.MaxInner)
	}
}

// TestIPsecOverIPv6UDPEncap: with `crypto isakmp nat force-encap` the two
// daemons move IKE to UDP 4500 over IPv6 and put ESP in UDP there (RFC
// 3948 over IPv6, with its mandatory UDP checksum); ping and ping6 cross,
// no raw ESP leaves, and tshark decrypts the ESP-in-UDP from the keylog.
func TestIPsecOverIPv6UDPEncap(t *testing.T) {
	requireTools(t, "tcpdump", "tshark")
	l := startLabWith(t, lab.Options{IPv6Core: true, KeyLog: true, Config: func(r lab.Router) string {
		return strings.Replace(r.DualStackConfig(true), "crypto isakmp keepalive 10 periodic\n", "crypto isakmp keepalive 10 periodic\ncrypto isakmp nat force-encap\n", 1)
	}})
	waitUp(t, l)
	waitSAs(t, l, "left", 20*time.Second)
	waitSAs(t, l, "right", 20*time.Second)
	right := lab.IPv6Of("right")
	ping6Until(t, l, "left-host", right.LANHost, 10*time.Second)
	pcap := capture(t, l, "left", "any", "ip6 proto 50 or udp port 4500", func() {
		run(t, l, "left-host", "ping", "-4", "-c", "3", "-i", "0.2", "-W", "2", "10.2.0.10")
		run(t, l, "left-host", "ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", right.LANHost)
	})
	if raw := strings.TrimSpace(tshark(t, "-r", pcap, "-Y", "ipv6.nxt == 50")); raw != "" {
		t.Errorf("raw ESP despite force-encap:\n%s", raw)
	}
	args := append(espDecryptArgs(t, l.KeyLogPath("left")), "-r", pcap, "-Y", "esp", "-T", "fields", "-e", "udp.dstport", "-e", "esp.icv_good", "-e", "gre.proto", "-e", "udp.checksum.status")
	out := strings.TrimSpace(tshark(t, args...))
	lines := strings.Split(out, "\n")
	if len(lines) < 12 {
		t.Fatalf("tshark saw %d ESP-in-UDP packets, want at least 12:\n%s", len(lines), out)
	}
	for _, ln := range lines {
		f := strings.Split(ln, "\t")
		if len(f) < 3 || f[0] != "4500" || f[1] != "1" || (f[2] != "0x0800" && f[2] != "0x86dd") {
			t.Errorf("tshark: not ESP in UDP 4500 decrypted with a good ICV into GRE: %q", ln)
		}
	}
	if bad := strings.TrimSpace(tshark(t, append(espDecryptArgs(t, l.KeyLogPath("left")), "-r", pcap, "-Y", "_ws.malformed || _ws.expert.severity >= \"Error\"")...)); bad != "" {
		t.Errorf("tshark reports errors (a zero UDP checksum over IPv6 would be one):\n%s", bad)
	}
	if s := ipsecSAs(t, l, "left"); !s.Inbound[0].UDPEncap || s.PeerPort != 4500 {
		t.Errorf("SA %+v peer port %d, want UDP-Encaps and 4500", s.Inbound[0], s.PeerPort)
	}
}

// TestLabScenarioDualStack: `gresec lab dual-stack` runs the protected
// tunnel over the IPv6-only core, pings both families across it, survives
// the loss of one IPv6 core path without a line protocol down, and prints
// the IPv6 views.
func TestLabScenarioDualStack(t *testing.T) {
	out := labScenario(t, "dual-stack", 2*time.Minute)
	for _, want := range []string{"3 packets transmitted, 3 received, 0% packet loss", "line protocol downs: 0", "Tunnel protocol/transport GRE/IPv6",
		"left# show ipv6 route", "S   2001:DB8:2::/48 [1/0]", "(2001:db8:ffff::1/128/47/0)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Count(out, "3 packets transmitted, 3 received, 0% packet loss") != 2 {
		t.Error("want both LAN-to-LAN pings (IPv4 and IPv6) without loss")
	}
}

const swanGREConfig6 = `hostname A
interface a0
 ipv6 address 2001:db8:5::1/64
crypto isakmp policy 10
 encr aes 256
 hash sha256
 authentication pre-share
 group 19
crypto isakmp key SecretPassword12 address ipv6 ::/0
crypto isakmp keepalive 10 periodic
crypto ipsec transform-set TRANSFORM esp-aes 256 esp-sha384-hmac
 mode tunnel
crypto ipsec profile TUNNEL
 set transform-set TRANSFORM
interface Tunnel0
 ip address 10.255.0.1 255.255.255.252
 ipv6 address 2001:db8:ff::1/64
 tunnel mode gre ipv6
 tunnel source a0
 tunnel destination 2001:db8:5::2
 tunnel protection ipsec profile TUNNEL
`

const gresecPlainB6 = `hostname B
interface b0
 ipv6 address 2001:db8:5::2/64
interface Tunnel0
 ip address 10.255.0.2 255.255.255.252
 ipv6 address 2001:db8:ff::2/64
 tunnel mode gre ipv6
 tunnel source b0
 tunnel destination 2001:db8:5::1
`

// TestStrongSwanOverIPv6: IKEv1 between gresec and strongSwan's charon
// over IPv6 (identities of type IPV6_ADDR, GRE selectors between the two
// IPv6 endpoints), ESP over IPv6 in charon's libipsec (tunnel mode, in
// UDP 4500, which libipsec always uses), and a plain-GRE-over-IPv6 gresec
// beside charon: ping and ping6 cross, and the ESP keys charon logs are
// gresec's.
func TestStrongSwanOverIPv6(t *testing.T) {
	p := newPair(t)
	for _, c := range [][]string{
		{"-n", p.a, "addr", "add", "2001:db8:5::1/64", "dev", "a0", "nodad"},
		{"-n", p.b, "addr", "add", "2001:db8:5::2/64", "dev", "b0", "nodad"},
	} {
		if out, err := exec.Command("ip", c...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v %s", strings.Join(c, " "), err, out)
		}
	}
	swanctl := strings.NewReplacer("198.51.100.2", "2001:db8:5::2", "198.51.100.1", "2001:db8:5::1", "mode = transport", "mode = tunnel").Replace(swanctlTransport)
	c := startCharon(t, p.b, "kernel-libipsec kernel-netlink", libipsecPlugins, swanctl)
	startGresec(t, p.b, gresecPlainB6)
	ga := startGresec(t, p.a, swanGREConfig6)
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, err := exec.Command("ip", "netns", "exec", p.a, "ping", "-c", "1", "-W", "1", "10.255.0.2").CombinedOutput()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ping across the tunnel to charon's side:\n%s\n%s\n%s", out, c.swanctl(t, "--list-sas"), c.log(t))
		}
	}
	for _, dst := range []string{"10.255.0.2", "2001:db8:ff::2"} {
		out, err := exec.Command("ip", "netns", "exec", p.a, "ping", "-c", "5", "-i", "0.2", "-W", "2", dst).CombinedOutput()
		if err != nil || !strings.Contains(string(out), " 0% packet loss") {
			t.Errorf("ping %s: %v\n%s", dst, err, out)
		}
	}
	if m := matchKeys(t, c.log(t), gresecESPKeys(t, ga.keylog)); m < 2 {
		t.Errorf("only %d SPIs matched between gresec's keylog and charon's log", m)
	}
	sas := c.swanctl(t, "--list-sas")
	if !strings.Contains(sas, "2001:db8:5::1") || !strings.Contains(sas, "INSTALLED") {
		t.Errorf("charon's SA is not an installed SA with the IPv6 peer:\n%s", sas)
	}
	if log := c.log(t); !regexp.MustCompile(`IKE_SA gre\[\d+\] established between 2001:db8:5::2\[2001:db8:5::2\]\.\.\.2001:db8:5::1\[2001:db8:5::1\]`).MatchString(log) {
		t.Errorf("charon did not establish the IKE SA with IPv6 identities")
	}
}

// TestOSPFv3OverIPv6Tunnel: FRR's ospf6d on both routers peers over
// Tunnel0 (GRE over the IPv6 core; OSPFv3 runs between the link-local
// addresses gresec gives the tunnel, to ff02::5 through it) and installs
// the peer's IPv6 LAN, for which no ipv6 route is configured: ping6 LAN to
// LAN follows it, and show ipv6 route calls it O.
func TestOSPFv3OverIPv6Tunnel(t *testing.T) {
	requireRoot(t)
	require(t, lab.HaveFRR("ospf6d"), "FRR (zebra, ospf6d, vtysh: apt-get install frr)")
	l := startLabWith(t, lab.Options{IPv6Core: true, Config: func(r lab.Router) string {
		return strings.Replace(r.DualStackConfig(false), "ipv6 route "+lab.IPv6Of(r.Name).PeerLAN+" Tunnel0\n", "", 1)
	}})
	waitUp(t, l)
	for _, r := range l.Routers() {
		if err := l.StartFRR(r.Name, map[string]string{"ospf6d": lab.OSPFv3Config(r)}); err != nil {
			t.Fatal(err)
		}
	}
	right := lab.IPv6Of("right")
	var rt string
	waitFor(t, 20*time.Second, "the OSPFv3 route to right's LAN", func() bool {
		rt = run(t, l, "left", "ip", "-6", "route", "show", "2001:db8:2::/64")
		return strings.Contains(rt, "proto ospf") && strings.Contains(rt, "dev Tunnel0")
	})
	if !strings.Contains(rt, "via fe80::2") {
		t.Errorf("OSPFv3 route %q, want it via right's derived link-local fe80::2", rt)
	}
	ping6Until(t, l, "left-host", right.LANHost, 10*time.Second)
	code, text, _ := gresec(t, "show", "--socket", l.Socket("left"), "ipv6", "route")
	if code != 0 || !strings.Contains(text, "O   2001:DB8:2::/64 [110/") || !strings.Contains(text, "via FE80::2, Tunnel0") {
		t.Errorf("show ipv6 route lacks the OSPF route:\n%s", text)
	}
	nb, _ := l.Vtysh("left", "show ipv6 ospf6 neighbor")
	t.Logf("left: show ipv6 ospf6 neighbor:\n%s", nb)
}
