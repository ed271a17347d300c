package esp

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// testKeys returns fixed keys of the right lengths for s.
func testKeys(s Suite) (enc, auth []byte) {
	enc = make([]byte, s.KeyLen())
	for i := range enc {
		enc[i] = byte(i + 1)
	}
	auth = make([]byte, s.AuthKeyLen())
	for i := range auth {
		auth[i] = byte(0x80 + i)
	}
	return enc, auth
}

const testSPI = 0xc0ffee01

func newPair(t testing.TB, s Suite, esn bool) (out, in *SA) {
	t.Helper()
	enc, auth := testKeys(s)
	out, err := NewOutbound(testSPI, s, enc, auth, esn)
	if err != nil {
		t.Fatal(err)
	}
	in, err = NewInbound(testSPI, s, enc, auth, esn, 64)
	if err != nil {
		t.Fatal(err)
	}
	return out, in
}

// shortName names a suite for test and benchmark names.
func shortName(s Suite) string {
	return strings.NewReplacer(" ", "-", "esp-", "").Replace(s.String())
}

// seal copies payload into a fresh buffer with the largest head- and
// tailroom and seals it.
func seal(t testing.TB, out *SA, payload []byte, nextHeader byte) []byte {
	t.Helper()
	buf := make([]byte, MaxHeadroom+len(payload), MaxHeadroom+len(payload)+MaxTailroom)
	copy(buf[MaxHeadroom:], payload)
	pkt, err := out.Seal(buf, MaxHeadroom, nextHeader)
	if err != nil {
		t.Fatal(err)
	}
	return pkt
}

func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	payload := make([]byte, 1500)
	for i := range payload {
		payload[i] = byte(rng.Uint32())
	}
	for _, s := range Suites() {
		for _, esn := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/esn=%v", shortName(s), esn), func(t *testing.T) {
				out, in := newPair(t, s, esn)
				for n := 0; n <= 1500; n++ {
					buf := make([]byte, MaxHeadroom+n, MaxHeadroom+n+MaxTailroom)
					copy(buf[MaxHeadroom:], payload[:n])
					pkt, err := out.Seal(buf, MaxHeadroom, NextHeaderGRE)
					if err != nil {
						t.Fatal(err)
					}
					if len(pkt) != n+s.Overhead(n) {
						t.Fatalf("n=%d: packet %d bytes, want %d", n, len(pkt), n+s.Overhead(n))
					}
					if &pkt[0] != &buf[MaxHeadroom-s.Headroom()] {
						t.Fatalf("n=%d: packet does not start Headroom before the payload", n)
					}
					if n >= 16 && bytes.Contains(pkt, payload[:16]) {
						t.Fatalf("n=%d: plaintext visible in the packet", n)
					}
					got, nh, seq, err := in.Open(pkt)
					if err != nil {
						t.Fatalf("n=%d: %v", n, err)
					}
					if !bytes.Equal(got, payload[:n]) || nh != NextHeaderGRE || seq != uint64(n+1) {
						t.Fatalf("n=%d: opened %d bytes, next header %d, seq %d", n, len(got), nh, seq)
					}
				}
				want := Stats{Packets: 1501, Bytes: 1500 * 1501 / 2}
				if got := out.Stats(); got != want {
					t.Errorf("outbound stats %+v, want %+v", got, want)
				}
				if got := in.Stats(); got != want {
					t.Errorf("inbound stats %+v, want %+v", got, want)
				}
			})
		}
	}
}

func TestSealBufferContract(t *testing.T) {
	for _, s := range []Suite{{AES256CBC, HMACSHA384}, {AES256GCM, IntegrityNone}} {
		out, in := newPair(t, s, false)
		const n = 33
		hr, tr := s.Headroom(), s.Tailroom(n)

		// Exactly enough room: header at buf[0], ICV at the end of capacity.
		buf := make([]byte, hr+n, hr+n+tr)
		pkt, err := out.Seal(buf, hr, NextHeaderIPv4)
		if err != nil {
			t.Fatalf("%v: exact room: %v", s, err)
		}
		if &pkt[0] != &buf[0] || len(pkt) != cap(buf) {
			t.Fatalf("%v: packet not where the contract puts it", s)
		}
		if _, nh, _, err := in.Open(pkt); err != nil || nh != NextHeaderIPv4 {
			t.Fatalf("%v: open: next header %d, %v", s, nh, err)
		}

		// Room for outer headers in front: the packet starts after them.
		buf = make([]byte, 100+n, 100+n+tr)
		if pkt, err = out.Seal(buf, 100, NextHeaderGRE); err != nil || &pkt[0] != &buf[100-hr] {
			t.Fatalf("%v: offset 100: %v", s, err)
		}

		for _, bad := range []struct {
			name string
			buf  []byte
			off  int
		}{
			{"headroom short", make([]byte, hr-1+n, hr+n+tr), hr - 1},
			{"tailroom short", make([]byte, hr+n, hr+n+tr-1), hr},
			{"offset beyond buffer", make([]byte, hr, hr+tr), hr + 1},
		} {
			if _, err := out.Seal(bad.buf, bad.off, NextHeaderGRE); err != ErrNoRoom {
				t.Errorf("%v: %s: %v, want ErrNoRoom", s, bad.name, err)
			}
		}
		if got := out.Stats(); got.Packets != 2 || got.Errors != 3 {
			t.Errorf("%v: stats %+v", s, got)
		}
	}
}

