package dataplane

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gresec/gresec/internal/gre"
	"github.com/gresec/gresec/internal/packet"
)

const (
	// Headroom is reserved in front of every overlay packet for the outer
	// headers written in place: GRE (up to 16), in ESP tunnel mode an IPv4
	// or IPv6 header (20 or 40), the ESP header and IV (up to 24), with
	// room to spare.
	Headroom = 96
	// overlayWriteOffset is the offset handed to Overlay.Write: the TUN
	// device writes its virtio-net header (10 bytes) in front of it.
	overlayWriteOffset = 16
	// maxInner bounds one overlay packet (an MTU of up to 9000 fits).
	maxInner = 9216
	// tailroom is left after a packet for trailers (ESP padding and ICV).
	tailroom = 64
	// underlayBufSize lets the TUN device coalesce (GRO) decapsulated TCP
	// segments into the first packet's buffer.
	underlayBufSize = 65536
	// icmpBatch bounds the ICMP errors written back per batch.
	icmpBatch = 8
	icmpMax   = 1280
)

// Params are a tunnel's settings; they may change while it runs.
type Params struct {
	Name string
	// Local and Remote are the underlay endpoints.
	Local, Remote netip.Addr
	HasKey        bool
	Key           uint32
	Sequence      bool
	Checksum      bool
	// MTU is the largest inner IPv4 packet; larger ones with DF get ICMP
	// back. MTU6 is the largest inner IPv6 packet (`ipv6 mtu`; 0: MTU);
	// larger ones get an ICMPv6 Packet Too Big.
	MTU  int
	MTU6 int
	// AdjustMSS clamps the MSS option of TCP SYNs over IPv4 both ways
	// (`ip tcp adjust-mss`), AdjustMSS6 over IPv6 (`ipv6 tcp
	// adjust-mss`), as IOS keeps them apart; 0 is off.
	AdjustMSS  int
	AdjustMSS6 int
	// Protected tunnels never send or accept GRE in clear text.
	Protected bool
	// ICMPSource is the source of ICMP errors (the tunnel's own address);
	// ICMPSource6 of ICMPv6 errors (an IPv6 address of the router).
	ICMPSource  netip.Addr
	ICMPSource6 netip.Addr
}

// Env is what a tunnel shares with the rest of the daemon.
type Env struct {
	// Buffers pools read batches with the other tunnels and the ports;
	// nil gives the tunnel a pool of its own.
	Buffers *Buffers
	// KeepaliveReply is called for each GRE keepalive reply from the peer.
	KeepaliveReply func()
	// SoftLimit is called when the SAs in use reach a soft limit (once
	// per Protection): time to negotiate their replacement; and again
	// when the outbound SA reaches its hard limit: time to switch.
	SoftLimit func()
	// PathMTU is called when the underlay refused a packet as too big
	// for the path (EMSGSIZE: an IPv6 underlay never fragments), once
	// until the next SetParams: time to look the path MTU up again.
	PathMTU func()
}

// Tunnel is one GRE tunnel's data plane: an encapsulating goroutine reading
// the overlay in batches and writing to the underlay; what comes back is
// decapsulated by the goroutine of the Port it arrived on (shared with the
// other tunnels of the same source); no per-packet hand-off between
// goroutines.
type Tunnel struct {
	ov     Overlay
	log    *slog.Logger
	env    Env
	params atomic.Pointer[Params]
	gre    atomic.Pointer[attachment] // GRE in clear (raw IP protocol 47)
	esp    atomic.Pointer[attachment] // ESP (raw IP protocol 50 or UDP)
	prot   atomic.Pointer[Protection]
	// own is the GRE port of SetUnderlay, which only this tunnel uses.
	own *Port
	up  atomic.Bool
	// mtuReported is set once EMSGSIZE was reported, until SetParams.
	mtuReported atomic.Bool

	// C are the tunnel's counters.
	C Counters

	// writeMu serialises writes to the overlay from the decapsulating
	// goroutine and the ICMP errors of the encapsulating one.
	writeMu sync.Mutex

	txSeq uint32         // encapsulating goroutine only
	rxSeq gre.SeqTracker // decapsulating goroutine only
}

