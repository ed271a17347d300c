package e2e

// The pieces of issue 11's scale measurement (`make scale`, scale_test.go):
// namespaces made in batches, gresec configurations written in Go for any
// number of tunnels, and daemons watched from outside through /proc and
// their CLI, so that the harness measures whatever the daemon is at a
// commit without asking it for anything it does not already show.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Addressing, private ranges only and inside the test's own namespaces.
var (
	scaleHubLoopback = netip.MustParseAddr("10.255.255.1")
	scaleTunnelBase  = netip.MustParseAddr("172.16.0.0")   // /31 per tunnel: hub even, peer odd
	scaleSpokeBase   = netip.MustParseAddr("10.128.0.0")   // real peers' loopbacks: base + i
	scaleVoidBase    = netip.MustParseAddr("10.129.0.0")   // destinations nobody answers: base + i
	scaleCoreLinks   = netip.MustParseAddr("10.253.0.0")   // core to spoke i: a /30 at base + 4i
	scaleHubLink     = netip.MustParseAddr("10.254.0.1")   // hub's link (to the core or the spoke)
	scaleHubNextHop  = netip.MustParseAddr("10.254.0.2")   // its neighbour
	scaleVoidNextHop = netip.MustParseAddr("10.254.0.254") // routed to, never answers
)

// addrAdd is a + n.
func addrAdd(a netip.Addr, n int) netip.Addr {
	b := a.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v += uint32(n)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// scaleTunnelAddrs are tunnel i's /31 (i from 1): the hub's end, the peer's.
func scaleTunnelAddrs(i int) (hub, peer netip.Addr) {
	hub = addrAdd(scaleTunnelBase, 2*(i-1))
	return hub, addrAdd(hub, 1)
}

// scaleNet is the namespaces of one setup, named with a prefix unique to
// this process and setup, removed by close.
type scaleNet struct {
	prefix string
	names  []string
}

func newScaleNet(cl *cleanups) *scaleNet {
	n := &scaleNet{prefix: fmt.Sprintf("gsc%d-%d-", os.Getpid()%10000, labSeq.Add(1))}
	cl.add(n.close)
	return n
}

func (n *scaleNet) ns(node string) string { return n.prefix + node }

// add creates namespaces, each with lo up.
func (n *scaleNet) add(nodes ...string) error {
	var lines []string
	for _, node := range nodes {
		lines = append(lines, "netns add "+n.ns(node))
	}
	if err := ipBatch("", lines); err != nil {
		return err
	}
	for _, node := range nodes {
		n.names = append(n.names, n.ns(node))
		if err := ipBatch(n.ns(node), []string{"link set lo up"}); err != nil {
			return err
		}
	}
	return nil
}

func (n *scaleNet) close() {
	var lines []string
	for i := len(n.names) - 1; i >= 0; i-- {
		lines = append(lines, "netns del "+n.names[i])
	}
	if len(lines) > 0 {
		_ = ipBatch("", lines)
	}
	n.names = nil
}

// ipBatch runs iproute2 commands, one a line, in one process (in ns unless
// it is "").
func ipBatch(ns string, lines []string) error {
	args := []string{"-batch", "-"}
	if ns != "" {
		args = append([]string{"-n", ns}, args...)
	}
	cmd := exec.Command("ip", args...)
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// scaleTunnel is one TunnelN of a generated configuration.
type scaleTunnel struct {
	num         int
	addr, dest  netip.Addr
	source      string // interface name
	description string
	key         uint32 // 0: none
}

// scaleConfig is a gresec configuration with any number of tunnels.
type scaleConfig struct {
	hostname  string
	loopbacks []netip.Addr // Loopback0, Loopback1, ...
	link      string       // the physical interface, its address and mask
	linkAddr  netip.Addr
	linkMask  string
	// protect is the transform set's mode ("transport", "tunnel") of the
	// reference crypto configuration on every tunnel; "" is plain GRE.
	protect string
	tunnels []scaleTunnel
	routes  []string // "PREFIX MASK NEXT-HOP"
}

func (c scaleConfig) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "hostname %s\n!\n", c.hostname)
	for i, l := range c.loopbacks {
		fmt.Fprintf(&b, "interface Loopback%d\n ip address %s 255.255.255.255\n!\n", i, l)
	}
	fmt.Fprintf(&b, "interface %s\n ip address %s %s\n!\n", c.link, c.linkAddr, c.linkMask)
	if c.protect != "" {
		// The reference configuration's crypto (README, lab.Router.Config).
		fmt.Fprintf(&b, `crypto isakmp policy 10
 encr aes 256
 hash sha256
 authentication pre-share
 group 19
crypto isakmp key SecretPassword12 address 0.0.0.0
crypto isakmp keepalive 10 periodic
!
crypto ipsec transform-set TRANSFORM esp-aes 256 esp-sha384-hmac
 mode %s
!
crypto ipsec profile TUNNEL
 set transform-set TRANSFORM
!
`, c.protect)
	}
	for _, t := range c.tunnels {
		fmt.Fprintf(&b, "interface Tunnel%d\n", t.num)
		if t.description != "" {
			fmt.Fprintf(&b, " description %s\n", t.description)
		}
		fmt.Fprintf(&b, " ip address %s 255.255.255.254\n ip mtu 1400\n ip tcp adjust-mss 1360\n tunnel source %s\n tunnel destination %s\n",
			t.addr, t.source, t.dest)
		if t.key != 0 {
			fmt.Fprintf(&b, " tunnel key %d\n", t.key)
		}
		if c.protect != "" {
			b.WriteString(" tunnel protection ipsec profile TUNNEL\n")
		}
		b.WriteString("!\n")
	}
	for _, r := range c.routes {
		fmt.Fprintf(&b, "ip route %s\n", r)
	}
	return b.String()
}

