package wire

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// The capture testdata/strongswan.pcap holds every IKEv2 message two
// strongSwan 5.9.8 charons exchanged (testdata/capture.sh says how it was
// made and what it contains), testdata/strongswan-keys.txt the keys of its
// three IKE SAs as charon logged them, and testdata/strongswan.log charon's
// own one-line summary of each message it sent or received. These bytes were
// made by strongSwan, not by this package.

var (
	captureInitiator = netip.MustParseAddr("192.0.2.1")
	captureResponder = netip.MustParseAddr("198.51.100.2")
)

func loadCapture(t testing.TB) []datagram {
	t.Helper()
	b, err := os.ReadFile("testdata/strongswan.pcap")
	if err != nil {
		t.Fatal(err)
	}
	ds, err := readPcap(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 33 {
		t.Fatalf("capture holds %d IKE messages, want 33", len(ds))
	}
	return ds
}

// ikeKeys are the SK_e and SK_a keys of one IKE SA; ai and ar are nil for an
// AEAD, whose SK_e ends with the 4-octet salt.
type ikeKeys struct{ ei, er, ai, ar []byte }

func loadKeys(t *testing.T) map[[16]byte]ikeKeys {
	t.Helper()
	f, err := os.Open("testdata/strongswan-keys.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	keys := make(map[[16]byte]ikeKeys)
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) != 6 {
			t.Fatalf("keys line %q: want 6 fields", s.Text())
		}
		var spis [16]byte
		var k [6][]byte
		for i, h := range fields {
			if h == "-" {
				continue
			}
			if k[i], err = hex.DecodeString(h); err != nil {
				t.Fatal(err)
			}
		}
		copy(spis[:8], k[0])
		copy(spis[8:], k[1])
		keys[spis] = ikeKeys{ei: k[2], er: k[3], ai: k[4], ar: k[5]}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return keys
}

func spiPair(h Header) (k [16]byte) {
	copy(k[:8], h.SPIi[:])
	copy(k[8:], h.SPIr[:])
	return k
}

// TestCaptureRoundTrip decodes every message of the capture and encodes it
// back byte for byte.
func TestCaptureRoundTrip(t *testing.T) {
	for i, d := range loadCapture(t) {
		m, err := Decode(d.ike)
		if err != nil {
			t.Errorf("message %d: %v", i+1, err)
			continue
		}
		out, err := m.Encode()
		if err != nil {
			t.Errorf("message %d: Encode: %v", i+1, err)
			continue
		}
		if !bytes.Equal(out, d.ike) {
			t.Errorf("message %d: Encode differs:\n got %x\nwant %x", i+1, out, d.ike)
		}
		// The I flag marks the original initiator of the IKE SA, which is
		// 192.0.2.1 for all three IKE SAs (it also rekeyed the first).
		if got, want := m.Flags&FlagInitiator != 0, d.src.Addr() == captureInitiator; got != want {
			t.Errorf("message %d from %v: flags %v", i+1, d.src, m.Flags)
		}
		if m.Exchange != ExchangeIKESAInit {
			last := m.Payloads[len(m.Payloads)-1].PayloadType()
			if len(m.Payloads) != 1 || last != PayloadSK && last != PayloadSKF {
				t.Errorf("message %d: %v payloads %v, want one SK or SKF", i+1, m.Exchange, types(m.Payloads))
			}
		}
	}
}

func types(ps []Payload) []PayloadType {
	var ts []PayloadType
	for _, p := range ps {
		ts = append(ts, p.PayloadType())
	}
	return ts
}

// TestCaptureIKESAInit checks every field of strongSwan's IKE_SA_INIT
// exchanges (messages 1-2 and 27-28) but the random ones, whose sizes are
// checked instead.
func TestCaptureIKESAInit(t *testing.T) {
	ds := loadCapture(t)
	ike := func(number uint8, ts ...Transform) Proposal {
		return Proposal{Number: number, Protocol: ProtoIKE, Transforms: ts}
	}
	cbc := ike(1, Encr(EncrAESCBC, 256), Integ(IntegHMACSHA2_256), PRF(PRFHMACSHA2_256), DH(GroupECP256))
	for _, c := range []struct {
		packet    int
		response  bool
		proposals []Proposal
		notifies  []NotifyType
	}{
		{1, false, []Proposal{
			cbc,
			ike(2, Encr(EncrAESGCM16, 128), PRF(PRFHMACSHA2_256), DH(GroupECP256)),
			ike(3, Encr(EncrAESCBC, 128), Integ(IntegHMACSHA1_96), PRF(PRFHMACSHA1), DH(GroupMODP2048)),
		}, []NotifyType{NotifyNATDetectionSourceIP, NotifyNATDetectionDestinationIP, NotifyFragmentationSupported, NotifySignatureHashAlgorithms, NotifyRedirectSupported}},
		{2, true, []Proposal{cbc},
			[]NotifyType{NotifyNATDetectionSourceIP, NotifyNATDetectionDestinationIP, NotifyFragmentationSupported, NotifySignatureHashAlgorithms, NotifyChildlessIKEv2Supported, NotifyMultipleAuthSupported}},
		{27, false, []Proposal{ike(1, Encr(EncrAESGCM16, 256), PRF(PRFHMACSHA2_256), DH(GroupECP256))},
			[]NotifyType{NotifyNATDetectionSourceIP, NotifyNATDetectionDestinationIP, NotifyFragmentationSupported, NotifySignatureHashAlgorithms, NotifyRedirectSupported}},
		{28, true, []Proposal{ike(1, Encr(EncrAESGCM16, 256), PRF(PRFHMACSHA2_256), DH(GroupECP256))},
			[]NotifyType{NotifyNATDetectionSourceIP, NotifyNATDetectionDestinationIP, NotifyFragmentationSupported, NotifySignatureHashAlgorithms, NotifyChildlessIKEv2Supported, NotifyMultipleAuthSupported}},
	} {
		t.Run(fmt.Sprint("message ", c.packet), func(t *testing.T) {
			d := ds[c.packet-1]
			m, err := Decode(d.ike)
			if err != nil {
				t.Fatal(err)
			}
			wantFlags := FlagInitiator
			if c.response {
				wantFlags = FlagResponse
			}
			if m.Exchange != ExchangeIKESAInit || m.MessageID != 0 || m.Flags != wantFlags || int(m.Length) != len(d.ike) {
				t.Errorf("header %+v", m.Header)
			}
			if (m.SPIr == [8]byte{}) != !c.response {
				t.Errorf("responder SPI %x in a response: %v", m.SPIr, c.response)
			}
			if len(m.Payloads) != 3+len(c.notifies) {
				t.Fatalf("payloads %v", types(m.Payloads))
			}
			sa, ok := m.Payloads[0].(*SA)
			if !ok {
				t.Fatalf("first payload %T", m.Payloads[0])
			}
			if !reflect.DeepEqual(sa.Proposals, c.proposals) {
				t.Errorf("proposals\n got %+v\nwant %+v", sa.Proposals, c.proposals)
			}
			if ke, ok := m.Payloads[1].(*KE); !ok || ke.Group != GroupECP256 || len(ke.Data) != 64 {
				t.Errorf("second payload %+v, want KE of group 19 with 64 octets", m.Payloads[1])
			}
			if n, ok := m.Payloads[2].(*Nonce); !ok || len(n.Data) != 32 {
				t.Errorf("third payload %+v, want a 32-octet nonce", m.Payloads[2])
			}
			for i, want := range c.notifies {
				n, ok := m.Payloads[3+i].(*Notify)
				if !ok || n.Type != want || n.Protocol != ProtoNone || len(n.SPI) != 0 {
					t.Errorf("payload %d: %+v, want notify %v", 4+i, m.Payloads[3+i], want)
					continue
				}
				var wantData int
				switch want {
				case NotifyNATDetectionSourceIP, NotifyNATDetectionDestinationIP:
					wantData = 20
				case NotifySignatureHashAlgorithms:
					hs, _ := n.HashAlgorithms()
					if w := []HashAlgorithm{HashSHA2_256, HashSHA2_384, HashSHA2_512, HashIdentity}; !slices.Equal(hs, w) {
						t.Errorf("hash algorithms %v, want %v", hs, w)
					}
					wantData = 8
				}
				if len(n.Data) != wantData {
					t.Errorf("%v: %d octets of data, want %d", want, len(n.Data), wantData)
				}
			}
		})
	}
}

// opened is a protected message of the capture, its content decrypted.
type opened struct {
	packet int // from 1
	d      datagram
	m      *Message
	p      Protected
	plain  []byte // the inner payloads (or this fragment's share of them)
}

// openCapture checks the ICV of every protected message of the capture with
// the keys charon logged, which also checks that SplitProtected covers the
// right octets, and decrypts it.
func openCapture(t *testing.T) []opened {
	t.Helper()
	keys := loadKeys(t)
	var out []opened
	for i, d := range loadCapture(t) {
		m, err := Decode(d.ike)
		if err != nil {
			t.Fatalf("message %d: %v", i+1, err)
		}
		if m.Exchange == ExchangeIKESAInit {
			continue
		}
		k, ok := keys[spiPair(m.Header)]
		if !ok {
			t.Fatalf("message %d: no keys for SPIs %x %x", i+1, m.SPIi, m.SPIr)
		}
		ke, ka := k.er, k.ar
		if m.Flags&FlagInitiator != 0 {
			ke, ka = k.ei, k.ai
		}
		aead := ka == nil
		ivLen := aes.BlockSize
		if aead {
			ivLen = 8 // RFC 5282 section 3
		}
		p, err := SplitProtected(d.ike, ivLen, 16)
		if err != nil {
			t.Fatalf("message %d: %v", i+1, err)
		}
		// The split must agree with the decoded payload's.
		var iv, ct, icv []byte
		switch e := m.Payloads[len(m.Payloads)-1].(type) {
		case *Encrypted:
			iv, ct, icv, err = e.Split(ivLen, 16)
			if p.Type != PayloadSK || p.First != e.First || p.Number != 0 {
				t.Errorf("message %d: SplitProtected %v first %v, payload SK first %v", i+1, p.Type, p.First, e.First)
			}
		case *EncryptedFragment:
			iv, ct, icv, err = e.Split(ivLen, 16)
			if p.Type != PayloadSKF || p.First != e.First || p.Number != e.Number || p.Total != e.Total {
				t.Errorf("message %d: SplitProtected %+v, payload %+v", i+1, p, e)
			}
		}
		if err != nil || !bytes.Equal(iv, p.IV) || !bytes.Equal(ct, p.Ciphertext) || !bytes.Equal(icv, p.ICV) {
			t.Errorf("message %d: payload Split differs from SplitProtected: %v", i+1, err)
		}
		if got := len(p.Associated) + len(p.IV) + len(p.Ciphertext) + len(p.ICV); got != len(d.ike) ||
			len(p.Signed) != len(d.ike)-16 || p.Header != m.Header {
			t.Fatalf("message %d: parts do not add up: %d octets of %d", i+1, got, len(d.ike))
		}

		var plain []byte
		if aead {
			block, err := aes.NewCipher(ke[:len(ke)-4])
			if err != nil {
				t.Fatal(err)
			}
			gcm, err := cipher.NewGCM(block)
			if err != nil {
				t.Fatal(err)
			}
			nonce := append(bytes.Clone(ke[len(ke)-4:]), p.IV...)
			sealed := append(bytes.Clone(p.Ciphertext), p.ICV...)
			if plain, err = gcm.Open(nil, nonce, sealed, p.Associated); err != nil {
				t.Fatalf("message %d: AES-GCM: %v (wrong associated data?)", i+1, err)
			}
		} else {
			mac := hmac.New(sha256.New, ka)
			mac.Write(p.Signed)
			if sum := mac.Sum(nil)[:16]; !bytes.Equal(sum, p.ICV) {
				t.Fatalf("message %d: ICV %x, HMAC-SHA-256-128 of the signed octets %x", i+1, p.ICV, sum)
			}
			block, err := aes.NewCipher(ke)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Ciphertext)%aes.BlockSize != 0 {
				t.Fatalf("message %d: ciphertext of %d octets", i+1, len(p.Ciphertext))
			}
			plain = make([]byte, len(p.Ciphertext))
			cipher.NewCBCDecrypter(block, p.IV).CryptBlocks(plain, p.Ciphertext)
			if len(plain)%aes.BlockSize != 0 {
				t.Fatalf("message %d: padded to %d octets", i+1, len(plain))
			}
		}
		inner, err := Unpad(plain)
		if err != nil {
			t.Fatalf("message %d: %v", i+1, err)
		}
		out = append(out, opened{packet: i + 1, d: d, m: m, p: p, plain: inner})
	}
	return out
}