// underlayRef is one underlay in its slot, with its read loop.
type underlayRef struct {
	u   Reader
	esp bool // carries ESP rather than GRE
	// stop is closed when the underlay leaves its slot; done when its
	// read loop has returned.
	stop, done chan struct{}
}

func newUnderlayRef(u Reader, esp bool) *underlayRef {
	return &underlayRef{u: u, esp: esp, stop: make(chan struct{}), done: make(chan struct{})}
}

// retire closes the underlay and waits for its read loop to end, so that
// a successor's loop never runs beside it (two loops must not open the
// same inbound SA or advance the same sequence tracker at once).
func (r *underlayRef) retire() {
	close(r.stop)
	_ = r.u.Close()
	<-r.done
}

// Backoff of a read loop after a failed read: a closed port at the peer
// (ICMP port unreachable: ECONNREFUSED), no route, a full buffer. The
// loop keeps going: only Close ends it.
const (
	readBackoffMin = time.Millisecond
	readBackoffMax = 250 * time.Millisecond
)

// isClosed reports the error of a read on a closed socket or device.
func isClosed(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrClosed)
}

// readLoop reads ref's underlay in batches and hands each to handle, until
// the underlay is closed; failed reads are counted in errs and retried.
func readLoop(ref *underlayRef, bufs *Buffers, errs *atomic.Uint64, log *slog.Logger, handle func([]Packet)) {
	defer close(ref.done)
	bs := min(ref.u.BatchSize(), maxUnderlayBatch)
	runReads(ref.u, bufs.getUnderlay, bufs.putUnderlay, func(pkts *[]Packet) error {
		n, err := ref.u.ReadBatch((*pkts)[:bs])
		if n > 0 {
			handle((*pkts)[:n])
		}
		return err
	}, ref.stop, errs, log)
}

// runReads calls read with a batch until it fails with a closed device or
// socket; other errors are counted in errs and retried with back-off, and
// stop ends the loop during a back-off. When src can wait for data (a
// Waiter) the batch is taken from the pool (get) only once it has some,
// and given back (put) after each read: an idle source holds none.
// Otherwise one batch is held for good, since the read itself waits.
func runReads[B any](src any, get func() *B, put func(*B), read func(*B) error, stop <-chan struct{}, errs *atomic.Uint64, log *slog.Logger) {
	waiter, _ := src.(Waiter)
	var held *B
	if waiter == nil {
		held = get()
		defer put(held)
	}
	var b backoff
	for {
		var err error
		if waiter != nil {
			err = waiter.WaitRead()
		}
		if err == nil {
			batch := held
			if batch == nil {
				batch = get()
			}
			err = read(batch)
			if held == nil {
				put(batch)
			}
		}
		if err == nil {
			b.reset()
			continue
		}
		if isClosed(err) {
			return
		}
		errs.Add(1)
		if b.failures == 0 {
			log.Debug("read failed; retrying", "err", err)
		}
		if !b.wait(stop) {
			return
		}
	}
}

// backoff paces a read loop's retries after failed reads.
type backoff struct {
	failures int
	timer    *time.Timer
}

func (b *backoff) reset() { b.failures = 0 }

// wait sleeps before the next retry; it returns false when stop closed
// meanwhile.
func (b *backoff) wait(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return false
	default:
	}
	d := min(readBackoffMin<<min(b.failures, 16), readBackoffMax)
	b.failures++
	if b.timer == nil {
		b.timer = time.NewTimer(d)
	} else {
		b.timer.Reset(d)
	}
	select {
	case <-stop:
		b.timer.Stop()
		return false
	case <-b.timer.C:
		return true
	}
}