func TestDirection(t *testing.T) {
	out, in := newPair(t, Suite{AES128GCM, IntegrityNone}, false)
	buf := make([]byte, MaxHeadroom, MaxHeadroom+MaxTailroom)
	if _, err := in.Seal(buf, MaxHeadroom, NextHeaderGRE); err != ErrDirection {
		t.Errorf("Seal on inbound SA: %v", err)
	}
	pkt := seal(t, out, []byte("x"), NextHeaderGRE)
	if _, _, _, err := out.Open(pkt); err != ErrDirection {
		t.Errorf("Open on outbound SA: %v", err)
	}
	if !out.Outbound() || in.Outbound() || in.ReplayWindow() != 64 || out.ReplayWindow() != 0 ||
		in.SPI() != testSPI || in.Suite() != (Suite{AES128GCM, IntegrityNone}) || in.ESN() {
		t.Error("accessors disagree with the constructors")
	}
}

func TestNewRefuses(t *testing.T) {
	s := Suite{AES256CBC, HMACSHA256}
	enc, auth := testKeys(s)
	for _, tc := range []struct {
		name      string
		spi       uint32
		suite     Suite
		enc, auth []byte
	}{
		{"SPI 0", 0, s, enc, auth},
		{"invalid suite", 1, Suite{AES256CBC, IntegrityNone}, enc, nil},
		{"short key", 1, s, enc[:16], auth},
		{"short auth key", 1, s, enc, auth[:20]},
		{"GCM without salt", 1, Suite{AES256GCM, IntegrityNone}, enc, nil},
		{"GCM with auth key", 1, Suite{AES128GCM, IntegrityNone}, make([]byte, 20), auth},
	} {
		if _, err := NewOutbound(tc.spi, tc.suite, tc.enc, tc.auth, false); err == nil {
			t.Errorf("NewOutbound: %s accepted", tc.name)
		}
		if _, err := NewInbound(tc.spi, tc.suite, tc.enc, tc.auth, false, 64); err == nil {
			t.Errorf("NewInbound: %s accepted", tc.name)
		}
	}
}

// TestTamper flips each byte of a sealed packet in turn: a changed SPI is
// refused as such, anything else as an integrity failure, and the window
// does not move, so the genuine packet still opens.
func TestTamper(t *testing.T) {
	for _, s := range Suites() {
		t.Run(shortName(s), func(t *testing.T) {
			out, in := newPair(t, s, true)
			pkt := seal(t, out, bytes.Repeat([]byte{0xab}, 100), NextHeaderGRE)
			regions := map[string][2]int{
				"seq":        {4, HeaderLen},
				"IV":         {HeaderLen, s.Headroom()},
				"ciphertext": {s.Headroom(), len(pkt) - s.ICVLen()},
				"ICV":        {len(pkt) - s.ICVLen(), len(pkt)},
			}
			auth := 0
			for name, r := range regions {
				for i := r[0]; i < r[1]; i++ {
					bad := bytes.Clone(pkt)
					bad[i] ^= 0x02
					if _, _, _, err := in.Open(bad); err != ErrAuth {
						t.Fatalf("%s byte %d flipped: %v, want ErrAuth", name, i, err)
					}
					auth++
				}
			}
			for i := range 4 {
				bad := bytes.Clone(pkt)
				bad[i] ^= 0x80
				if _, _, _, err := in.Open(bad); err != ErrSPI {
					t.Fatalf("SPI byte %d flipped: %v, want ErrSPI", i, err)
				}
			}
			if _, _, _, err := in.Open(pkt[:len(pkt)-1]); err != ErrBadLength {
				t.Fatalf("truncated: %v, want ErrBadLength", err)
			}
			if _, _, _, err := in.Open(append(bytes.Clone(pkt), 0)); err != ErrBadLength {
				t.Fatalf("extended: %v, want ErrBadLength", err)
			}
			if _, _, _, err := in.Open(pkt[:s.Headroom()+s.ICVLen()]); err != ErrShort {
				t.Fatalf("no ciphertext: %v, want ErrShort", err)
			}
			want := Stats{AuthFailures: uint64(auth), Errors: 7}
			if got := in.Stats(); got != want {
				t.Fatalf("stats %+v, want %+v", got, want)
			}
			if _, _, _, err := in.Open(pkt); err != nil {
				t.Fatalf("genuine packet after tampering: %v", err)
			}
		})
	}
}

