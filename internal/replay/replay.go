// Package replay implements the ESP anti-replay window of RFC 4303
// section 3.4.3 for 64-bit (extended) sequence numbers, using the ring
// bitmap of RFC 6479: the window is a ring of 64-bit words, so that both
// checking and advancing are O(1) per packet and the bitmap is never
// shifted as a whole.
//
// The receiver uses the window in two steps: Check before the integrity
// check (cheap rejection of replays without spending a MAC on them), then
// Update once the ICV has verified. With extended sequence numbers,
// InferESN reconstructs the high 32 bits that are not on the wire
// (RFC 4303 Appendix A2).
//
// A Window is not safe for concurrent use.
package replay

import "math"

const (
	// DefaultSize is the window size of the zero Window and of Init(0), the
	// IOS default.
	DefaultSize = 64
	// MaxSize is the largest window size Init accepts; larger sizes are
	// clamped to it.
	MaxSize = 4096

	// BlockBits is the granularity of the window: sizes are rounded up to
	// a multiple of it.
	BlockBits = 64

	// ringWords is the fixed capacity of the ring: a power of two at least
	// one word larger than the largest window, so that the word holding the
	// oldest in-window sequence number is never the one being cleared for
	// the newest.
	ringWords = 128
)

// Window is an anti-replay window.
//
// The zero Window is ready to use with DefaultSize; Init sets another size
// and resets the state. Sequence number 0 is never accepted: senders start
// counting at 1 (RFC 4303 section 3.3.3).
type Window struct {
	last uint64 // highest sequence number accepted so far, 0 if none
	size uint64 // in sequence numbers; 0 means DefaultSize
	mask uint64 // number of ring words in use minus 1
	ring [ringWords]uint64
}

// Init resets w to an empty window of the given size, rounded up to a
// multiple of BlockBits and clamped to [BlockBits, MaxSize]; size <= 0
// selects DefaultSize. Size reports the result.
func (w *Window) Init(size int) {
	switch {
	case size <= 0:
		size = DefaultSize
	case size > MaxSize:
		size = MaxSize
	}
	blocks := (size + BlockBits - 1) / BlockBits
	words := 1
	for words < blocks+1 {
		words <<= 1
	}
	*w = Window{size: uint64(blocks * BlockBits), mask: uint64(words - 1)}
}

// Size returns the window size in sequence numbers.
func (w *Window) Size() int {
	size, _ := w.params()
	return int(size)
}

// Last returns the highest sequence number accepted so far (0 if none): the
// right edge of the window.
func (w *Window) Last() uint64 { return w.last }

func (w *Window) params() (size, mask uint64) {
	if w.size == 0 {
		return DefaultSize, 1
	}
	return w.size, w.mask
}

// Check reports whether seq would be accepted: it is not 0, not left of the
// window and not already seen. It does not change the window.
func (w *Window) Check(seq uint64) bool {
	if seq == 0 {
		return false
	}
	if seq > w.last {
		return true
	}
	size, mask := w.params()
	if w.last-seq >= size {
		return false
	}
	return w.ring[(seq/BlockBits)&mask]&(1<<(seq%BlockBits)) == 0
}

// Update records seq as received, advancing the window if seq is new at
// its right edge. It reports false, and changes nothing, if seq would not
// pass Check (for example, a copy of the packet was accepted in between).
// Call it only for packets whose integrity has been verified.
func (w *Window) Update(seq uint64) bool {
	if seq == 0 {
		return false
	}
	size, mask := w.params()
	if seq > w.last {
		// Clear the words between the old and the new right edge; they
		// hold bits of sequence numbers that have slid out of the window.
		cur, next := w.last/BlockBits, seq/BlockBits
		n := next - cur
		if n > mask+1 {
			n = mask + 1
		}
		for i := uint64(1); i <= n; i++ {
			w.ring[(cur+i)&mask] = 0
		}
		w.last = seq
	} else if w.last-seq >= size {
		return false
	}
	word := &w.ring[(seq/BlockBits)&mask]
	bit := uint64(1) << (seq % BlockBits)
	if *word&bit != 0 {
		return false
	}
	*word |= bit
	return true
}

// InferESN returns the full 64-bit sequence number of a packet whose low 32
// bits are low, as RFC 4303 Appendix A2.2 infers it from the window: a
// value at or right of the window's bottom in the window's 2^32 subspace, or
// the next subspace once the low half has wrapped. The result is a guess
// that only the integrity check can confirm, since the high half is part of
// the ICV input.
//
// Deviation from the RFC: while the window's high half is still 0, a low
// half that would belong to the (non-existent) subspace before it is taken
// as a jump forward in subspace 0 instead, so the guess is never 2^64-x.
func (w *Window) InferESN(low uint32) uint64 {
	size, _ := w.params()
	th := uint32(w.last >> 32)
	tl := uint32(w.last)
	bottom := tl - uint32(size) + 1 // wraps in case B, as in the RFC
	if uint64(tl) >= size-1 {
		// Case A: the window lies within one subspace.
		if low >= bottom {
			return uint64(th)<<32 | uint64(low)
		}
		if th == math.MaxUint32 {
			// There is no next subspace: take it as old, so that
			// Check rejects it.
			return uint64(th)<<32 | uint64(low)
		}
		return uint64(th+1)<<32 | uint64(low)
	}
	// Case B: the window spans the end of the previous subspace.
	if low >= bottom && th > 0 {
		return uint64(th-1)<<32 | uint64(low)
	}
	return uint64(th)<<32 | uint64(low)
}