// packets returns a read batch of n packets with buffers of size bytes.
func packets(n, size int) []Packet {
	pkts := make([]Packet, n)
	for i := range pkts {
		pkts[i].Buf = make([]byte, size)
	}
	return pkts
}

// New returns a tunnel over ov; it moves nothing until Start.
func New(ov Overlay, p Params, env Env, log *slog.Logger) *Tunnel {
	if env.Buffers == nil {
		env.Buffers = NewBuffers()
	}
	t := &Tunnel{ov: ov, log: log, env: env}
	t.params.Store(&p)
	return t
}

// ipv6MTU is the largest inner IPv6 packet.
func (p *Params) ipv6MTU() int {
	if p.MTU6 > 0 {
		return p.MTU6
	}
	return p.MTU
}

// adjustMSS is the MSS clamp for inner packets of a GRE protocol type.
func (p *Params) adjustMSS(proto uint16) int {
	if proto == gre.ProtoIPv6 {
		return p.AdjustMSS6
	}
	return p.AdjustMSS
}

// SetParams replaces the tunnel's settings.
func (t *Tunnel) SetParams(p Params) {
	t.params.Store(&p)
	t.mtuReported.Store(false)
}

// Params returns the current settings.
func (t *Tunnel) Params() Params { return *t.params.Load() }

// SetUp opens or closes the tunnel to traffic (the line protocol).
func (t *Tunnel) SetUp(up bool) { t.up.Store(up) }

// SetUnderlay gives the tunnel a GRE socket of its own (nil: none), read
// by a port only this tunnel uses. The old one is closed and its reading
// goroutine has ended when SetUnderlay returns. Calls must not overlap.
func (t *Tunnel) SetUnderlay(u Underlay) {
	if t.own != nil {
		t.own.Detach(t)
		t.own.Close()
		t.own = nil
	}
	if u != nil {
		t.own = NewGREPort(u, t.env.Buffers, t.log)
		t.own.Attach(t, u)
	}
}

// Start runs the encapsulating goroutine until the overlay is closed.
func (t *Tunnel) Start() { go t.encapLoop() }

// Close leaves the tunnel's ports (and closes its own); the caller closes
// the overlay, and the shared ports when nobody uses them any more.
func (t *Tunnel) Close() {
	t.SetUnderlay(nil)
	for _, slot := range []*atomic.Pointer[attachment]{&t.gre, &t.esp} {
		if a := slot.Load(); a != nil {
			a.port.Detach(t)
		}
	}
}

// SendKeepalive sends one IOS-format GRE keepalive to the peer, through
// the SA on a protected tunnel. It is safe to call from any goroutine; it
// allocates, which is fine once a period.
func (t *Tunnel) SendKeepalive() error {
	p := t.params.Load()
	h := gre.Header{HasKey: p.HasKey, Key: p.Key, HasChecksum: p.Checksum}
	buf := make([]byte, Headroom+128+tailroom)
	n := gre.BuildKeepalive(buf[Headroom:], p.Local, p.Remote, h)
	if n == 0 {
		return errors.New("cannot build a keepalive for these addresses")
	}
	h.Protocol = gre.ProtoIPv4
	if p.Remote.Is6() {
		h.Protocol = gre.ProtoIPv6
	}
	start, err := h.Encapsulate(buf[:Headroom+n], Headroom)
	if err != nil {
		return err
	}
	frames := [][]byte{buf[start : Headroom+n]}
	if err := t.sendFrames(p, frames, buf, start); err != nil {
		return err
	}
	t.C.Add(KeepalivesSent, 1)
	return nil
}

