package dataplane

import (
	"encoding/binary"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
)

// ESPPort is the ESP underlay towards one peer (raw IP protocol 50, or UDP
// between two ports), shared by every protected tunnel to that peer. One
// goroutine reads it and hands each packet to the tunnel whose inbound SA
// its SPI names; two tunnels to the same peer therefore never see each
// other's packets, whatever socket the kernel delivered them to.
//
// A packet whose SPI no tunnel knows is counted on the first tunnel (as
// InNoSA) and reported through OnUnknownSPI: the peer is sending on an SA
// this side does not have (it lost a DELETE, or this side restarted).
type ESPPort struct {
	ref *underlayRef
	log *slog.Logger
	// onUnknown hears the last unknown SPI of a batch; it runs on the
	// reading goroutine and must not block.
	onUnknown func(spi uint32)

	mu      sync.Mutex // serialises Attach and Detach
	tunnels atomic.Pointer[[]*Tunnel]
	// batchMu is held while a batch is handed to tunnels, so that Detach
	// returns only once the port no longer works on the tunnel's SAs.
	batchMu sync.Mutex

	// ReadErrors counts failed reads of the underlay (retried).
	ReadErrors atomic.Uint64
}

// NewESPPort starts reading u. onUnknownSPI (may be nil) hears ESP on SPIs
// that no attached tunnel has; it must not block.
func NewESPPort(u Underlay, onUnknownSPI func(spi uint32), log *slog.Logger) *ESPPort {
	p := &ESPPort{ref: newUnderlayRef(u, true), log: log, onUnknown: onUnknownSPI}
	p.tunnels.Store(&[]*Tunnel{})
	go p.loop()
	return p
}

// Underlay is the port's socket (for tests and views).
func (p *ESPPort) Underlay() Underlay { return p.ref.u }

// Attach makes t send its ESP through the port and receive its SPIs from
// it. A tunnel is attached to one port at a time: t leaves its previous
// port first, and that port's reader is done with t's SAs before this one
// starts.
func (p *ESPPort) Attach(t *Tunnel) {
	if old := t.espPort.Load(); old != nil && old != p {
		old.Detach(t)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	cur := *p.tunnels.Load()
	if slices.Contains(cur, t) {
		return
	}
	next := append(slices.Clone(cur), t)
	p.tunnels.Store(&next)
	t.espPort.Store(p)
}

// Detach takes t off the port; when it returns, the reading goroutine no
// longer touches t. It reports how many tunnels are left.
func (p *ESPPort) Detach(t *Tunnel) int {
	p.mu.Lock()
	cur := *p.tunnels.Load()
	next := slices.DeleteFunc(slices.Clone(cur), func(x *Tunnel) bool { return x == t })
	p.tunnels.Store(&next)
	t.espPort.CompareAndSwap(p, nil)
	p.mu.Unlock()
	// Wait out a batch in progress that may still hold t.
	p.batchMu.Lock()
	//lint:ignore SA2001 an empty critical section is the barrier
	p.batchMu.Unlock()
	return len(next)
}

// Close closes the socket and waits for the reading goroutine to end.
func (p *ESPPort) Close() { p.ref.retire() }

func (p *ESPPort) loop() {
	bs := p.ref.u.BatchSize()
	d := newDecapState(bs)
	readLoop(p.ref, packets(bs, underlayBufSize), &p.ReadErrors, p.log, func(pkts []Packet) {
		p.batchMu.Lock()
		p.dispatch(d, pkts)
		p.batchMu.Unlock()
	})
}

// dispatch hands runs of packets for the same tunnel to that tunnel.
func (p *ESPPort) dispatch(d *decapState, pkts []Packet) {
	tunnels := *p.tunnels.Load()
	var unknown uint32
	var run *Tunnel
	from := 0
	for i := range pkts {
		t, spi := owner(tunnels, pkts[i].Payload)
		if t != run {
			if run != nil {
				run.decapBatch(d, p.ref, pkts[from:i])
			}
			run, from = t, i
		}
		if t == nil {
			from = i + 1
			if len(tunnels) > 0 {
				tunnels[0].C.InNoSA.Add(1)
			}
			if spi != 0 {
				unknown = spi
			}
		}
	}
	if run != nil {
		run.decapBatch(d, p.ref, pkts[from:])
	}
	if unknown != 0 && p.onUnknown != nil {
		p.onUnknown(unknown)
	}
}

// owner finds the tunnel whose inbound SAs include the ESP packet's SPI;
// it returns the SPI too (0 for a runt).
func owner(tunnels []*Tunnel, pkt []byte) (*Tunnel, uint32) {
	if len(pkt) < 8 {
		return nil, 0
	}
	spi := binary.BigEndian.Uint32(pkt)
	for _, t := range tunnels {
		if prot := t.prot.Load(); prot != nil && prot.inbound(pkt) != nil {
			return t, spi
		}
	}
	return nil, spi
}
