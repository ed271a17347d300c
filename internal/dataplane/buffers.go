package dataplane

import "sync"

// Waiter is a Reader or an Overlay that can wait until it has something to
// read without reading it. The read loops of those take their buffers only
// then, from Buffers, and give them back once the batch is handled: an
// idle tunnel holds no buffer at all, however many tunnels there are.
type Waiter interface {
	WaitRead() error
}

// Buffers pools the read batches of a daemon's tunnels and ports, as
// wireguard-go pools its message buffers per device rather than per peer.
// The zero value is not usable; use NewBuffers. It is safe for concurrent
// use.
type Buffers struct {
	overlay, underlay sync.Pool
}

// Largest batches handed out (wireguard/tun's IdealBatchSize; the UDP
// underlay's batch).
const (
	maxOverlayBatch  = 128
	maxUnderlayBatch = 128
)

// overlayReadBatch is one read batch of an overlay: buffers with Headroom in
// front of room for one inner packet, and their sizes.
type overlayReadBatch struct {
	bufs  [][]byte
	sizes []int
}

// NewBuffers returns an empty pool.
func NewBuffers() *Buffers {
	b := &Buffers{}
	b.overlay.New = func() any {
		ob := &overlayReadBatch{bufs: make([][]byte, maxOverlayBatch), sizes: make([]int, maxOverlayBatch)}
		for i := range ob.bufs {
			ob.bufs[i] = make([]byte, Headroom+maxInner+tailroom)
		}
		return ob
	}
	b.underlay.New = func() any {
		pkts := packets(maxUnderlayBatch, underlayBufSize)
		return &pkts
	}
	return b
}

func (b *Buffers) getOverlay() *overlayReadBatch   { return b.overlay.Get().(*overlayReadBatch) }
func (b *Buffers) putOverlay(ob *overlayReadBatch) { b.overlay.Put(ob) }
func (b *Buffers) getUnderlay() *[]Packet          { return b.underlay.Get().(*[]Packet) }
func (b *Buffers) putUnderlay(p *[]Packet)         { b.underlay.Put(p) }
