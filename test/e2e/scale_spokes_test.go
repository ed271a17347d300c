package e2e

// Issue 11, target 3: a hub with K IPsec-protected tunnels (the reference
// crypto configuration) to K gresec spokes, each spoke in its own
// namespace, all joined by a core namespace that routes between one veth
// per node (no bridge needed):
//
//	hub:     Loopback0 10.255.255.1, hub0 10.254.0.1/30 -- core c0 10.254.0.2
//	spoke i: Loopback0 10.128.0.0+i, s0 (10.253.0.0+4i)+2/30 -- core ci +1
//	core:    routes each loopback through its link
//
// Both start orders are timed from the hub's start until `show crypto
// session` on the hub has every session UP-ACTIVE. Then the IKE responder
// comparison: the same gresec spokes (a subset) initiate at once, in
// transform-set mode tunnel, towards a gresec hub and towards strongSwan's
// charon in the same namespace (kernel-libipsec: charon cannot install
// SAs here otherwise, and libipsec does tunnel mode only).

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

type spokesOptions struct {
	k        int
	timeout  time.Duration
	orders   []string // spokesFirst, hubFirst
	pings    int      // tunnels pinged at random after each run
	ikePeers int      // spokes in the responder comparison; 0: none
	maxRSSKB int
	logf     func(format string, args ...any)
}

const (
	spokesFirst = "spokes first, then the hub"
	hubFirst    = "hub first, then the spokes"
)

type spokesResult struct {
	k     int
	setup string // the setup itself failed
	build time.Duration
	runs  []sessionRun
	ike   []ikeRate
	// spokeRSS: median and total RSS of the spoke daemons in the first run.
	spokeRSS, spokesRSS int
}

// sessionRun is one start order.
type sessionRun struct {
	order     string
	allActive bool
	after     time.Duration // from the hub's start to all UP-ACTIVE
	// afterSpokes is from the last spoke's start (hub first: the spokes
	// start after the hub, and starting K processes takes a while).
	afterSpokes time.Duration
	spokesStart time.Duration // starting all spoke processes took
	active      int
	notActive   string
	hub         scaleProc // at all active (or at the end)
	hubCPU      time.Duration
	// asResponder and asInitiator count the hub's ISAKMP SAs by role.
	asResponder, asInitiator int
	pingsOK, pings           int
}

// ikeRate is one responder's figures in the comparison.
type ikeRate struct {
	responder   string
	peers       int
	established int
	all         bool
	after       time.Duration // from the first spoke's start
	spokesStart time.Duration
	cpu         time.Duration // the responder's CPU over that time
	rssKB       int
	asResponder int // gresec: ISAKMP SAs it completed as responder
	note        string
}

func spokeLoopback(i int) string { return addrAdd(scaleSpokeBase, i).String() }

// spokeLink is spoke i's /30 to the core: the core's end, the spoke's.
func spokeLink(i int) (core, spoke string) {
	base := addrAdd(scaleCoreLinks, 4*i)
	return addrAdd(base, 1).String(), addrAdd(base, 2).String()
}

func spokesHubConfig(k int, mode string) string {
	c := scaleConfig{hostname: "hub", loopbacks: []netip.Addr{scaleHubLoopback}, link: "hub0", linkAddr: scaleHubLink,
		linkMask: "255.255.255.252", protect: mode,
		routes: []string{fmt.Sprintf("%s 255.128.0.0 %s", scaleSpokeBase, scaleHubNextHop)}}
	for i := 1; i <= k; i++ {
		hub, _ := scaleTunnelAddrs(i)
		c.tunnels = append(c.tunnels, scaleTunnel{num: i, addr: hub, dest: addrAdd(scaleSpokeBase, i), source: "Loopback0"})
	}
	return c.String()
}