// sendFrames sends one GRE frame, buf[start:start+len(frames[0])], sealed
// when the tunnel is protected. It is for the rare packets the control
// plane sends (keepalives), not for the per-packet path.
func (t *Tunnel) sendFrames(p *Params, frames [][]byte, buf []byte, start int) error {
	if !p.Protected {
		a := t.gre.Load()
		if a == nil {
			return errors.New("no underlay")
		}
		_, err := a.w.WriteBatch(frames, nil)
		return err
	}
	prot, a := t.prot.Load(), t.esp.Load()
	if prot == nil || prot.Out == nil || a == nil {
		t.C.Add(OutNoSADrops, 1)
		return errors.New("protected tunnel has no SA")
	}
	prot.OutMu.Lock()
	sealed, err := t.seal(p, prot, buf, start, start+len(frames[0]))
	prot.OutMu.Unlock()
	if err != nil {
		t.countSealError(err)
		return err
	}
	_, err = a.w.WriteBatch([][]byte{sealed}, nil)
	return err
}

func (t *Tunnel) encapLoop() {
	bs := min(t.ov.BatchSize(), maxOverlayBatch)
	e := newEncapState(bs)
	runReads(t.ov, t.env.Buffers.getOverlay, t.env.Buffers.putOverlay, func(ob *overlayReadBatch) error {
		n, err := t.ov.Read(ob.bufs[:bs], ob.sizes[:bs], Headroom)
		if n > 0 {
			t.encapBatch(e, ob.bufs[:n], ob.sizes[:n])
		}
		return err
	}, nil, t.C.ref(OutReadErrors), t.log)
}

// encapState is the encapsulating goroutine's scratch space.
type encapState struct {
	out      [][]byte
	tos      []byte // the outer ToS of each of out
	icmp     [][]byte
	icmpBufs [][]byte
}

// newEncapState makes the scratch space; the buffers of ICMP errors come
// with the first one (a hub's idle tunnels never need them).
func newEncapState(bs int) *encapState {
	return &encapState{out: make([][]byte, 0, bs), tos: make([]byte, 0, bs), icmp: make([][]byte, 0, icmpBatch)}
}

// encapBatch encapsulates packets at bufs[i][Headroom:Headroom+sizes[i]]
// and sends them; packets that cannot go are counted and dropped.
func (t *Tunnel) encapBatch(e *encapState, bufs [][]byte, sizes []int) {
	p := t.params.Load()
	if !t.up.Load() {
		t.C.Add(OutDownDrops, uint64(len(bufs)))
		return
	}
	a := t.gre.Load()
	var prot *Protection
	if p.Protected {
		// Fail closed: without an outbound SA nothing leaves, and never in
		// clear text.
		a, prot = t.esp.Load(), t.prot.Load()
		if a == nil || prot == nil || prot.Out == nil {
			t.C.Add(OutNoSADrops, uint64(len(bufs)))
			return
		}
	} else if a == nil {
		t.C.Add(OutDownDrops, uint64(len(bufs)))
		return
	}
	if prot != nil {
		prot.OutMu.Lock()
		defer prot.OutMu.Unlock()
	}
	h := gre.Header{HasKey: p.HasKey, Key: p.Key, HasSeq: p.Sequence, HasChecksum: p.Checksum}
	e.out = e.out[:0]
	e.tos = e.tos[:0]
	e.icmp = e.icmp[:0]
	var bytes uint64
	for i, b := range bufs {
		pkt := b[Headroom : Headroom+sizes[i]]
		mtu, mss := p.MTU, p.AdjustMSS
		switch packet.Version(pkt) {
		case 4:
			h.Protocol = gre.ProtoIPv4
		case 6:
			h.Protocol = gre.ProtoIPv6
			mtu, mss = p.ipv6MTU(), p.AdjustMSS6
		default:
			t.C.Add(OutMalformed, 1)
			continue
		}
		if t.wouldRecurse(pkt, p) {
			t.C.Add(OutRecursionDrops, 1)
			continue
		}
		if len(pkt) > mtu && t.tooBig(e, pkt, p) {
			continue
		}
		if mss > 0 && packet.ClampMSS(pkt, uint16(mss)) {
			t.C.Add(MSSClamped, 1)
		}
		if p.Sequence {
			h.Seq = t.txSeq
			t.txSeq++
		}
		// The outer header carries the inner DSCP, as IOS copies the ToS
		// into the GRE delivery header (and ESP keeps it); its ECN field
		// is Not-ECT (RFC 6040 compatibility mode).
		tos := packet.DSCP(pkt) << 2
		end := Headroom + len(pkt)
		start, err := h.Encapsulate(b[:end], Headroom)
		if err != nil {
			t.C.Add(OutMalformed, 1)
			continue
		}
		frame := b[start:end]
		if prot != nil {
			if frame, err = t.seal(p, prot, b, start, end); err != nil {
				t.countSealError(err)
				continue
			}
		}
		e.out = append(e.out, frame)
		e.tos = append(e.tos, tos)
		bytes += uint64(len(pkt))
	}
	if len(e.out) > 0 {
		sent, err := a.w.WriteBatch(e.out, e.tos)
		t.C.Add(OutPackets, uint64(sent))
		t.C.Add(OutBytes, bytes) // approximate when some failed
		if prot != nil {
			t.C.Add(Encrypted, uint64(len(e.out)))
		}
		if failed := len(e.out) - sent; failed > 0 {
			t.C.Add(OutErrors, uint64(failed))
			t.log.Debug("underlay write", "tunnel", p.Name, "failed", failed, "err", err)
			if errors.Is(err, syscall.EMSGSIZE) {
				t.C.Add(OutPathTooBig, 1)
				if t.env.PathMTU != nil && !t.mtuReported.Swap(true) {
					t.env.PathMTU()
				}
			}
		}
		if prot != nil {
			t.noteSoftLimit(prot)
		}
	}
	if len(e.icmp) > 0 {
		t.writeOverlay(e.icmp)
	}
}