// stampedLog keeps a daemon's log lines with the time each arrived.
type stampedLog struct {
	mu    sync.Mutex
	lines []stampedLine
	part  string
}

type stampedLine struct {
	at   time.Time
	text string
}

func (l *stampedLog) Write(p []byte) (int, error) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.part + string(p)
	for {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			break
		}
		l.lines = append(l.lines, stampedLine{now, s[:i]})
		s = s[i+1:]
	}
	l.part = s
	return len(p), nil
}

// since returns the lines from index mark on that contain substr.
func (l *stampedLog) since(mark int, substr string) []stampedLine {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []stampedLine
	for _, ln := range l.lines[min(mark, len(l.lines)):] {
		if strings.Contains(ln.text, substr) {
			out = append(out, ln)
		}
	}
	return out
}

func (l *stampedLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lines)
}

// tail is the last n lines, for error messages.
func (l *stampedLog) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, ln := range l.lines[max(0, len(l.lines)-n):] {
		b.WriteString(ln.text + "\n")
	}
	return b.String() + l.part
}

// scaleDaemon is one gresec daemon in a namespace, watched from outside.
type scaleDaemon struct {
	name, ns     string
	conf, socket string
	cmd          *exec.Cmd
	started      time.Time
	log          *stampedLog
	exited       chan struct{}
	waitErr      error
	guardMu      sync.Mutex
	guardKilled  string // why the memory guard killed it, if it did
	stopGuard    chan struct{}
	stopOnce     sync.Once
}

// scaleDaemonOptions: maxRSSKB has a guard kill the daemon when its RSS
// passes that (a shared machine must not run out of memory because a
// commit's daemon grows without bound); 0 means none. The daemon's open
// files limit is the test's hard limit (Go raises its soft limit to it;
// raising the hard limit needs CAP_SYS_RESOURCE, which this machine's
// root lacks).
type scaleDaemonOptions struct {
	maxRSSKB int
}