func spokeConfig(i int, mode string) string {
	core, spoke := spokeLink(i)
	_, peer := scaleTunnelAddrs(i)
	c := scaleConfig{hostname: fmt.Sprintf("spoke%d", i), loopbacks: []netip.Addr{addrAdd(scaleSpokeBase, i)},
		link: "s0", linkAddr: netip.MustParseAddr(spoke), linkMask: "255.255.255.252", protect: mode,
		tunnels: []scaleTunnel{{num: 0, addr: peer, dest: scaleHubLoopback, source: "Loopback0"}},
		routes:  []string{fmt.Sprintf("%s 255.255.255.255 %s", scaleHubLoopback, core)}}
	return c.String()
}

// spokesNet is the built topology of one spokes setup.
type spokesNet struct {
	net *scaleNet
	k   int
	dir string
}

func (s spokesNet) spokeNS(i int) string { return s.net.ns(fmt.Sprintf("s%d", i)) }

func buildSpokesNet(cl *cleanups, dir string, k int) (spokesNet, error) {
	s := spokesNet{net: newScaleNet(cl), k: k, dir: dir}
	nodes := []string{hubNS, "core"}
	for i := 1; i <= k; i++ {
		nodes = append(nodes, fmt.Sprintf("s%d", i))
	}
	if err := s.net.add(nodes...); err != nil {
		return s, err
	}
	core := s.net.ns("core")
	links := []string{fmt.Sprintf("link add hub0 netns %s type veth peer name c0 netns %s", s.net.ns(hubNS), core)}
	coreCmds := []string{"link set c0 up", fmt.Sprintf("addr add %s/30 dev c0", scaleHubNextHop),
		fmt.Sprintf("route add %s/32 via %s", scaleHubLoopback, scaleHubLink)}
	for i := 1; i <= k; i++ {
		c, sp := spokeLink(i)
		links = append(links, fmt.Sprintf("link add s0 netns %s type veth peer name c%d netns %s", s.spokeNS(i), i, core))
		coreCmds = append(coreCmds, fmt.Sprintf("link set c%d up", i), fmt.Sprintf("addr add %s/30 dev c%d", c, i),
			fmt.Sprintf("route add %s/32 via %s", spokeLoopback(i), sp))
	}
	if err := ipBatch("", links); err != nil {
		return s, err
	}
	if err := ipBatch(core, coreCmds); err != nil {
		return s, err
	}
	if out, err := exec.Command("ip", "netns", "exec", core, "sysctl", "-qw", "net.ipv4.ip_forward=1").CombinedOutput(); err != nil {
		return s, fmt.Errorf("core: ip_forward: %v %s", err, out)
	}
	if err := ipBatch(s.net.ns(hubNS), []string{"link set hub0 up"}); err != nil {
		return s, err
	}
	for i := 1; i <= k; i++ {
		if err := ipBatch(s.spokeNS(i), []string{"link set s0 up"}); err != nil {
			return s, err
		}
	}
	return s, nil
}

// startSpokes starts spokes 1..k (without waiting between them) and
// returns them and how long starting them took.
func (s spokesNet) startSpokes(cl *cleanups, k int, mode string) ([]*scaleDaemon, time.Duration, error) {
	start := time.Now()
	var ds []*scaleDaemon
	for i := 1; i <= k; i++ {
		d, err := startScaleDaemon(cl, s.dir, s.spokeNS(i), fmt.Sprintf("spoke%d-%s", i, mode), spokeConfig(i, mode), scaleDaemonOptions{})
		if err != nil {
			return ds, 0, err
		}
		ds = append(ds, d)
	}
	return ds, time.Since(start), nil
}

// stopAll stops daemons concurrently.
func stopAll(ds []*scaleDaemon) {
	var wg sync.WaitGroup
	for _, d := range ds {
		wg.Go(d.stop)
	}
	wg.Wait()
}

func waitSockets(ds []*scaleDaemon, timeout time.Duration) error {
	for _, d := range ds {
		if err := d.waitSocket(timeout); err != nil {
			return err
		}
	}
	return nil
}