// wouldRecurse reports a packet that is this tunnel's own underlay traffic
// coming back into it: encapsulating it would loop.
func (t *Tunnel) wouldRecurse(pkt []byte, p *Params) bool {
	if p.Remote.Is6() {
		h, err := packet.ParseIPv6(pkt)
		return err == nil && h.NextHeader == packet.ProtoGRE && h.Dst == p.Remote && h.Src == p.Local
	}
	h, err := packet.ParseIPv4(pkt)
	if err != nil {
		return false
	}
	return h.Protocol == packet.ProtoGRE && h.Dst == p.Remote && h.Src == p.Local
}

// tooBig answers a packet above the MTU: with DF (or IPv6) an ICMP error
// goes back into the overlay and the packet is dropped (returns true).
// Without DF it is sent as is; the outer packet may be fragmented.
func (t *Tunnel) tooBig(e *encapState, pkt []byte, p *Params) bool {
	if len(e.icmp) == cap(e.icmp) {
		t.C.Add(OutTooBig, 1)
		return true
	}
	src := p.ICMPSource
	if !src.IsValid() {
		src = p.Local
	}
	if e.icmpBufs == nil {
		for range icmpBatch {
			e.icmpBufs = append(e.icmpBufs, make([]byte, overlayWriteOffset+icmpMax))
		}
	}
	buf := e.icmpBufs[len(e.icmp)]
	var n int
	var err error
	switch packet.Version(pkt) {
	case 4:
		h, perr := packet.ParseIPv4(pkt)
		if perr != nil || !h.DontFrag {
			return false
		}
		n, err = packet.FragNeeded(buf[overlayWriteOffset:], pkt, src, p.MTU)
	case 6:
		if len(pkt) <= packet.IPv6MinMTU {
			// Every IPv6 link carries 1280 bytes: a tunnel with a lower
			// MTU sends them anyway, fragmented outside.
			return false
		}
		// IPv6 routers never fragment: Packet Too Big, always (without
		// it path MTU discovery black-holes).
		n, err = packet.PacketTooBig(buf[overlayWriteOffset:], pkt, p.ICMPSource6, max(p.ipv6MTU(), packet.IPv6MinMTU))
	}
	t.C.Add(OutTooBig, 1)
	if err == nil && n > 0 {
		e.icmp = append(e.icmp, buf[:overlayWriteOffset+n])
	}
	return true
}

