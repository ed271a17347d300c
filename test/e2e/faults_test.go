package e2e

// The fault tests of issue 10, item 8, between two gresec routers: an SA
// pair that reaches its hard lifetime because IKE cannot rekey it, rekeys
// of both phases under a ping flood, reloads of the crypto configuration
// under traffic, two protected tunnels to one peer, and a phase 1 proposal
// mismatch.

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gresec/gresec/internal/api"
	"github.com/gresec/gresec/internal/esp"
	"github.com/gresec/gresec/internal/lab"
	"github.com/gresec/gresec/internal/show"
)

// withProfileLines adds statements to the crypto ipsec profile TUNNEL.
func withProfileLines(cfg string, lines ...string) string {
	add := ""
	for _, ln := range lines {
		add += " " + ln + "\n"
	}
	return strings.Replace(cfg, " set transform-set TRANSFORM\n", " set transform-set TRANSFORM\n"+add, 1)
}

// withPolicyLines adds statements to crypto isakmp policy 10.
func withPolicyLines(cfg string, lines ...string) string {
	add := ""
	for _, ln := range lines {
		add += " " + ln + "\n"
	}
	return strings.Replace(cfg, " group 19\n", " group 19\n"+add, 1)
}

// tunnelSAs is a router's tunnel in `show crypto ipsec sa` (ipsecSAs for
// any tunnel).
func tunnelSAs(t *testing.T, l *lab.Lab, r, tunnel string) api.IPsecTunnel {
	t.Helper()
	code, out, stderr := gresec(t, "show", "--socket", l.Socket(r), "--json", "crypto", "ipsec", "sa", "interface", tunnel)
	var sas api.IPsecSAs
	if code != 0 || json.Unmarshal([]byte(out), &sas) != nil || len(sas.Tunnels) != 1 {
		t.Fatalf("%s: show crypto ipsec sa interface %s: exit %d %s%s", r, tunnel, code, out, stderr)
	}
	return sas.Tunnels[0]
}

// tunnelInterface is a router's tunnel in `show interfaces`.
func tunnelInterface(t *testing.T, l *lab.Lab, r, tunnel string) api.Interface {
	t.Helper()
	data, err := l.Show(r, "interfaces", tunnel)
	var ifs api.Interfaces
	if err != nil || json.Unmarshal(data, &ifs) != nil || len(ifs.Interfaces) != 1 {
		t.Fatalf("%s: show interfaces %s: %v %s", r, tunnel, err, data)
	}
	return ifs.Interfaces[0]
}

// establishedConnIDs are the conn-ids of a router's ISAKMP SAs in QM_IDLE.
func establishedConnIDs(t *testing.T, l *lab.Lab, r string) []int {
	t.Helper()
	data, err := l.Show(r, "crypto", "isakmp", "sa")
	var sas api.ISAKMPSAs
	if err != nil || json.Unmarshal(data, &sas) != nil {
		t.Fatalf("%s: show crypto isakmp sa: %v %s", r, err, data)
	}
	var ids []int
	for _, sa := range sas.SAs {
		if sa.State == "QM_IDLE" {
			ids = append(ids, sa.ConnID)
		}
	}
	return ids
}

// installedAt is when a router logged the installation of the SA pair
// whose inbound SPI is spi.
func installedAt(t *testing.T, l *lab.Lab, r string, spi uint32) time.Time {
	t.Helper()
	lines := l.LogSince(r, 0, "IPsec SA pair installed (")
	for _, ln := range lines {
		if strings.Contains(ln, fmt.Sprintf("in SPI 0x%08x,", spi)) {
			if at, ok := lab.LogTime(ln); ok {
				return at
			}
		}
	}
	t.Fatalf("%s: no log line for the installation of inbound SPI 0x%08x", r, spi)
	return time.Time{}
}

// noClearGRE captures IP protocol 47 on both core nodes while f runs and
// fails the test if any packet was seen: a protected tunnel never sends
// GRE in clear.
func noClearGRE(t *testing.T, l *lab.Lab, f func()) {
	t.Helper()
	var c2 string
	c1 := capture(t, l, "core1", "any", "ip proto 47", func() {
		c2 = capture(t, l, "core2", "any", "ip proto 47", f)
	})
	for _, pc := range []string{c1, c2} {
		if out := strings.TrimSpace(tshark(t, "-r", pc)); out != "" {
			t.Errorf("clear-text GRE on the core:\n%s", out)
		}
	}
}

// pingFails pings across and fails the test if any echo is answered.
func pingFails(t *testing.T, l *lab.Lab, node, dst string) {
	t.Helper()
	if out, err := l.Exec(t.Context(), node, "ping", "-c", "5", "-i", "0.2", "-W", "1", dst); err == nil {
		t.Errorf("%s -> %s crossed a tunnel without SAs:\n%s", node, dst, out)
	}
}

