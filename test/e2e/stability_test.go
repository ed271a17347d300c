package e2e

// Tunnel stability, as the article's last sections describe it: recursive
// routing detected and held down (with a static route, and with FRR's OSPF
// and RIP peering over the tunnel), avoided with `tunnel route-via` or a
// /32; a loopback source surviving a core failure; an IP source that
// black-holes until keepalives notice; keepalives on a protected tunnel and
// reflected for a peer that configured none; and the lab's scenarios.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gresec/gresec/internal/esp"
	"github.com/gresec/gresec/internal/lab"
)

// withTunnelLines adds sub-commands to Tunnel0 (after `tunnel source`).
func withTunnelLines(cfg string, lines ...string) string {
	add := ""
	for _, ln := range lines {
		add += " " + ln + "\n"
	}
	return strings.Replace(cfg, " tunnel source Loopback0\n", " tunnel source Loopback0\n"+add, 1)
}

// holdDownConfig is the lab's configuration with a short recursion hold-down.
func holdDownConfig(seconds int) func(lab.Router) string {
	return func(r lab.Router) string {
		return withTunnelLines(r.Config(false), fmt.Sprintf("tunnel recursion hold-down %d", seconds))
	}
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// logTimes returns the time stamps of a router's log lines since index
// from that contain substr.
func logTimes(t *testing.T, l *lab.Lab, router string, from int, substr string) []time.Time {
	t.Helper()
	var out []time.Time
	for _, ln := range l.LogSince(router, from, substr) {
		ts, ok := lab.LogTime(ln)
		if !ok {
			t.Fatalf("log line without a time stamp: %q", ln)
		}
		out = append(out, ts)
	}
	return out
}

const (
	recurDown     = "%TUN-5-RECURDOWN: Tunnel0 temporarily disabled due to recursive routing"
	lineProtoDown = "%LINEPROTO-5-UPDOWN: Line protocol on Interface Tunnel0, changed state to down"
	lineProtoUp   = "%LINEPROTO-5-UPDOWN: Line protocol on Interface Tunnel0, changed state to up"
)

// checkHoldDownSpacing fails unless detections are at least holdDown apart:
// each one starts a hold-down during which the tunnel cannot come up.
func checkHoldDownSpacing(t *testing.T, detections []time.Time, holdDown time.Duration) {
	t.Helper()
	for i := 1; i < len(detections); i++ {
		if gap := detections[i].Sub(detections[i-1]); gap < holdDown-50*time.Millisecond {
			t.Errorf("recursion detected again %s after the previous detection, within the %s hold-down", gap, holdDown)
		}
	}
}

func txPackets(t *testing.T, l *lab.Lab, node, dev string) int {
	t.Helper()
	out := run(t, l, node, "cat", "/sys/class/net/"+dev+"/statistics/tx_packets")
	n, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("%s %s tx_packets: %q", node, dev, out)
	}
	return n
}

