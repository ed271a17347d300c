package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gresec/gresec/internal/lab"
)

// TestPingAndIperf: LAN to LAN across the loopback-sourced tunnel, ping and
// an iperf3 TCP transfer.
func TestPingAndIperf(t *testing.T) {
	requireTools(t, "iperf3")
	l := startLab(t, nil)
	waitUp(t, l)
	out := run(t, l, "left-host", "ping", "-c", "5", "-i", "0.2", "-W", "2", "10.2.0.10")
	if !strings.Contains(out, " 0% packet loss") {
		t.Fatalf("ping lost packets:\n%s", out)
	}
	srv := exec.Command("ip", "netns", "exec", l.NS("right-host"), "iperf3", "-s", "-1", "-B", "10.2.0.10")
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	time.Sleep(300 * time.Millisecond)
	js := run(t, l, "left-host", "timeout", "30", "iperf3", "-c", "10.2.0.10", "-t", "3", "-J")
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
		t.Fatalf("iperf3 moved only %.0f bytes", res.End.SumReceived.Bytes)
	}
	t.Logf("iperf3 TCP across the tunnel: %.2f Gbit/s", res.End.SumReceived.BitsPerSecond/1e9)
	ti, err := l.Tunnel("left")
	if err != nil {
		t.Fatal(err)
	}
	if ti.Counters.OutPackets < 1000 || ti.Counters.InPackets < 100 {
		t.Errorf("Tunnel0 counters do not show the transfer: %+v", ti.Counters)
	}
}

// capture runs tcpdump in a node while f runs, and returns the pcap path.
func capture(t *testing.T, l *lab.Lab, node, iface, filter string, f func()) string {
	t.Helper()
	requireTools(t, "tcpdump")
	path := filepath.Join(t.TempDir(), node+".pcap")
	// -Z root: tcpdump would otherwise drop to its own user before it
	// creates the file, in a directory only root may write.
	// --immediate-mode: else packets wait in the kernel's ring buffer for
	// up to a second and are lost when tcpdump is stopped.
	cmd := exec.Command("ip", "netns", "exec", l.NS(node), "tcpdump", "-Z", "root", "--immediate-mode", "-U", "-n", "-i", iface, "-w", path, filter)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// tcpdump says "listening on" once its filter is attached.
	listening := make(chan struct{})
	var summary strings.Builder
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "listening on") {
				close(listening)
				break
			}
		}
		_, _ = io.Copy(&summary, stderr)
	}()
	select {
	case <-listening:
	case <-time.After(10 * time.Second):
		t.Fatal("tcpdump did not start listening")
	}
	f()
	time.Sleep(300 * time.Millisecond)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	<-done
	_ = cmd.Wait()
	t.Logf("tcpdump in %s (%s): %s", node, filter, strings.Join(strings.Fields(summary.String()), " "))
	return path
}

