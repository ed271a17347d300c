package esp

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

// unhex decodes hex written with spaces and line breaks, as RFCs print it.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newTestPacket returns a buffer of exactly headroom + n + tailroom bytes
// with payload at the headroom, as seal expects.
func newTestPacket(s Suite, payload []byte) []byte {
	pkt := make([]byte, s.Headroom()+len(payload)+s.Tailroom(len(payload)))
	copy(pkt[s.Headroom():], payload)
	return pkt
}

// TestRFC3602 reproduces the ESP packets of RFC 3602 section 4, cases #5
// to #8, byte for byte. The RFC's examples are encryption-only; here they
// run with HMAC-SHA-256-128 added, so the packets must equal the RFC's
// followed by the HMAC of them.
func TestRFC3602(t *testing.T) {
	authKey := bytes.Repeat([]byte{0x5a}, 32)
	for _, tc := range []struct {
		name       string
		key        string
		spi        uint32
		seq        uint64
		iv         string
		nextHeader byte
		payload    string // the original packet's payload (transport) or whole packet (tunnel)
		packet     string // SPI through the last ciphertext block
	}{
		{
			name: "case 5: transport mode, ping 192.168.123.100",
			key:  "90d382b4 10eeba7a d938c46c ec1a82bf", spi: 0x4321, seq: 1,
			iv: "e96e8c08 ab465763 fd098d45 dd3ff893", nextHeader: 1,
			payload: `08000ebd a70a0000 8e9c083d b95b0700 08090a0b 0c0d0e0f 10111213 14151617
				18191a1b 1c1d1e1f 20212223 24252627 28292a2b 2c2d2e2f 30313233 34353637`,
			packet: `00004321 00000001 e96e8c08 ab465763 fd098d45 dd3ff893
				f663c25d 325c18c6 a9453e19 4e120849 a4870b66 cc6b9965 330013b4 898dc856
				a4699e52 3a55db08 0b59ec3a 8e4b7e52 775b07d1 db34ed9c 538ab50c 551b874a
				a269add0 47ad2d59 13ac19b7 cfbad4a6`,
		},
		{
			name: "case 6: transport mode, short ping",
			key:  "90d382b4 10eeba7a d938c46c ec1a82bf", spi: 0x4321, seq: 8,
			iv: "69d08df7 d203329d b093fc49 24e5bd80", nextHeader: 1,
			payload: "0800b5e8 a80a0500 a69c083d 0b660e00 77777777 77777777 77777777",
			packet: `00004321 00000008 69d08df7 d203329d b093fc49 24e5bd80
				f5199588 1ec4e0c4 488987ce 742e8109 689bb379 d2d750c0 d915dca3 46a89f75`,
		},
		{
			name: "case 7: tunnel mode, ping 192.168.123.200",
			key:  "01234567 89abcdef 01234567 89abcdef", spi: 0x8765, seq: 2,
			iv: "f4e76524 4f6407ad f13dc138 0f673f37", nextHeader: 4,
			payload: `45000054 09040000 4001f988 c0a87b03 c0a87bc8 08009f76 a90a0100 b49c083d
				02a20400 08090a0b 0c0d0e0f 10111213 14151617 18191a1b 1c1d1e1f 20212223
				24252627 28292a2b 2c2d2e2f 30313233 34353637`,
			packet: `00008765 00000002 f4e76524 4f6407ad f13dc138 0f673f37
				773b5241 a4c44922 5e4f3ce5 ed611b0c 237ca96c f74a9301 3c1b0ea1 a0cf70f8
				e4ecaec7 8ac53aad 7a0f022b 859243c6 47752e94 a859352b 8a4d4d2d ecd136e5
				c177f132 ad3fbfb2 201ac990 4c74ee0a 109e0ca1 e4dfe9d5 a100b842 f1c22f0d`,
		},
		{
			name: "case 8: tunnel mode, short ping",
			key:  "01234567 89abcdef 01234567 89abcdef", spi: 0x8765, seq: 5,
			iv: "85d47224 b5f3dd5d 2101d4ea 8dffab22", nextHeader: 4,
			payload: `45000044 090c0000 4001f990 c0a87b03 c0a87bc8 0800d63c aa0a0200 c69c083d
				a3de0300 ffffffff ffffffff ffffffff ffffffff ffffffff ffffffff ffffffff ffffffff`,
			packet: `00008765 00000005 85d47224 b5f3dd5d 2101d4ea 8dffab22
				15b92683 819596a8 047232cc 00f7048f e45318e1 1f8a0f62 ede3c3fc 61203bb5
				0f980a08 c9843fd3 a1b06d5c 07ff9639 b7eb7dfb 3512e5de 435e7207 ed971ef3
				d2726d9b 5ef6affc 6d17a0de cbb13892`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			suite := Suite{AES128CBC, HMACSHA256}
			key, payload, want := unhex(t, tc.key), unhex(t, tc.payload), unhex(t, tc.packet)
			out, err := NewOutbound(tc.spi, suite, key, authKey, false)
			if err != nil {
				t.Fatal(err)
			}
			pkt := newTestPacket(suite, payload)
			out.seal(pkt, len(payload), tc.nextHeader, tc.seq, unhex(t, tc.iv))

			mac := hmac.New(sha256.New, authKey)
			mac.Write(want)
			want = append(want, mac.Sum(nil)[:16]...)
			if !bytes.Equal(pkt, want) {
				t.Fatalf("sealed\n%x\nwant\n%x", pkt, want)
			}

			in, err := NewInbound(tc.spi, suite, key, authKey, false, 0)
			if err != nil {
				t.Fatal(err)
			}
			got, nh, seq, err := in.Open(pkt)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, payload) || nh != tc.nextHeader || seq != tc.seq {
				t.Fatalf("opened %x, next header %d, seq %d", got, nh, seq)
			}
		})
	}
}