// TestRecursionStaticRoute: a route that sends the tunnel destination into
// the tunnel is detected (%TUN-5-RECURDOWN naming the route), holds the
// line protocol down for `tunnel recursion hold-down` seconds, is retried
// once per hold-down while the route lasts, and the tunnel comes back up
// after the hold-down once the route is gone.
func TestRecursionStaticRoute(t *testing.T) {
	const holdDown = 5 * time.Second
	l := startLab(t, holdDownConfig(5))
	waitUp(t, l)
	mark := len(l.Log("left"))
	// Metric 0 beats gresec's /32 statics (metric = distance 1).
	run(t, l, "left", "ip", "route", "add", "192.0.2.2/32", "dev", "Tunnel0", "metric", "0")
	ti, err := l.WaitLineProtocol(context.Background(), "left", "down", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ti.DownReason, "recursive routing (192.0.2.2/32 via Tunnel0, proto kernel)") {
		t.Errorf("down reason %q does not name the route", ti.DownReason)
	}
	if left := ti.Tunnel.HoldDownLeft; left < 1 || left > 5 || ti.Tunnel.HoldDown != 5 {
		t.Errorf("show interfaces: hold-down %d s, %d s left; want 5 s, 1-5 s left", ti.Tunnel.HoldDown, left)
	}
	lines := l.LogSince("left", mark, recurDown)
	if len(lines) == 0 || !strings.Contains(lines[0], `route="192.0.2.2/32 via Tunnel0, proto kernel"`) {
		t.Fatalf("RECURDOWN not logged with the route: %q", lines)
	}
	// The route stays for two more hold-downs: a retry after each, never
	// sooner.
	time.Sleep(2*holdDown + time.Second)
	run(t, l, "left", "ip", "route", "del", "192.0.2.2/32", "dev", "Tunnel0")
	removed := time.Now()
	if _, err := l.WaitLineProtocol(context.Background(), "left", "up", holdDown+3*time.Second); err != nil {
		t.Fatal(err)
	}
	detections := logTimes(t, l, "left", mark, recurDown)
	t.Logf("detections at %v; route removed %s after the first", detections, removed.Sub(detections[0]).Round(100*time.Millisecond))
	if len(detections) < 3 {
		t.Errorf("%d detections in %s with a %s hold-down, want 3 (one per retry)", len(detections), 2*holdDown+time.Second, holdDown)
	}
	checkHoldDownSpacing(t, detections, holdDown)
	ups := logTimes(t, l, "left", mark, lineProtoUp)
	last := detections[len(detections)-1]
	if up := ups[len(ups)-1]; up.Sub(last) < holdDown-50*time.Millisecond {
		t.Errorf("the tunnel came up %s after the last detection, before the %s hold-down ended", up.Sub(last), holdDown)
	}
	run(t, l, "left-host", "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.2.0.10")
	if n := len(l.LogSince("left", mark, recurDown)); n != len(detections) {
		t.Errorf("recursion detected again after the route was removed")
	}
}