func tshark(t testing.TB, args ...string) string {
	t.Helper()
	requireTools(t, "tshark")
	cmd := exec.Command("tshark", args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output() // stderr has tshark's chatter about running as root
	if err != nil {
		out = append(out, stderr.String()...)
		t.Fatalf("tshark %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestGREDissectedByTshark: the GRE packets gresec puts on the wire are
// dissected by tshark as GRE carrying IPv4/ICMP, with no malformed packet
// and no error-level expert info.
func TestGREDissectedByTshark(t *testing.T) {
	l := startLab(t, nil)
	waitUp(t, l)
	pcap := capture(t, l, "left", "any", "ip proto 47", func() {
		run(t, l, "left-host", "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.2.0.10")
	})
	fields := tshark(t, "-r", pcap, "-Y", "gre && icmp", "-T", "fields", "-e", "ip.src", "-e", "ip.dst", "-e", "gre.proto", "-e", "icmp.type")
	lines := strings.Split(strings.TrimSpace(fields), "\n")
	if len(lines) < 6 {
		t.Fatalf("tshark found %d GRE/ICMP packets, want at least 6 (3 requests, 3 replies):\n%s", len(lines), fields)
	}
	for _, ln := range lines {
		f := strings.Split(ln, "\t")
		if len(f) < 4 || !strings.Contains(f[0], "192.0.2.") || !strings.Contains(f[1], "192.0.2.") || f[2] != "0x0800" {
			t.Errorf("unexpected GRE packet fields %q", ln)
		}
	}
	if bad := tshark(t, "-r", pcap, "-Y", "_ws.malformed || _ws.expert.severity >= \"Error\""); strings.TrimSpace(bad) != "" {
		t.Errorf("tshark reports malformed packets or errors:\n%s", bad)
	}
}

// TestMSSClampedInCapturedSYN: with `ip tcp adjust-mss 1360`, the SYN and
// the SYN-ACK that cross the tunnel carry an MSS of at most 1360, though
// both hosts offered 1460.
func TestMSSClampedInCapturedSYN(t *testing.T) {
	requireTools(t, "iperf3")
	l := startLab(t, nil)
	waitUp(t, l)
	srv := exec.Command("ip", "netns", "exec", l.NS("right-host"), "iperf3", "-s", "-1", "-B", "10.2.0.10")
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	time.Sleep(300 * time.Millisecond)
	var synAck string
	syn := capture(t, l, "right-host", "eth0", "tcp[tcpflags] & tcp-syn != 0", func() {
		synAck = capture(t, l, "left-host", "eth0", "tcp[tcpflags] & tcp-syn != 0", func() {
			run(t, l, "left-host", "timeout", "30", "iperf3", "-c", "10.2.0.10", "-t", "1")
		})
	})
	check := func(pcap, filter, what string) {
		out := strings.TrimSpace(tshark(t, "-r", pcap, "-Y", filter, "-T", "fields", "-e", "tcp.options.mss_val"))
		if out == "" {
			t.Fatalf("no %s captured", what)
		}
		for _, v := range strings.Split(out, "\n") {
			mss, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || mss > 1360 {
				t.Errorf("%s carries MSS %q, want at most 1360", what, v)
			}
		}
	}
	check(syn, "tcp.flags.syn == 1 && tcp.flags.ack == 0 && ip.dst == 10.2.0.10", "SYN arriving at right-host")
	check(synAck, "tcp.flags.syn == 1 && tcp.flags.ack == 1 && ip.dst == 10.1.0.10", "SYN-ACK arriving at left-host")
}

// interfaceSourced is the lab with each tunnel sourced from the router's
// first core interface rather than Loopback0.
func interfaceSourced(r lab.Router) string {
	cfg := r.Config(false)
	peerCore := map[string]string{"left": "203.0.113.253", "right": "198.51.100.253"}[r.Name]
	cfg = strings.Replace(cfg, " tunnel source Loopback0\n", " tunnel source "+r.Core[0].Dev+"\n", 1)
	cfg = strings.Replace(cfg, " tunnel destination "+r.Peer+"\n", " tunnel destination "+peerCore+"\n", 1)
	return cfg + fmt.Sprintf("ip route %s 255.255.255.255 %s\n", peerCore, r.Core[0].NextHop)
}

func routeShow(t *testing.T, l *lab.Lab, node, prefix string) string {
	t.Helper()
	return strings.TrimSpace(run(t, l, node, "ip", "route", "show", prefix))
}

// TestSourceInterfaceDown: a tunnel sourced from an interface follows it:
// source down -> line protocol down (with the reason), static routes
// through the tunnel withdrawn; source up -> both back.
func TestSourceInterfaceDown(t *testing.T) {
	l := startLab(t, interfaceSourced)
	waitUp(t, l)
	run(t, l, "left-host", "ping", "-c", "2", "-i", "0.2", "-W", "2", "10.2.0.10")
	if r := routeShow(t, l, "left", "10.2.0.0/16"); !strings.Contains(r, "Tunnel0") {
		t.Fatalf("route through the tunnel missing while up: %q", r)
	}
	run(t, l, "left", "ip", "link", "set", "l-c1", "down")
	ti, err := l.WaitLineProtocol(context.Background(), "left", "down", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ti.DownReason, "l-c1") {
		t.Errorf("down reason %q does not name the source interface", ti.DownReason)
	}
	if ti.Status != "up" {
		t.Errorf("Tunnel0 status %q, want up (only the line protocol goes down)", ti.Status)
	}
	if r := routeShow(t, l, "left", "10.2.0.0/16"); r != "" {
		t.Errorf("route through the down tunnel not withdrawn: %q", r)
	}
	run(t, l, "left", "ip", "link", "set", "l-c1", "up")
	if _, err := l.WaitLineProtocol(context.Background(), "left", "up", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(routeShow(t, l, "left", "10.2.0.0/16"), "Tunnel0") {
		if time.Now().After(deadline) {
			t.Fatal("route through the tunnel did not come back")
		}
		time.Sleep(100 * time.Millisecond)
	}
	run(t, l, "left-host", "ping", "-c", "2", "-i", "0.2", "-W", "2", "10.2.0.10")
}

// TestKeepaliveWithdrawsRoutesToFloatingStatic: with keepalives, a dead
// peer takes the line protocol down within PERIOD x RETRIES plus a period;
// the static route through the tunnel is withdrawn and a floating static
// takes over; the peer's return brings both back.
func TestKeepaliveWithdrawsRoutesToFloatingStatic(t *testing.T) {
	l := startLab(t, func(r lab.Router) string {
		cfg := strings.Replace(r.Config(false), " keepalive 10 3\n", " keepalive 1 3\n", 1)
		return cfg + fmt.Sprintf("ip route %s %s 250\n", r.PeerLAN, r.Core[0].NextHop)
	})
	waitUp(t, l)
	if r := routeShow(t, l, "left", "10.2.0.0/16"); !strings.Contains(r, "Tunnel0") {
		t.Fatalf("route should use the tunnel while it is up: %q", r)
	}
	l.StopDaemon("right")
	start := time.Now()
	ti, err := l.WaitLineProtocol(context.Background(), "left", "down", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("line protocol down %s after the peer stopped: %s", took.Round(100*time.Millisecond), ti.DownReason)
	if took > 5*time.Second {
		t.Errorf("keepalive took %s to declare the peer down, want at most 1 s x 3 + 1 s (+ polling)", took)
	}
	if !strings.Contains(ti.DownReason, "keepalive") {
		t.Errorf("down reason %q does not say keepalive", ti.DownReason)
	}
	if r := routeShow(t, l, "left", "10.2.0.0/16"); !strings.Contains(r, "198.51.100.254") || strings.Contains(r, "Tunnel0") {
		t.Errorf("floating static did not take over: %q", r)
	}
	if err := l.StartDaemon(context.Background(), "right"); err != nil {
		t.Fatal(err)
	}
	waitUp(t, l)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(routeShow(t, l, "left", "10.2.0.0/16"), "Tunnel0") {
		if time.Now().After(deadline) {
			t.Fatal("the route did not move back to the tunnel")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestPathMTUDiscovery: a packet above the tunnel MTU (ip mtu 1400) with DF
// set gets ICMP fragmentation-needed back with the MTU, so PMTUD works
// through the tunnel; one that fits crosses.
func TestPathMTUDiscovery(t *testing.T) {
	l := startLab(t, nil)
	waitUp(t, l)
	// 1372 bytes of ICMP data + 8 + 20 = 1400: fits.
	run(t, l, "left-host", "ping", "-c", "1", "-W", "2", "-M", "do", "-s", "1372", "10.2.0.10")
	out, err := l.Exec(context.Background(), "left-host", "ping", "-c", "1", "-W", "2", "-M", "do", "-s", "1373", "10.2.0.10")
	if err == nil {
		t.Fatalf("a 1401-byte packet with DF crossed a tunnel of MTU 1400:\n%s", out)
	}
	if !strings.Contains(out, "mtu = 1400") && !strings.Contains(out, "mtu=1400") {
		t.Errorf("no fragmentation-needed with MTU 1400 came back:\n%s", out)
	}
}

// TestShutdownTunnel: `shutdown` takes the tunnel administratively down
// and its routes away; `no shutdown` brings both back.
func TestShutdownTunnel(t *testing.T) {
	l := startLab(t, nil)
	waitUp(t, l)
	path := l.ConfigPath("left")
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	shut := strings.Replace(string(orig), "interface Tunnel0\n", "interface Tunnel0\n shutdown\n", 1)
	if err := os.WriteFile(path, []byte(shut), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := gresec(t, "reload", "--socket", l.Socket("left")); code != 0 {
		t.Fatalf("reload: %s", stderr)
	}
	_, out, _ := gresec(t, "show", "--socket", l.Socket("left"), "interfaces", "Tunnel0")
	if !strings.HasPrefix(out, "Tunnel0 is administratively down, line protocol is down\n") {
		t.Errorf("after shutdown:\n%s", out)
	}
	if r := routeShow(t, l, "left", "10.2.0.0/16"); r != "" {
		t.Errorf("route through a shut tunnel: %q", r)
	}
	if err := os.WriteFile(path, orig, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := gresec(t, "reload", "--socket", l.Socket("left")); code != 0 {
		t.Fatalf("reload: %s", stderr)
	}
	waitUp(t, l)
	run(t, l, "left-host", "ping", "-c", "2", "-i", "0.2", "-W", "2", "10.2.0.10")
}

// TestOuterHeaderCopiesDSCP: as on IOS, the delivery header of a GRE packet
// carries the inner packet's DSCP (so QoS in the core still sees it) and
// TTL 255; with IPsec the ESP packets carry the same, and nothing of the
// inner ECN bits.
func TestOuterHeaderCopiesDSCP(t *testing.T) {
	for _, c := range []struct {
		name    string
		config  func(lab.Router) string
		filter  string
		protect bool
	}{
		{"gre", nil, "ip proto 47", false},
		{"ipsec", func(r lab.Router) string { return r.Config(true) }, "ip proto 50", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := startLab(t, c.config)
			waitUp(t, l)
			if c.protect {
				waitSAs(t, l, "left", 20*time.Second)
				waitSAs(t, l, "right", 20*time.Second)
			}
			pcap := capture(t, l, "left", "any", c.filter, func() {
				// EF with ECT(0): the outer header gets 0xb8.
				run(t, l, "left-host", "ping", "-c", "3", "-i", "0.2", "-W", "2", "-Q", "0xba", "10.2.0.10")
			})
			// occurrence=f: the outer IP header, not the inner one.
			out := strings.TrimSpace(tshark(t, "-r", pcap, "-T", "fields", "-E", "occurrence=f", "-e", "ip.src", "-e", "ip.dsfield", "-e", "ip.ttl"))
			sent := 0
			for _, ln := range strings.Split(out, "\n") {
				f := strings.Split(ln, "\t")
				if len(f) < 3 || f[0] != "192.0.2.1" {
					continue // the peer's, one hop away
				}
				sent++
				if f[1] != "0xb8" || f[2] != "255" {
					t.Errorf("outer header from left: ToS %s TTL %s, want 0xb8 and 255", f[1], f[2])
				}
			}
			if sent < 3 {
				t.Fatalf("%d packets from left captured, want 3:\n%s", sent, out)
			}
		})
	}
}