func (t *Tunnel) writeOverlay(bufs [][]byte) {
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	if _, err := t.ov.Write(bufs, overlayWriteOffset); err != nil {
		t.C.Add(InErrors, 1)
		t.log.Debug("overlay write", "err", err)
	}
}

// decapState is a decapsulating goroutine's scratch space.
type decapState struct {
	out     [][]byte
	bytes   uint64 // of out
	reflect []reflection
	frames  [][]byte
	detour  []detour
}

func newDecapState(bs int) *decapState {
	return &decapState{out: make([][]byte, 0, bs), reflect: make([]reflection, 0, bs), frames: make([][]byte, 0, bs), detour: make([]detour, 0, bs)}
}

// reset empties what one tunnel's part of a batch queues.
func (d *decapState) reset() {
	d.out, d.bytes, d.reflect = d.out[:0], 0, d.reflect[:0]
}

// decapBatch decapsulates a batch of the tunnel's packets from a port (of
// ESP when esp) into the overlay.
func (t *Tunnel) decapBatch(d *decapState, esp bool, pkts []Packet) {
	p := t.params.Load()
	var prot *Protection
	if esp {
		if prot = t.prot.Load(); prot == nil {
			t.C.Add(InNoSA, uint64(len(pkts)))
			return
		}
	}
	d.reset()
	d.detour = d.detour[:0]
	for i := range pkts {
		frame := pkts[i].Payload
		if prot != nil {
			if frame = t.openESP(p, prot, frame); frame == nil {
				continue
			}
		} else if p.Protected {
			// Fail closed: clear GRE from the peer of a protected tunnel.
			t.C.Add(InClearDrops, 1)
			continue
		}
		h, inner, err := gre.Decode(frame)
		switch {
		case errors.Is(err, gre.ErrBadChecksum):
			t.C.Add(InChecksumError, 1)
			continue
		case err != nil:
			t.C.Add(InMalformed, 1)
			continue
		case h.HasKey != p.HasKey || h.Key != p.Key:
			// Two tunnels between the same endpoints, told apart by key,
			// may each hold the SA pair IKE filed under the other (IKE
			// cannot see keys): the key decides.
			if s := t.sibling(esp, h); s != nil {
				d.detour = append(d.detour, detour{t: s, h: h, inner: inner, buf: pkts[i].Buf})
				continue
			}
			t.C.Add(InKeyMismatch, 1)
			continue
		}
		t.acceptGRE(d, p, h, inner, pkts[i].Buf)
	}
	t.flush(d, p, esp)
	if prot != nil {
		t.noteSoftLimit(prot)
	}
	for len(d.detour) > 0 {
		// A few tunnels at most: one sibling's packets at a time.
		s := d.detour[0].t
		sp := s.params.Load()
		d.reset()
		rest := d.detour[:0]
		for _, x := range d.detour {
			if x.t == s {
				s.acceptGRE(d, sp, x.h, x.inner, x.buf)
			} else {
				rest = append(rest, x)
			}
		}
		d.detour = rest
		s.flush(d, sp, esp)
	}
}

// detour is a decrypted GRE packet for another tunnel to the same peer.
type detour struct {
	t     *Tunnel
	h     gre.Header
	inner []byte
	buf   []byte
}

// sibling finds, among the tunnels to the same peer on the same ESP port,
// the one whose GRE key h carries (nil: none; clear GRE is never handed
// over, its port sorted it by key already). It runs within that port's
// batch, which holds its batchMu.
func (t *Tunnel) sibling(esp bool, h gre.Header) *Tunnel {
	if !esp {
		return nil
	}
	a := t.esp.Load()
	if a == nil {
		return nil
	}
	for _, s := range a.port.peers[a.peer] {
		if p := s.params.Load(); s != t && p.HasKey == h.HasKey && p.Key == h.Key {
			return s
		}
	}
	return nil
}

