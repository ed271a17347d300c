package e2e

// Issue 11, targets 1, 2 and 4: one hub daemon with N point-to-point
// tunnels from one Loopback0. Two namespaces joined by a veth: the hub, and
// one spoke whose own gresec daemon mirrors tunnels 1 and 2 (so that
// traffic crosses them); every other tunnel's destination is routed to a
// next hop nobody answers, which is enough for the line protocol of a
// tunnel without keepalives.
//
//	hub:   Loopback0 10.255.255.1, hub0 10.254.0.1/24, TunnelI 172.16.x.y/31
//	       ip route 10.128.0.0/24 via 10.254.0.2 (the spoke)
//	       ip route 10.128.0.0/9 via 10.254.0.254 (nobody)
//	spoke: Loopback0 10.128.0.1, Loopback1 10.128.0.2, sp0 10.254.0.2/24,
//	       Tunnel1 and Tunnel2 to 10.255.255.1

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// hubOptions say what one hub run measures.
type hubOptions struct {
	n       int
	timeout time.Duration // for all N to come up
	idle    time.Duration // the idle CPU window
	shows   int           // `show ip interface brief` runs timed
	reload  bool          // the reload of one tunnel under traffic
	// iperfRuns of iperfSeconds through tunnel 1, and the same through a
	// single-tunnel daemon (target 4); 0 runs: none.
	iperfRuns, iperfSeconds int
	// single also runs a daemon with tunnel 1 only first, for the
	// per-tunnel cost (set when iperfRuns is).
	single   bool
	maxRSSKB int
	logf     func(format string, args ...any)
}

// hubResult is what one hub run measured.
type hubResult struct {
	n     int
	setup string // the setup itself failed (not a figure)

	allUp     bool
	upAfter   time.Duration // show saw all N up/up
	upCount   int           // up/up at the last look
	notUp     string        // why not all came up, or why the daemon is gone
	lastLogUp time.Duration // the last "%LINEPROTO ... up" line arrived

	atUp    scaleProc // when all were up
	settled scaleProc // after the idle window
	idleCPU float64   // % of one core over the idle window; NaN: not measured

	show      spreadDur
	showLines int // tunnels in the output

	reload *reloadResult

	single       *scaleProc // the single-tunnel daemon, settled
	singleIdle   float64    // its idle CPU, % of one core
	tputN, tput1 spread     // Gbit/s through tunnel 1 of N, of 1
	tputErr      string

	stop time.Duration // SIGTERM until it exited (SIGKILL after 30 s)
}

// stopTimed stops a daemon and says how long it took.
func stopTimed(d *scaleDaemon) time.Duration {
	start := time.Now()
	d.stop()
	return time.Since(start)
}

type spreadDur struct{ min, med, max time.Duration }

