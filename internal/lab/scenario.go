package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gresec/gresec/internal/control"
)

// Scenario is one of the article's situations the lab plays by name
// (`gresec lab SCENARIO`).
type Scenario struct {
	Name    string
	Summary string
	// Unavailable, when set, says why the scenario cannot run yet.
	Unavailable string
	// Options adjusts the lab for the scenario (addressing, configurations).
	Options func(*Options)
	// Run plays the scenario on a started lab and prints what happens.
	Run func(ctx context.Context, l *Lab) error
}

// Scenarios lists the scenarios in the order of the article.
func Scenarios() []Scenario {
	return []Scenario{
		{
			Name:    "link-failure",
			Summary: "a core path fails under a loopback-sourced tunnel: traffic moves to the other path, the tunnel stays up",
			Run: func(ctx context.Context, l *Lab) error {
				_, err := l.LinkFailure(ctx)
				return err
			},
		},
		{
			Name:    "dead-peer",
			Summary: "the peer dies: GRE keepalives take Tunnel0 down within period x retries (+ one period), and it comes back with the peer",
			Options: func(o *Options) { o.Config = deadPeerConfig },
			Run: func(ctx context.Context, l *Lab) error {
				_, err := l.DeadPeer(ctx)
				return err
			},
		},
		{
			Name:    "recursive-routing",
			Summary: "the peer's /24 is learned over the tunnel: recursion detected, tunnel held down, no endless flap; then the fix",
			Options: func(o *Options) {
				o.Article = true
				o.Config = recursionConfig(scenarioHoldDown)
			},
			Run: func(ctx context.Context, l *Lab) error {
				_, err := l.RecursiveRouting(ctx, 3*scenarioHoldDown, 15*time.Second, HaveFRR("ospfd"))
				return err
			},
		},
		{
			Name:    "nat",
			Summary: "NAT between the peers: NAT detected, IPsec moves to UDP 4500 (NAT-T), and follows the NAT to a new port",
			Options: func(o *Options) {
				o.NAT, o.NATPorts = true, natScenarioPorts
				o.Config = func(r Router) string { return r.Config(true) }
			},
			Run: func(ctx context.Context, l *Lab) error {
				_, err := l.NATTraversal(ctx)
				return err
			},
		},
		{
			Name:    "ikev2",
			Summary: "the reference tunnel protected with IKEv2 (crypto ikev2 proposal, policy, keyring, profile): both routers negotiate, sessions and SAs shown, LAN to LAN",
			Options: func(o *Options) { o.Config = func(r Router) string { return r.ConfigIKEv2() } },
			Run: func(ctx context.Context, l *Lab) error {
				_, err := l.IKEv2(ctx)
				return err
			},
		},
		{
			Name:    "dual-stack",
			Summary: "an IPv6-only core: GRE and IPsec over IPv6 carry IPv4 and IPv6 LAN to LAN, and survive the loss of one IPv6 core path",
			Options: func(o *Options) {
				o.IPv6Core = true
				o.Config = func(r Router) string { return r.DualStackConfig(true) }
			},
			Run: func(ctx context.Context, l *Lab) error {
				_, err := l.DualStack(ctx)
				return err
			},
		},
	}
}

// FindScenario looks a scenario up by name.
func FindScenario(name string) (Scenario, bool) {
	for _, s := range Scenarios() {
		if s.Name == name {
			return s, true
		}
	}
	return Scenario{}, false
}

// scenarioHoldDown shortens `tunnel recursion hold-down` (60 s by default)
// so that the scenario shows several cycles in half a minute.
const scenarioHoldDown = 8 * time.Second

// deadPeerConfig shortens the reference `keepalive 10 3` to 2 x 3, so that
// the peer is declared dead in seconds rather than in half a minute.
func deadPeerConfig(r Router) string {
	return strings.Replace(r.Config(false), " keepalive 10 3\n", " keepalive 2 3\n", 1)
}

