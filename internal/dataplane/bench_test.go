package dataplane

import (
	"encoding/binary"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gresec/gresec/internal/esp"
)

// loopUnderlay hands what is written to it to the other end's decapsulation,
// laid out as an underlay delivers it: a copy into the reader's buffers,
// after off bytes (a raw socket's outer IPv4 header; 0 for UDP).
type loopUnderlay struct {
	untilClosed
	pkts []Packet
	off  int
}

func (l *loopUnderlay) BatchSize() int { return 64 }
func (l *loopUnderlay) WriteBatch(bufs [][]byte, _ []byte) (int, error) {
	l.pkts = l.pkts[:len(bufs)]
	for i, b := range bufs {
		l.pkts[i].Payload = l.pkts[i].Buf[l.off : l.off+copy(l.pkts[i].Buf[l.off:], b)]
	}
	return len(bufs), nil
}

// tcpSegments returns a TUN read's worth of 1400-byte TCP segments (a
// 64 KiB TSO send split), each in an overlay buffer at Headroom.
func tcpSegments(n int) ([][]byte, []int) {
	seg := make([]byte, 1400)
	copy(seg, []byte{0x45, 0, 0x05, 0x78, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 1, 0, 10, 10, 2, 0, 10})
	binary.BigEndian.PutUint16(seg[20:], 40000)
	binary.BigEndian.PutUint16(seg[22:], 5201)
	seg[32] = 0x80 // data offset 32: timestamps
	seg[33] = 0x10 // ACK
	pkts := make([][]byte, n)
	for i := range pkts {
		pkts[i] = fixIPv4Checksums(append([]byte(nil), seg...))
	}
	return overlayBatch(pkts...)
}

// BenchmarkTunnelPath moves a TUN read's worth of TCP segments (44 x 1400
// bytes) through one tunnel end's encapsulation and the other's
// decapsulation, as in the data plane's goroutines but without the
// kernel: the user-space cost of a packet, and its allocations (none).
func BenchmarkTunnelPath(b *testing.B) {
	for _, c := range []struct {
		name  string
		suite *esp.Suite
	}{
		{"gre", nil},
		{"gcm-256", &esp.Suite{Cipher: esp.AES256GCM}},
		{"256-aes-sha384-hmac", &esp.Suite{Cipher: esp.AES256CBC, Integrity: esp.HMACSHA384}},
	} {
		b.Run(c.name, func(b *testing.B) {
			const batch = 44
			var a, z *Tunnel
			var zRef bool
			if c.suite == nil {
				pa := baseParams()
				pz := pa
				pz.Local, pz.Remote = pa.Remote, pa.Local
				a, _, _, _ = newTestTunnel(pa)
				z, _, _, zRef = newTestTunnel(pz)
			} else {
				a, z, _, _, _, zRef = protectedPair(b, *c.suite, false)
			}
			loop := &loopUnderlay{pkts: make([]Packet, batch)}
			if c.suite == nil {
				loop.off = 20
			}
			for i := range loop.pkts {
				loop.pkts[i].Buf = make([]byte, underlayBufSize)
			}
			if c.suite == nil {
				idlePort(false).Attach(a, loop)
			} else {
				testPort(a, loop)
			}
			ov := &countingOverlay{}
			z.ov = ov
			bufs, sizes := tcpSegments(batch)
			orig := make([][]byte, batch)
			for i := range bufs {
				orig[i] = append([]byte(nil), bufs[i][Headroom:Headroom+sizes[i]]...)
			}
			e := newEncapState(batch)
			d := &decapState{out: make([][]byte, 0, batch), reflect: make([]reflection, 0, batch), frames: make([][]byte, 0, batch)}
			b.SetBytes(batch * 1400)
			b.ReportAllocs()
			for b.Loop() {
				for i := range bufs { // the TUN read
					copy(bufs[i][Headroom:], orig[i])
				}
				a.encapBatch(e, bufs, sizes)
				z.decapBatch(d, zRef, loop.pkts)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/packet")
			if ov.n != b.N*batch {
				b.Fatalf("delivered %d of %d packets", ov.n, b.N*batch)
			}
		})
	}
}

// TestOneGoroutinePerDirection: a tunnel runs one goroutine reading its
// overlay and one per underlay reading that underlay, whatever the load;
// nothing is handed between goroutines per packet.
func TestOneGoroutinePerDirection(t *testing.T) {
	a, _, _, _, _, _ := protectedPair(t, esp.Suite{Cipher: esp.AES256GCM}, false)
	a.Start()
	a.SetUnderlay(&fakeUnderlay{})
	ul := &fakeUnderlay{}
	port := NewESPPort(ul, nil, nil, a.log)
	port.Attach(a, ul)
	bufs, sizes := tcpSegments(44)
	for range 10 {
		a.encapBatch(newEncapState(44), bufs, sizes)
	}
	if n, stacks := settleLoops(3); n != 3 {
		t.Fatalf("%d read loops for one protected tunnel, want 3 (overlay, GRE underlay, ESP underlay):\n%s", n, stacks)
	}
	a.Close()
	port.Close()
	_ = a.ov.(*fakeOverlay).Close()
	if n, stacks := settleLoops(0); n != 0 {
		t.Errorf("%d read loops left after closing the tunnel, its port and its overlay:\n%s", n, stacks)
	}
}

// settleLoops waits up to 2 s for the number of goroutines running a
// data plane read loop to be want, and returns it with all stacks.
func settleLoops(want int) (int, string) {
	deadline := time.Now().Add(2 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		n := 0
		for _, g := range strings.Split(stacks, "\n\n") {
			if strings.Contains(g, "dataplane.(*Tunnel).encapLoop(") || strings.Contains(g, "dataplane.readLoop(") {
				n++
			}
		}
		if n == want || time.Now().After(deadline) {
			return n, stacks
		}
		time.Sleep(10 * time.Millisecond)
	}
}