func TestReplay(t *testing.T) {
	for _, s := range []Suite{{AES128CBC, HMACSHA1}, {AES128GCM, IntegrityNone}} {
		out, in := newPair(t, s, false)
		var pkts [][]byte
		for i := range 100 {
			pkts = append(pkts, seal(t, out, []byte{byte(i)}, NextHeaderGRE))
		}
		open := func(i int) error {
			_, _, _, err := in.Open(bytes.Clone(pkts[i]))
			return err
		}
		for _, i := range []int{1, 0, 2} {
			if err := open(i); err != nil {
				t.Fatalf("%v: packet %d: %v", s, i+1, err)
			}
		}
		if err := open(1); err != ErrReplay {
			t.Fatalf("%v: replayed packet: %v", s, err)
		}
		if err := open(99); err != nil { // seq 100
			t.Fatal(err)
		}
		if err := open(35); err != ErrReplay { // seq 36 = 100 - 64
			t.Fatalf("%v: packet left of the window: %v", s, err)
		}
		if err := open(36); err != nil { // seq 37, the window's left edge
			t.Fatalf("%v: packet at the window's edge: %v", s, err)
		}
		if got := in.Stats(); got.ReplayFailures != 2 || got.Packets != 5 || got.AuthFailures != 0 {
			t.Fatalf("%v: stats %+v", s, got)
		}
	}
}

func TestWrongSPI(t *testing.T) {
	s := Suite{AES256GCM, IntegrityNone}
	enc, _ := testKeys(s)
	out, _ := NewOutbound(1000, s, enc, nil, false)
	in, _ := NewInbound(1001, s, enc, nil, false, 64)
	if _, _, _, err := in.Open(seal(t, out, []byte("gre"), NextHeaderGRE)); err != ErrSPI {
		t.Fatalf("%v, want ErrSPI", err)
	}
	if in.Stats().Errors != 1 {
		t.Fatalf("stats %+v", in.Stats())
	}
}

func TestSeqExhaustion(t *testing.T) {
	for _, tc := range []struct {
		esn  bool
		last uint64
	}{{false, math.MaxUint32}, {true, math.MaxUint64}} {
		for _, s := range []Suite{{AES256CBC, HMACSHA256}, {AES256GCM, IntegrityNone}} {
			out, in := newPair(t, s, tc.esn)
			out.seq = tc.last - 1
			// Stand the receiver where this stream would have put it.
			in.window.Update(tc.last - 10)
			pkt := seal(t, out, []byte("last"), NextHeaderGRE)
			if _, _, seq, err := in.Open(pkt); err != nil || seq != tc.last {
				t.Fatalf("%v esn=%v: last packet: seq %#x, %v", s, tc.esn, seq, err)
			}
			buf := make([]byte, MaxHeadroom+4, MaxHeadroom+4+MaxTailroom)
			if _, err := out.Seal(buf, MaxHeadroom, NextHeaderGRE); err != ErrSeqExhausted {
				t.Fatalf("%v esn=%v: after the last: %v, want ErrSeqExhausted", s, tc.esn, err)
			}
			if out.seq != tc.last {
				t.Fatalf("counter moved to %#x", out.seq)
			}
		}
	}
}

func TestSeqSoftExpiry(t *testing.T) {
	out, _ := newPair(t, Suite{AES128GCM, IntegrityNone}, false)
	out.stats.packets.Store(math.MaxUint32 - math.MaxUint32>>4 - 1)
	if out.SoftExpired() {
		t.Fatal("soft-expired too early")
	}
	out.stats.packets.Add(1)
	if !out.SoftExpired() || out.Expired() {
		t.Fatal("want soft expiry at 15/16 of the sequence space")
	}
	out.stats.packets.Store(math.MaxUint32)
	if !out.Expired() {
		t.Fatal("want expiry at the last sequence number")
	}
}