// TestRouteVia: `tunnel route-via IF mandatory` pins the underlay to IF by
// policy routing (a mark on the underlay sockets, a rule, a table), the
// route lookups of the line protocol use the same mark, so a route into
// the tunnel no longer recurses; without a route through IF the tunnel
// fails closed (down, no fall back to the other path); `preferred` falls
// back; the rules go away on reload and on exit.
func TestRouteVia(t *testing.T) {
	l := startLab(t, holdDownConfig(5))
	waitUp(t, l)
	ctx := context.Background()
	hashed, err := l.UnderlayPath(ctx, "left")
	if err != nil {
		t.Fatal(err)
	}
	// Pin to the path the kernel's hash did not choose, to see the pin work.
	pinned := l.Routers()[0].Core[0]
	if pinned.Dev == hashed.Dev {
		pinned = l.Routers()[0].Core[1]
	}
	left := l.Routers()[0]
	pinnedCfg := func(how string) string {
		return withTunnelLines(holdDownConfig(5)(left), "tunnel route-via "+pinned.Dev+" "+how)
	}
	if err := l.Reload("left", pinnedCfg("mandatory")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "underlay pinned", func() bool {
		ti, err := l.Tunnel("left")
		return err == nil && ti.LineProtocol == "up" && ti.Tunnel.UnderlayDevice == pinned.Dev
	})
	rules := run(t, l, "left", "ip", "rule", "show")
	for _, want := range []string{"4747:\tfrom all fwmark 0x470000 lookup 4700 proto 47", "4748:\tfrom all fwmark 0x470000 unreachable proto 47"} {
		if !strings.Contains(rules, want) {
			t.Errorf("ip rule lacks %q:\n%s", want, rules)
		}
	}
	if tbl := run(t, l, "left", "ip", "route", "show", "table", "4700"); !strings.Contains(tbl, "192.0.2.2 via "+pinned.NextHop+" dev "+pinned.Dev) {
		t.Errorf("table 4700 = %q, want the /32 via %s", tbl, pinned.Dev)
	}
	before := txPackets(t, l, "left", pinned.Dev)
	run(t, l, "left-host", "ping", "-c", "20", "-i", "0.01", "-W", "2", "10.2.0.10")
	if d := txPackets(t, l, "left", pinned.Dev) - before; d < 20 {
		t.Errorf("%d packets left through %s during 20 pings; the underlay is not pinned", d, pinned.Dev)
	}

	// A route into the tunnel does not touch the marked underlay.
	mark := len(l.Log("left"))
	run(t, l, "left", "ip", "route", "add", "192.0.2.2/32", "dev", "Tunnel0", "metric", "0")
	time.Sleep(time.Second)
	if ti, _ := l.Tunnel("left"); ti.LineProtocol != "up" || len(l.LogSince("left", mark, recurDown)) != 0 {
		t.Errorf("route-via tunnel went down on a route into the tunnel: %s", ti.DownReason)
	}
	run(t, l, "left-host", "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.2.0.10")
	run(t, l, "left", "ip", "route", "del", "192.0.2.2/32", "dev", "Tunnel0")

	// Mandatory fails closed when the pinned path dies.
	if err := l.FailCore(pinned.CoreNS, true); err != nil {
		t.Fatal(err)
	}
	ti, err := l.WaitLineProtocol(ctx, "left", "down", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ti.DownReason, "via "+pinned.Dev+" (route-via mandatory)") {
		t.Errorf("down reason %q", ti.DownReason)
	}
	if out, err := l.Exec(ctx, "left", "ip", "route", "get", "192.0.2.2", "from", "192.0.2.1", "mark", "0x470000"); err == nil {
		t.Errorf("marked lookup did not fail closed: %s", out)
	}
	// Preferred falls back to the main table, i.e. the other path.
	if err := l.Reload("left", pinnedCfg("preferred")); err != nil {
		t.Fatal(err)
	}
	if ti, err = l.WaitLineProtocol(ctx, "left", "up", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if ti.Tunnel.UnderlayDevice == pinned.Dev {
		t.Errorf("preferred: underlay through the dead %s", pinned.Dev)
	}
	if rules := run(t, l, "left", "ip", "rule", "show"); strings.Contains(rules, "unreachable") {
		t.Errorf("preferred kept the unreachable rule:\n%s", rules)
	}
	if err := l.FailCore(pinned.CoreNS, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "preferred path back", func() bool {
		ti, err := l.Tunnel("left")
		return err == nil && ti.Tunnel.UnderlayDevice == pinned.Dev
	})
	// Gone on reload without route-via, and on exit.
	if err := l.Reload("left", pinnedCfg("mandatory")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "unreachable rule back", func() bool {
		return strings.Contains(run(t, l, "left", "ip", "rule", "show"), "unreachable")
	})
	if err := l.Reload("left", holdDownConfig(5)(left)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "rules removed on reload", func() bool {
		return !strings.Contains(run(t, l, "left", "ip", "rule", "show"), "fwmark")
	})
	if err := l.Reload("left", pinnedCfg("mandatory")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "rules back", func() bool {
		return strings.Contains(run(t, l, "left", "ip", "rule", "show"), "fwmark")
	})
	l.StopDaemon("left")
	if rules := run(t, l, "left", "ip", "rule", "show"); strings.Contains(rules, "fwmark") {
		t.Errorf("rules left behind on exit:\n%s", rules)
	}
	if tbl := run(t, l, "left", "ip", "route", "show", "table", "all", "proto", "47"); strings.TrimSpace(tbl) != "" {
		t.Errorf("routes left behind on exit:\n%s", tbl)
	}
}

// TestLinkFailureLoopbackSource: with a loopback-sourced tunnel over two
// equal-cost core paths, the core path the underlay uses fails during a
// fast ping: the tunnel's line protocol never goes down and the traffic
// continues on the other path.
func TestLinkFailureLoopbackSource(t *testing.T) {
	l := startLab(t, nil)
	waitUp(t, l)
	ctx := context.Background()
	used, err := l.UnderlayPath(ctx, "left")
	if err != nil {
		t.Fatal(err)
	}
	other := l.Routers()[0].Core[0]
	if other.Dev == used.Dev {
		other = l.Routers()[0].Core[1]
	}
	marks := map[string]int{"left": len(l.Log("left")), "right": len(l.Log("right"))}
	// 2500 packets at 500 a second: 5 s, the failure at 2 s.
	ping := exec.Command("ip", "netns", "exec", l.NS("left-host"), "ping", "-q", "-i", "0.002", "-c", "2500", "-W", "1", "10.2.0.10")
	var out strings.Builder
	ping.Stdout, ping.Stderr = &out, &out
	if err := ping.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	otherBefore := txPackets(t, l, "left", other.Dev)
	if err := l.FailCore(used.CoreNS, true); err != nil {
		t.Fatal(err)
	}
	_ = ping.Wait()
	res, err := lab.ParsePing(out.String())
	if err != nil {
		t.Fatal(err)
	}
	moved := txPackets(t, l, "left", other.Dev) - otherBefore
	lost := res.Sent - res.Received
	t.Logf("%s failed during the ping: %d sent, %d received, %d lost (%.2f%%, %d ms at 500 packets/s); %d packets left through %s afterwards",
		used.CoreNS, res.Sent, res.Received, lost, 100*res.Loss(), lost*2, moved, other.Dev)
	// The switch-over is one netlink event and one route replacement:
	// tens of milliseconds, so a few percent at most.
	if res.Loss() > 0.05 {
		t.Errorf("lost %.1f%% of the pings across the failure, want at most 5%%", 100*res.Loss())
	}
	if moved < 1000 {
		t.Errorf("only %d packets left through %s after the failure", moved, other.Dev)
	}
	if after, err := l.UnderlayPath(ctx, "left"); err != nil || after.Dev != other.Dev {
		t.Errorf("underlay after the failure: %v %v, want %s", after, err, other.Dev)
	}
	for r, from := range marks {
		if downs := l.LogSince(r, from, lineProtoDown); len(downs) != 0 {
			t.Errorf("%s: the line protocol went down: %q", r, downs)
		}
		if ti, err := l.Tunnel(r); err != nil || ti.LineProtocol != "up" {
			t.Errorf("%s: Tunnel0 line protocol %q (%v)", r, ti.LineProtocol, err)
		}
	}
}

// TestIPSourceBlackHole: the article's tip #2. Left has two tunnels from
// its core1 link: Tunnel0 sourced from the link's IP address, Tunnel1 from
// the interface. When the link loses carrier, Tunnel1 goes down with it;
// Tunnel0 stays up and black-holes the traffic (its return path ran
// through that link) until keepalives are configured, which take it down.
func TestIPSourceBlackHole(t *testing.T) {
	l := startLab(t, func(r lab.Router) string {
		cfg := strings.Replace(r.Config(false), " keepalive 10 3\n", "", 1)
		if r.Name == "right" {
			// Right's tunnel runs to left's core1 address, through core1.
			cfg = strings.Replace(cfg, " tunnel destination 192.0.2.1\n", " tunnel destination 198.51.100.253\n", 1)
			return cfg + "ip route 198.51.100.253 255.255.255.255 203.0.113.254\n"
		}
		cfg = strings.Replace(cfg, " tunnel source Loopback0\n", " tunnel source 198.51.100.253\n", 1)
		return cfg + `interface Tunnel1
 ip address 10.255.1.1 255.255.255.252
 tunnel source l-c1
 tunnel destination 203.0.113.253
!
ip route 203.0.113.253 255.255.255.255 198.51.100.254
`
	})
	waitUp(t, l)
	ctx := context.Background()
	waitFor(t, 5*time.Second, "Tunnel1 up", func() bool {
		data, err := l.Show("left", "interfaces", "Tunnel1")
		return err == nil && strings.Contains(string(data), `"line_protocol":"up"`)
	})
	run(t, l, "left-host", "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.2.0.10")
	mark := len(l.Log("left"))
	run(t, l, "core1", "ip", "link", "set", "c1-l", "down") // l-c1 loses carrier
	waitFor(t, 5*time.Second, "interface-sourced Tunnel1 down", func() bool {
		data, err := l.Show("left", "interfaces", "Tunnel1")
		return err == nil && strings.Contains(string(data), `"line_protocol":"down"`) && strings.Contains(string(data), "tunnel source l-c1 is down")
	})
	if out, err := l.Exec(ctx, "left-host", "ping", "-c", "5", "-i", "0.2", "-W", "1", "10.2.0.10"); err == nil {
		t.Errorf("traffic crossed Tunnel0 though its return path is gone:\n%s", out)
	}
	if ti, err := l.Tunnel("left"); err != nil || ti.LineProtocol != "up" {
		t.Fatalf("IP-sourced Tunnel0 went down with the link (%v): %s", err, ti.DownReason)
	}
	if downs := l.LogSince("left", mark, lineProtoDown); len(downs) != 0 {
		t.Errorf("IP-sourced Tunnel0 went down: %q", downs)
	}
	if r := routeShow(t, l, "left", "10.2.0.0/16"); !strings.Contains(r, "Tunnel0") {
		t.Errorf("the route into the black hole should still be there (no keepalive): %q", r)
	}
	t.Log("Tunnel0 (source 198.51.100.253) stays up and black-holes LAN traffic; Tunnel1 (source l-c1) went down")

	// Keepalives notice.
	cfg := strings.Replace(string(mustRead(t, l.ConfigPath("left"))), " tunnel source 198.51.100.253\n", " keepalive 1 3\n tunnel source 198.51.100.253\n", 1)
	if err := l.Reload("left", cfg); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ti, err := l.WaitLineProtocol(ctx, "left", "down", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("with keepalive 1 3: down after %s: %s", time.Since(start).Round(100*time.Millisecond), ti.DownReason)
	if !strings.Contains(ti.DownReason, "keepalive") {
		t.Errorf("down reason %q, want keepalive", ti.DownReason)
	}
	if r := routeShow(t, l, "left", "10.2.0.0/16"); r != "" {
		t.Errorf("route into the down tunnel not withdrawn: %q", r)
	}
	run(t, l, "core1", "ip", "link", "set", "c1-l", "up")
	if _, err := l.WaitLineProtocol(ctx, "left", "up", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "route back", func() bool { return strings.Contains(routeShow(t, l, "left", "10.2.0.0/16"), "Tunnel0") })
	run(t, l, "left-host", "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.2.0.10")
}

// TestKeepaliveProtectedTunnel: keepalives between two gresec peers work on
// a tunnel with `tunnel protection` (the reply travels through the SA; no
// clear GRE on the core), and a dead peer takes the line protocol down
// within PERIOD x RETRIES plus a period.
func TestKeepaliveProtectedTunnel(t *testing.T) {
	l := startLab(t, func(r lab.Router) string {
		return strings.Replace(r.Config(true), " keepalive 10 3\n", " keepalive 1 3\n", 1)
	})
	suite := esp.Suite{Cipher: esp.AES256CBC, Integrity: esp.HMACSHA384}
	installStaticSAs(t, l, suite, false, false)
	waitUp(t, l)
	var ka0 uint64
	clear := capture(t, l, "core1", "any", "ip proto 47", func() {
		_ = capture(t, l, "core2", "any", "ip proto 47", func() {
			ti, err := l.Tunnel("left")
			if err != nil {
				t.Fatal(err)
			}
			ka0 = ti.Tunnel.Keepalive.Replies
			time.Sleep(3500 * time.Millisecond)
		})
	})
	ti, err := l.Tunnel("left")
	if err != nil {
		t.Fatal(err)
	}
	if got := ti.Tunnel.Keepalive.Replies - ka0; got < 2 {
		t.Errorf("%d keepalive replies in 3.5 s at 1 s period on a protected tunnel", got)
	}
	if out := strings.TrimSpace(tshark(t, "-r", clear)); out != "" {
		t.Errorf("clear-text GRE (keepalives?) on the core of a protected tunnel:\n%s", out)
	}
	l.StopDaemon("right")
	start := time.Now()
	if ti, err = l.WaitLineProtocol(context.Background(), "left", "down", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("protected tunnel: line protocol down %s after the peer stopped: %s", took.Round(100*time.Millisecond), ti.DownReason)
	if took > 5*time.Second || !strings.Contains(ti.DownReason, "keepalive") {
		t.Errorf("down after %s (%s), want keepalive within 1 s x 3 + 1 s (+ polling)", took, ti.DownReason)
	}
	if err := l.StartDaemon(context.Background(), "right"); err != nil {
		t.Fatal(err)
	}
	installStaticSAs(t, l, suite, false, false) // the restarted peer has none
	waitUp(t, l)
	run(t, l, "left-host", "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.2.0.10")

	// route-via marks the ESP socket too: ESP leaves by the pinned path,
	// even the one the kernel's hash would not choose.
	hashed, err := l.UnderlayPath(context.Background(), "left")
	if err != nil {
		t.Fatal(err)
	}
	pinned := l.Routers()[0].Core[0]
	if pinned.Dev == hashed.Dev {
		pinned = l.Routers()[0].Core[1]
	}
	cfg := withTunnelLines(string(mustRead(t, l.ConfigPath("left"))), "tunnel route-via "+pinned.Dev+" mandatory")
	if err := l.Reload("left", cfg); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "underlay pinned", func() bool {
		ti, err := l.Tunnel("left")
		return err == nil && ti.LineProtocol == "up" && ti.Tunnel.UnderlayDevice == pinned.Dev
	})
	espPcap := capture(t, l, "left", pinned.Dev, "ip proto 50", func() {
		run(t, l, "left-host", "ping", "-c", "10", "-i", "0.05", "-W", "2", "10.2.0.10")
	})
	if n := strings.Count(tshark(t, "-r", espPcap, "-Y", "esp && ip.src == 192.0.2.1"), "\n"); n < 10 {
		t.Errorf("%d ESP packets left through the pinned %s for 10 pings", n, pinned.Dev)
	}
}

// TestKeepaliveReflectedForUnconfiguredPeer: an IOS-format keepalive built
// independently (scapy: outer GRE 0x0800 carrying IPv4 peer->sender proto
// 47 TTL 255 and a protocol-0 GRE header) sent to a daemon that has no
// keepalive configured comes back as the inner packet, as from an IOS
// peer that was never told about keepalives.
func TestKeepaliveReflectedForUnconfiguredPeer(t *testing.T) {
	requireTools(t, "/usr/bin/python3", "tcpdump", "tshark")
	_, err := exec.Command("/usr/bin/python3", "-c", "import scapy.layers.l2").CombinedOutput()
	require(t, err == nil, "python3-scapy")
	l := startLab(t, func(r lab.Router) string { return strings.Replace(r.Config(false), " keepalive 10 3\n", "", 1) })
	waitUp(t, l)
	script := `
from scapy.all import IP, GRE, send, conf
conf.verb = 0
inner = IP(src="192.0.2.2", dst="192.0.2.1", proto=47, ttl=255)/GRE(proto=0)
send(IP(src="192.0.2.1", dst="192.0.2.2")/GRE(proto=0x0800)/inner, count=3, inter=0.2)
`
	pcap := capture(t, l, "left", "any", "ip proto 47 and src host 192.0.2.2", func() {
		if out, err := exec.Command("ip", "netns", "exec", l.NS("left"), "/usr/bin/python3", "-c", script).CombinedOutput(); err != nil {
			t.Fatalf("scapy: %v\n%s", err, out)
		}
		time.Sleep(300 * time.Millisecond)
	})
	replies := strings.Fields(tshark(t, "-r", pcap, "-Y", "gre.proto == 0x0000 && ip.src == 192.0.2.2 && ip.dst == 192.0.2.1", "-T", "fields", "-e", "ip.dst"))
	if len(replies) < 3 {
		t.Errorf("%d reflected keepalives came back for 3 sent", len(replies))
	}
	data, err := l.Show("right", "interfaces", "Tunnel0")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"keepalives_reflected":3`) {
		t.Errorf("right's keepalives_reflected counter: %s", data)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// articleLab starts the lab in the article's recursive-routing addressing
// with a short hold-down and FRR running protocol daemon on both routers.
func articleLab(t *testing.T, holdDown time.Duration, daemon string, conf func(lab.Router) string) *lab.Lab {
	t.Helper()
	requireRoot(t)
	require(t, lab.HaveFRR(daemon), "FRR (zebra, "+daemon+", vtysh: apt-get install frr)")
	l := startLabWith(t, lab.Options{Article: true, Config: holdDownConfig(int(holdDown.Seconds()))})
	waitUp(t, l)
	for _, r := range l.Routers() {
		if err := l.StartFRR(r.Name, map[string]string{daemon: conf(r)}); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

// checkBoundedFlaps checks the recursion episodes of a window: detected,
// naming the /24 and the protocol, at most one per hold-down.
func checkBoundedFlaps(t *testing.T, l *lab.Lab, mark int, proto string, window, holdDown time.Duration) []time.Time {
	t.Helper()
	lines := l.LogSince("left", mark, recurDown)
	if len(lines) == 0 {
		t.Fatalf("no recursion detected in %s", window)
	}
	for _, ln := range lines {
		if !strings.Contains(ln, `route="172.16.1.0/24 via Tunnel0, proto `+proto+`"`) {
			t.Errorf("RECURDOWN does not name the %s route: %q", proto, ln)
		}
	}
	detections := logTimes(t, l, "left", mark, recurDown)
	checkHoldDownSpacing(t, detections, holdDown)
	if bound := int(window/holdDown) + 1; len(detections) > bound {
		t.Errorf("%d recursion episodes in %s, more than the %d the %s hold-down allows", len(detections), window, bound, holdDown)
	}
	return detections
}

// TestRecursionOSPF: the article's story with FRR's OSPF over Tunnel0.
// Right advertises 172.16.1.0/24, which holds its real address; left
// learns it over the tunnel, a longer match than its /16 through the core.
//
// Without a fix, gresec detects the recursion as soon as OSPF installs the
// route and holds Tunnel0 down for the hold-down (10 s here), so the
// adjacency can reach Full at most once per hold-down: over a 40 s window
// at most 40/10 + 1 = 5 times (the two minutes with the default
// 60 s hold-down would allow 3). FRR alone would loop packets and flap
// every ~7 s (frr.md), for ever.
//
// With `tunnel route-via l-c1 mandatory` the adjacency stays Full for a
// full minute with the /24 in the table, and LAN-to-LAN traffic crosses.
func TestRecursionOSPF(t *testing.T) {
	t.Parallel()
	const holdDown, window = 10 * time.Second, 40 * time.Second
	l := articleLab(t, holdDown, "ospfd", lab.OSPFConfig)
	mark := len(l.Log("left"))
	time.Sleep(window)
	detections := checkBoundedFlaps(t, l, mark, "ospf", window, holdDown)
	fulls := strings.Count(l.FRRLog("left", "ospfd"), "-> Full")
	t.Logf("without a fix, in %s: %d recursion episodes, %d adjacencies reached Full (bound %d)", window, len(detections), fulls, int(window/holdDown)+1)
	if fulls < 1 || fulls > int(window/holdDown)+1 {
		t.Errorf("%d adjacencies reached Full in %s; want between 1 and %d", fulls, window, int(window/holdDown)+1)
	}
	if ti, err := l.Tunnel("left"); err == nil {
		// Only what was sent in the instant before each detection.
		n := ti.Counters.Detail["out_recursive"]
		t.Logf("GRE packets dropped instead of looped: %d", n)
		if n > 100 {
			t.Errorf("%d packets would have looped before detection", n)
		}
	}

	left := l.Routers()[0]
	fixed := withTunnelLines(holdDownConfig(10)(left), "tunnel route-via l-c1 mandatory")
	if err := l.Reload("left", fixed); err != nil {
		t.Fatal(err)
	}
	if _, err := l.WaitLineProtocol(context.Background(), "left", "up", holdDown+10*time.Second); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "OSPF Full with route-via", func() bool {
		out, _ := l.Vtysh("left", "show ip ospf neighbor")
		return strings.Contains(out, "Full")
	})
	stable := len(l.Log("left"))
	fullsBefore := strings.Count(l.FRRLog("left", "ospfd"), "-> Full")
	for end := time.Now().Add(time.Minute); time.Now().Before(end); time.Sleep(2 * time.Second) {
		out, _ := l.Vtysh("left", "show ip ospf neighbor")
		if !strings.Contains(out, "Full") {
			t.Fatalf("adjacency left Full with route-via:\n%s", out)
		}
	}
	if downs := l.LogSince("left", stable, lineProtoDown); len(downs) != 0 {
		t.Errorf("Tunnel0 went down with route-via: %q", downs)
	}
	if n := strings.Count(l.FRRLog("left", "ospfd"), "-> Full") - fullsBefore; n != 0 {
		t.Errorf("the adjacency re-formed %d times during the minute", n)
	}
	if r := routeShow(t, l, "left", "172.16.1.0/24"); !strings.Contains(r, "Tunnel0") || !strings.Contains(r, "ospf") {
		t.Errorf("the /24 should stay learned over the tunnel: %q", r)
	}
	// The main table sends the destination into the tunnel; the mark does not.
	if r := run(t, l, "left", "ip", "route", "get", "172.16.1.1", "from", "192.0.2.1", "mark", "0x470000"); !strings.Contains(r, "dev l-c1") {
		t.Errorf("marked underlay lookup: %q", r)
	}
	out := run(t, l, "left-host", "ping", "-c", "5", "-i", "0.2", "-W", "2", "10.2.0.10")
	if !strings.Contains(out, " 0% packet loss") {
		t.Errorf("LAN to LAN with route-via:\n%s", out)
	}
}

// TestRecursionRIP: the same story with RIP, where the protocol alone never
// recovers (the /24 stays on the tunnel and left loses right for good).
// gresec holds the tunnel down once per hold-down: over 30 s with a 10 s
// hold-down at most 30/10 + 1 = 4 episodes. With the article's /32 static
// to the real address, the tunnel stays up with the RIP /24 in the table,
// and LAN-to-LAN traffic crosses.
func TestRecursionRIP(t *testing.T) {
	t.Parallel()
	const holdDown, window = 10 * time.Second, 30 * time.Second
	l := articleLab(t, holdDown, "ripd", lab.RIPConfig)
	mark := len(l.Log("left"))
	time.Sleep(window)
	detections := checkBoundedFlaps(t, l, mark, "rip", window, holdDown)
	t.Logf("without a fix, in %s: %d recursion episodes (bound %d)", window, len(detections), int(window/holdDown)+1)

	left := l.Routers()[0]
	fixed := holdDownConfig(10)(left) + "ip route 172.16.1.1 255.255.255.255 198.51.100.254\nip route 172.16.1.1 255.255.255.255 198.51.100.250\n"
	if err := l.Reload("left", fixed); err != nil {
		t.Fatal(err)
	}
	if _, err := l.WaitLineProtocol(context.Background(), "left", "up", holdDown+10*time.Second); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "RIP route over the tunnel", func() bool {
		r := routeShow(t, l, "left", "172.16.1.0/24")
		return strings.Contains(r, "Tunnel0") && strings.Contains(r, "rip")
	})
	stable := len(l.Log("left"))
	time.Sleep(30 * time.Second)
	if downs := l.LogSince("left", stable, lineProtoDown); len(downs) != 0 {
		t.Errorf("Tunnel0 went down with the /32: %q", downs)
	}
	if r := routeShow(t, l, "left", "172.16.1.0/24"); !strings.Contains(r, "Tunnel0") {
		t.Errorf("the RIP /24 should stay on the tunnel: %q", r)
	}
	out := run(t, l, "left-host", "ping", "-c", "5", "-i", "0.2", "-W", "2", "10.2.0.10")
	if !strings.Contains(out, " 0% packet loss") {
		t.Errorf("LAN to LAN with the /32:\n%s", out)
	}
}

// labScenario runs `gresec lab SCENARIO` and returns its output; the lab's
// namespaces must be gone afterwards.
func labScenario(t *testing.T, name string, timeout time.Duration) string {
	t.Helper()
	requireRoot(t)
	requireTools(t, "ip", "ping")
	prefix := fmt.Sprintf("gt%d-s%d-", os.Getpid()%10000, labSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary, "lab", name, "--prefix", prefix).CombinedOutput()
	t.Logf("gresec lab %s:\n%s", name, out)
	if err != nil {
		t.Fatalf("gresec lab %s: %v", name, err)
	}
	if ns := namespacesWithPrefix(t, prefix); len(ns) != 0 {
		t.Errorf("lab left namespaces behind: %v", ns)
	}
	return string(out)
}

func TestLabScenarioLinkFailure(t *testing.T) {
	out := labScenario(t, "link-failure", 2*time.Minute)
	for _, want := range []string{"fails (both its links lose carrier)", "left: Tunnel0 is up, line protocol is up", "The line protocol never went down", "packets at 200 a second"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

func TestLabScenarioDeadPeer(t *testing.T) {
	t.Parallel()
	out := labScenario(t, "dead-peer", 2*time.Minute)
	for _, want := range []string{"left: Tunnel0 line protocol down (keepalive", "is withdrawn", "line protocol up again", "LAN to LAN works again"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

func TestLabScenarioRecursiveRouting(t *testing.T) {
	t.Parallel()
	out := labScenario(t, "recursive-routing", 3*time.Minute)
	for _, want := range []string{recurDown, "recursion detected", "The fix: tunnel route-via l-c1 mandatory", "fwmark 0x470000 unreachable", "(0 line protocol downs) and LAN to LAN works"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if lab.HaveFRR("ospfd") && !strings.Contains(out, "proto ospf") {
		t.Error("with FRR installed, the scenario should run OSPF")
	}
}