// A whole is a decrypted message, reassembled from its fragments if it came
// in fragments.
type whole struct {
	opened
	first    PayloadType
	inner    []byte
	payloads []Payload
}

// reassemble joins the fragments of each fragmented message and decodes the
// inner payloads of every message; it also returns the charon-style
// summary of each message and each fragment, in capture order.
func reassemble(t *testing.T, msgs []opened) ([]whole, []string) {
	t.Helper()
	var ws []whole
	var summaries []string
	type key struct {
		spis     [16]byte
		id       uint32
		response bool
	}
	frags := make(map[key][]opened)
	for _, o := range msgs {
		w := whole{opened: o, first: o.p.First, inner: o.plain}
		if o.p.Type == PayloadSKF {
			summaries = append(summaries, summary(o.d, o.m.Header, fmt.Sprintf("EF(%d/%d)", o.p.Number, o.p.Total)))
			k := key{spiPair(o.m.Header), o.m.MessageID, o.m.Flags&FlagResponse != 0}
			frags[k] = append(frags[k], o)
			if len(frags[k]) < int(o.p.Total) {
				continue
			}
			fs := frags[k]
			delete(frags, k)
			slices.SortFunc(fs, func(a, b opened) int { return int(a.p.Number) - int(b.p.Number) })
			w.inner = nil
			for n, f := range fs {
				if int(f.p.Number) != n+1 {
					t.Fatalf("message %d: fragments %d and %d", o.packet, n+1, f.p.Number)
				}
				w.inner = append(w.inner, f.plain...)
			}
			w.first = fs[0].p.First
			for _, f := range fs[1:] {
				if f.p.First != PayloadNone {
					t.Errorf("message %d: fragment %d names a first payload %v", f.packet, f.p.Number, f.p.First)
				}
			}
		}
		ps, err := DecodePayloads(w.first, w.inner)
		if err != nil {
			t.Fatalf("message %d: inner payloads: %v\n%x", o.packet, err, w.inner)
		}
		w.payloads = ps
		out, err := EncodePayloads(ps)
		if err != nil {
			t.Fatalf("message %d: EncodePayloads: %v", o.packet, err)
		}
		if !bytes.Equal(out, w.inner) {
			t.Errorf("message %d: inner payloads encode differently:\n got %x\nwant %x", o.packet, out, w.inner)
		}
		var names []string
		for _, p := range ps {
			names = append(names, charonName(p))
		}
		summaries = append(summaries, summary(o.d, o.m.Header, names...))
		ws = append(ws, w)
	}
	if len(frags) != 0 {
		t.Errorf("%d messages with fragments missing", len(frags))
	}
	return ws, summaries
}