// TestESNAcrossWrap seals across the 2^32 boundary of the low half: the
// receiver infers the high half, and the ICV covers it.
func TestESNAcrossWrap(t *testing.T) {
	for _, s := range []Suite{{AES128CBC, HMACSHA512}, {AES256GCM, IntegrityNone}} {
		out, in := newPair(t, s, true)
		out.seq = 1<<32 - 10
		var held []byte
		for i := range 20 {
			pkt := seal(t, out, []byte{byte(i)}, NextHeaderGRE)
			if i == 5 {
				held = pkt // delivered late, after the wrap
				continue
			}
			_, _, seq, err := in.Open(pkt)
			if err != nil || seq != out.seq {
				t.Fatalf("%v: seq %#x: got %#x, %v", s, out.seq, seq, err)
			}
		}
		if _, _, seq, err := in.Open(held); err != nil || seq != 1<<32-4 {
			t.Fatalf("%v: late packet: seq %#x, %v", s, seq, err)
		}
	}
}

// TestESNMismatch: ESN on one side only makes every packet fail its ICV,
// even while the high half is 0 (it is still part of the ICV input).
func TestESNMismatch(t *testing.T) {
	for _, s := range []Suite{{AES128CBC, HMACSHA256}, {AES128GCM, IntegrityNone}} {
		enc, auth := testKeys(s)
		out, _ := NewOutbound(testSPI, s, enc, auth, true)
		in, _ := NewInbound(testSPI, s, enc, auth, false, 64)
		if _, _, _, err := in.Open(seal(t, out, []byte("x"), NextHeaderGRE)); err != ErrAuth {
			t.Fatalf("%v: %v, want ErrAuth", s, err)
		}
	}
}

// craft seals an arbitrary plaintext (payload, padding and trailer as
// given, already aligned) with the SA's own keys: a packet whose ICV
// verifies but whose padding may be wrong.
func craft(out *SA, seq uint64, plain []byte) []byte {
	pkt := make([]byte, out.headroom+len(plain)+out.icvLen)
	copy(pkt[out.headroom:], plain)
	out.protect(pkt, out.headroom+len(plain), seq, nil)
	return pkt
}

func TestPadding(t *testing.T) {
	for _, s := range []Suite{{AES256CBC, HMACSHA384}, {AES256GCM, IntegrityNone}} {
		out, in := newPair(t, s, false)
		bs := s.BlockSize()
		aligned := func(payload, pad []byte, nextHeader byte) []byte {
			p := append(bytes.Clone(payload), pad...)
			p = append(p, byte(len(pad)), nextHeader)
			if len(p)%bs != 0 {
				t.Fatalf("%v: test plaintext of %d bytes not aligned", s, len(p))
			}
			return p
		}
		monotonic := func(n int) []byte {
			b := make([]byte, n)
			for i := range b {
				b[i] = byte(i + 1)
			}
			return b
		}
		payload := []byte("0123456789ab") // 12 bytes
		minPad := s.PadLen(len(payload))
		bad := map[string][]byte{
			"pad length beyond the packet": append(bytes.Repeat([]byte{7}, bs-2), byte(bs-1), NextHeaderGRE),
			"pad bytes not monotonic":      aligned(payload[:len(payload)-4], append(monotonic(minPad+3), 9), NextHeaderGRE),
			"zero pad bytes":               aligned(payload[:len(payload)-4], make([]byte, minPad+4), NextHeaderGRE),
		}
		seq := uint64(0)
		for name, plain := range bad {
			seq++
			if _, _, _, err := in.Open(craft(out, seq, plain)); err != ErrBadPadding {
				t.Errorf("%v: %s: %v, want ErrBadPadding", s, name, err)
			}
		}
		if got := in.Stats(); got.Errors != uint64(len(bad)) || got.AuthFailures != 0 {
			t.Errorf("%v: stats %+v", s, got)
		}

		// Longer padding than needed (traffic flow confidentiality) is
		// valid as long as it counts 1, 2, 3, ...
		seq++
		got, nh, _, err := in.Open(craft(out, seq, aligned(payload, monotonic(minPad+2*bs), NextHeaderGRE)))
		if err != nil || !bytes.Equal(got, payload) || nh != NextHeaderGRE {
			t.Errorf("%v: extra padding: %q, %d, %v", s, got, nh, err)
		}

		// A dummy packet (next header 59) is valid and dropped.
		seq++
		if _, _, _, err := in.Open(craft(out, seq, aligned(payload, monotonic(minPad), NextHeaderNone))); err != ErrDummy {
			t.Errorf("%v: dummy packet: %v, want ErrDummy", s, err)
		}
		if got := in.Stats(); got.Packets != 2 || got.Errors != uint64(len(bad)) {
			t.Errorf("%v: stats after valid packets %+v", s, got)
		}
	}
}

