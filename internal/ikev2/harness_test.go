package ikev2

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gresec/gresec/internal/config"
	"github.com/gresec/gresec/internal/dh"
	"github.com/gresec/gresec/internal/ike"
	"github.com/gresec/gresec/internal/ikev2/wire"
)

// An in-memory network of two engines with a fake clock: sends are
// delivered in order, and time jumps to the next wake-up when nothing is
// in flight, so a day of protocol time runs in milliseconds.

var (
	addrA = netip.MustParseAddr("192.0.2.1")
	addrB = netip.MustParseAddr("198.51.100.2")
	t0    = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

type node struct {
	name    string
	addr    netip.Addr
	e       *Engine
	actions []ike.Action
	sent    []ike.Send
}

func (n *node) installed() []ike.InstallPair {
	var live []ike.InstallPair
	for _, a := range n.actions {
		switch v := a.(type) {
		case ike.InstallPair:
			live = append(live, v)
		case ike.DeletePair:
			live = slices.DeleteFunc(live, func(i ike.InstallPair) bool { return i.In.SPI == v.InSPI })
		}
	}
	return live
}

func actionsOf[T ike.Action](as []ike.Action) []T {
	var out []T
	for _, a := range as {
		if v, ok := a.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

func (n *node) logged(substr string) bool {
	for _, l := range actionsOf[ike.Log](n.actions) {
		if strings.Contains(l.Msg, substr) {
			return true
		}
	}
	return false
}

func (n *node) logText() string {
	var b strings.Builder
	for _, l := range actionsOf[ike.Log](n.actions) {
		b.WriteString(n.name + ": " + l.Msg + "\n")
	}
	return b.String()
}

// exchanges returns the exchange types (and R for responses) n sent.
func (n *node) exchanges() []string {
	var out []string
	for _, s := range n.sent {
		h, ok := headerOf(s)
		if !ok {
			continue
		}
		x := h.Exchange.String()
		if h.Flags&wire.FlagResponse != 0 {
			x += "R"
		}
		out = append(out, x)
	}
	return out
}

func headerOf(s ike.Send) (wire.Header, bool) {
	data := s.Data
	if s.Local.Port() == ike.NATTPort {
		if len(data) < 4 || !bytes.Equal(data[:4], []byte{0, 0, 0, 0}) {
			return wire.Header{}, false
		}
		data = data[4:]
	}
	h, err := wire.DecodeHeader(data)
	return h, err == nil
}

type packet struct {
	to *node
	d  ike.Datagram
}

type network struct {
	t     *testing.T
	now   time.Time
	a, b  *node
	queue []packet
	// drop, when set, loses a datagram sent by from.
	drop func(from *node, s ike.Send) bool
	// nat rewrites what b sees of a's source (a behind a NAT).
	natPort  uint16 // 0: no NAT
	captured []ike.Send
}

// profile is the IKEv2 profile: AES-CBC-256, SHA-256, group 19,
// PSK, with the reference transform set (AES-256/SHA-384, transport).
func profile() Profile {
	return Profile{
		Name: "IKEV2",
		Proposals: []Proposal{{
			Encryption: []Encryption{{wire.EncrAESCBC, 256}},
			Integrity:  []uint16{wire.IntegHMACSHA2_256},
			Groups:     []dh.Group{dh.ECP256},
		}},
		RemoteID:  []config.IKEv2IdentityMatch{{Kind: config.MatchAddress, Prefix: netip.MustParsePrefix("0.0.0.0/0")}},
		PSKLocal:  "SecretPassword12",
		PSKRemote: "SecretPassword12",
	}
}

func protection(name string, local, remote netip.Addr, pr Profile) Protect {
	return Protect{
		Protect: ike.Protect{
			Name: name, Local: local, Remote: remote, Protocol: 47,
			TransformSets: []config.TransformSet{{Name: "TS", Cipher: config.ESPAESCBC, KeyBits: 256,
				Integrity: config.IntegritySHA384, Mode: config.ModeTransport}},
		},
		Profile: pr,
	}
}

func newNode(t *testing.T, name string, addr netip.Addr, seed byte, cfg Config) *node {
	cfg.Rand = rand.NewChaCha8([32]byte{seed})
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &node{name: name, addr: addr, e: e}
}

// newNet returns two engines, A and B, each protecting Tunnel0 to the
// other with the profiles given (nil: profile()).
func newNet(t *testing.T, pa, pb *Protect) *network {
	n := &network{t: t, now: t0,
		a: newNode(t, "A", addrA, 1, Config{KeyLog: true}),
		b: newNode(t, "B", addrB, 2, Config{KeyLog: true})}
	if pa == nil {
		p := protection("Tunnel0", addrA, addrB, profile())
		pa = &p
	}
	if pb == nil {
		p := protection("Tunnel0", addrB, addrA, profile())
		pb = &p
	}
	n.start(n.a, *pa)
	n.start(n.b, *pb)
	return n
}

func (n *network) start(x *node, p Protect) {
	acts, err := x.e.Start(n.now, p)
	if err != nil {
		n.t.Fatal(err)
	}
	n.take(x, acts)
}

func (n *network) other(x *node) *node {
	if x == n.a {
		return n.b
	}
	return n.a
}

// take records a node's actions and queues its sends.
func (n *network) take(x *node, acts []ike.Action) {
	x.actions = append(x.actions, acts...)
	for _, a := range acts {
		s, ok := a.(ike.Send)
		if !ok {
			continue
		}
		x.sent = append(x.sent, s)
		n.captured = append(n.captured, s)
		if n.drop != nil && n.drop(x, s) {
			continue
		}
		to := n.other(x)
		if s.Remote.Addr() != to.addr {
			continue
		}
		from := netip.AddrPortFrom(x.addr, s.Local.Port())
		local := s.Remote
		if n.natPort != 0 && x == n.a {
			// A is behind a NAT: B sees A's traffic from the NAT's ports.
			from = netip.AddrPortFrom(x.addr, n.natPort+s.Local.Port())
		}
		if n.natPort != 0 && x == n.b {
			// To A through the NAT: it arrives on A's real port.
			local = netip.AddrPortFrom(n.a.addr, s.Remote.Port()-n.natPort)
		}
		n.queue = append(n.queue, packet{to, ike.Datagram{Local: local, Remote: from, Data: slices.Clone(s.Data)}})
	}
}

// run delivers datagrams and fires timers until the clock reaches until.
func (n *network) run(until time.Time) {
	for steps := 0; ; steps++ {
		if steps > 1_000_000 {
			n.t.Fatal("no quiescence")
		}
		if len(n.queue) > 0 {
			p := n.queue[0]
			n.queue = n.queue[1:]
			n.take(p.to, p.to.e.Receive(n.now, p.d))
			continue
		}
		wa, wb := n.a.e.NextWake(), n.b.e.NextWake()
		next := wa
		if next.IsZero() || (!wb.IsZero() && wb.Before(next)) {
			next = wb
		}
		if next.IsZero() || next.After(until) {
			n.now = until
			return
		}
		if next.After(n.now) {
			n.now = next
		}
		n.take(n.a, n.a.e.Tick(n.now))
		n.take(n.b, n.b.e.Tick(n.now))
	}
}

func (n *network) runFor(d time.Duration) { n.run(n.now.Add(d)) }

// checkPaired fails unless A and B hold the same SA pairs, mirrored: each
// inbound SA of one is an outbound SA of the other with the same keys.
func (n *network) checkPaired() {
	n.t.Helper()
	ia, ib := n.a.installed(), n.b.installed()
	if len(ia) == 0 || len(ia) != len(ib) {
		n.t.Fatalf("A holds %d pairs, B %d\n%s%s", len(ia), len(ib), n.a.logText(), n.b.logText())
	}
	for _, x := range ia {
		i := slices.IndexFunc(ib, func(y ike.InstallPair) bool { return y.Out.SPI == x.In.SPI })
		if i < 0 {
			n.t.Fatalf("A's inbound SPI %08x is no outbound SPI of B", x.In.SPI)
		}
		y := ib[i]
		if y.In.SPI != x.Out.SPI || !bytes.Equal(x.In.EncKey, y.Out.EncKey) || !bytes.Equal(x.In.AuthKey, y.Out.AuthKey) ||
			!bytes.Equal(x.Out.EncKey, y.In.EncKey) || !bytes.Equal(x.Out.AuthKey, y.In.AuthKey) ||
			x.Suite != y.Suite || x.Mode != y.Mode {
			n.t.Fatalf("pair %08x/%08x differs between A and B", x.In.SPI, x.Out.SPI)
		}
	}
}
