package ike

import (
	"fmt"
	"testing"
	"time"

	"github.com/gresec/gresec/internal/config"
	"github.com/gresec/gresec/internal/esp"
)

// TestReference runs the reference configuration of SPEC section 2 between
// two engines: Main Mode and Quick Mode complete, the SA pair's keys agree
// and work, and the views show it.
func TestReference(t *testing.T) {
	n, a, b := pair(t, refConfig(), refConfig())
	n.start(a, protect(addrA, addrB))
	n.start(b, protect(addrB, addrA))
	n.run(time.Minute)
	ia, _ := established(t, a, b)
	if ia.Mode != ModeTransport || ia.Suite != (esp.Suite{Cipher: esp.AES256CBC, Integrity: esp.HMACSHA384}) || ia.Encap != nil {
		t.Errorf("installed %v %v encap %v", ia.Suite, ia.Mode, ia.Encap)
	}
	if ia.Lifetime != time.Hour || ia.LifetimeKB != 4608000 {
		t.Errorf("lifetime %v / %d KB", ia.Lifetime, ia.LifetimeKB)
	}
	for _, nd := range []*node{a, b} {
		s := nd.e.Snapshot(n.now)
		if len(s.ISAKMP) != 1 || s.ISAKMP[0].State != "QM_IDLE" || s.ISAKMP[0].Status != "ACTIVE" {
			t.Errorf("%s: ISAKMP SAs %+v", nd.name, s.ISAKMP)
		}
		if len(s.IPsec) != 1 || s.IPsec[0].Transform != "esp-256-aes esp-sha384-hmac" || s.IPsec[0].Mode != "Transport" ||
			s.IPsec[0].CryptoMapTag != "Tunnel0-head-0" || !s.IPsec[0].Current {
			t.Errorf("%s: IPsec SAs %+v", nd.name, s.IPsec)
		}
		if len(s.Sessions) != 1 || s.Sessions[0].Status != "UP-ACTIVE" || s.Sessions[0].ActiveSAs != 2 {
			t.Errorf("%s: sessions %+v", nd.name, s.Sessions)
		}
		if len(nd.sessionUps()) != 1 {
			t.Errorf("%s: %d SessionUp actions", nd.name, len(nd.sessionUps()))
		}
		if len(actionsOf[KeyLogIKE](nd.actions)) == 0 || len(actionsOf[KeyLogESP](nd.actions)) != 2*len(nd.installs()) {
			t.Errorf("%s: key log actions missing", nd.name)
		}
		for _, l := range nd.logs() {
			for _, secret := range []string{"SecretPassword12", fmt.Sprintf("%x", ia.In.EncKey[:8])} {
				if containsFold(l.Msg, secret) {
					t.Errorf("%s: log line leaks a secret: %s", nd.name, l.Msg)
				}
			}
		}
	}
}

func containsFold(s, sub string) bool {
	return len(sub) > 0 && (len(s) >= len(sub)) && (stringIndexFold(s, sub) >= 0)
}

func stringIndexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if equalFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}

func equalFold(a, b string) bool {
	for i := range a {
		ca, cb := a[i], b[i]
		if 'A' <= ca && ca <= 'Z' {
			ca += 'a' - 'A'
		}
		if 'A' <= cb && cb <= 'Z' {
			cb += 'a' - 'A'
		}
		if ca != cb {
			return false
		}
	}
	return true
}

// transformSetFor returns a transform set for an ESP suite.
func transformSetFor(s esp.Suite, mode config.ESPMode) config.TransformSet {
	ts := config.TransformSet{Name: s.String(), Mode: mode}
	switch s.Cipher {
	case esp.AES128CBC:
		ts.Cipher, ts.KeyBits = config.ESPAESCBC, 128
	case esp.AES192CBC:
		ts.Cipher, ts.KeyBits = config.ESPAESCBC, 192
	case esp.AES256CBC:
		ts.Cipher, ts.KeyBits = config.ESPAESCBC, 256
	case esp.AES128GCM:
		ts.Cipher, ts.KeyBits = config.ESPAESGCM, 128
	case esp.AES256GCM:
		ts.Cipher, ts.KeyBits = config.ESPAESGCM, 256
	}
	ts.Integrity = map[esp.Integrity]config.ESPIntegrity{
		esp.IntegrityNone: config.IntegrityNone, esp.HMACSHA1: config.IntegritySHA1, esp.HMACSHA256: config.IntegritySHA256,
		esp.HMACSHA384: config.IntegritySHA384, esp.HMACSHA512: config.IntegritySHA512,
	}[s.Integrity]
	return ts
}

