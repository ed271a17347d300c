package replay

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// reference is the obvious, slow anti-replay window the ring bitmap must
// agree with.
type reference struct {
	size, last uint64
	seen       map[uint64]bool
}

func newReference(size int) *reference {
	return &reference{size: uint64(size), seen: map[uint64]bool{}}
}

func (r *reference) check(seq uint64) bool {
	if seq == 0 {
		return false
	}
	if seq > r.last {
		return true
	}
	return r.last-seq < r.size && !r.seen[seq]
}

func (r *reference) update(seq uint64) bool {
	if !r.check(seq) {
		return false
	}
	r.seen[seq] = true
	if seq > r.last {
		r.last = seq
	}
	return true
}

func TestZeroValue(t *testing.T) {
	var w Window
	if got := w.Size(); got != DefaultSize {
		t.Fatalf("zero Window size = %d, want %d", got, DefaultSize)
	}
	if w.Check(0) || w.Update(0) {
		t.Fatal("sequence number 0 accepted")
	}
	for seq := uint64(1); seq <= 200; seq++ {
		if !w.Check(seq) || !w.Update(seq) {
			t.Fatalf("in-order seq %d rejected", seq)
		}
	}
	if w.Check(200 - 64) {
		t.Fatal("seq just left of the default window accepted")
	}
	if !w.Check(201) {
		t.Fatal("next seq rejected")
	}
}