// recursionConfig is the reference configuration with a shorter recursion
// hold-down (the article's addressing comes from Options.Article).
func recursionConfig(holdDown time.Duration) func(Router) string {
	return func(r Router) string {
		return strings.Replace(r.Config(false), " keepalive 10 3\n",
			fmt.Sprintf(" keepalive 10 3\n tunnel recursion hold-down %d\n", int(holdDown.Seconds())), 1)
	}
}

// Reload replaces a router's configuration file and has its daemon
// reload it.
func (l *Lab) Reload(router, text string) error {
	if err := os.WriteFile(l.ConfigPath(router), []byte(text), 0o600); err != nil {
		return err
	}
	rep, err := control.Call(l.Socket(router), []string{"reload"})
	if err != nil {
		return err
	}
	if rep.Error != "" {
		return fmt.Errorf("%s: reload: %s: %s", router, rep.Error, strings.Join(rep.Problems, "; "))
	}
	return nil
}

// UnderlayPath is the core link a router's tunnel underlay leaves by now:
// the kernel's choice among the equal-cost routes for the loopback pair.
func (l *Lab) UnderlayPath(ctx context.Context, router string) (CoreLink, error) {
	var me Router
	for _, r := range l.Routers() {
		if r.Name == router {
			me = r
		}
	}
	out, err := l.Exec(ctx, router, "ip", "route", "get", me.Peer, "from", me.Loopback)
	if err != nil {
		return CoreLink{}, fmt.Errorf("%s: ip route get %s: %v: %s", router, me.Peer, err, out)
	}
	for _, c := range me.Core {
		if strings.Contains(out, " dev "+c.Dev+" ") {
			return c, nil
		}
	}
	return CoreLink{}, fmt.Errorf("%s: the route to %s leaves by no core link: %s", router, me.Peer, strings.TrimSpace(out))
}