// startScaleDaemon starts `gresec run` (the tests' binary) in ns with
// config, without waiting for it (waitSocket does). It is stopped at
// cleanup. ip netns exec execs: the PID is the daemon's.
func startScaleDaemon(cl *cleanups, dir, ns, name, config string, o scaleDaemonOptions) (*scaleDaemon, error) {
	d := &scaleDaemon{name: name, ns: ns, conf: filepath.Join(dir, name+".conf"), socket: filepath.Join(dir, name+".sock"),
		log: &stampedLog{}, exited: make(chan struct{}), stopGuard: make(chan struct{})}
	if err := os.WriteFile(d.conf, []byte(config), 0o600); err != nil {
		return nil, err
	}
	args := []string{"ip", "netns", "exec", ns, binary, "run", "-c", d.conf, "--socket", d.socket}
	if p := os.Getenv("SCALE_PROFILE"); p != "" {
		// A CPU profile per daemon, named after the daemon.
		args = append(args, "--cpuprofile", filepath.Join(p, name+".pprof"))
	}
	d.cmd = exec.Command(args[0], args[1:]...)
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	d.started = time.Now()
	if err := d.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { d.waitErr = d.cmd.Wait(); close(d.exited) }()
	cl.add(d.stop)
	if o.maxRSSKB > 0 {
		go d.guard(o.maxRSSKB)
	}
	return d, nil
}

func (d *scaleDaemon) pid() int { return d.cmd.Process.Pid }

// guard kills the daemon (by its PID) when its RSS passes maxKB.
func (d *scaleDaemon) guard(maxKB int) {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-d.exited:
			return
		case <-d.stopGuard:
			return
		case <-tick.C:
		}
		p, err := readScaleProc(d.pid())
		if err != nil || p.rssKB <= maxKB {
			continue
		}
		d.guardMu.Lock()
		d.guardKilled = fmt.Sprintf("killed by the harness at RSS %s (limit %s, SCALE_MAX_RSS_MB) %s after start",
			mb(p.rssKB), mb(maxKB), time.Since(d.started).Round(100*time.Millisecond))
		d.guardMu.Unlock()
		_ = d.cmd.Process.Kill()
		return
	}
}

// killedFor says why the guard killed the daemon ("" if it did not).
func (d *scaleDaemon) killedFor() string {
	d.guardMu.Lock()
	defer d.guardMu.Unlock()
	return d.guardKilled
}

// alive is nil while the daemon runs, else why it is gone.
func (d *scaleDaemon) alive() error {
	select {
	case <-d.exited:
		if k := d.killedFor(); k != "" {
			return errors.New(k)
		}
		return fmt.Errorf("%s exited (%v); log:\n%s", d.name, d.waitErr, d.log.tail(20))
	default:
	}
	p, err := readScaleProc(d.pid())
	if err != nil || p.state == "Z" || p.state == "X" {
		return fmt.Errorf("%s (pid %d) is gone: state %q, %v", d.name, d.pid(), p.state, err)
	}
	return nil
}