// summary writes a message the way charon logs it from the initiator's side.
func summary(d datagram, h Header, payloads ...string) string {
	verb := "parsed"
	if d.src.Addr() == captureInitiator {
		verb = "generating"
	}
	kind := "request"
	if h.Flags&FlagResponse != 0 {
		kind = "response"
	}
	list := strings.Join(payloads, " ")
	if list != "" {
		list += " "
	}
	return fmt.Sprintf("%s %v %s %d [ %s]", verb, h.Exchange, kind, h.MessageID, list)
}

// charonName returns strongSwan's short name of a payload (payload.c and
// notify_payload.c), for the payloads in the capture.
func charonName(p Payload) string {
	names := map[PayloadType]string{
		PayloadSA: "SA", PayloadKE: "KE", PayloadIDi: "IDi", PayloadIDr: "IDr",
		PayloadAuth: "AUTH", PayloadNonce: "No", PayloadDelete: "D",
		PayloadTSi: "TSi", PayloadTSr: "TSr", PayloadVendorID: "V",
	}
	if n, ok := p.(*Notify); ok {
		short := map[NotifyType]string{
			NotifyInitialContact:            "INIT_CONTACT",
			NotifyNATDetectionSourceIP:      "NATD_S_IP",
			NotifyNATDetectionDestinationIP: "NATD_D_IP",
			NotifyRekeySA:                   "REKEY_SA",
			NotifyFragmentationSupported:    "FRAG_SUP",
			NotifySignatureHashAlgorithms:   "HASH_ALG",
			NotifyRedirectSupported:         "REDIR_SUP",
			NotifyChildlessIKEv2Supported:   "CHDLESS_SUP",
			NotifyMultipleAuthSupported:     "MULT_AUTH",
			NotifyMOBIKESupported:           "MOBIKE_SUP",
			NotifyNoAdditionalAddresses:     "NO_ADD_ADDR",
			NotifyEAPOnlyAuthentication:     "EAP_ONLY",
			NotifyMessageIDSyncSupported:    "MSG_ID_SYN_SUP",
		}[n.Type]
		if short == "" {
			short = n.Type.String()
		}
		return "N(" + short + ")"
	}
	if s, ok := names[p.PayloadType()]; ok {
		return s
	}
	return p.PayloadType().String()
}