// FailCore takes a core node's links down (down=true), so that both
// routers lose carrier on their links to it, as when the core router dies;
// down=false repairs it.
func (l *Lab) FailCore(core string, down bool) error {
	state := "up"
	if down {
		state = "down"
	}
	for _, r := range l.Routers() {
		for _, c := range r.Core {
			if c.CoreNS == core {
				if err := l.ip(l.NS(core), "link", "set", c.CoreDev, state); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// PingResult is the summary line of ping.
type PingResult struct {
	Sent, Received int
}

// Loss is the fraction of packets lost.
func (p PingResult) Loss() float64 {
	if p.Sent == 0 {
		return 0
	}
	return float64(p.Sent-p.Received) / float64(p.Sent)
}

var pingSummary = regexp.MustCompile(`(\d+) packets transmitted, (\d+) (?:packets )?received`)

// ParsePing reads ping's summary.
func ParsePing(out string) (PingResult, error) {
	m := pingSummary.FindStringSubmatch(out)
	if m == nil {
		return PingResult{}, fmt.Errorf("no ping summary in %q", out)
	}
	sent, _ := strconv.Atoi(m[1])
	recv, _ := strconv.Atoi(m[2])
	return PingResult{Sent: sent, Received: recv}, nil
}

// LogTime is the time stamp that starts a daemon's log line.
func LogTime(line string) (time.Time, bool) {
	f, _, _ := strings.Cut(line, " ")
	t, err := time.Parse("2006-01-02T15:04:05.000Z", f)
	return t, err == nil
}

// LogSince returns the lines of a router's log from index from on that
// contain substr.
func (l *Lab) LogSince(router string, from int, substr string) []string {
	var out []string
	lines := l.Log(router)
	for _, ln := range lines[min(from, len(lines)):] {
		if strings.Contains(ln, substr) {
			out = append(out, ln)
		}
	}
	return out
}

const lineProtoDown = "%LINEPROTO-5-UPDOWN: Line protocol on Interface Tunnel0, changed state to down"

// LinkFailureResult is what LinkFailure measured.
type LinkFailureResult struct {
	// Before and After are the core links left's underlay used.
	Before, After CoreLink
	Ping          PingResult
	// LineProtoDowns counts Tunnel0 line protocol downs on either router
	// during the failure (the article's point: there should be none).
	LineProtoDowns int
}

// LinkFailure fails the core path left's tunnel underlay uses, in the middle
// of a fast LAN-to-LAN ping (200 packets a second for 5 s), and reports
// where the underlay went, the loss, and whether the tunnel went down.
func (l *Lab) LinkFailure(ctx context.Context) (LinkFailureResult, error) {
	var res LinkFailureResult
	left, right := l.Routers()[0], l.Routers()[1]
	for _, r := range []string{"left", "right"} {
		if _, err := l.WaitLineProtocol(ctx, r, "up", 30*time.Second); err != nil {
			return res, err
		}
	}
	var err error
	if res.Before, err = l.UnderlayPath(ctx, "left"); err != nil {
		return res, err
	}
	l.printf("\n== Link failure (article, tip #1: use loopback interfaces)\n")
	l.printf("Tunnel0 runs from Loopback0 %s to %s; equal-cost static routes offer both core paths.\n", left.Loopback, left.Peer)
	l.printf("left's underlay leaves now through %s (%s).\n", res.Before.Dev, res.Before.CoreNS)
	marks := map[string]int{"left": len(l.Log("left")), "right": len(l.Log("right"))}

	l.printf("left-host pings right-host %s, 1000 packets at 200 a second; after 1.5 s %s fails (both its links lose carrier).\n", right.LANHost, res.Before.CoreNS)
	ping := exec.CommandContext(ctx, "ip", "netns", "exec", l.NS("left-host"), "ping", "-q", "-i", "0.005", "-c", "1000", "-W", "1", right.LANHost)
	var out strings.Builder
	ping.Stdout, ping.Stderr = &out, &out
	if err := ping.Start(); err != nil {
		return res, err
	}
	time.Sleep(1500 * time.Millisecond)
	failErr := l.FailCore(res.Before.CoreNS, true)
	l.printf("%s failed.\n", res.Before.CoreNS)
	werr := ping.Wait()
	if failErr != nil {
		return res, failErr
	}
	if res.Ping, err = ParsePing(out.String()); err != nil {
		return res, errors.Join(werr, err)
	}
	if res.After, err = l.UnderlayPath(ctx, "left"); err != nil {
		return res, err
	}
	for r, from := range marks {
		res.LineProtoDowns += len(l.LogSince(r, from, lineProtoDown))
	}
	lost := res.Ping.Sent - res.Ping.Received
	l.printf("\nping: %d sent, %d received, %d lost (%.1f%%, about %d ms of traffic at 200 packets a second).\n",
		res.Ping.Sent, res.Ping.Received, lost, 100*res.Ping.Loss(), lost*5)
	l.printf("left's underlay now leaves through %s (%s).\n", res.After.Dev, res.After.CoreNS)
	for _, r := range []string{"left", "right"} {
		ti, err := l.Tunnel(r)
		if err != nil {
			return res, err
		}
		l.printf("%s: Tunnel0 is %s, line protocol is %s.\n", r, ti.Status, ti.LineProtocol)
	}
	if res.LineProtoDowns == 0 {
		l.printf("The line protocol never went down: a loopback does not fail with a physical path, and the kernel moved the\n" +
			"underlay to the surviving equal-cost route.\n")
	} else {
		l.printf("The line protocol went down %d times during the failure.\n", res.LineProtoDowns)
	}
	return res, nil
}

// DeadPeerResult is what DeadPeer measured.
type DeadPeerResult struct {
	// Limit is period x retries plus one period: when keepalives must have
	// declared the peer dead.
	Limit time.Duration
	// Down is how long after the peer stopped left's line protocol went
	// down; Up how long after the peer started again it came back.
	Down, Up time.Duration
	// Withdrawn says the static route into the tunnel was gone while down.
	Withdrawn bool
}

// DeadPeer stops right's daemon and times how GRE keepalives take left's
// Tunnel0 down and, once right runs again, up.
func (l *Lab) DeadPeer(ctx context.Context) (DeadPeerResult, error) {
	var res DeadPeerResult
	for _, r := range []string{"left", "right"} {
		if _, err := l.WaitLineProtocol(ctx, r, "up", 30*time.Second); err != nil {
			return res, err
		}
	}
	ti, err := l.Tunnel("left")
	if err != nil {
		return res, err
	}
	if ti.Tunnel == nil || ti.Tunnel.Keepalive == nil {
		return res, errors.New("left: Tunnel0 has no keepalive configured")
	}
	ka := ti.Tunnel.Keepalive
	period := time.Duration(ka.Period) * time.Second
	res.Limit = period*time.Duration(ka.Retries) + period
	right := l.Routers()[1]
	peerLAN := prefixOfMask(l.Routers()[0].PeerLAN)

	l.printf("\n== Dead peer (article, tip #3: configure keepalives)\n")
	l.printf("left sends a GRE keepalive every %d s and gives up after %d missed; nothing else tells a stateless GRE tunnel that\n"+
		"its peer is gone.\n", ka.Period, ka.Retries)
	start := time.Now()
	stamp := func() string { return fmt.Sprintf("t+%4.1fs", time.Since(start).Seconds()) }
	l.StopDaemon("right")
	l.printf("%s  right's gresec stopped: the peer is dead, its address still routed (traffic into Tunnel0 is black-holed).\n", stamp())
	down, err := l.WaitLineProtocol(ctx, "left", "down", res.Limit+10*time.Second)
	if err != nil {
		return res, err
	}
	res.Down = time.Since(start)
	l.printf("%s  left: Tunnel0 line protocol down (%s); limit period x retries + 1 period = %s.\n", stamp(), down.DownReason, res.Limit)
	route, _ := l.Exec(ctx, "left", "ip", "route", "show", peerLAN)
	res.Withdrawn = !strings.Contains(route, "Tunnel0")
	if res.Withdrawn {
		l.printf("%s  left: the static route %s via Tunnel0 is withdrawn (a floating static or the IGP could take over).\n", stamp(), peerLAN)
	}
	if err := l.StartDaemon(ctx, "right"); err != nil {
		return res, err
	}
	restart := time.Now()
	l.printf("%s  right's gresec started again.\n", stamp())
	if _, err := l.WaitLineProtocol(ctx, "left", "up", 30*time.Second); err != nil {
		return res, err
	}
	res.Up = time.Since(restart)
	l.printf("%s  left: Tunnel0 line protocol up again, %.1f s after the peer returned (its next keepalive was answered).\n", stamp(), res.Up.Seconds())
	if _, err := l.WaitLineProtocol(ctx, "right", "up", 30*time.Second); err != nil {
		return res, err
	}
	out, err := l.Exec(ctx, "left-host", "ping", "-c", "3", "-i", "0.2", "-W", "2", right.LANHost)
	if err != nil {
		return res, fmt.Errorf("LAN-to-LAN ping after the peer returned: %v\n%s", err, out)
	}
	l.printf("%s  LAN to LAN works again (3 pings answered).\n", stamp())
	l.printf("On a protected tunnel, IKE's dead peer detection (crypto isakmp keepalive) notices too.\n")
	return res, nil
}

// prefixOfMask turns "10.2.0.0 255.255.0.0" into "10.2.0.0/16".
func prefixOfMask(s string) string {
	addr, mask, ok := strings.Cut(s, " ")
	if !ok {
		return s
	}
	bits := 0
	for _, part := range strings.Split(mask, ".") {
		n, _ := strconv.Atoi(part)
		for ; n > 0; n = (n << 1) & 0xff {
			bits++
		}
	}
	return fmt.Sprintf("%s/%d", addr, bits)
}

// RecursionResult is what RecursiveRouting observed.
type RecursionResult struct {
	// FRR is set when OSPF ran; otherwise a kernel route stood in for it.
	FRR      bool
	HoldDown time.Duration
	Window   time.Duration
	// Detections are the times of %TUN-5-RECURDOWN on left in the window.
	Detections []time.Time
	// Adjacencies counts OSPF adjacencies reaching Full in the window.
	Adjacencies int
	// StableDowns counts line protocol downs after the fix (want none).
	StableDowns int
	// FixedFull says the adjacency was Full at the end of the stable watch.
	FixedFull bool
}

// RecursiveRouting plays the article's recursive routing on a lab built
// with Options.Article: right advertises 172.16.1.0/24 (holding its real
// address) over the tunnel with FRR's OSPF (withFRR) — or a kernel route
// in left stands for it. It watches the detection and the hold-downs for
// window, then applies `tunnel route-via` on left and watches for stable.
func (l *Lab) RecursiveRouting(ctx context.Context, window, stable time.Duration, withFRR bool) (RecursionResult, error) {
	res := RecursionResult{FRR: withFRR, Window: window}
	left, right := l.Routers()[0], l.Routers()[1]
	if _, err := l.WaitLineProtocol(ctx, "left", "up", 30*time.Second); err != nil {
		return res, err
	}
	ti, err := l.Tunnel("left")
	if err != nil {
		return res, err
	}
	res.HoldDown = time.Duration(ti.Tunnel.HoldDown) * time.Second
	l.printf("\n== Recursive routing (article: \"Recursive Routing\")\n")
	l.printf("right's real address %s lies in 172.16.0.0/16, which left reaches through the core: %s.\n",
		left.Peer, fmt.Sprintf("%s (%s) via %s", ti.Tunnel.UnderlayPrefix, ti.Tunnel.UnderlayProtocol, ti.Tunnel.UnderlayDevice))
	mark := len(l.Log("left"))
	start := time.Now()
	if res.FRR {
		l.printf("OSPF (FRR) over Tunnel0, point-to-point, hello 1 s, dead 4 s; right advertises 172.16.1.0/24, the /24 holding\n" +
			"its real address. For left that is a longer match than the /16 through the core.\n")
		for _, r := range []Router{left, right} {
			if err := l.StartFRR(r.Name, map[string]string{"ospfd": OSPFConfig(r)}); err != nil {
				return res, err
			}
		}
	} else {
		l.printf("Without FRR, a kernel route in left stands for the /24 OSPF would learn over the tunnel (simulated):\n" +
			"  ip route add 172.16.1.0/24 dev Tunnel0\n")
		if err := l.ip(l.NS("left"), "route", "add", "172.16.1.0/24", "dev", "Tunnel0"); err != nil {
			return res, err
		}
	}
	l.printf("Watching for %s (hold-down %s)...\n", window, res.HoldDown)
	if err := sleepCtx(ctx, window); err != nil {
		return res, err
	}
	for _, ln := range l.LogSince("left", mark, "%TUN-5-RECURDOWN") {
		if t, ok := LogTime(ln); ok {
			res.Detections = append(res.Detections, t)
		}
	}
	if res.FRR {
		res.Adjacencies = strings.Count(l.FRRLog("left", "ospfd"), "-> Full")
	}
	var at []string
	for _, t := range res.Detections {
		at = append(at, fmt.Sprintf("+%.1f s", t.Sub(start).Seconds()))
	}
	bound := int(window/res.HoldDown) + 1
	l.printf("\nIn %s: recursion detected %d times (at %s), at most %d possible with a %s hold-down.\n",
		window, len(res.Detections), strings.Join(at, ", "), bound, res.HoldDown)
	if res.FRR {
		l.printf("Each time: %%TUN-5-RECURDOWN and Tunnel0 down for the hold-down, so OSPF lost the tunnel and the /24 with it,\n" +
			"and the underlay went back to the core; then a retry.\n")
		l.printf("The OSPF adjacency reached Full %d times: one per hold-down at most, where the article's loop flaps as fast as\n"+
			"OSPF reconverges, for ever.\n", res.Adjacencies)
	} else {
		l.printf("Each time: %%TUN-5-RECURDOWN and Tunnel0 down for the hold-down; the kernel ignores routes through a tunnel\n" +
			"whose line protocol is down, so the underlay went back to the core; then a retry.\n")
		l.printf("The simulated route never goes away (as with RIP, where the protocol alone never recovers): gresec retries once\n" +
			"per hold-down and never loops.\n")
	}
	l.printf("GRE that would re-enter Tunnel0 in the moment before detection is dropped and counted, never looped.\n")

	l.printf("\n== The fix: tunnel route-via %s mandatory on left\n", left.Core[0].Dev)
	fixed := strings.Replace(recursionConfig(res.HoldDown)(left), " tunnel source Loopback0\n",
		fmt.Sprintf(" tunnel source Loopback0\n tunnel route-via %s mandatory\n", left.Core[0].Dev), 1)
	if err := l.Reload("left", fixed); err != nil {
		return res, err
	}
	// The hold-down that is running finishes first.
	if _, err := l.WaitLineProtocol(ctx, "left", "up", res.HoldDown+15*time.Second); err != nil {
		return res, err
	}
	if res.FRR {
		if err := l.waitOSPFFull(ctx, "left", 20*time.Second); err != nil {
			return res, err
		}
	}
	rules, _ := l.Exec(ctx, "left", "ip", "rule", "show")
	table, _ := l.Exec(ctx, "left", "ip", "route", "show", "table", "all", "proto", "47", "172.16.1.1")
	l.printf("gresec marks Tunnel0's underlay sockets and pins the mark to %s, failing closed otherwise:\n%s%s",
		left.Core[0].Dev, indent(grepLines(rules, "fwmark")), indent(table))
	stableMark := len(l.Log("left"))
	l.printf("Watching for %s...\n", stable)
	if err := sleepCtx(ctx, stable); err != nil {
		return res, err
	}
	res.StableDowns = len(l.LogSince("left", stableMark, lineProtoDown))
	route, _ := l.Exec(ctx, "left", "ip", "route", "show", "172.16.1.0/24")
	l.printf("left still routes the /24 over the tunnel, but not its underlay:\n%s", indent(route))
	if res.FRR {
		nbr, _ := l.Vtysh("left", "show ip ospf neighbor")
		res.FixedFull = strings.Contains(nbr, "Full")
		l.printf("OSPF neighbor on left:\n%s", indent(nbr))
	}
	out, err := l.Exec(ctx, "left-host", "ping", "-c", "3", "-i", "0.2", "-W", "2", right.LANHost)
	if err != nil {
		return res, fmt.Errorf("LAN-to-LAN ping with route-via: %v\n%s", err, out)
	}
	l.printf("Tunnel0 stayed up for %s (%d line protocol downs) and LAN to LAN works across it.\n", stable, res.StableDowns)
	return res, nil
}

// waitOSPFFull waits until a router's OSPF neighbor on Tunnel0 is Full.
func (l *Lab) waitOSPFFull(ctx context.Context, router string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		out, _ := l.Vtysh(router, "show ip ospf neighbor")
		if strings.Contains(out, "Full") {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: OSPF adjacency not Full after %s:\n%s", router, timeout, out)
		}
		if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

func grepLines(text, substr string) string {
	var b strings.Builder
	for _, ln := range strings.Split(text, "\n") {
		if strings.Contains(ln, substr) {
			b.WriteString(ln + "\n")
		}
	}
	return b.String()
}

func indent(text string) string {
	var b strings.Builder
	for _, ln := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		b.WriteString("  " + ln + "\n")
	}
	return b.String()
}