// waitSocket waits for the daemon's control socket.
func (d *scaleDaemon) waitSocket(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if _, err := os.Stat(d.socket); err == nil {
			return nil
		}
		if err := d.alive(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not open its control socket in %s; log:\n%s", d.name, timeout, d.log.tail(20))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends the daemon: SIGTERM by its PID, SIGKILL after 30 s (a daemon
// with thousands of devices takes a while to remove them).
func (d *scaleDaemon) stop() {
	d.stopOnce.Do(func() { close(d.stopGuard) })
	select {
	case <-d.exited:
		return
	default:
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(30 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.exited
	}
}

// show runs `gresec show WORDS` against the daemon (the text form unless
// the words start with --json) and returns its output and how long it took.
func (d *scaleDaemon) show(ctx context.Context, words ...string) (string, time.Duration, error) {
	args := append([]string{"show", "--socket", d.socket}, words...)
	start := time.Now()
	out, err := exec.CommandContext(ctx, binary, args...).CombinedOutput()
	took := time.Since(start)
	if err != nil {
		return string(out), took, fmt.Errorf("gresec show %s: %v: %s", strings.Join(words, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), took, nil
}

// reload writes a new configuration and has the daemon reload it.
func (d *scaleDaemon) reload(config string) (time.Duration, error) {
	if err := os.WriteFile(d.conf, []byte(config), 0o600); err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	out, err := exec.CommandContext(ctx, binary, "reload", "--socket", d.socket).CombinedOutput()
	if err != nil {
		return time.Since(start), fmt.Errorf("gresec reload: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return time.Since(start), nil
}

// countUpTunnels reads `show ip interface brief` (the IOS text) and counts
// the tunnels that are up/up, and all tunnels listed.
func countUpTunnels(brief string) (up, total int) {
	for _, ln := range strings.Split(brief, "\n") {
		f := strings.Fields(ln)
		if len(f) < 3 || !strings.HasPrefix(f[0], "Tunnel") {
			continue
		}
		total++
		if f[len(f)-2] == "up" && f[len(f)-1] == "up" {
			up++
		}
	}
	return up, total
}

// countActiveSessions reads `show crypto session` (the IOS text) and counts
// the sessions that are UP-ACTIVE.
func countActiveSessions(text string) int {
	return strings.Count(text, "Session status: UP-ACTIVE")
}

// scaleProc is what /proc says of a process.
type scaleProc struct {
	state        string
	rssKB, hwmKB int
	threads, fds int
	cpu          time.Duration // user + system
}

// clockTicks is USER_HZ, which Linux fixes at 100 for /proc/PID/stat.
const clockTicks = 100

func readScaleProc(pid int) (scaleProc, error) {
	var p scaleProc
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return p, err
	}
	for _, ln := range strings.Split(string(status), "\n") {
		k, v, _ := strings.Cut(ln, ":")
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.Atoi(f[0])
		switch k {
		case "State":
			p.state = f[0]
		case "VmRSS":
			p.rssKB = n
		case "VmHWM":
			p.hwmKB = n
		case "Threads":
			p.threads = n
		}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return p, err
	}
	// Fields after the command name (which may hold spaces), from field 3.
	rest := string(stat)[strings.LastIndexByte(string(stat), ')')+2:]
	f := strings.Fields(rest)
	if len(f) > 12 {
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		p.cpu = time.Duration(ut+st) * time.Second / clockTicks
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return p, err
	}
	p.fds = len(fds)
	return p, nil
}

// mb formats kilobytes as MB (10^6 bytes, as the targets are).
func mb(kb int) string { return fmt.Sprintf("%.1f MB", float64(kb)*1024/1e6) }

// nofileLimit is this process's hard limit of open files, which the
// daemons inherit.
func nofileLimit() uint64 {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0
	}
	return l.Max
}

// memAvailableKB is the host's MemAvailable.
func memAvailableKB() int {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "MemAvailable:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

var (
	scalePingReply   = regexp.MustCompile(`icmp_seq=(\d+) ttl=`)
	scalePingSummary = regexp.MustCompile(`(\d+) packets transmitted, (\d+) received`)
)

// pingCount is one `ping` run in the background whose answered sequence
// numbers are kept, stopped with SIGINT.
type pingCount struct {
	cmd      *exec.Cmd
	done     chan struct{}
	mu       sync.Mutex
	answered map[int]bool
	sent     int
}

func startPingCount(ns, addr string, interval time.Duration) (*pingCount, error) {
	p := &pingCount{done: make(chan struct{}), answered: map[int]bool{}}
	p.cmd = exec.Command("ip", "netns", "exec", ns, "ping", "-n", "-i", strconv.FormatFloat(interval.Seconds(), 'f', 3, 64), "-W", "1", addr)
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			ln := sc.Text()
			if m := scalePingReply.FindStringSubmatch(ln); m != nil {
				n, _ := strconv.Atoi(m[1])
				p.mu.Lock()
				p.answered[n] = true
				p.mu.Unlock()
			} else if m := scalePingSummary.FindStringSubmatch(ln); m != nil {
				p.sent, _ = strconv.Atoi(m[1])
			}
		}
	}()
	return p, nil
}

// stop ends the ping (ip netns exec execs it: the PID is ping's) and
// returns the echo requests sent and those lost; the last few, still in
// flight when it stopped, are not counted.
func (p *pingCount) stop() (sent, lost int) {
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	_ = p.cmd.Wait()
	const inFlight = 5
	counted := max(p.sent-inFlight, 0)
	for seq := 1; seq <= counted; seq++ {
		if !p.answered[seq] {
			lost++
		}
	}
	return counted, lost
}

// pingOnce is one echo request from ns to addr, answered or not.
func pingOnce(ns, addr string) bool {
	return exec.Command("ip", "netns", "exec", ns, "ping", "-n", "-c", "1", "-W", "1", addr).Run() == nil
}

// waitPingFrom pings until addr answers or the time is up.
func waitPingFrom(ns, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for !pingOnce(ns, addr) {
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer from %s in %s", addr, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}