// TestCaptureProtected decrypts every protected message of the capture,
// reassembles the fragmented ones, decodes the inner payloads, encodes them
// back byte for byte, and checks that the payload lists are those charon
// logged.
func TestCaptureProtected(t *testing.T) {
	ws, summaries := reassemble(t, openCapture(t))
	if len(ws) != 26 {
		t.Errorf("%d protected messages, want 26", len(ws))
	}

	// IKE_SA_INIT from the decoded messages, the rest from the above.
	var got []string
	for _, d := range loadCapture(t) {
		m, err := Decode(d.ike)
		if err != nil {
			t.Fatal(err)
		}
		if m.Exchange == ExchangeIKESAInit {
			var names []string
			for _, p := range m.Payloads {
				names = append(names, charonName(p))
			}
			got = append(got, summary(d, m.Header, names...))
		}
	}
	got = append(got, summaries...)
	logged, err := os.ReadFile("testdata/strongswan.log")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Split(strings.TrimSpace(string(logged)), "\n")
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("payload lists differ from charon's log:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}

	// A closer look at some of them.
	find := func(packet int) whole {
		for _, w := range ws {
			if w.packet == packet {
				return w
			}
		}
		t.Fatalf("no message %d", packet)
		return whole{}
	}
	i, r := captureInitiator, captureResponder
	esp := func(ts ...Transform) func(*testing.T, Payload) {
		return func(t *testing.T, p Payload) {
			sa := p.(*SA)
			if len(sa.Proposals) != 1 || len(sa.Proposals[0].SPI) != 4 || sa.Proposals[0].Protocol != ProtoESP ||
				!reflect.DeepEqual(sa.Proposals[0].Transforms, ts) {
				t.Errorf("SA %+v, want ESP %v", sa, ts)
			}
		}
	}
	cbc := esp(Encr(EncrAESCBC, 256), Integ(IntegHMACSHA2_384), ESN(ESNNo))
	gcm := esp(Encr(EncrAESGCM16, 256), ESN(ESNNo))
	is := func(want Payload) func(*testing.T, Payload) {
		return func(t *testing.T, p Payload) {
			if !reflect.DeepEqual(p, want) {
				t.Errorf("%+v, want %+v", p, want)
			}
		}
	}
	psk := func(t *testing.T, p Payload) {
		if a := p.(*Auth); a.Method != AuthSharedKeyMIC || len(a.Data) != 32 {
			t.Errorf("AUTH %v with %d octets, want a PSK MIC of 32 (PRF HMAC-SHA-256)", a.Method, len(a.Data))
		}
	}
	ts := func(a netip.Addr, responder bool) func(*testing.T, Payload) {
		return is(&TS{Responder: responder, Selectors: []TrafficSelector{HostSelector(a, 47)}})
	}
	skip := func(*testing.T, Payload) {}
	for _, c := range []struct {
		packet int
		checks []func(*testing.T, Payload)
	}{
		// IKE_AUTH request, in two fragments (3 and 4).
		{4, []func(*testing.T, Payload){is(AddrID(false, i)), is(NewNotify(NotifyInitialContact, nil)),
			is(AddrID(true, r)), psk, cbc, ts(i, false), ts(r, true), skip, skip, skip, skip, skip}},
		{5, []func(*testing.T, Payload){is(AddrID(true, r)), psk, cbc, ts(i, false), ts(r, true), skip, skip}},
		// CREATE_CHILD_SA rekeying the CHILD_SA, then deleting the old one.
		{6, []func(*testing.T, Payload){func(t *testing.T, p Payload) {
			n := p.(*Notify)
			if n.Type != NotifyRekeySA || n.Protocol != ProtoESP || len(n.SPI) != 4 || len(n.Data) != 0 {
				t.Errorf("%+v, want REKEY_SA for an ESP SPI", n)
			}
		}, cbc, skip, ts(i, false), ts(r, true)}},
		{8, []func(*testing.T, Payload){func(t *testing.T, p Payload) {
			if d := p.(*Delete); d.Protocol != ProtoESP || len(d.SPIs) != 1 {
				t.Errorf("%+v, want the delete of one ESP SA", d)
			}
		}}},
		// CREATE_CHILD_SA rekeying the IKE SA: an 8-octet SPI.
		{13, []func(*testing.T, Payload){func(t *testing.T, p Payload) {
			sa := p.(*SA)
			if len(sa.Proposals) != 3 || len(sa.Proposals[0].SPI) != 8 || sa.Proposals[0].Protocol != ProtoIKE {
				t.Errorf("%+v, want three IKE proposals with an 8-octet SPI", sa)
			}
		}, skip, func(t *testing.T, p Payload) {
			if ke := p.(*KE); ke.Group != GroupECP256 || len(ke.Data) != 64 {
				t.Errorf("KE %+v", ke)
			}
		}}},
		{15, []func(*testing.T, Payload){is(&Delete{Protocol: ProtoIKE})}},
		// A liveness check is an empty INFORMATIONAL.
		{17, nil},
		{18, nil},
		// The AEAD IKE SA.
		{30, []func(*testing.T, Payload){is(AddrID(false, i)), skip, is(AddrID(true, r)), psk, gcm, ts(i, false), ts(r, true), skip, skip, skip, skip, skip}},
		{31, []func(*testing.T, Payload){is(AddrID(true, r)), psk, gcm, ts(i, false), ts(r, true), skip, skip}},
		{32, []func(*testing.T, Payload){is(&Delete{Protocol: ProtoIKE})}},
	} {
		w := find(c.packet)
		if len(w.payloads) != len(c.checks) {
			t.Errorf("message %d: payloads %v", c.packet, types(w.payloads))
			continue
		}
		for j, check := range c.checks {
			t.Run(fmt.Sprintf("message %d payload %d", c.packet, j+1), func(t *testing.T) { check(t, w.payloads[j]) })
		}
	}
}