func TestLifetime(t *testing.T) {
	s := Suite{AES128GCM, IntegrityNone}
	out, in := newPair(t, s, false)
	l := Lifetime{SoftPackets: 2, HardPackets: 3, SoftBytes: 250, HardBytes: 1000}
	out.SetLifetime(l)
	in.SetLifetime(Lifetime{SoftBytes: 150, HardBytes: 200})
	if out.Lifetime() != l {
		t.Fatal("Lifetime() differs from SetLifetime")
	}
	payload := make([]byte, 100)
	for i := range 3 {
		if out.SoftExpired() != (i >= 2) || out.Expired() {
			t.Fatalf("outbound after %d packets: soft %v, hard %v", i, out.SoftExpired(), out.Expired())
		}
		pkt := seal(t, out, payload, NextHeaderGRE)
		_, _, _, err := in.Open(pkt)
		switch {
		case i < 2 && err != nil:
			t.Fatalf("inbound packet %d: %v", i, err)
		case i == 2 && err != ErrExpired:
			t.Fatalf("inbound past 200 bytes: %v, want ErrExpired", err)
		}
	}
	if !out.Expired() || !in.Expired() || !in.SoftExpired() {
		t.Fatal("want both SAs expired")
	}
	buf := make([]byte, MaxHeadroom, MaxHeadroom+MaxTailroom)
	if _, err := out.Seal(buf, MaxHeadroom, NextHeaderGRE); err != ErrExpired {
		t.Fatalf("Seal past the hard limit: %v", err)
	}
}

// TestCBCIVs: IVs differ per packet, and between SAs with the same keys
// (each draws its own IV key), so they are not a function of the keys and
// the sequence number alone.
func TestCBCIVs(t *testing.T) {
	s := Suite{AES128CBC, HMACSHA256}
	a, _ := newPair(t, s, false)
	b, _ := newPair(t, s, false)
	seen := map[string]bool{}
	for range 1000 {
		for _, sa := range []*SA{a, b} {
			iv := string(seal(t, sa, nil, NextHeaderGRE)[HeaderLen:s.Headroom()])
			if seen[iv] {
				t.Fatalf("IV %x repeated", iv)
			}
			seen[iv] = true
		}
	}
}

func TestGCMIVIsSequenceNumber(t *testing.T) {
	out, _ := newPair(t, Suite{AES256GCM, IntegrityNone}, true)
	out.seq = 0x0102030405060707
	pkt := seal(t, out, nil, NextHeaderGRE)
	if want := []byte{1, 2, 3, 4, 5, 6, 7, 8}; !bytes.Equal(pkt[HeaderLen:16], want) || !bytes.Equal(pkt[4:8], want[4:]) {
		t.Fatalf("header and IV %x", pkt[:16])
	}
}

func TestAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts")
	}
	for _, s := range Suites() {
		for _, esn := range []bool{false, true} {
			out, in := newPair(t, s, esn)
			const n = 1400
			buf := make([]byte, MaxHeadroom+n, MaxHeadroom+n+MaxTailroom)
			if a := testing.AllocsPerRun(100, func() {
				if _, err := out.Seal(buf[:MaxHeadroom+n], MaxHeadroom, NextHeaderGRE); err != nil {
					t.Fatal(err)
				}
			}); a != 0 {
				t.Errorf("%v esn=%v: Seal allocates %v times", s, esn, a)
			}

			// AllocsPerRun runs the function once more than asked.
			var pkts [][]byte
			for range 101 {
				pkts = append(pkts, seal(t, out, make([]byte, n), NextHeaderGRE))
			}
			i := 0
			if a := testing.AllocsPerRun(100, func() {
				if _, _, _, err := in.Open(pkts[i]); err != nil {
					t.Fatal(err)
				}
				i++
			}); a != 0 {
				t.Errorf("%v esn=%v: Open allocates %v times", s, esn, a)
			}
		}
	}
}

func TestErrorsAreDistinct(t *testing.T) {
	all := []error{ErrShort, ErrBadLength, ErrSPI, ErrReplay, ErrAuth, ErrBadPadding, ErrDummy,
		ErrSeqExhausted, ErrExpired, ErrNoRoom, ErrDirection}
	for i, a := range all {
		for _, b := range all[i+1:] {
			if errors.Is(a, b) || a.Error() == b.Error() {
				t.Errorf("%v and %v", a, b)
			}
		}
	}
}
