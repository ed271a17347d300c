package dh

import (
	"bytes"
	"encoding/hex"
	"math/big"
	"math/rand/v2"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestECPVectors checks groups 19, 20 and 21 against the test vectors of
// RFC 5903 section 8: public values x | y, shared secret the x coordinate.
func TestECPVectors(t *testing.T) {
	for _, v := range []struct {
		group       Group
		i, gix, giy string
		r, grx, gry string
		girx        string
	}{
		{
			group: ECP256,
			i:     "c88f01f510d9ac3f70a292daa2316de544e9aab8afe84049c62a9c57862d1433",
			gix:   "dad0b65394221cf9b051e1feca5787d098dfe637fc90b9ef945d0c3772581180",
			giy:   "5271a0461cdb8252d61f1c456fa3e59ab1f45b33accf5f58389e0577b8990bb3",
			r:     "c6ef9c5d78ae012a011164acb397ce2088685d8f06bf9be0b283ab46476bee53",
			grx:   "d12dfb5289c8d4f81208b70270398c342296970a0bccb74c736fc7554494bf63",
			gry:   "56fbf3ca366cc23e8157854c13c58d6aac23f046ada30f8353e74f33039872ab",
			girx:  "d6840f6b42f6edafd13116e0e12565202fef8e9ece7dce03812464d04b9442de",
		},
		{
			group: ECP384,
			i:     "099f3c7034d4a2c699884d73a375a67f7624ef7c6b3c0f160647b67414dce655e35b538041e649ee3faef896783ab194",
			gix:   "667842d7d180ac2cde6f74f37551f55755c7645c20ef73e31634fe72b4c55ee6de3ac808acb4bdb4c88732aee95f41aa",
			giy:   "9482ed1fc0eeb9cafc4984625ccfc23f65032149e0e144ada024181535a0f38eeb9fcff3c2c947dae69b4c634573a81c",
			r:     "41cb0779b4bdb85d47846725fbec3c9430fab46cc8dc5060855cc9bda0aa2942e0308312916b8ed2960e4bd55a7448fc",
			grx:   "e558dbef53eecde3d3fccfc1aea08a89a987475d12fd950d83cfa41732bc509d0d1ac43a0336def96fda41d0774a3571",
			gry:   "dcfbec7aacf3196472169e838430367f66eebe3c6e70c416dd5f0c68759dd1fff83fa40142209dff5eaad96db9e6386c",
			girx:  "11187331c279962d93d604243fd592cb9d0a926f422e47187521287e7156c5c4d603135569b9e9d09cf5d4a270f59746",
		},
		{
			group: ECP521,
			i:     "0037ade9319a89f4dabdb3ef411aaccca5123c61acab57b5393dce47608172a095aa85a30fe1c2952c6771d937ba9777f5957b2639bab072462f68c27a57382d4a52",
			gix:   "0015417e84dbf28c0ad3c278713349dc7df153c897a1891bd98bab4357c9ecbee1e3bf42e00b8e380aeae57c2d107564941885942af5a7f4601723c4195d176ced3e",
			giy:   "017cae20b6641d2eeb695786d8c946146239d099e18e1d5a514c739d7cb4a10ad8a788015ac405d7799dc75e7b7d5b6cf2261a6a7f1507438bf01beb6ca3926f9582",
			r:     "0145ba99a847af43793fdd0e872e7cdfa16be30fdc780f97bccc3f078380201e9c677d600b343757a3bdbf2a3163e4c2f869cca7458aa4a4effc311f5cb151685eb9",
			grx:   "00d0b3975ac4b799f5bea16d5e13e9af971d5e9b984c9f39728b5e5739735a219b97c356436adc6e95bb0352f6be64a6c2912d4ef2d0433ced2b6171640012d9460f",
			gry:   "015c68226383956e3bd066e797b623c27ce0eac2f551a10c2c724d9852077b87220b6536c5c408a1d2aebb8e86d678ae49cb57091f4732296579ab44fcd17f0fc56a",
			girx:  "01144c7d79ae6956bc8edb8e7c787c4521cb086fa64407f97894e5e6b2d79b04d1427e73ca4baa240a34786859810c06b3c715a3a8cc3151f2bee417996d19f3ddea",
		},
	} {
		ki, err := FromPrivate(v.group, unhex(t, v.i))
		if err != nil {
			t.Fatal(err)
		}
		kr, err := FromPrivate(v.group, unhex(t, v.r))
		if err != nil {
			t.Fatal(err)
		}
		if want := unhex(t, v.gix+v.giy); !bytes.Equal(ki.Public(), want) {
			t.Errorf("group %d: g^i = %x, want %x", v.group, ki.Public(), want)
		}
		if want := unhex(t, v.grx+v.gry); !bytes.Equal(kr.Public(), want) {
			t.Errorf("group %d: g^r = %x, want %x", v.group, kr.Public(), want)
		}
		if len(ki.Public()) != v.group.PublicLen() {
			t.Errorf("group %d: public value of %d bytes, want %d", v.group, len(ki.Public()), v.group.PublicLen())
		}
		for _, c := range []struct {
			k    *Key
			peer []byte
		}{{ki, kr.Public()}, {kr, ki.Public()}} {
			s, err := c.k.Shared(c.peer)
			if err != nil {
				t.Fatal(err)
			}
			if want := unhex(t, v.girx); !bytes.Equal(s, want) {
				t.Errorf("group %d: g^ir = %x, want %x", v.group, s, want)
			}
		}
		// A point off the curve and values of the wrong length are refused.
		bad := bytes.Clone(kr.Public())
		bad[len(bad)-1] ^= 1
		if _, err := ki.Shared(bad); err == nil {
			t.Errorf("group %d: accepted a point off the curve", v.group)
		}
		if _, err := ki.Shared(kr.Public()[1:]); err == nil {
			t.Errorf("group %d: accepted a short public value", v.group)
		}
	}
}

// piBits returns floor(pi * 2^bits), by Machin's formula
// pi = 16 atan(1/5) - 4 atan(1/239), in fixed point with guard bits.
func piBits(bits uint) *big.Int {
	const guard = 64
	one := new(big.Int).Lsh(big.NewInt(1), bits+guard)
	atanInv := func(x int64) *big.Int {
		// atan(1/x) = sum (-1)^k / ((2k+1) x^(2k+1))
		sum := new(big.Int)
		term := new(big.Int).Div(one, big.NewInt(x))
		x2 := big.NewInt(x * x)
		for k := int64(0); term.Sign() != 0; k++ {
			t := new(big.Int).Div(term, big.NewInt(2*k+1))
			if k%2 == 0 {
				sum.Add(sum, t)
			} else {
				sum.Sub(sum, t)
			}
			term.Div(term, x2)
		}
		return sum
	}
	pi := new(big.Int).Mul(atanInv(5), big.NewInt(16))
	pi.Sub(pi, new(big.Int).Mul(atanInv(239), big.NewInt(4)))
	return pi.Rsh(pi, guard)
}

// TestMODPGroups checks the MODP primes against their definition in RFC
// 3526 (p = 2^n - 2^(n-64) - 1 + 2^64 * ([2^(n-130) pi] + k)) and the
// constant-time exponentiation against math/big.
func TestMODPGroups(t *testing.T) {
	rng := rand.NewChaCha8([32]byte{1})
	for _, g := range []struct {
		group Group
		n     uint
		k     int64
	}{
		{MODP2048, 2048, 124476},
		{MODP3072, 3072, 1690314},
		{MODP4096, 4096, 240904},
	} {
		want := new(big.Int).Lsh(big.NewInt(1), g.n)
		want.Sub(want, new(big.Int).Lsh(big.NewInt(1), g.n-64))
		want.Sub(want, big.NewInt(1))
		f := piBits(g.n - 130)
		f.Add(f, big.NewInt(g.k))
		want.Add(want, f.Lsh(f, 64))
		p := new(big.Int).SetBytes(modpGroups()[g.group].p.Nat().Bytes(modpGroups()[g.group].p))
		if p.Cmp(want) != 0 {
			t.Fatalf("group %d: prime differs from RFC 3526's definition", g.group)
		}
		if g.group.PublicLen() != int(g.n/8) {
			t.Errorf("group %d: public length %d", g.group, g.group.PublicLen())
		}

		a, b := make([]byte, modpExponentLen), make([]byte, modpExponentLen)
		rng.Read(a)
		rng.Read(b)
		ka, err := FromPrivate(g.group, a)
		if err != nil {
			t.Fatal(err)
		}
		kb, _ := FromPrivate(g.group, b)
		two := big.NewInt(2)
		ga := new(big.Int).Exp(two, new(big.Int).SetBytes(a), p)
		if !bytes.Equal(ka.Public(), ga.FillBytes(make([]byte, g.n/8))) {
			t.Errorf("group %d: g^a differs from math/big", g.group)
		}
		s1, err := ka.Shared(kb.Public())
		if err != nil {
			t.Fatal(err)
		}
		s2, _ := kb.Shared(ka.Public())
		gb := new(big.Int).SetBytes(kb.Public())
		gab := new(big.Int).Exp(gb, new(big.Int).SetBytes(a), p)
		if !bytes.Equal(s1, s2) || !bytes.Equal(s1, gab.FillBytes(make([]byte, g.n/8))) {
			t.Errorf("group %d: shared secrets disagree", g.group)
		}
		// Degenerate public values are refused (RFC 2409: 1 < y < p-1).
		pm1 := new(big.Int).Sub(p, big.NewInt(1))
		for _, y := range []*big.Int{big.NewInt(0), big.NewInt(1), pm1, p} {
			if _, err := ka.Shared(y.FillBytes(make([]byte, g.n/8))); err == nil {
				t.Errorf("group %d: accepted public value %v...", g.group, y.Text(16)[:min(8, len(y.Text(16)))])
			}
		}
	}
}

func TestNewDHKey(t *testing.T) {
	rng := rand.NewChaCha8([32]byte{2})
	for _, g := range []Group{14, 15, 16, 19, 20, 21, 31} {
		a, err := New(g, rng)
		if err != nil {
			t.Fatal(err)
		}
		b, err := New(g, rng)
		if err != nil {
			t.Fatal(err)
		}
		s1, err1 := a.Shared(b.Public())
		s2, err2 := b.Shared(a.Public())
		if err1 != nil || err2 != nil || !bytes.Equal(s1, s2) {
			t.Errorf("group %d: key agreement failed: %v %v", g, err1, err2)
		}
	}
	if _, err := New(2, rng); err == nil {
		t.Error("group 2 accepted")
	}
}

// TestCurve25519 checks group 31 against RFC 7748 section 6.1 and refuses a
// low-order point, whose shared secret would be all zeros (RFC 8031 2.3).
func TestCurve25519(t *testing.T) {
	a, err := FromPrivate(Curve25519, unhex(t, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := FromPrivate(Curve25519, unhex(t, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"))
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"); !bytes.Equal(a.Public(), want) {
		t.Errorf("public A = %x, want %x", a.Public(), want)
	}
	if want := unhex(t, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"); !bytes.Equal(b.Public(), want) {
		t.Errorf("public B = %x, want %x", b.Public(), want)
	}
	want := unhex(t, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")
	for _, k := range []struct{ k, peer *Key }{{a, b}, {b, a}} {
		s, err := k.k.Shared(k.peer.Public())
		if err != nil || !bytes.Equal(s, want) {
			t.Errorf("shared = %x, %v; want %x", s, err, want)
		}
	}
	if Curve25519.PublicLen() != 32 {
		t.Errorf("public length %d", Curve25519.PublicLen())
	}
	if _, err := a.Shared(make([]byte, 32)); err == nil {
		t.Error("the all-zero point (low order) was accepted")
	}
	if _, err := a.Shared(make([]byte, 31)); err == nil {
		t.Error("a 31-byte public value was accepted")
	}
}