func TestInit(t *testing.T) {
	for _, tc := range []struct{ in, want int }{
		{-1, 64}, {0, 64}, {1, 64}, {64, 64}, {65, 128}, {100, 128},
		{1000, 1024}, {1024, 1024}, {1025, 1088}, {4096, 4096}, {5000, 4096},
	} {
		var w Window
		w.Init(tc.in)
		if got := w.Size(); got != tc.want {
			t.Errorf("Init(%d): Size() = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestInitResets(t *testing.T) {
	var w Window
	w.Update(10)
	w.Init(128)
	if w.Last() != 0 || !w.Check(10) {
		t.Fatal("Init did not reset the window")
	}
}

func TestInOrderAndDuplicates(t *testing.T) {
	var w Window
	w.Init(1024)
	for seq := uint64(1); seq <= 10000; seq++ {
		if !w.Update(seq) {
			t.Fatalf("seq %d rejected", seq)
		}
		if w.Check(seq) || w.Update(seq) {
			t.Fatalf("duplicate of seq %d accepted", seq)
		}
		if seq > 1 && w.Update(seq-1) {
			t.Fatalf("duplicate of seq %d accepted", seq-1)
		}
	}
	if w.Last() != 10000 {
		t.Fatalf("Last() = %d", w.Last())
	}
}

func TestCheckDoesNotChangeState(t *testing.T) {
	var w Window
	w.Update(5)
	for range 3 {
		if !w.Check(7) {
			t.Fatal("Check(7) = false")
		}
	}
	if w.Last() != 5 {
		t.Fatalf("Check moved the window to %d", w.Last())
	}
	if !w.Update(7) || w.Update(7) {
		t.Fatal("Update after Check: want true then false")
	}
}

func TestWindowEdges(t *testing.T) {
	for _, size := range []int{64, 128, 192, 1024, 4096} {
		var w Window
		w.Init(size)
		last := uint64(100000)
		w.Update(last)
		s := uint64(size)
		if w.Check(last - s) {
			t.Errorf("size %d: seq last-size accepted", size)
		}
		if !w.Check(last - s + 1) {
			t.Errorf("size %d: seq last-size+1 rejected", size)
		}
		// Every sequence number inside the window is accepted once, in
		// reverse order.
		for seq := last - 1; seq > last-s; seq-- {
			if !w.Update(seq) {
				t.Fatalf("size %d: in-window seq %d rejected", size, seq)
			}
		}
		for seq := last - s + 1; seq <= last; seq++ {
			if w.Check(seq) {
				t.Fatalf("size %d: replayed seq %d accepted", size, seq)
			}
		}
	}
}

func TestLargeJumps(t *testing.T) {
	var w Window
	w.Init(1024)
	for seq := uint64(1); seq <= 2000; seq++ {
		w.Update(seq)
	}
	// Jump by exactly the ring's span, so that the new right edge lands in
	// the same ring word as the old one: stale bits must not survive.
	for _, jump := range []uint64{64, 1024, ringWords * BlockBits, ringWords*BlockBits + 1, 1 << 40} {
		base := w.Last() + jump
		if !w.Update(base) {
			t.Fatalf("jump +%d to %d rejected", jump, base)
		}
		for seq := base - 1; seq > base-1024 && seq > base-jump; seq-- {
			if !w.Check(seq) {
				t.Fatalf("after jump +%d: unseen seq %d rejected (stale bit)", jump, seq)
			}
		}
		if w.Check(base - 1024) {
			t.Fatalf("after jump +%d: seq %d left of the window accepted", jump, base-1024)
		}
	}
	if !w.Update(math.MaxUint64) || w.Update(math.MaxUint64) {
		t.Fatal("seq 2^64-1: want accepted once")
	}
}

func TestInferESN(t *testing.T) {
	const hi = uint64(1) << 32
	for _, tc := range []struct {
		name string
		last uint64
		low  uint32
		want uint64
	}{
		{"empty window", 0, 1, 1},
		{"empty window, far", 0, 0xfffffff0, 0xfffffff0},
		{"A: in window", 1000, 990, 990},
		{"A: ahead", 1000, 5000, 5000},
		{"A: wrapped", 0xfffffff0, 5, hi + 5},
		{"A: just below edge of window", 0xfffffff0, 0xfffffff0 - 63, 0xfffffff0 - 63},
		{"A: left of window means next subspace", 0xfffffff0, 0xfffffff0 - 64, hi + 0xfffffff0 - 64},
		{"A: high subspace", 7*hi + 500, 450, 7*hi + 450},
		{"B: previous subspace", hi + 10, 0xfffffff0, 0xfffffff0},
		{"B: current subspace", hi + 10, 3, hi + 3},
		{"B: ahead", hi + 10, 100000, hi + 100000},
		{"B: subspace 0 has no predecessor", 10, 0xfffffff0, 0xfffffff0},
		{"A: last subspace does not wrap", math.MaxUint64 - 100, 5, math.MaxUint64&^0xffffffff | 5},
	} {
		var w Window
		if tc.last != 0 {
			w.Update(tc.last)
		}
		if got := w.InferESN(tc.low); got != tc.want {
			t.Errorf("%s: last %#x, InferESN(%#x) = %#x, want %#x", tc.name, tc.last, tc.low, got, tc.want)
		}
	}
}

// TestESNWraparound runs a reordered stream across the 2^32 boundary of
// the low half, as a receiver does: infer the high half from the window,
// check, update.
func TestESNWraparound(t *testing.T) {
	for _, size := range []int{64, 1024} {
		var w Window
		w.Init(size)
		rng := rand.New(rand.NewPCG(1, uint64(size)))
		start := uint64(1)<<32 - 3000
		w.Update(start - 1)
		seqs := make([]uint64, 6000)
		for i := range seqs {
			seqs[i] = start + uint64(i)
		}
		// Reorder: sorting by seq plus a random delay below half the
		// window keeps every packet inside the window when it arrives.
		keys := make(map[uint64]int, len(seqs))
		for _, seq := range seqs {
			keys[seq] = int(seq-start) + rng.IntN(size/2)
		}
		slices.SortStableFunc(seqs, func(a, b uint64) int { return keys[a] - keys[b] })
		for _, seq := range seqs {
			got := w.InferESN(uint32(seq))
			if got != seq {
				t.Fatalf("size %d: last %#x, InferESN(%#x) = %#x, want %#x", size, w.Last(), uint32(seq), got, seq)
			}
			if !w.Check(got) || !w.Update(got) {
				t.Fatalf("size %d: seq %#x rejected", size, seq)
			}
			// A replay of it is recognised with the same inference.
			if w.Check(w.InferESN(uint32(seq))) {
				t.Fatalf("size %d: replay of seq %#x accepted", size, seq)
			}
		}
		if w.Last() != start+uint64(len(seqs))-1 {
			t.Fatalf("size %d: Last() = %#x", size, w.Last())
		}
	}
}

// run feeds seqs to a Window and the reference and fails on disagreement.
func run(t *testing.T, size int, seqs []uint64) {
	t.Helper()
	var w Window
	w.Init(size)
	ref := newReference(w.Size())
	for i, seq := range seqs {
		if got, want := w.Check(seq), ref.check(seq); got != want {
			t.Fatalf("size %d, step %d: Check(%d) = %v, reference %v (last %d)", size, i, seq, got, want, ref.last)
		}
		// Sometimes only check, as for a packet that fails its ICV.
		if seq%5 == 3 {
			continue
		}
		if got, want := w.Update(seq), ref.update(seq); got != want {
			t.Fatalf("size %d, step %d: Update(%d) = %v, reference %v (last %d)", size, i, seq, got, want, ref.last)
		}
		if w.Last() != ref.last {
			t.Fatalf("size %d, step %d: Last() = %d, reference %d", size, i, w.Last(), ref.last)
		}
	}
}

// randomStream is mostly near the right edge, with duplicates, stale
// packets and jumps of every scale.
func randomStream(rng *rand.Rand, size, n int) []uint64 {
	seqs := make([]uint64, 0, n)
	last := uint64(rng.IntN(1000))
	for range n {
		var seq uint64
		switch r := rng.IntN(100); {
		case r < 50:
			seq = last + uint64(rng.IntN(4))
		case r < 80:
			seq = last - min(last, uint64(rng.IntN(2*size+2)))
		case r < 90 && len(seqs) > 0:
			seq = seqs[rng.IntN(len(seqs))]
		case r < 98:
			seq = last + uint64(rng.IntN(ringWords*BlockBits*2))
		default:
			seq = last + rng.Uint64N(1<<40)
		}
		seqs = append(seqs, seq)
		last = max(last, seq)
	}
	return seqs
}

func TestAgainstReference(t *testing.T) {
	for _, size := range []int{64, 128, 640, 1024, 4096} {
		for s := range uint64(20) {
			rng := rand.New(rand.NewPCG(s, uint64(size)))
			run(t, size, randomStream(rng, size, 5000))
		}
	}
}

// FuzzWindow compares the window with the reference on arbitrary streams:
// the first byte picks the size, then each 3 bytes move the sequence number
// relative to the highest seen.
func FuzzWindow(f *testing.F) {
	f.Add([]byte{0, 1, 0, 0, 1, 0, 0, 0x80, 0x10, 0})
	f.Add([]byte{15, 0x7f, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		size := (int(data[0])%64 + 1) * BlockBits
		data = data[1:]
		var seqs []uint64
		last := uint64(0)
		for len(data) >= 3 {
			d := int64(int16(binary.BigEndian.Uint16(data)))
			switch data[2] % 4 {
			case 0:
				d *= BlockBits
			case 1:
				d <<= 20
			}
			seq := uint64(max(0, int64(last)+d))
			seqs = append(seqs, seq)
			last = max(last, seq)
			data = data[3:]
		}
		run(t, size, seqs)
	})
}

func BenchmarkUpdateInOrder(b *testing.B) {
	var w Window
	w.Init(1024)
	seq := uint64(0)
	for b.Loop() {
		seq++
		if !w.Check(seq) || !w.Update(seq) {
			b.Fatal("rejected")
		}
	}
}
