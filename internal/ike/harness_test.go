package ike

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gresec/gresec/internal/config"
	"github.com/gresec/gresec/internal/esp"
	"github.com/gresec/gresec/internal/isakmp"
)

// An in-memory network of engines with a fake clock: Send actions are
// delivered in order, time jumps to the next wake-up when nothing is in
// flight, so an hour of protocol time runs in milliseconds.

var (
	addrA = netip.MustParseAddr("192.0.2.1")
	addrB = netip.MustParseAddr("192.0.2.2")
	t0    = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

type node struct {
	name    string
	addr    netip.Addr // the address the engine knows itself by
	e       *Engine
	actions []Action
	sends   []timedSend
	// installedAt is when each inbound SPI was installed.
	installedAt map[uint32]time.Time
}

type timedSend struct {
	at  time.Time
	seq int // order on the wire, across nodes
	s   Send
}

// ikeHeader returns the ISAKMP header of an IKE datagram, false for
// anything else (keepalives).
func ikeHeader(s Send) (isakmp.Header, bool) {
	data := s.Data
	if s.Local.Port() == NATTPort {
		if len(data) < 4 || !bytes.Equal(data[:4], []byte{0, 0, 0, 0}) {
			return isakmp.Header{}, false
		}
		data = data[4:]
	}
	h, err := isakmp.ParseHeader(data)
	return h, err == nil
}

// sendsOf returns the times of the IKE messages of exchange x a node sent.
func (n *node) sendsOf(x isakmp.ExchangeType) []time.Time {
	var out []time.Time
	for _, ts := range n.sends {
		if h, ok := ikeHeader(ts.s); ok && h.Exchange == x {
			out = append(out, ts.at)
		}
	}
	return out
}

func (n *node) installs() []InstallPair { return actionsOf[InstallPair](n.actions) }
func (n *node) deletes() []DeletePair   { return actionsOf[DeletePair](n.actions) }
func (n *node) logs() []Log             { return actionsOf[Log](n.actions) }
func (n *node) sessionUps() []SessionUp { return actionsOf[SessionUp](n.actions) }

func actionsOf[T Action](as []Action) []T {
	var out []T
	for _, a := range as {
		if v, ok := a.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// installed returns the SA pairs a node has installed and not deleted.
func (n *node) installed() []InstallPair {
	var live []InstallPair
	for _, a := range n.actions {
		switch v := a.(type) {
		case InstallPair:
			live = append(live, v)
		case DeletePair:
			live = slices.DeleteFunc(live, func(i InstallPair) bool { return i.In.SPI == v.InSPI })
		}
	}
	return live
}

// sending is the inbound SPI of the pair the node's data plane sends on
// for a tunnel at now, as Rekey names it: as the router does, the newest
// pair installed (and not deleted) at least a second ago, else the oldest
// one left (0: none).
func (n *node) sending(tunnel string, now time.Time) uint32 {
	var spi, first uint32
	for _, i := range n.installed() {
		if i.Tunnel != tunnel {
			continue
		}
		if first == 0 {
			first = i.In.SPI
		}
		if now.Sub(n.installedAt[i.In.SPI]) >= time.Second {
			spi = i.In.SPI
		}
	}
	if spi == 0 {
		return first
	}
	return spi
}

func (n *node) logged(substr string) bool {
	for _, l := range n.logs() {
		if strings.Contains(l.Msg, substr) {
			return true
		}
	}
	return false
}

// natBox translates one inside address to an outside one, rewriting ports
// (500 -> 20500, 4500 -> 24500) when rewrite is set. Setting base to
// another offset than 20000 is a new mapping (the NAT lost the old one):
// datagrams to the old ports are then lost.
type natBox struct {
	inside, outside netip.Addr
	rewrite         bool
	base            uint16 // 0: 20000
}

func (b *natBox) shift() uint16 {
	if b.base == 0 {
		return 20000
	}
	return b.base
}

func (b *natBox) out(ap netip.AddrPort) netip.AddrPort {
	if ap.Addr() != b.inside {
		return ap
	}
	port := ap.Port()
	if b.rewrite {
		port += b.shift()
	}
	return netip.AddrPortFrom(b.outside, port)
}

func (b *natBox) in(ap netip.AddrPort) netip.AddrPort {
	if ap.Addr() != b.outside {
		return ap
	}
	port := ap.Port()
	if b.rewrite && port >= 20000 {
		if port < b.shift() || port-b.shift() >= 20000 {
			return netip.AddrPort{} // an old mapping, gone
		}
		port -= b.shift() // a mapping; lower ports are forwarded as they are
	}
	return netip.AddrPortFrom(b.inside, port)
}

type network struct {
	t     testing.TB
	now   time.Time
	nodes []*node
	queue []Send
	nat   *natBox
	// drop, if set, decides which datagrams are lost.
	drop func(from *node, s Send) bool
	// sent counts the datagrams put on the wire.
	sent      int
	checkWake bool
	quiet     bool // no log lines (fuzzing)
}

func newNetwork(t testing.TB) *network {
	return &network{t: t, now: t0, checkWake: true}
}

func (n *network) add(name string, addr netip.Addr, cfg Config) *node {
	n.t.Helper()
	if cfg.Rand == nil {
		var seed [32]byte
		copy(seed[:], name)
		cfg.Rand = rand.NewChaCha8(seed)
	}
	e, err := New(cfg)
	if err != nil {
		n.t.Fatal(err)
	}
	nd := &node{name: name, addr: addr, e: e}
	n.nodes = append(n.nodes, nd)
	return nd
}

func (n *network) record(from *node, as []Action) {
	for _, a := range as {
		if l, ok := a.(Log); ok && !n.quiet {
			n.t.Logf("%s %s %s: %s", n.now.Sub(t0), from.name, l.Level, l.Msg)
		}
		from.actions = append(from.actions, a)
		if i, ok := a.(InstallPair); ok {
			if from.installedAt == nil {
				from.installedAt = map[uint32]time.Time{}
			}
			from.installedAt[i.In.SPI] = n.now
		}
		if s, ok := a.(Send); ok {
			n.sent++
			from.sends = append(from.sends, timedSend{n.now, n.sent, s})
			if n.drop != nil && n.drop(from, s) {
				continue
			}
			if n.nat != nil {
				s.Local = n.nat.out(s.Local)
			}
			n.queue = append(n.queue, s)
		}
	}
}

func (n *network) start(nd *node, p Protect) {
	n.t.Helper()
	as, err := nd.e.Start(n.now, p)
	if err != nil {
		n.t.Fatal(err)
	}
	n.record(nd, as)
}

// deliver hands out what is in flight, in order, until nothing is.
func (n *network) deliver() {
	for steps := 0; len(n.queue) > 0; steps++ {
		if steps > 100000 {
			n.t.Fatal("message storm")
		}
		n.step()
	}
}

// step delivers the first datagram in flight.
func (n *network) step() {
	s := n.queue[0]
	n.queue = n.queue[1:]
	dst := s.Remote
	if n.nat != nil {
		dst = n.nat.in(dst)
	}
	for _, nd := range n.nodes {
		if nd.addr == dst.Addr() {
			n.record(nd, nd.e.Receive(n.now, Datagram{Local: dst, Remote: s.Local, Data: s.Data}))
		}
	}
}

// run delivers and ticks until d of protocol time has passed.
func (n *network) run(d time.Duration) {
	end := n.now.Add(d)
	n.deliver()
	for {
		var w earliest
		for _, nd := range n.nodes {
			w.add(nd.e.NextWake())
		}
		if w.t.IsZero() || w.t.After(end) {
			n.now = end
			for _, nd := range n.nodes {
				checkInvariants(n.t, nd)
			}
			return
		}
		if w.t.After(n.now) {
			n.now = w.t
		}
		for _, nd := range n.nodes {
			n.record(nd, nd.e.Tick(n.now))
			if nw := nd.e.NextWake(); n.checkWake && !nw.IsZero() && !nw.After(n.now) && len(n.queue) == 0 {
				n.t.Fatalf("%s: NextWake %v not after the tick at %v: the engine would spin", nd.name, nw.Sub(t0), n.now.Sub(t0))
			}
		}
		n.deliver()
	}
}

// Configuration helpers.

func pskAll(key string) func(netip.Addr) (string, bool) {
	return func(netip.Addr) (string, bool) { return key, true }
}

func refPolicy() config.ISAKMPPolicy {
	return config.ISAKMPPolicy{Priority: 10, EncryptionBits: 256, Hash: config.HashSHA256, Group: 19, Lifetime: 86400 * time.Second}
}

func refConfig() Config {
	return Config{Policies: []config.ISAKMPPolicy{refPolicy()}, PSK: pskAll("SecretPassword12"), KeyLog: true}
}

func refTransform() config.TransformSet {
	return config.TransformSet{Name: "TRANSFORM", Cipher: config.ESPAESCBC, KeyBits: 256, Integrity: config.IntegritySHA384, Mode: config.ModeTransport}
}

func protect(local, remote netip.Addr, ts ...config.TransformSet) Protect {
	if len(ts) == 0 {
		ts = []config.TransformSet{refTransform()}
	}
	return Protect{Name: "Tunnel0", Local: local, Remote: remote, Protocol: 47, TransformSets: ts}
}

// pair builds the reference setup: A (192.0.2.1) and B (192.0.2.2).
func pair(t testing.TB, cfgA, cfgB Config) (*network, *node, *node) {
	n := newNetwork(t)
	a := n.add("A", addrA, cfgA)
	b := n.add("B", addrB, cfgB)
	return n, a, b
}

// checkPair checks that two installs are the two ends of one SA pair and
// that the keys work: a packet sealed by one end opens at the other, in
// both directions.
func checkPair(t testing.TB, x, y InstallPair) {
	t.Helper()
	if x.In.SPI != y.Out.SPI || x.Out.SPI != y.In.SPI {
		t.Fatalf("SPIs do not cross: %08x/%08x vs %08x/%08x", x.In.SPI, x.Out.SPI, y.In.SPI, y.Out.SPI)
	}
	if x.Suite != y.Suite || x.Mode != y.Mode || (x.Encap == nil) != (y.Encap == nil) {
		t.Fatalf("suites differ: %v %v / %v %v", x.Suite, x.Mode, y.Suite, y.Mode)
	}
	if !bytes.Equal(x.In.EncKey, y.Out.EncKey) || !bytes.Equal(x.In.AuthKey, y.Out.AuthKey) ||
		!bytes.Equal(x.Out.EncKey, y.In.EncKey) || !bytes.Equal(x.Out.AuthKey, y.In.AuthKey) {
		t.Fatal("keys of the two ends differ")
	}
	if bytes.Equal(x.In.EncKey, x.Out.EncKey) {
		t.Fatal("both directions share a key")
	}
	if len(x.In.EncKey) != x.Suite.KeyLen() || len(x.In.AuthKey) != x.Suite.AuthKeyLen() {
		t.Fatalf("key lengths %d/%d for %v", len(x.In.EncKey), len(x.In.AuthKey), x.Suite)
	}
	sealOpen(t, x, y)
	sealOpen(t, y, x)
}

func sealOpen(t testing.TB, from, to InstallPair) {
	t.Helper()
	out, err := esp.NewOutbound(from.Out.SPI, from.Suite, from.Out.EncKey, from.Out.AuthKey, false)
	if err != nil {
		t.Fatal(err)
	}
	in, err := esp.NewInbound(to.In.SPI, to.Suite, to.In.EncKey, to.In.AuthKey, false, 64)
	if err != nil {
		t.Fatal(err)
	}
	payload := []byte("GRE packet across the tunnel")
	buf := make([]byte, esp.MaxHeadroom+len(payload), esp.MaxHeadroom+len(payload)+esp.MaxTailroom)
	copy(buf[esp.MaxHeadroom:], payload)
	pkt, err := out.Seal(buf, esp.MaxHeadroom, esp.NextHeaderGRE)
	if err != nil {
		t.Fatal(err)
	}
	got, nh, _, err := in.Open(pkt)
	if err != nil || nh != esp.NextHeaderGRE || !bytes.Equal(got, payload) {
		t.Fatalf("ESP %v from %08x: open: %v", from.Suite, from.Out.SPI, err)
	}
}

// established checks that a and b each have exactly one SA pair, the same.
func established(t testing.TB, a, b *node) (InstallPair, InstallPair) {
	t.Helper()
	ia, ib := a.installed(), b.installed()
	if len(ia) != 1 || len(ib) != 1 {
		t.Fatalf("installed SA pairs: A %d, B %d, want 1 each", len(ia), len(ib))
	}
	checkPair(t, ia[0], ib[0])
	return ia[0], ib[0]
}

// quiet is a Config with logging of all levels kept but no key log.
func quiet(c Config) Config { c.KeyLog = false; return c }

// checkInvariants checks the engine's bookkeeping: every inbound SPI in
// use belongs to an installed pair or a Quick Mode under way, every tunnel
// is up exactly when it has pairs, and peers are indexed consistently.
func checkInvariants(t testing.TB, nd *node) {
	t.Helper()
	e := nd.e
	want := map[uint32]bool{}
	for _, p := range e.peerOrder {
		if e.peers[p.key] != p {
			t.Fatalf("%s: peer %v not indexed", nd.name, p.key)
		}
		for _, tu := range p.tunnels {
			if e.tunnels[tu.p.Name] != tu {
				t.Fatalf("%s: tunnel %s not indexed", nd.name, tu.p.Name)
			}
			if tu.up != (len(tu.children) > 0) {
				t.Fatalf("%s: %s up=%v with %d pairs", nd.name, tu.p.Name, tu.up, len(tu.children))
			}
			for _, c := range tu.children {
				want[c.inSPI] = true
			}
		}
		for _, sa := range p.sas {
			for _, qm := range sa.qms {
				if qm.step != qmDone {
					want[qm.inSPI] = true
				}
			}
		}
	}
	if len(want) != len(e.spis) {
		t.Fatalf("%s: %d SPIs allocated, %d in use", nd.name, len(e.spis), len(want))
	}
	for s := range want {
		if !e.spis[s] {
			t.Fatalf("%s: SPI %08x in use but not allocated", nd.name, s)
		}
	}
}