// TestGCMVectors reproduces the ESP packets of draft-mcgrew-gcm-test-01
// (AES-GCM in ESP per RFC 4106, with and without ESN). Its 192-bit key
// case and its SPI 0 case are left out: gresec has no AES-192-GCM suite
// and refuses SPI 0.
func TestGCMVectors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		key   string // AES key and salt
		spi   uint32
		seq   uint64
		esn   bool
		iv    string
		plain string // payload, padding and trailer
		pkt   string
	}{
		{
			name: "128-bit key, ESN", key: "4c80cdefbb5d10da906ac73c3613a634 2e443b68",
			spi: 0x4321, seq: 0x8765432100000000, esn: true, iv: "4956ed7e3b244cfe",
			plain: `45000048699a000080114db7c0a80102 c0a801010a9bf15638d3010000010000
				00000000045f736970045f7564700373 69700963796265726369747902646b00
				0021000101020201`,
			pkt: `00004321000000004956ed7e3b244cfe fecf537e729d5b07dc30df528dd22b76
				8d1b98736696a6fd348509fa13ceac34 cfa2436f14a3f3cf65925bf1f4a13c5d
				15b21e1884f5ff6247aeabb786b93bce 61bc17d768fd9732459018148f6cbe72
				2fd04796562dfdb4`,
		},
		{
			name: "128-bit key", key: "feffe9928665731c6d6a8f9467308308 cafebabe",
			spi: 0xa5f8, seq: 0xa, iv: "facedbaddecaf888",
			plain: `4500003e698f000080114dccc0a80102 c0a801010a980035002a2343b2d00100
				00010000000000000373697009637962 65726369747902646b00000100010001`,
			pkt: `0000a5f80000000afacedbaddecaf888 deb22cd9b07c72c16e3a65beeb8df304
				a5a5897d33ae530f1ba76d5d114d2a5c 3de81827c10e9a4f51330d0eec416642
				cfbb85a5b47e48a4ec3b9ba95d918bd1 83b70d3aa8bc6ee4c309e9d85a41ad4a`,
		},
		{
			name: "256-bit key",
			key:  "abbccddef00112233445566778899aab abbccddef00112233445566778899aab 11223344",
			spi:  0x4a2cbfe3, seq: 2, iv: "0102030405060708",
			plain: `4500003069a6400080062690c0a80102 9389155e0a9e008b2dc57ee000000000
				7002400020bf0000020405b401010402 01020201`,
			pkt: `4a2cbfe3000000020102030405060708 ff425c9b724599df7a3bcd510194e00d
				6a78107f1b0b1cbf06efae9d65a5d763 748a637985771d347f0545659f14e99d
				ef842d8eb335f4eecfdbf831824b4c49 15956c96`,
		},
		{
			name: "128-bit key, ESN", key: "3de09874b388e6491988d0c3607eae1f 57690e43",
			spi: 0x42f67e3f, seq: 0x1010101010101010, esn: true, iv: "4e280000a2fca1a3",
			plain: `4500003c99c300008001cb7c40679318 010101010800085c0200430061626364
				65666768696a6b6c6d6e6f7071727374 75767761626364656667686901020201`,
			pkt: `42f67e3f101010104e280000a2fca1a3 fba2caa4853cf9f0f22cb10d86dd83b0
				fec75691cf1a04b00d1138ec9c357917 65acbd8701ad79845bf9fe3fba487bc9
				1755e6662b4c8d0d1f5e22739530320a e0d731cc978ecafaeae88f00e80d6e48`,
		},
		{
			name: "128-bit key, ESN, short", key: "3de09874b388e6491988d0c3607eae1f 57690e43",
			spi: 0x42f67e3f, seq: 0x1010101010101010, esn: true, iv: "4e280000a2fca1a3",
			plain: "4500001c42a200008001441f406793b6 e00000020a00f5ff01020201",
			pkt: `42f67e3f101010104e280000a2fca1a3 fba2ca845e5df9f0f22c3e6e86dd831e
				1fc65792cd1af9130e1379ed369f071f 35e034be95f112e4e7d05d35`,
		},
		{
			name: "128-bit key, ESN", key: "abbccddef00112233445566778899aab decaf888",
			spi: 0x100, seq: 1, esn: true, iv: "cafedebaceface74",
			plain: `4500004933ba00007f119106c3fb1d10 c2b1d326c02831ce0035dd7b800302d5
				00004e20001e8c18d75b81dc91baa047 6b91b924b280389d92c963bac046ec95
				9b6266c04722b14923010101`,
			pkt: `0000010000000001cafedebaceface74 18a6fd42f72cbf4ab2a2ea901f73d814
				e3e7f243d95412e1c349c1d2fbec168f 9190feebaf2cb01984e65863965d7472
				b79da345e0e780191f0d2f0e0f496c22 6f2127b27db35724e7845d68651f57e6
				5f354f75ff17015769623436`,
		},
		{
			name: "256-bit key, ESN",
			key:  "abbccddef00112233445566778899aab abbccddef00112233445566778899aab 73616c74",
			spi:  0x17405e67, seq: 0x156f3126dd0db99b, esn: true, iv: "616e640169766563",
			plain: `45080028732c00004006e9f90a010612 0a01038f06b88023dd6bafbecb712602
				50101f646d540001`,
			pkt: `17405e67dd0db99b616e640169766563 f2d69ecdbd5a0d5b8d5ef38bad4da58d
				1f278fde98ef67549d524a3018d9a57f f4d3a31ce673119e451626c2415771e3
				b7eebca614c89b35`,
		},
		{
			name: "128-bit key, empty payload", key: "7d773d00c144c525ac619d18c84a3f47 d9664267",
			spi: 0x335467ae, seq: 0xffffffff, iv: "43457e9182443bc6",
			plain: "01020201",
			pkt:   "335467aeffffffff43457e9182443bc6 437f866bcb3f699fe9b0822bac961c45 04bef270",
		},
		{
			name: "256-bit key, last ESN sequence number",
			key:  "6c6567616c697a656d6172696a75616e 61616e64646f69746265666f72656961 7475726e",
			spi:  0x796b6963, seq: 0xffffffffffffffff, esn: true, iv: "333021696765746d",
			plain: `45000030da3a00008001df3bc0a80005 c0a800010800c6cd0200070061626364
				65666768696a6b6c6d6e6f7071727374 01020201`,
			pkt: `796b6963ffffffff333021696765746d f97ab2aa356d8edce17644ac8c78e25d
				d24dedbb29ebf1b64a274b39b49c3a86 4cd3d78ca4ae68a32b42458fb57dbe82
				1dcc63b9d0937ba2945f669368661a32 9fb4c053`,
		},
	} {
		t.Run(fmt.Sprintf("spi %#x %s", tc.spi, tc.name), func(t *testing.T) {
			key, plain, want := unhex(t, tc.key), unhex(t, tc.plain), unhex(t, tc.pkt)
			suite := Suite{AES128GCM, IntegrityNone}
			if len(key) == AES256GCM.KeyLen() {
				suite.Cipher = AES256GCM
			}
			nextHeader := plain[len(plain)-1]
			payload := plain[:len(plain)-trailerLen-int(plain[len(plain)-2])]

			out, err := NewOutbound(tc.spi, suite, key, nil, tc.esn)
			if err != nil {
				t.Fatal(err)
			}
			pkt := newTestPacket(suite, payload)
			out.seal(pkt, len(payload), nextHeader, tc.seq, unhex(t, tc.iv))
			if !bytes.Equal(pkt, want) {
				t.Fatalf("sealed\n%x\nwant\n%x", pkt, want)
			}

			in, err := NewInbound(tc.spi, suite, key, nil, tc.esn, 0)
			if err != nil {
				t.Fatal(err)
			}
			// Put the window where a receiver of this stream would be, so
			// that the high half of seq is inferred.
			in.window.Update(tc.seq - 1)
			got, nh, seq, err := in.Open(pkt)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, payload) || nh != nextHeader || seq != tc.seq {
				t.Fatalf("opened %x, next header %d, seq %#x", got, nh, seq)
			}
		})
	}
}