func spreadDurOf(v []time.Duration) spreadDur {
	if len(v) == 0 {
		return spreadDur{-1, -1, -1}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return spreadDur{s[0], s[len(s)/2], s[len(s)-1]}
}

// reloadResult is the reload of tunnel 3 (description, then tunnel key)
// while pings cross tunnels 1 and 2.
type reloadResult struct {
	sent, lost [2]int
	took       [2]time.Duration // reload commands: description, key
	recreated  int              // other tunnels whose Linux device changed
	flaps      int              // line protocol changes logged for other tunnels
	applied    bool             // tunnel 3 shows the new description and key
	err        string
}

const (
	hubNS, spokeNS   = "hub", "spoke"
	reloadTunnel     = 3
	reloadDesc       = "changed by the scale reload test"
	reloadKey        = 3333
	singleTunnelPeer = "172.16.0.1"
)

// hubConfig is the hub's configuration with n tunnels; tunnel 3 gets the
// description and key given (the reload test).
func hubConfig(n int, desc string, key uint32) string {
	c := scaleConfig{hostname: "hub", loopbacks: []netip.Addr{scaleHubLoopback}, link: "hub0", linkAddr: scaleHubLink, linkMask: "255.255.255.0",
		routes: []string{
			fmt.Sprintf("%s 255.255.255.0 %s", scaleSpokeBase, scaleHubNextHop),
			fmt.Sprintf("%s 255.128.0.0 %s", scaleSpokeBase, scaleVoidNextHop),
		}}
	for i := 1; i <= n; i++ {
		hub, _ := scaleTunnelAddrs(i)
		dest := addrAdd(scaleVoidBase, i)
		if i <= 2 {
			dest = addrAdd(scaleSpokeBase, i)
		}
		t := scaleTunnel{num: i, addr: hub, dest: dest, source: "Loopback0"}
		if i == reloadTunnel {
			t.description, t.key = desc, key
		}
		c.tunnels = append(c.tunnels, t)
	}
	return c.String()
}

// hubSpokeConfig mirrors the hub's tunnels 1 and 2, each from a loopback
// of its own.
func hubSpokeConfig() string {
	c := scaleConfig{hostname: "spoke", link: "sp0", linkAddr: scaleHubNextHop, linkMask: "255.255.255.0",
		routes: []string{fmt.Sprintf("%s 255.255.255.255 %s", scaleHubLoopback, scaleHubLink)}}
	for i := 1; i <= 2; i++ {
		c.loopbacks = append(c.loopbacks, addrAdd(scaleSpokeBase, i))
		_, peer := scaleTunnelAddrs(i)
		c.tunnels = append(c.tunnels, scaleTunnel{num: i, addr: peer, dest: scaleHubLoopback, source: fmt.Sprintf("Loopback%d", i-1)})
	}
	return c.String()
}

// runHub builds the two namespaces, runs the measurement and removes
// everything again.
func runHub(tb testing.TB, o hubOptions) hubResult {
	res := hubResult{n: o.n, idleCPU: math.NaN(), show: spreadDur{-1, -1, -1}}
	var cl cleanups
	defer cl.run()
	net := newScaleNet(&cl)
	if err := net.add(hubNS, spokeNS); err != nil {
		res.setup = err.Error()
		return res
	}
	if err := ipBatch("", []string{fmt.Sprintf("link add hub0 netns %s type veth peer name sp0 netns %s", net.ns(hubNS), net.ns(spokeNS))}); err != nil {
		res.setup = err.Error()
		return res
	}
	for ns, dev := range map[string]string{hubNS: "hub0", spokeNS: "sp0"} {
		if err := ipBatch(net.ns(ns), []string{"link set " + dev + " up"}); err != nil {
			res.setup = err.Error()
			return res
		}
	}
	dir := tb.TempDir()
	spoke, err := startScaleDaemon(&cl, dir, net.ns(spokeNS), "spoke", hubSpokeConfig(), scaleDaemonOptions{})
	if err == nil {
		err = spoke.waitSocket(10 * time.Second)
	}
	if err != nil {
		res.setup = err.Error()
		return res
	}
	hubOpts := scaleDaemonOptions{maxRSSKB: o.maxRSSKB}

	if o.single {
		o.logf("hub: a daemon with tunnel 1 only (the baseline)")
		single, idle, tput, err := runSingleTunnel(tb, net, dir, hubOpts, o)
		if err != nil {
			res.setup = "single-tunnel daemon: " + err.Error()
			return res
		}
		res.single, res.singleIdle, res.tput1 = &single, idle, tput
	}

	o.logf("hub: %d tunnels", o.n)
	hub, err := startScaleDaemon(&cl, dir, net.ns(hubNS), fmt.Sprintf("hub%d", o.n), hubConfig(o.n, "", 0), hubOpts)
	if err != nil {
		res.setup = err.Error()
		return res
	}
	res.waitAllUp(hub, net, o)
	if res.allUp {
		o.logf("hub: all %d up/up after %s; idle for %s", o.n, res.upAfter.Round(10*time.Millisecond), o.idle)
		time.Sleep(2 * time.Second) // let the start-up's garbage go
		p0, err0 := readScaleProc(hub.pid())
		time.Sleep(o.idle)
		p1, err1 := readScaleProc(hub.pid())
		if err0 == nil && err1 == nil {
			res.idleCPU = 100 * float64(p1.cpu-p0.cpu) / float64(o.idle)
			res.settled = p1
		}
	} else if p, err := readScaleProc(hub.pid()); err == nil {
		res.settled = p
	}
	if !res.allUp {
		// Shows, reload and traffic need a daemon that came up.
		res.stop = stopTimed(hub)
		return res
	}
	var shows []time.Duration
	for range o.shows {
		ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
		out, took, err := hub.show(ctx, "ip", "interface", "brief")
		cancel()
		if err != nil {
			o.logf("hub: %v", err)
			break
		}
		shows = append(shows, took)
		_, res.showLines = countUpTunnels(out)
	}
	res.show = spreadDurOf(shows)
	if len(shows) > 0 {
		o.logf("hub: show ip interface brief median %s", res.show.med.Round(time.Millisecond))
	}

	if o.reload && o.n >= reloadTunnel {
		r := reloadUnderTraffic(net, hub, o)
		res.reload = &r
	}
	if o.iperfRuns > 0 {
		res.tputN, err = iperfRuns(tb, net, o)
		if err != nil {
			res.tputErr = err.Error()
		}
	}
	if hub.alive() != nil && res.notUp == "" {
		res.notUp = hub.alive().Error()
	}
	res.stop = stopTimed(hub)
	o.logf("hub: stopped in %s", res.stop.Round(100*time.Millisecond))
	return res
}

// waitAllUp polls `show ip interface brief` until all tunnels are up/up,
// the daemon is gone, or the time is up.
func (res *hubResult) waitAllUp(hub *scaleDaemon, net *scaleNet, o hubOptions) {
	deadline := hub.started.Add(o.timeout)
	lastLog := time.Now()
	showState := "show never answered"
	for {
		if err := hub.alive(); err != nil {
			res.notUp = err.Error()
			break
		}
		remaining := time.Until(deadline)
		if remaining <= 0 {
			devs, carrier := linuxTunnels(net.ns(hubNS))
			res.notUp = fmt.Sprintf("did not come up in %s: %s; in Linux %d Tunnel devices, %d with carrier",
				o.timeout, showState, devs, carrier)
			break
		}
		ctx, cancel := context.WithTimeout(context.Background(), remaining)
		out, _, err := hub.show(ctx, "ip", "interface", "brief")
		cutOff := ctx.Err() != nil
		cancel()
		if err == nil {
			res.upCount, _ = countUpTunnels(out)
			showState = fmt.Sprintf("%d of %d up/up at the last show", res.upCount, o.n)
			if res.upCount == o.n {
				res.allUp, res.upAfter = true, time.Since(hub.started)
				if p, err := readScaleProc(hub.pid()); err == nil {
					res.atUp = p
				}
				break
			}
		} else if res.upCount == 0 {
			why := lastWords(err.Error())
			if cutOff {
				why = "the last one was still waiting at the cut-off"
			}
			showState = "show never answered (" + why + ")"
		}
		if time.Since(lastLog) > 10*time.Second {
			p, _ := readScaleProc(hub.pid())
			devs, carrier := linuxTunnels(net.ns(hubNS))
			o.logf("hub: %s after start: %s; %d Tunnel devices, %d with carrier; RSS %s",
				time.Since(hub.started).Round(time.Second), showState, devs, carrier, mb(p.rssKB))
			lastLog = time.Now()
		}
		time.Sleep(100 * time.Millisecond)
	}
	ups := hub.log.since(0, "changed state to up")
	if len(ups) >= o.n {
		res.lastLogUp = ups[len(ups)-1].at.Sub(hub.started)
	}
}

// lastWords is the end of an error message after its last ": ".
func lastWords(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}

// linuxTunnels counts the Tunnel devices in ns and those with carrier
// (gresec shows a tunnel's line protocol to Linux as its carrier).
func linuxTunnels(ns string) (devices, carrier int) {
	out, err := exec.Command("ip", "-n", ns, "-o", "link", "show").Output()
	if err != nil {
		return 0, 0
	}
	for _, ln := range strings.Split(string(out), "\n") {
		f := strings.Fields(ln)
		if len(f) < 3 || !strings.HasPrefix(f[1], "Tunnel") {
			continue
		}
		devices++
		if strings.Contains(f[2], "LOWER_UP") {
			carrier++
		}
	}
	return devices, carrier
}

// runSingleTunnel runs the hub with tunnel 1 only: its settled figures,
// its idle CPU, and the throughput through it; it is stopped before
// returning.
func runSingleTunnel(tb testing.TB, net *scaleNet, dir string, hubOpts scaleDaemonOptions, o hubOptions) (scaleProc, float64, spread, error) {
	var inner cleanups
	defer inner.run()
	idle := math.NaN()
	d, err := startScaleDaemon(&inner, dir, net.ns(hubNS), "hub1", hubConfig(1, "", 0), hubOpts)
	if err == nil {
		err = d.waitSocket(30 * time.Second)
	}
	if err != nil {
		return scaleProc{}, idle, spread{}, err
	}
	if err := waitPingFrom(net.ns(hubNS), singleTunnelPeer, 30*time.Second); err != nil {
		return scaleProc{}, idle, spread{}, fmt.Errorf("tunnel 1: %v; log:\n%s", err, d.log.tail(20))
	}
	time.Sleep(2 * time.Second)
	p0, err := readScaleProc(d.pid())
	if err != nil {
		return p0, idle, spread{}, err
	}
	time.Sleep(o.idle)
	p, err := readScaleProc(d.pid())
	if err != nil {
		return p, idle, spread{}, err
	}
	idle = 100 * float64(p.cpu-p0.cpu) / float64(o.idle)
	var s spread
	if o.iperfRuns > 0 {
		if s, err = iperfRuns(tb, net, o); err != nil {
			return p, idle, s, err
		}
	}
	return p, idle, s, nil
}

// iperfRuns: one iperf3 TCP stream hub -> spoke through tunnel 1, several
// runs; Gbit/s.
func iperfRuns(_ testing.TB, net *scaleNet, o hubOptions) (spread, error) {
	if err := waitPingFrom(net.ns(hubNS), singleTunnelPeer, 20*time.Second); err != nil {
		return spread{math.NaN(), math.NaN(), math.NaN()}, fmt.Errorf("tunnel 1: %v", err)
	}
	var g []float64
	for range o.iperfRuns {
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(o.iperfSeconds+30)*time.Second)
		r, err := iperfPair(ctx, net.ns(hubNS), net.ns(spokeNS), singleTunnelPeer, "", iperfLoad{seconds: o.iperfSeconds})
		cancel()
		if err != nil {
			return spreadOf(g), err
		}
		g = append(g, r.gbps)
	}
	return spreadOf(g), nil
}