// runSpokes builds the topology, runs each start order and the responder
// comparison, and removes everything again.
func runSpokes(tb testing.TB, o spokesOptions) spokesResult {
	res := spokesResult{k: o.k}
	var cl cleanups
	defer cl.run()
	start := time.Now()
	s, err := buildSpokesNet(&cl, tb.TempDir(), o.k)
	if err != nil {
		res.setup = err.Error()
		return res
	}
	res.build = time.Since(start)
	o.logf("spokes: %d namespaces built in %s", o.k+2, res.build.Round(100*time.Millisecond))
	for _, order := range o.orders {
		r, spokeRSS, err := s.sessionRun(order, o)
		if err != nil {
			res.setup = fmt.Sprintf("%s: %v", order, err)
			return res
		}
		if len(res.runs) == 0 && len(spokeRSS) > 0 {
			slices.Sort(spokeRSS)
			res.spokeRSS = spokeRSS[len(spokeRSS)/2]
			for _, v := range spokeRSS {
				res.spokesRSS += v
			}
		}
		res.runs = append(res.runs, r)
	}
	if o.ikePeers > 0 {
		k := min(o.ikePeers, o.k)
		res.ike = append(res.ike, s.gresecResponder(k, o), s.charonResponder(k, o))
	}
	return res
}

// sessionRun is one start order with the reference configuration
// (transport mode); it returns the spokes' RSS figures too.
func (s spokesNet) sessionRun(order string, o spokesOptions) (sessionRun, []int, error) {
	r := sessionRun{order: order}
	var cl cleanups
	defer cl.run()
	o.logf("spokes: %s", order)
	var spokes []*scaleDaemon
	var err error
	if order == spokesFirst {
		spokes, r.spokesStart, err = s.startSpokes(&cl, o.k, "transport")
		if err != nil {
			return r, nil, err
		}
		if err := waitSockets(spokes, time.Minute); err != nil {
			return r, nil, err
		}
		time.Sleep(time.Second)
	}
	hub, err := startScaleDaemon(&cl, s.dir, s.net.ns(hubNS), "hub-"+strings.Fields(order)[0], spokesHubConfig(o.k, "transport"),
		scaleDaemonOptions{maxRSSKB: o.maxRSSKB})
	if err != nil {
		return r, nil, err
	}
	lastSpoke := hub.started
	if order == hubFirst {
		spokes, r.spokesStart, err = s.startSpokes(&cl, o.k, "transport")
		if err != nil {
			return r, nil, err
		}
		lastSpoke = time.Now()
	}
	deadline := hub.started.Add(o.timeout)
	lastLog := time.Now()
	for {
		if err := hub.alive(); err != nil {
			r.notActive = err.Error()
			break
		}
		if time.Now().After(deadline) {
			r.notActive = fmt.Sprintf("not all active in %s (%d of %d UP-ACTIVE)", o.timeout, r.active, o.k)
			break
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Until(deadline))
		out, _, err := hub.show(ctx, "crypto", "session")
		cancel()
		if err == nil {
			r.active = countActiveSessions(out)
			if r.active == o.k {
				r.allActive, r.after, r.afterSpokes = true, time.Since(hub.started), time.Since(lastSpoke)
				break
			}
		}
		if time.Since(lastLog) > 10*time.Second {
			o.logf("spokes: %s after the hub's start: %d of %d UP-ACTIVE", time.Since(hub.started).Round(time.Second), r.active, o.k)
			lastLog = time.Now()
		}
		time.Sleep(100 * time.Millisecond)
	}
	if p, err := readScaleProc(hub.pid()); err == nil {
		r.hub, r.hubCPU = p, p.cpu
	}
	r.asResponder = len(hub.log.since(0, "ISAKMP SA established as responder"))
	r.asInitiator = len(hub.log.since(0, "ISAKMP SA established as initiator"))
	var rss []int
	for _, sp := range spokes {
		if p, err := readScaleProc(sp.pid()); err == nil {
			rss = append(rss, p.rssKB)
		}
	}
	if o.pings > 0 && hub.alive() == nil {
		for _, i := range rand.Perm(o.k)[:min(o.pings, o.k)] {
			_, peer := scaleTunnelAddrs(i + 1)
			r.pings++
			if waitPingFrom(s.net.ns(hubNS), peer.String(), 2*time.Second) == nil {
				r.pingsOK++
			}
		}
	}
	o.logf("spokes: %s: %d of %d UP-ACTIVE after %s, hub %s, pings %d/%d",
		order, r.active, o.k, r.after.Round(10*time.Millisecond), mb(r.hub.rssKB), r.pingsOK, r.pings)
	stopAll(append(spokes, hub))
	return r, rss, nil
}