// acceptGRE takes one decapsulated GRE packet of this tunnel (inner, in
// buf): a keepalive reply, a keepalive to reflect, or a packet for the
// overlay, queued in d.
func (t *Tunnel) acceptGRE(d *decapState, p *Params, h gre.Header, inner, buf []byte) {
	if h.Protocol == gre.ProtoKeepalive {
		t.C.Add(KeepaliveReplies, 1)
		if t.env.KeepaliveReply != nil {
			t.env.KeepaliveReply()
		}
		return
	}
	if p.Sequence {
		if !h.HasSeq || !t.rxSeq.Accept(h.Seq) {
			t.C.Add(InSeqDrops, 1)
			return
		}
	}
	// inner is a sub-slice of buf reaching its end: its offset follows
	// from the capacities, with no per-packet arithmetic on headers.
	start := cap(buf) - cap(inner)
	if k, ok := gre.ParseKeepalive(inner); ok {
		// An IOS keepalive: send its inner GRE packet back to the peer
		// ourselves (the kernel's reverse-path filter would drop a
		// packet with the peer's source); the socket adds the IP header.
		rs := start + k.Len - k.GRE.Len()
		d.reflect = append(d.reflect, reflection{buf: buf, start: rs, end: start + k.Len})
		return
	}
	switch h.Protocol {
	case gre.ProtoIPv4, gre.ProtoIPv6:
	default:
		t.C.Add(InUnknownProto, 1)
		return
	}
	if !t.up.Load() {
		t.C.Add(InDownDrops, 1)
		return
	}
	if mss := p.adjustMSS(h.Protocol); mss > 0 && packet.ClampMSS(inner, uint16(mss)) {
		t.C.Add(MSSClamped, 1)
	}
	if start < overlayWriteOffset {
		t.C.Add(InMalformed, 1)
		return
	}
	d.out = append(d.out, buf[start-overlayWriteOffset:start+len(inner)])
	d.bytes += uint64(len(inner))
}

// flush writes the packets queued in d to the overlay and sends the
// keepalive reflections.
func (t *Tunnel) flush(d *decapState, p *Params, esp bool) {
	if len(d.out) > 0 {
		t.C.Add(InPackets, uint64(len(d.out)))
		t.C.Add(InBytes, d.bytes)
		t.writeOverlay(d.out)
	}
	if len(d.reflect) > 0 {
		t.reflect(p, esp, d)
	}
}

// reflection is a keepalive to send back: buf[start:end] is its GRE frame.
type reflection struct {
	buf        []byte
	start, end int
}

// reflect sends keepalive reflections back the way they came: through
// the SA when they arrived protected, in clear otherwise.
func (t *Tunnel) reflect(p *Params, esp bool, d *decapState) {
	d.frames = d.frames[:0]
	prot := t.prot.Load()
	a := t.gre.Load()
	if esp {
		a = t.esp.Load()
	}
	if a == nil || esp && (prot == nil || prot.Out == nil) {
		t.C.Add(OutNoSADrops, uint64(len(d.reflect)))
		return
	}
	if esp {
		prot.OutMu.Lock()
	}
	for _, r := range d.reflect {
		if !esp {
			d.frames = append(d.frames, r.buf[r.start:r.end])
			continue
		}
		sealed, err := t.seal(p, prot, r.buf, r.start, r.end)
		if err != nil {
			t.countSealError(err)
			continue
		}
		d.frames = append(d.frames, sealed)
	}
	if esp {
		prot.OutMu.Unlock()
	}
	sent, _ := a.w.WriteBatch(d.frames, nil)
	t.C.Add(KeepalivesReflected, uint64(sent))
}