// tunnelDevices maps each Tunnel device in ns to its ifindex.
func tunnelDevices(ns string) (map[string]string, error) {
	out, err := exec.Command("ip", "-n", ns, "-o", "link", "show").Output()
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, ln := range strings.Split(string(out), "\n") {
		f := strings.Fields(ln)
		if len(f) < 2 {
			continue
		}
		name := strings.TrimSuffix(f[1], ":")
		if strings.HasPrefix(name, "Tunnel") {
			m[name] = strings.TrimSuffix(f[0], ":")
		}
	}
	return m, nil
}

// reloadUnderTraffic: pings every 10 ms across tunnels 1 and 2 to the
// spoke, while tunnel 3's description and then its tunnel key change by
// reload. The others must lose nothing, and keep their devices.
func reloadUnderTraffic(net *scaleNet, hub *scaleDaemon, o hubOptions) reloadResult {
	var r reloadResult
	var peers [2]string
	for i := range peers {
		_, peer := scaleTunnelAddrs(i + 1)
		peers[i] = peer.String()
		if err := waitPingFrom(net.ns(hubNS), peers[i], 20*time.Second); err != nil {
			r.err = fmt.Sprintf("tunnel %d: %v", i+1, err)
			return r
		}
	}
	before, err := tunnelDevices(net.ns(hubNS))
	if err != nil {
		r.err = err.Error()
		return r
	}
	mark := hub.log.len()
	var pings [2]*pingCount
	for i := range pings {
		if pings[i], err = startPingCount(net.ns(hubNS), peers[i], 10*time.Millisecond); err != nil {
			r.err = err.Error()
			return r
		}
	}
	time.Sleep(time.Second)
	for i, cfg := range []string{hubConfig(o.n, reloadDesc, 0), hubConfig(o.n, reloadDesc, reloadKey)} {
		r.took[i], err = hub.reload(cfg)
		if err != nil {
			r.err = err.Error()
			break
		}
		time.Sleep(time.Second)
	}
	time.Sleep(time.Second)
	for i, p := range pings {
		r.sent[i], r.lost[i] = p.stop()
	}
	after, err := tunnelDevices(net.ns(hubNS))
	if err != nil && r.err == "" {
		r.err = err.Error()
	}
	changed := fmt.Sprintf("Tunnel%d", reloadTunnel)
	for name, idx := range before {
		if name != changed && after[name] != idx {
			r.recreated++
		}
	}
	for _, ln := range hub.log.since(mark, "%LINEPROTO-5-UPDOWN") {
		if !strings.Contains(ln.text, "Interface "+changed+",") {
			r.flaps++
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	out, _, err := hub.show(ctx, "interfaces", changed)
	r.applied = err == nil && strings.Contains(out, reloadDesc) && strings.Contains(out, fmt.Sprintf("Key %d", reloadKey))
	o.logf("hub: reload under traffic: lost %d of %d and %d of %d; reloads took %s and %s",
		r.lost[0], r.sent[0], r.lost[1], r.sent[1], r.took[0].Round(time.Millisecond), r.took[1].Round(time.Millisecond))
	return r
}