// TestSAHardExpiry: an SA pair that cannot be rekeyed (IKE dropped by
// nftables in right's namespace, raw ESP still allowed) lives exactly its
// lifetime (`set security-association lifetime seconds 120`, the smallest
// the configuration accepts, as on IOS); then both ends delete it and the
// tunnel fails closed: LAN traffic is dropped and counted as having no SA,
// and no GRE crosses the core in clear. Once IKE passes again, a new pair
// is negotiated and traffic flows.
//
// Neither DPD nor GRE keepalives are configured: with IKE blocked, DPD
// would declare the peer dead and delete the pair before its lifetime
// (that is TestIKEDeadPeer), and keepalives would take the line protocol
// down and withdraw the route, so that LAN traffic no longer reached the
// tunnel to be counted. Parallel: it mostly waits for the lifetime.
func TestSAHardExpiry(t *testing.T) {
	t.Parallel()
	requireTools(t, "nft", "tcpdump", "tshark")
	const life = 120 * time.Second
	l := startLab(t, func(r lab.Router) string {
		cfg := strings.Replace(r.Config(true), "crypto isakmp keepalive 10 periodic\n", "", 1)
		cfg = strings.Replace(cfg, " keepalive 10 3\n", "", 1)
		return withProfileLines(cfg, "set security-association lifetime seconds 120")
	})
	waitUp(t, l)
	waitSAs(t, l, "left", 20*time.Second)
	waitSettled(t, l)
	ls, rs := ipsecSAs(t, l, "left"), ipsecSAs(t, l, "right")
	if r := ls.Outbound[0].RemainingSeconds; r > 120 || r < 100 {
		t.Fatalf("left's SA has %d s left, want at most the configured 120 s", r)
	}
	installed := map[string]time.Time{"left": installedAt(t, l, "left", ls.Inbound[0].SPI), "right": installedAt(t, l, "right", rs.Inbound[0].SPI)}
	if err := l.BlockIKE(t.Context(), "right", true); err != nil {
		t.Fatal(err)
	}
	blocked := time.Now()
	// ESP still crosses: only IKE is blocked.
	run(t, l, "left-host", "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.2.0.10")

	gone := map[string]time.Time{}
	deadline := installed["left"].Add(life + 15*time.Second)
	for len(gone) < 2 {
		for _, r := range []string{"left", "right"} {
			if s := ipsecSAs(t, l, r); gone[r].IsZero() && s.OutboundSPI == 0 && len(s.Inbound) == 0 {
				gone[r] = time.Now()
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the SA pair outlived its %s lifetime by 15 s: left %+v right %+v", life, ipsecSAs(t, l, "left"), ipsecSAs(t, l, "right"))
		}
		time.Sleep(250 * time.Millisecond)
	}
	for _, r := range []string{"left", "right"} {
		age := gone[r].Sub(installed[r])
		t.Logf("%s: SA pair gone %s after its installation (lifetime %s; IKE blocked %s after it)", r, age.Round(100*time.Millisecond), life, blocked.Sub(installed[r]).Round(time.Second))
		// Not before the lifetime (the soft rekey at 85-90 % failed, so
		// nothing may replace or remove it early), and not much after.
		if age < life-time.Second || age > life+3*time.Second {
			t.Errorf("%s: the SA pair lived %s, want its lifetime %s", r, age.Round(100*time.Millisecond), life)
		}
		if len(l.LogSince(r, 0, "lifetime expired")) == 0 {
			t.Errorf("%s: no log line says the SA pair's lifetime expired", r)
		}
	}

	// Fail closed, counted, nothing in clear.
	before := map[string]uint64{}
	for _, r := range []string{"left", "right"} {
		before[r] = tunnelInterface(t, l, r, "Tunnel0").Counters.Detail["out_no_ipsec_sa"]
	}
	noClearGRE(t, l, func() {
		pingFails(t, l, "left-host", "10.2.0.10")
		pingFails(t, l, "right-host", "10.1.0.10")
	})
	for _, r := range []string{"left", "right"} {
		ti := tunnelInterface(t, l, r, "Tunnel0")
		s := ipsecSAs(t, l, r)
		n := ti.Counters.Detail["out_no_ipsec_sa"] - before[r]
		t.Logf("%s: %d packets dropped for want of an SA during 5 pings (show interfaces out_no_ipsec_sa %d, show crypto ipsec sa dropped_no_sa %d)",
			r, n, ti.Counters.Detail["out_no_ipsec_sa"], s.DroppedNoSA)
		if n < 5 || s.DroppedNoSA < before[r]+5 {
			t.Errorf("%s: fail-closed drops not counted: out_no_ipsec_sa +%d, dropped_no_sa %d", r, n, s.DroppedNoSA)
		}
		if ti.LineProtocol != "up" {
			t.Errorf("%s: Tunnel0 line protocol %s; without keepalives it stays up and fails closed", r, ti.LineProtocol)
		}
	}

	// IKE passes again: a new pair, and traffic.
	if err := l.BlockIKE(t.Context(), "right", false); err != nil {
		t.Fatal(err)
	}
	unblocked := time.Now()
	waitFor(t, 60*time.Second, "a new SA pair once IKE passes again", func() bool {
		_, err := l.Exec(t.Context(), "left-host", "ping", "-c", "1", "-W", "1", "10.2.0.10")
		return err == nil
	})
	t.Logf("renegotiated: LAN to LAN again %s after IKE was unblocked", time.Since(unblocked).Round(100*time.Millisecond))
	run(t, l, "left-host", "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.2.0.10")
	if s := ipsecSAs(t, l, "left"); s.OutboundSPI == 0 || s.OutboundSPI == ls.OutboundSPI {
		t.Errorf("left: outbound SPI 0x%08x after the renegotiation (expired one 0x%08x)", s.OutboundSPI, ls.OutboundSPI)
	}
}

// TestIKERekeyBothPhasesUnderFlood: gresec rekeys both phases on its own
// while 200 pings a second of 1000 bytes cross: phase 1 with `lifetime 60`
// in the isakmp policy (the configuration's minimum, rekeyed at 85-90 %,
// so about every 52 s), phase 2 by volume (`lifetime kilobytes 2560`, the
// minimum; the flood carries about 200 KB/s each way, so a rekey about
// every 11 s at the 90 % soft limit) with `lifetime seconds 120`. The
// time-based phase 2 lifetime cannot come round in a test that lasts two
// minutes (its minimum is 120 s); TestSAHardExpiry covers it. Rekeys are
// make-before-break: no ping may be lost. Parallel: it mostly waits for
// the phase 1 lifetime.
func TestIKERekeyBothPhasesUnderFlood(t *testing.T) {
	t.Parallel()
	l := startLab(t, func(r lab.Router) string {
		cfg := withPolicyLines(r.Config(true), "lifetime 60")
		return withProfileLines(cfg, "set security-association lifetime seconds 120", "set security-association lifetime kilobytes 2560")
	})
	waitUp(t, l)
	waitSAs(t, l, "left", 20*time.Second)
	waitSettled(t, l)
	routers := []string{"left", "right"}
	spis := map[string][]uint32{}
	conns := map[string][]int{}
	observe := func() {
		for _, r := range routers {
			if s := ipsecSAs(t, l, r).OutboundSPI; s != 0 && !slices.Contains(spis[r], s) {
				spis[r] = append(spis[r], s)
			}
			for _, id := range establishedConnIDs(t, l, r) {
				if !slices.Contains(conns[r], id) {
					conns[r] = append(conns[r], id)
				}
			}
		}
	}
	observe()
	marks := map[string]int{"left": len(l.Log("left")), "right": len(l.Log("right"))}
	f := startPingFlood(t, l, "left-host", "", "10.2.0.10", "0.005", 1000)
	start := time.Now()
	// Two phase 1 rekeys take about 105 s from the first ISAKMP SA.
	const p1Rekeys, p2Rekeys = 2, 4
	deadline := start.Add(130 * time.Second)
	stormy := false
	for {
		observe()
		if len(conns["left"]) > p1Rekeys && len(conns["right"]) > p1Rekeys && len(spis["left"]) > p2Rekeys && len(spis["right"]) > p2Rekeys {
			break
		}
		if time.Now().After(deadline) {
			break
		}
		// A storm of Quick Modes (see below) has shown itself: stop
		// before it takes the machine's CPU from the other tests.
		if n := len(l.LogSince("left", marks["left"], "IPsec SA pair installed")); n > 3*len(spis["left"])+50 {
			t.Errorf("left: %d SA pairs installed after %s of flood: stopping early", n, time.Since(start).Round(time.Second))
			stormy = true
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	// A second more, so that the last rekey is behind us.
	time.Sleep(time.Second)
	res := f.stop(t)
	lost, sent := f.lost()
	for _, r := range routers {
		p1 := len(l.LogSince(r, marks[r], "ISAKMP SA established"))
		p2 := len(l.LogSince(r, marks[r], "IPsec SA pair installed"))
		t.Logf("%s: in %s of flood: conn-ids %v, outbound SPIs %x; logged %d ISAKMP SAs established, %d SA pairs installed",
			r, time.Since(start).Round(time.Second), conns[r], spis[r], p1, p2)
		if stormy {
			continue
		}
		if len(conns[r]) <= p1Rekeys {
			t.Errorf("%s: %d ISAKMP SAs seen (conn-ids %v), want %d phase 1 rekeys", r, len(conns[r]), conns[r], p1Rekeys)
		}
		if len(spis[r]) <= p2Rekeys {
			t.Errorf("%s: %d outbound SPIs seen, want %d phase 2 rekeys", r, len(spis[r]), p2Rekeys)
		}
		// One pair per rekey, two when both ends reach the soft limit at
		// once; many more is a storm of Quick Modes.
		if p2 > 3*len(spis[r])+2 {
			t.Errorf("%s: %d SA pairs installed for %d outbound SPIs seen: a storm of Quick Modes, not one rekey each", r, p2, len(spis[r]))
		}
	}
	t.Logf("ping flood (200/s, 1000 bytes) across the rekeys: %d sent, %d lost (ping's own summary: %d sent, %d received)", sent, lost, res.Sent, res.Received)
	if lost != 0 {
		t.Errorf("%d pings lost across make-before-break rekeys, want none; the longest outages (pings missed, after the reply at): %v", lost, f.outages(10))
	}
}

// reloadUnderFlood rewrites routers' configurations and reloads them one
// after the other (`gresec reload`) while a ping flood crosses, waits for
// new SAs if renegotiate, and returns the pings lost.
func reloadUnderFlood(t *testing.T, l *lab.Lab, what string, renegotiate bool, configs ...[2]string) (lost int) {
	t.Helper()
	f := startPingFlood(t, l, "left-host", "", "10.2.0.10", "0.01", 56)
	f.waitReplies(t, time.Time{}, 100, 10*time.Second)
	before := map[string]uint32{"left": ipsecSAs(t, l, "left").OutboundSPI, "right": ipsecSAs(t, l, "right").OutboundSPI}
	start := time.Now()
	for _, c := range configs {
		if err := os.WriteFile(l.ConfigPath(c[0]), []byte(c[1]), 0o600); err != nil {
			t.Fatal(err)
		}
		if code, out, stderr := gresec(t, "reload", "--socket", l.Socket(c[0])); code != 0 {
			t.Fatalf("%s: gresec reload: exit %d %s%s", c[0], code, out, stderr)
		}
	}
	if renegotiate {
		waitFor(t, 20*time.Second, what+": new SAs on both sides", func() bool {
			ls, rs := ipsecSAs(t, l, "left"), ipsecSAs(t, l, "right")
			return ls.OutboundSPI != 0 && rs.OutboundSPI != 0 && ls.OutboundSPI != before["left"] && rs.OutboundSPI != before["right"]
		})
	}
	took := time.Since(start)
	// The pair that loses a simultaneous negotiation goes about 10 s
	// later; wait for that too, under the flood.
	waitSettled(t, l)
	f.waitReplies(t, time.Now(), 100, 10*time.Second)
	f.stop(t)
	lost, sent := f.lost()
	after := map[string]uint32{"left": ipsecSAs(t, l, "left").OutboundSPI, "right": ipsecSAs(t, l, "right").OutboundSPI}
	renegotiated := "SAs kept"
	if renegotiate {
		renegotiated = fmt.Sprintf("new SAs on both sides %s after the reload", took.Round(10*time.Millisecond))
	}
	t.Logf("%s: %d pings sent at 100 a second, %d lost; outbound SPIs left 0x%08x -> 0x%08x, right 0x%08x -> 0x%08x (%s)",
		what, sent, lost, before["left"], after["left"], before["right"], after["right"], renegotiated)
	if !renegotiate && (after["left"] != before["left"] || after["right"] != before["right"]) {
		t.Errorf("%s: the SAs were renegotiated by a reload that changes no crypto setting", what)
	}
	return lost
}

// TestCryptoReloadUnderTraffic: `gresec reload` while a ping flood crosses
// the tunnel: a reload that changes nothing in the crypto configuration
// keeps the SAs and loses nothing; a new SA lifetime and a new transform
// set are negotiated at once (new SPIs, the new transform and lifetime
// shown) with traffic flowing on, losing at most a few pings.
func TestCryptoReloadUnderTraffic(t *testing.T) {
	l := startLab(t, func(r lab.Router) string { return r.Config(true) })
	waitUp(t, l)
	waitSAs(t, l, "left", 20*time.Second)
	waitSettled(t, l)
	left, right := l.Routers()[0], l.Routers()[1]
	// At most a fifth of a second of traffic for a renegotiation (it takes
	// tens of milliseconds here).
	const maxLost = 20

	desc := func(r lab.Router) string {
		return strings.Replace(r.Config(true), "interface Tunnel0\n", "interface Tunnel0\n description reloaded\n", 1)
	}
	if n := reloadUnderFlood(t, l, "reload without crypto change", false, [2]string{"left", desc(left)}, [2]string{"right", desc(right)}); n != 0 {
		t.Errorf("a reload without crypto change lost %d pings", n)
	}

	shorter := func(r lab.Router) string {
		return withProfileLines(desc(r), "set security-association lifetime seconds 1800")
	}
	if n := reloadUnderFlood(t, l, "left: SA lifetime 3600 s -> 1800 s", true, [2]string{"left", shorter(left)}); n > maxLost {
		t.Errorf("a new SA lifetime lost %d pings, want at most %d", n, maxLost)
	}
	for _, r := range []string{"left", "right"} {
		if s := ipsecSAs(t, l, r); s.Outbound[0].RemainingSeconds > 1800 {
			t.Errorf("%s: the SA negotiated after the reload has %d s left, want at most the new 1800 s", r, s.Outbound[0].RemainingSeconds)
		}
	}

	gcm := func(r lab.Router, sets string) string {
		cfg := strings.Replace(shorter(r), "crypto ipsec profile TUNNEL\n", "crypto ipsec transform-set GCM esp-gcm 256\n mode transport\n!\ncrypto ipsec profile TUNNEL\n", 1)
		return strings.Replace(cfg, " set transform-set TRANSFORM\n", " set transform-set "+sets+"\n", 1)
	}
	// Right first accepts both, then left asks for the new one only.
	if n := reloadUnderFlood(t, l, "right: transform sets GCM TRANSFORM", true, [2]string{"right", gcm(right, "GCM TRANSFORM")}); n > maxLost {
		t.Errorf("adding a transform set lost %d pings, want at most %d", n, maxLost)
	}
	if n := reloadUnderFlood(t, l, "left: transform set GCM only", true, [2]string{"left", gcm(left, "GCM")}); n > maxLost {
		t.Errorf("changing the transform set lost %d pings, want at most %d", n, maxLost)
	}
	for _, r := range []string{"left", "right"} {
		if s := ipsecSAs(t, l, r); s.Outbound[0].Transform != "esp-gcm 256" {
			t.Errorf("%s: transform %q after the reload, want esp-gcm 256", r, s.Outbound[0].Transform)
		}
	}
}

// twoTunnels is the protected reference configuration with a second
// protected tunnel to the same peer, from the same source: Tunnel0 (key
// 10) carries the LANs 10.1/16 and 10.2/16 as before, Tunnel1 (key 20,
// 10.255.1.0/30) carries 10.3/16 (left) and 10.4/16 (right). No GRE
// keepalives: they would move the counters the test compares.
func twoTunnels(natt bool) func(lab.Router) string {
	return func(r lab.Router) string {
		cfg := strings.Replace(r.Config(true), " keepalive 10 3\n", "", 1)
		cfg = withTunnelLines(cfg, "tunnel key 10")
		if natt {
			cfg = strings.Replace(cfg, "crypto isakmp keepalive 10 periodic\n", "crypto isakmp keepalive 10 periodic\ncrypto isakmp nat force-encap\n", 1)
		}
		addr, far := "10.255.1.1", "10.4.0.0"
		if r.Name == "right" {
			addr, far = "10.255.1.2", "10.3.0.0"
		}
		return cfg + fmt.Sprintf(`interface Tunnel1
 ip address %s 255.255.255.252
 ip mtu 1400
 tunnel source Loopback0
 tunnel destination %s
 tunnel key 20
 tunnel protection ipsec profile TUNNEL
!
ip route %s 255.255.0.0 Tunnel1
`, addr, r.Peer, far)
	}
}

// installedPairs maps each SA pair a router installed (its inbound SPI,
// from the log) to the tunnel it was installed on, with its outbound SPI.
func installedPairs(l *lab.Lab, r string) map[uint32]struct {
	tunnel string
	out    uint32
} {
	pairs := map[uint32]struct {
		tunnel string
		out    uint32
	}{}
	for _, ln := range l.LogSince(r, 0, "IPsec SA pair installed (") {
		m := installedLine.FindStringSubmatch(ln)
		if m == nil {
			continue
		}
		in, _ := strconv.ParseUint(m[2], 16, 32)
		out, _ := strconv.ParseUint(m[3], 16, 32)
		pairs[uint32(in)] = struct {
			tunnel string
			out    uint32
		}{m[1], uint32(out)}
	}
	return pairs
}

var installedLine = regexp.MustCompile(`(Tunnel\d+): peer \S+: IPsec SA pair installed \(.*in SPI 0x([0-9a-f]+), out SPI 0x([0-9a-f]+)`)

// crossWired lists the SA pairs that one side installed on one tunnel and
// the other side on another.
func crossWired(t *testing.T, l *lab.Lab) []string {
	t.Helper()
	left, right := installedPairs(l, "left"), installedPairs(l, "right")
	var out []string
	for in, p := range left {
		if q, ok := right[p.out]; ok && q.out == in && q.tunnel != p.tunnel {
			out = append(out, fmt.Sprintf("left %s (in 0x%08x, out 0x%08x) is right's %s", p.tunnel, in, p.out, q.tunnel))
		}
	}
	slices.Sort(out)
	return out
}

func inboundSPIs(s api.IPsecTunnel) string {
	var spis []string
	for _, sa := range s.Inbound {
		spis = append(spis, fmt.Sprintf("0x%08x", sa.SPI))
	}
	return strings.Join(spis, ",")
}

func modes(ss ...api.IPsecTunnel) string {
	var m []string
	for _, s := range ss {
		for _, sa := range s.Inbound {
			m = append(m, show.SAMode(sa))
		}
	}
	return strings.Join(m, "/")
}

// tunnelTraffic is what the counters of one tunnel say.
type tunnelTraffic struct {
	in, out, encaps, decaps, inErrors, keyMismatch uint64
}

func trafficOf(t *testing.T, l *lab.Lab, r, tunnel string) tunnelTraffic {
	t.Helper()
	ti, s := tunnelInterface(t, l, r, tunnel), tunnelSAs(t, l, r, tunnel)
	return tunnelTraffic{in: ti.Counters.InPackets, out: ti.Counters.OutPackets, encaps: s.Encaps, decaps: s.Decaps,
		inErrors: ti.Counters.InErrors, keyMismatch: ti.Counters.Detail["in_key_mismatch"]}
}

// TestTwoTunnelsSamePeer: two protected tunnels between the same two
// loopbacks, told apart by their GRE key: each gets its own Quick Mode and
// SA pair (different SPIs; the pairs at the two ends match), the traffic
// of each crosses on its own, and none of it shows on the other tunnel's
// interface (no key mismatch, no input error). Over raw ESP and over ESP
// in UDP 4500, where both tunnels' ESP runs between the same two ports.
//
// IKEv1 carries nothing that tells the two tunnels apart (same identities:
// GRE between the same two addresses), so a pair one end files under
// Tunnel0 may sit under Tunnel1 at the other when Quick Modes cross with a
// loss; the engine avoids it otherwise. Packets still reach the tunnel
// their GRE key names (the data plane decides by key after decryption);
// then the ESP counters of the twin count them, which is logged.
func TestTwoTunnelsSamePeer(t *testing.T) {
	for _, natt := range []bool{false, true} {
		t.Run(map[bool]string{false: "raw-esp", true: "force-encap"}[natt], func(t *testing.T) {
			l := twoTunnelLab(t, twoTunnels(natt))
			waitUp(t, l)
			tunnels := []string{"Tunnel0", "Tunnel1"}
			for _, r := range []string{"left", "right"} {
				for _, tun := range tunnels {
					waitFor(t, 20*time.Second, r+" "+tun+": SA pair", func() bool { return tunnelSAs(t, l, r, tun).OutboundSPI != 0 })
				}
			}
			// Both ends negotiate at first; the losing pairs go about 10 s
			// later. Then each tunnel holds one pair, the same on both
			// sides.
			settled := func() bool {
				outs := map[string]map[uint32]uint32{} // router: outbound -> inbound SPI of each pair
				for _, r := range []string{"left", "right"} {
					outs[r] = map[uint32]uint32{}
					for _, tun := range tunnels {
						s := tunnelSAs(t, l, r, tun)
						if len(s.Inbound) != 1 {
							return false
						}
						outs[r][s.OutboundSPI] = s.Inbound[0].SPI
					}
				}
				for out, in := range outs["left"] {
					if outs["right"][in] != out {
						return false
					}
				}
				return true
			}
			for end := time.Now().Add(25 * time.Second); !settled() && time.Now().Before(end); {
				time.Sleep(250 * time.Millisecond)
			}
			if !settled() {
				t.Errorf("the two tunnels' SA pairs did not settle to one matching pair each in 25 s")
			}
			// Each Quick Mode's pair must sit on the same tunnel at both
			// ends: their identities (GRE between the two loopbacks) are
			// the same for both tunnels.
			crossed := false
			for _, w := range crossWired(t, l) {
				t.Logf("SA pair on different tunnels at the two ends (packets go by key): %s", w)
				crossed = true
			}
			for _, r := range []string{"left", "right"} {
				s0, s1 := tunnelSAs(t, l, r, "Tunnel0"), tunnelSAs(t, l, r, "Tunnel1")
				t.Logf("%s: Tunnel0 in %s out 0x%08x; Tunnel1 in %s out 0x%08x; modes %s", r,
					inboundSPIs(s0), s0.OutboundSPI, inboundSPIs(s1), s1.OutboundSPI, modes(s0, s1))
				if slices.ContainsFunc(s0.Inbound, func(a api.IPsecSA) bool {
					return slices.ContainsFunc(s1.Inbound, func(b api.IPsecSA) bool { return a.SPI == b.SPI })
				}) || s0.OutboundSPI == s1.OutboundSPI {
					t.Errorf("%s: the tunnels share an SPI", r)
				}
				if natt && strings.Count(modes(s0, s1), "UDP-Encaps") != len(s0.Inbound)+len(s1.Inbound) {
					t.Errorf("%s: force-encap, but modes %s", r, modes(s0, s1))
				}
				for _, tun := range tunnels {
					if n := len(l.LogSince(r, 0, tun+": peer 192.0.2.")); n == 0 {
						t.Errorf("%s: no Quick Mode logged for %s", r, tun)
					}
				}
			}
			checkTwoTunnelTraffic(t, l, crossed)
		})
	}
}

// TestTwoTunnelsSamePeerStaticSAs: the data plane alone, with the same
// two tunnels and static SAs (IKE cannot succeed: the keys differ): ESP
// for both tunnels arrives on one raw socket, or, in UDP, on one
// local:4500 -> peer:4500 socket pair, and must reach the tunnel whose SA
// its SPI names, never the other.
func TestTwoTunnelsSamePeerStaticSAs(t *testing.T) {
	for _, udp := range []bool{false, true} {
		t.Run(map[bool]string{false: "raw-esp", true: "esp-in-udp"}[udp], func(t *testing.T) {
			l := twoTunnelLab(t, func(r lab.Router) string {
				cfg := twoTunnels(false)(r)
				if r.Name == "right" {
					cfg = strings.Replace(cfg, "SecretPassword12", "NotTheSameKey99", 1)
				}
				return cfg
			})
			waitUp(t, l)
			suite := esp.Suite{Cipher: esp.AES256CBC, Integrity: esp.HMACSHA384}
			installStaticTunnelSAs(t, l, "Tunnel0", suite, false, udp, 0x2002, 0x1001)
			installStaticTunnelSAs(t, l, "Tunnel1", suite, false, udp, 0x4004, 0x3003)
			checkTwoTunnelTraffic(t, l, false)
		})
	}
}

// twoTunnelLab starts the lab with a two-tunnel configuration and gives
// each side a second LAN: an address the host holds besides its first,
// reached on the router's LAN link.
func twoTunnelLab(t *testing.T, config func(lab.Router) string) *lab.Lab {
	t.Helper()
	l := startLab(t, config)
	run(t, l, "left-host", "ip", "addr", "add", "10.3.0.10/24", "dev", "eth0")
	run(t, l, "right-host", "ip", "addr", "add", "10.4.0.10/24", "dev", "eth0")
	run(t, l, "left", "ip", "route", "add", "10.3.0.0/24", "dev", "left-lan")
	run(t, l, "right", "ip", "route", "add", "10.4.0.0/24", "dev", "right-lan")
	return l
}

// checkTwoTunnelTraffic pings across each tunnel of twoTunnels in turn and
// checks that the other tunnel's counters do not move, and that no tunnel
// saw a key mismatch or an input error.
func checkTwoTunnelTraffic(t *testing.T, l *lab.Lab, crossed bool) {
	t.Helper()
	paths := []struct {
		tunnel, other, from, dst string
	}{
		{"Tunnel0", "Tunnel1", "10.1.0.10", "10.2.0.10"},
		{"Tunnel1", "Tunnel0", "10.3.0.10", "10.4.0.10"},
	}
	for _, p := range paths {
		before := map[string]tunnelTraffic{}
		for _, r := range []string{"left", "right"} {
			before[r+p.tunnel], before[r+p.other] = trafficOf(t, l, r, p.tunnel), trafficOf(t, l, r, p.other)
		}
		out, err := l.Exec(t.Context(), "left-host", "ping", "-c", "20", "-i", "0.02", "-W", "2", "-I", p.from, p.dst)
		res, _ := lab.ParsePing(out)
		t.Logf("%s (%s -> %s): %d sent, %d received", p.tunnel, p.from, p.dst, res.Sent, res.Received)
		if err != nil {
			t.Errorf("%s: %s -> %s: %v\n%s", p.tunnel, p.from, p.dst, err, out)
		}
		for _, r := range []string{"left", "right"} {
			used, other := trafficOf(t, l, r, p.tunnel), trafficOf(t, l, r, p.other)
			ub, ob := before[r+p.tunnel], before[r+p.other]
			t.Logf("%s %s: in +%d out +%d encaps +%d decaps +%d; %s: in +%d out +%d encaps +%d decaps +%d input errors %d key mismatches %d",
				r, p.tunnel, used.in-ub.in, used.out-ub.out, used.encaps-ub.encaps, used.decaps-ub.decaps,
				p.other, other.in-ob.in, other.out-ob.out, other.encaps-ob.encaps, other.decaps-ob.decaps, other.inErrors, other.keyMismatch)
			decaps, otherDecaps := used.decaps-ub.decaps, other.decaps-ob.decaps
			if crossed {
				// Decrypted by the twin's inbound SA, delivered by key.
				decaps, otherDecaps = decaps+otherDecaps, 0
				other.decaps = ob.decaps
			}
			if used.in-ub.in < 20 || used.out-ub.out < 20 || used.encaps-ub.encaps < 20 || decaps < 20 {
				t.Errorf("%s: %s did not carry the 20 pings", r, p.tunnel)
			}
			if other != ob || otherDecaps != 0 {
				t.Errorf("%s: %s's counters moved with %s's traffic: before %+v after %+v", r, p.other, p.tunnel, ob, other)
			}
		}
	}
	for _, r := range []string{"left", "right"} {
		for _, tun := range []string{"Tunnel0", "Tunnel1"} {
			if c := trafficOf(t, l, r, tun); c.inErrors != 0 || c.keyMismatch != 0 {
				t.Errorf("%s %s: %d input errors, %d key mismatches; want none", r, tun, c.inErrors, c.keyMismatch)
			}
		}
	}
}

// TestIKEPhase1ProposalMismatch: left's isakmp policy (aes 128, group 14)
// and right's (aes 256, group 19) have nothing in common: no SA, each side
// logs which peer refused or offered what, the tunnel fails closed and no
// GRE goes in clear, both daemons keep running; once left's policy is
// fixed by a reload, the tunnel comes up.
func TestIKEPhase1ProposalMismatch(t *testing.T) {
	requireTools(t, "tcpdump", "tshark")
	mismatched := func(r lab.Router) string {
		cfg := r.Config(true)
		if r.Name == "left" {
			cfg = strings.Replace(cfg, " encr aes 256\n", " encr aes 128\n", 1)
			cfg = strings.Replace(cfg, " group 19\n", " group 14\n", 1)
		}
		return cfg
	}
	l := startLab(t, mismatched)
	waitUp(t, l)
	// Both ends initiate and both answer: each logs, naming the peer, the
	// refusal of its own Main Mode (NO-PROPOSAL-CHOSEN) and what the peer
	// offered that it could not accept. A first message can go before the
	// peer's daemon listens: the retransmission comes 2 s later.
	peers := map[string]string{"left": "192.0.2.2", "right": "192.0.2.1"}
	kinds := []string{"NO-PROPOSAL-CHOSEN", "no acceptable phase 1 proposal"}
	lines := map[string][]string{}
	mismatchLogged := func() bool {
		all := true
		for r, peer := range peers {
			lines[r] = nil
			log := l.Log(r)
			for _, kind := range kinds {
				i := slices.IndexFunc(log, func(ln string) bool { return strings.Contains(ln, "peer "+peer) && strings.Contains(ln, kind) })
				if i < 0 {
					all = false
					continue
				}
				lines[r] = append(lines[r], log[i])
			}
		}
		return all
	}
	for end := time.Now().Add(15 * time.Second); !mismatchLogged() && time.Now().Before(end); {
		time.Sleep(200 * time.Millisecond)
	}
	for _, r := range []string{"left", "right"} {
		t.Logf("%s logged:\n%s", r, strings.Join(lines[r], "\n"))
		if len(lines[r]) != len(kinds) {
			t.Errorf("%s: want log lines naming peer %s with each of %q within 15 s", r, peers[r], kinds)
		}
	}
	noClearGRE(t, l, func() {
		pingFails(t, l, "left-host", "10.2.0.10")
	})
	for _, r := range []string{"left", "right"} {
		s := ipsecSAs(t, l, r)
		if s.OutboundSPI != 0 || len(s.Inbound) != 0 {
			t.Errorf("%s: SAs without a phase 1 in common: %+v", r, s)
		}
		if ids := establishedConnIDs(t, l, r); len(ids) != 0 {
			t.Errorf("%s: ISAKMP SAs established without a proposal in common: %v", r, ids)
		}
		if r == "left" && s.DroppedNoSA < 5 {
			t.Errorf("left: %d fail-closed drops counted for 5 pings", s.DroppedNoSA)
		}
		if _, err := l.Tunnel(r); err != nil {
			t.Errorf("%s: daemon not answering: %v", r, err)
		}
	}

	// The fix: left's policy as right's, by reload.
	if err := l.Reload("left", l.Routers()[0].Config(true)); err != nil {
		t.Fatal(err)
	}
	fixed := time.Now()
	waitFor(t, 60*time.Second, "SAs once the policies match", func() bool {
		return ipsecSAs(t, l, "left").OutboundSPI != 0 && ipsecSAs(t, l, "right").OutboundSPI != 0
	})
	t.Logf("SAs up %s after the reload that fixed the policy", time.Since(fixed).Round(100*time.Millisecond))
	run(t, l, "left-host", "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.2.0.10")
}