// gresecResponder: a gresec hub with k tunnels in mode tunnel, already
// running, and k spokes started at once.
func (s spokesNet) gresecResponder(k int, o spokesOptions) ikeRate {
	r := ikeRate{responder: "gresec hub", peers: k}
	var cl cleanups
	defer cl.run()
	hub, err := startScaleDaemon(&cl, s.dir, s.net.ns(hubNS), "hub-ike", spokesHubConfig(k, "tunnel"),
		scaleDaemonOptions{maxRSSKB: o.maxRSSKB})
	if err == nil {
		err = hub.waitSocket(time.Minute)
	}
	if err != nil {
		r.note = err.Error()
		return r
	}
	time.Sleep(time.Second) // its first Main Modes to the absent spokes go out
	count := func() (int, error) {
		out, _, err := hub.show(context.Background(), "crypto", "session")
		return countActiveSessions(out), err
	}
	s.timeResponder(&cl, &r, hub.pid(), count, o)
	r.asResponder = len(hub.log.since(0, "ISAKMP SA established as responder"))
	return r
}

var charonInstalled = regexp.MustCompile(`(?m)INSTALLED, TUNNEL`)

// charonResponder: strongSwan's charon in the hub's namespace (the hub's
// address on lo), a wildcard IKEv1 PSK connection for GRE in tunnel mode,
// and k spokes started at once.
func (s spokesNet) charonResponder(k int, o spokesOptions) ikeRate {
	r := ikeRate{responder: "strongSwan charon", peers: k}
	if v, err := exec.Command("/usr/lib/ipsec/charon", "--version").CombinedOutput(); err == nil {
		r.responder = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(v)), "Linux "))
	}
	r.responder += " (kernel-libipsec)"
	for _, tool := range []string{"/usr/lib/ipsec/charon", "swanctl", "unshare"} {
		if _, err := exec.LookPath(tool); err != nil {
			r.note = tool + " is missing (make deps installs it)"
			return r
		}
	}
	var cl cleanups
	defer cl.run()
	hub := s.net.ns(hubNS)
	// gresec set these up from its configuration; charon needs them as well.
	if err := ipBatch(hub, []string{
		fmt.Sprintf("addr replace %s/32 dev lo", scaleHubLoopback),
		fmt.Sprintf("addr replace %s/30 dev hub0", scaleHubLink),
		fmt.Sprintf("route replace %s/9 via %s", scaleSpokeBase, scaleHubNextHop),
	}); err != nil {
		r.note = err.Error()
		return r
	}
	cl.add(func() { _ = ipBatch(hub, []string{fmt.Sprintf("addr del %s/32 dev lo", scaleHubLoopback)}) })
	dir := filepath.Join(s.dir, "charon")
	if err := os.MkdirAll(filepath.Join(dir, "run"), 0o755); err != nil {
		r.note = err.Error()
		return r
	}
	conf := fmt.Sprintf(`charon {
  load_modular = no
  load = random nonce openssl aes sha1 sha2 hmac gmp curve25519 kdf pem pkcs1 x509 pubkey kernel-libipsec kernel-netlink socket-default vici
  plugins {
    vici { socket = unix://%[1]s/run/charon.vici }
    kernel-libipsec { allow_peer_ts = yes }
    socket-default { fwmark = 0x42 }
    kernel-netlink { fwmark = !0x42 }
  }
  filelog {
    log { path = %[1]s/charon.log
      default = 1
      flush_line = yes
    }
  }
}
`, dir)
	swan := fmt.Sprintf(`connections {
  hub {
    version = 1
    local_addrs = %[1]s
    remote_addrs = %%any
    proposals = aes256-sha256-ecp256
    local { auth = psk
            id = %[1]s }
    remote { auth = psk }
    children {
      gre {
        local_ts = dynamic[gre]
        remote_ts = dynamic[gre]
        mode = tunnel
        esp_proposals = aes256-sha384
      }
    }
  }
}
secrets {
  ike-any { secret = SecretPassword12 }
}
`, scaleHubLoopback)
	if err := os.WriteFile(filepath.Join(dir, "strongswan.conf"), []byte(conf), 0o644); err != nil {
		r.note = err.Error()
		return r
	}
	if err := os.WriteFile(filepath.Join(dir, "swanctl.conf"), []byte(swan), 0o600); err != nil {
		r.note = err.Error()
		return r
	}
	// ip netns exec, unshare, sh and env all exec: the PID is charon's.
	cmd, logs, err := startProc(&cl, nil, "ip", "netns", "exec", hub, "unshare", "--mount", "--propagation", "private", "sh", "-c",
		fmt.Sprintf("mount --bind %s/run /run && exec env STRONGSWAN_CONF=%s/strongswan.conf /usr/lib/ipsec/charon", dir, dir))
	if err != nil {
		r.note = err.Error()
		return r
	}
	uri := "unix://" + dir + "/run/charon.vici"
	for i := 0; ; i++ {
		if _, err := os.Stat(filepath.Join(dir, "run", "charon.vici")); err == nil {
			break
		}
		if i == 200 {
			r.note = "charon did not start: " + logs.String()
			return r
		}
		time.Sleep(50 * time.Millisecond)
	}
	if out, err := ipNetns(hub, "swanctl", "--load-all", "--noprompt", "--file", filepath.Join(dir, "swanctl.conf"), "--uri", uri); err != nil {
		r.note = fmt.Sprintf("swanctl --load-all: %v %s", err, out)
		return r
	}
	count := func() (int, error) {
		out, err := ipNetns(hub, "swanctl", "--list-sas", "--uri", uri)
		return len(charonInstalled.FindAllString(out, -1)), err
	}
	if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", cmd.Process.Pid)); strings.TrimSpace(string(comm)) != "charon" {
		r.note = fmt.Sprintf("process %d is %q, not charon: CPU and RSS are not charon's", cmd.Process.Pid, strings.TrimSpace(string(comm)))
	}
	s.timeResponder(&cl, &r, cmd.Process.Pid, count, o)
	if !r.all {
		log, _ := os.ReadFile(filepath.Join(dir, "charon.log"))
		o.logf("charon log (end):\n%s", tailLines(string(log), 30))
	}
	return r
}

// timeResponder starts spokes 1..r.peers (mode tunnel) at once and waits
// until count says all are established on the responder (PID pid).
func (s spokesNet) timeResponder(cl *cleanups, r *ikeRate, pid int, count func() (int, error), o spokesOptions) {
	p0, err := readScaleProc(pid)
	if err != nil {
		r.note = err.Error()
		return
	}
	start := time.Now()
	spokes, took, err := s.startSpokes(cl, r.peers, "tunnel")
	r.spokesStart = took
	if err != nil {
		r.note = err.Error()
		return
	}
	defer stopAll(spokes)
	deadline := start.Add(o.timeout)
	for time.Now().Before(deadline) {
		n, err := count()
		if err == nil {
			r.established = n
			if n >= r.peers {
				r.all, r.after = true, time.Since(start)
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if p1, err := readScaleProc(pid); err == nil {
		r.cpu, r.rssKB = p1.cpu-p0.cpu, p1.rssKB
	}
	if !r.all && r.note == "" {
		r.note = fmt.Sprintf("%d of %d established in %s", r.established, r.peers, o.timeout)
	}
	o.logf("ike: %s: %d of %d after %s, CPU %s", r.responder, r.established, r.peers, r.after.Round(10*time.Millisecond), r.cpu)
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