// TestExchangeMatrix negotiates every DH group (phase 1 and PFS), every ESP
// suite, both modes, with and without forced NAT traversal, each side as
// initiator, and checks every resulting pair end to end.
func TestExchangeMatrix(t *testing.T) {
	type tc struct {
		group   config.DHGroup
		hash    config.Hash
		bits    int
		suite   esp.Suite
		mode    config.ESPMode
		forced  bool
		pfs     config.DHGroup
		aStarts bool
	}
	var cases []tc
	hashes := []config.Hash{config.HashSHA1, config.HashSHA256, config.HashSHA384, config.HashSHA512}
	for i, g := range []config.DHGroup{14, 15, 16, 19, 20, 21} {
		cases = append(cases, tc{group: g, hash: hashes[i%4], bits: []int{128, 192, 256}[i%3], suite: esp.Suites()[i],
			mode: config.ESPMode(i % 2), forced: i%2 == 1, pfs: g, aStarts: i%2 == 0})
	}
	for i, s := range esp.Suites() {
		for _, mode := range []config.ESPMode{config.ModeTunnel, config.ModeTransport} {
			for _, forced := range []bool{false, true} {
				c := tc{group: 19, hash: hashes[i%4], bits: 256, suite: s, mode: mode, forced: forced, aStarts: (i+int(mode))%2 == 0}
				if i%3 == 0 {
					c.pfs = 20
				}
				cases = append(cases, c)
			}
		}
	}
	for _, c := range cases {
		name := fmt.Sprintf("g%d-sha%d-aes%d-%s-mode%d-forced%v-pfs%d-A%v", c.group, c.hash, c.bits, c.suite, c.mode, c.forced, c.pfs, c.aStarts)
		t.Run(name, func(t *testing.T) {
			pol := config.ISAKMPPolicy{Priority: 1, EncryptionBits: c.bits, Hash: c.hash, Group: c.group, Lifetime: time.Hour}
			cfgA := Config{Policies: []config.ISAKMPPolicy{pol}, PSK: pskAll("k"), ForceUDPEncap: c.forced}
			cfgB := Config{Policies: []config.ISAKMPPolicy{refPolicy(), pol}, PSK: pskAll("k")}
			n, a, b := pair(t, cfgA, cfgB)
			ts := transformSetFor(c.suite, c.mode)
			pa, pb := protect(addrA, addrB, ts), protect(addrB, addrA, ts)
			pa.PFS, pb.PFS = c.pfs, c.pfs
			if c.aStarts {
				pb.Passive = true
			} else {
				pa.Passive = true
			}
			n.start(a, pa)
			n.start(b, pb)
			n.run(time.Minute)
			ia, _ := established(t, a, b)
			if ia.Suite != c.suite {
				t.Errorf("suite %v, want %v", ia.Suite, c.suite)
			}
			wantMode := ModeTunnel
			if c.mode == config.ModeTransport {
				wantMode = ModeTransport
			}
			if ia.Mode != wantMode {
				t.Errorf("mode %v, want %v", ia.Mode, wantMode)
			}
			if c.forced != (ia.Encap != nil) {
				t.Errorf("forced %v, encap %+v", c.forced, ia.Encap)
			}
			if ia.Encap != nil && (ia.Encap.LocalPort != NATTPort || ia.Encap.RemotePort != NATTPort) {
				t.Errorf("encap ports %+v", ia.Encap)
			}
			initiator := a
			if !c.aStarts {
				initiator = b
			}
			s := initiator.e.Snapshot(n.now)
			if len(s.ISAKMP) != 1 || !s.ISAKMP[0].Initiator || s.ISAKMP[0].Group != int(c.group) || s.ISAKMP[0].KeyBits != c.bits {
				t.Errorf("initiator's ISAKMP SA %+v", s.ISAKMP)
			}
			if c.forced && s.ISAKMP[0].Local.Port() != NATTPort {
				t.Errorf("forced encapsulation but IKE still on port %d", s.ISAKMP[0].Local.Port())
			}
		})
	}
}