// TestHMACVectors runs the authenticator test cases of RFC 4868 section
// 2.7.2 and the HMAC-SHA-1-96 cases of RFC 2404 section 3 (keys of the
// transform's key length) through the SA's truncated-ICV code.
func TestHMACVectors(t *testing.T) {
	seq := func(from, n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(from + i)
		}
		return b
	}
	rep := bytes.Repeat
	for _, tc := range []struct {
		name  string
		integ Integrity
		key   []byte
		data  []byte
		want  string
	}{
		{"RFC 2404 1", HMACSHA1, rep([]byte{0x0b}, 20), []byte("Hi There"), "b617318655057264e28bc0b6"},
		{"RFC 2404 3", HMACSHA1, rep([]byte{0xaa}, 20), rep([]byte{0xdd}, 50), "125d7342b9ac11cd91a39af4"},
		{"RFC 2404 5", HMACSHA1, rep([]byte{0x0c}, 20), []byte("Test With Truncation"), "4c1a03424b55e07fe7f27be1"},

		{"RFC 4868 2.7.2.1 #1", HMACSHA256, rep([]byte{0x0b}, 32), []byte("Hi There"),
			"198a607eb44bfbc69903a0f1cf2bbdc5"},
		{"RFC 4868 2.7.2.1 #2", HMACSHA256, rep([]byte("Jefe"), 8), []byte("what do ya want for nothing?"),
			"167f928588c5cc2eef8e3093caa0e87c"},
		{"RFC 4868 2.7.2.1 #3", HMACSHA256, rep([]byte{0xaa}, 32), rep([]byte{0xdd}, 50),
			"cdcb1220d1ecccea91e53aba3092f962"},
		{"RFC 4868 2.7.2.1 #4", HMACSHA256, seq(1, 32), rep([]byte{0xcd}, 50),
			"372efcf9b40b35c2115b1346903d2ef4"},

		{"RFC 4868 2.7.2.2 #1", HMACSHA384, rep([]byte{0x0b}, 48), []byte("Hi There"),
			"b6a8d5636f5c6a7224f9977dcf7ee6c7fb6d0c48cbdee973"},
		{"RFC 4868 2.7.2.2 #2", HMACSHA384, rep([]byte("Jefe"), 12), []byte("what do ya want for nothing?"),
			"2c7353974f1842fd66d53c452ca42122b28c0b594cfb184d"},
		{"RFC 4868 2.7.2.2 #3", HMACSHA384, rep([]byte{0xaa}, 48), rep([]byte{0xdd}, 50),
			"809f439be00274321d4a538652164b53554a508184a0c316"},
		{"RFC 4868 2.7.2.2 #4", HMACSHA384, append(seq(1, 32), seq(0x0a, 16)...), rep([]byte{0xcd}, 50),
			"5b540085c6e6358096532b2493609ed1cb298f774f87bb5c"},

		{"RFC 4868 2.7.2.3 #1", HMACSHA512, rep([]byte{0x0b}, 64), []byte("Hi There"),
			"637edc6e01dce7e6742a99451aae82df23da3e92439e590e43e761b33e910fb8"},
		{"RFC 4868 2.7.2.3 #2", HMACSHA512, rep([]byte("Jefe"), 16), []byte("what do ya want for nothing?"),
			"cb370917ae8a7ce28cfd1d8f4705d6141c173b2a9362c15df235dfb251b15454"},
		{"RFC 4868 2.7.2.3 #3", HMACSHA512, rep([]byte{0xaa}, 64), rep([]byte{0xdd}, 50),
			"2ee7acd783624ca9398710f3ee05ae41b9f9b0510c87e49e586cc9bf961733d8"},
		// The RFC prints a 32-byte key for this case; its erratum and the
		// digest use 0x01..0x40.
		{"RFC 4868 2.7.2.3 #4", HMACSHA512, seq(1, 64), rep([]byte{0xcd}, 50),
			"5e6688e5a3daec826ca32eaea224eff5e700628947470e13ad01302561bab108"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sa, err := NewOutbound(1, Suite{AES128CBC, tc.integ}, make([]byte, 16), tc.key, false)
			if err != nil {
				t.Fatal(err)
			}
			// Twice, to exercise the reset of the keyed state.
			for range 2 {
				if got := hex.EncodeToString(sa.icv(tc.data, 0)); got != tc.want {
					t.Fatalf("ICV %s, want %s", got, tc.want)
				}
			}
		})
	}
}
