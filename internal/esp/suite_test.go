package esp

import "testing"

func TestSuiteParameters(t *testing.T) {
	for _, tc := range []struct {
		suite                            Suite
		keyLen, authKeyLen, iv, icv, bs  int
		ios, wiresharkEnc, wiresharkAuth string
	}{
		{Suite{AES128CBC, HMACSHA1}, 16, 20, 16, 12, 16,
			"esp-aes esp-sha-hmac", "AES-CBC [RFC3602]", "HMAC-SHA-1-96 [RFC2404]"},
		{Suite{AES192CBC, HMACSHA256}, 24, 32, 16, 16, 16,
			"esp-192-aes esp-sha256-hmac", "AES-CBC [RFC3602]", "HMAC-SHA-256-128 [RFC4868]"},
		{Suite{AES256CBC, HMACSHA384}, 32, 48, 16, 24, 16,
			"esp-256-aes esp-sha384-hmac", "AES-CBC [RFC3602]", "HMAC-SHA-384-192 [RFC4868]"},
		{Suite{AES256CBC, HMACSHA512}, 32, 64, 16, 32, 16,
			"esp-256-aes esp-sha512-hmac", "AES-CBC [RFC3602]", "HMAC-SHA-512-256 [RFC4868]"},
		{Suite{AES128GCM, IntegrityNone}, 20, 0, 8, 16, 4,
			"esp-gcm", "AES-GCM with 16 octet ICV [RFC4106]", "NULL"},
		{Suite{AES256GCM, IntegrityNone}, 36, 0, 8, 16, 4,
			"esp-gcm 256", "AES-GCM with 16 octet ICV [RFC4106]", "NULL"},
	} {
		s := tc.suite
		if err := s.Validate(); err != nil {
			t.Errorf("%v: %v", s, err)
		}
		if got := [5]int{s.KeyLen(), s.AuthKeyLen(), s.IVLen(), s.ICVLen(), s.BlockSize()}; got != [5]int{tc.keyLen, tc.authKeyLen, tc.iv, tc.icv, tc.bs} {
			t.Errorf("%v: key, auth key, IV, ICV, block = %v", s, got)
		}
		if s.String() != tc.ios || s.WiresharkEncryption() != tc.wiresharkEnc || s.WiresharkAuthentication() != tc.wiresharkAuth {
			t.Errorf("%v: names %q %q %q", s, s.String(), s.WiresharkEncryption(), s.WiresharkAuthentication())
		}
	}
}

func TestSuitesValid(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Suites() {
		if err := s.Validate(); err != nil {
			t.Errorf("%v: %v", s, err)
		}
		if seen[s.String()] {
			t.Errorf("%v listed twice", s)
		}
		seen[s.String()] = true
	}
	if len(seen) != 14 {
		t.Errorf("%d suites, want 14", len(seen))
	}
}

func TestValidateRefuses(t *testing.T) {
	for _, s := range []Suite{
		{},
		{AES256CBC, IntegrityNone}, // encryption without integrity
		{AES256GCM, HMACSHA256},    // GCM has its own ICV
		{Cipher(99), HMACSHA256},   // unknown cipher
		{AES128CBC, Integrity(99)}, // unknown integrity
	} {
		if s.Validate() == nil {
			t.Errorf("%v (%d, %d) accepted", s, s.Cipher, s.Integrity)
		}
	}
}

// TestOverheadSpecExample checks the MTU example of the SPEC: transport mode
// esp-aes 256 esp-sha384-hmac over GRE costs outer IP 20 + ESP header 8 +
// IV 16 + GRE 4 + padding 0-15 + 2 + ICV 24 = 74-89 bytes.
func TestOverheadSpecExample(t *testing.T) {
	s := Suite{AES256CBC, HMACSHA384}
	const outerIP, gre = 20, 4
	lo, hi := 1<<30, 0
	for inner := 0; inner <= 1500; inner++ {
		o := outerIP + gre + s.Overhead(gre+inner)
		lo, hi = min(lo, o), max(hi, o)
		if got := s.Overhead(gre + inner); got != HeaderLen+16+s.PadLen(gre+inner)+2+24 {
			t.Fatalf("Overhead(%d) = %d", gre+inner, got)
		}
		if (gre+inner+s.PadLen(gre+inner)+2)%16 != 0 {
			t.Fatalf("payload %d: padding %d does not align", gre+inner, s.PadLen(gre+inner))
		}
	}
	if lo != 74 || hi != 89 {
		t.Fatalf("overhead %d-%d bytes, want 74-89", lo, hi)
	}
	if s.MaxOverhead() != 65 {
		t.Fatalf("MaxOverhead = %d, want 65", s.MaxOverhead())
	}
	if s.Headroom() != 24 || s.Tailroom(4) != 10+2+24 {
		t.Fatalf("Headroom %d, Tailroom(4) %d", s.Headroom(), s.Tailroom(4))
	}
}

func TestRoomBounds(t *testing.T) {
	for _, s := range Suites() {
		if s.Headroom() > MaxHeadroom {
			t.Errorf("%v: Headroom %d > MaxHeadroom", s, s.Headroom())
		}
		for n := range 64 {
			if s.Tailroom(n) > MaxTailroom {
				t.Errorf("%v: Tailroom(%d) %d > MaxTailroom", s, n, s.Tailroom(n))
			}
		}
	}
}

func TestMaxPayload(t *testing.T) {
	for _, s := range Suites() {
		for room := 0; room < 1600; room++ {
			n := s.MaxPayload(room)
			if n < 0 {
				if s.Overhead(0) <= room {
					t.Fatalf("%v: room %d: MaxPayload %d, but an empty payload fits", s, room, n)
				}
				continue
			}
			if n+s.Overhead(n) > room {
				t.Fatalf("%v: room %d: MaxPayload %d does not fit", s, room, n)
			}
			if n+1+s.Overhead(n+1) <= room {
				t.Fatalf("%v: room %d: MaxPayload %d, but %d fits", s, room, n, n+1)
			}
		}
	}
}
