package ike

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gresec/gresec/internal/isakmp"
)

// The fuzz target feeds arbitrary datagrams to engines in three situations:
// a fresh responder, a Main Mode half done (initiator awaiting MM4,
// responder awaiting MM5) and an established SA pair. The engines' random
// sources are seeded, so their cookies, keys and message IDs are the same
// in every run and the seed corpus (real messages of such runs, in
// testdata/fuzz/FuzzReceive) leads the fuzzer deep into the exchanges.

type fuzzScene struct {
	n    *network
	a, b *node
}

func fuzzScenes(t testing.TB) []fuzzScene {
	mk := func(steps int) fuzzScene {
		n := newNetwork(t)
		n.quiet = true
		a := n.add("A", addrA, quiet(dpdConfig(true)))
		b := n.add("B", addrB, quiet(refConfig()))
		pb := protect(addrB, addrA)
		pb.Passive = true
		n.start(b, pb)
		n.start(a, protect(addrA, addrB))
		if steps < 0 {
			n.run(time.Minute)
		} else {
			for range steps {
				n.step()
			}
			n.queue = nil
		}
		return fuzzScene{n, a, b}
	}
	fresh := newNetwork(t)
	fresh.quiet = true
	fb := fresh.add("B", addrB, quiet(refConfig()))
	fresh.start(fb, protect(addrB, addrA))
	fresh.queue = nil
	return []fuzzScene{{fresh, nil, fb}, mk(3), mk(-1)}
}

// fuzzSeeds returns the messages of a real exchange: Main Mode, Quick
// Mode, DPD and a DELETE, as each side sent them.
func fuzzSeeds(t testing.TB) [][]byte {
	s := fuzzScenes(t)[2]
	s.n.run(time.Minute) // some R-U-THERE and R-U-THERE-ACK
	s.n.record(s.a, s.a.e.Stop(s.n.now, "Tunnel0"))
	var out [][]byte
	for _, nd := range []*node{s.a, s.b} {
		for _, ts := range nd.sends {
			if _, ok := ikeHeader(ts.s); ok {
				out = append(out, ts.s.Data)
			}
		}
	}
	return out
}

func FuzzReceive(f *testing.F) {
	for _, m := range fuzzSeeds(f) {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, s := range fuzzScenes(t) {
			for _, to := range []*node{s.a, s.b} {
				if to == nil {
					continue
				}
				from := addrA
				if to.addr == addrA {
					from = addrB
				}
				for _, port := range []uint16{Port, NATTPort} {
					acts := to.e.Receive(s.n.now, Datagram{
						Local:  netip.AddrPortFrom(to.addr, port),
						Remote: netip.AddrPortFrom(from, port),
						Data:   data,
					})
					for _, a := range acts {
						if _, ok := a.(InstallPair); ok && s.a != nil && len(s.a.installs()) == 0 && to == s.a {
							t.Fatal("an SA pair installed from a single forged message")
						}
					}
				}
			}
			// Let the engines run on with whatever state the input left.
			s.n.run(2 * time.Minute)
		}
	})
}

// TestWriteFuzzCorpus regenerates testdata/fuzz/FuzzReceive from a real
// exchange (GRESEC_WRITE_CORPUS=1 go test -run TestWriteFuzzCorpus).
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("GRESEC_WRITE_CORPUS") == "" {
		t.Skip("set GRESEC_WRITE_CORPUS=1 to regenerate the seed corpus")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzReceive")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, m := range fuzzSeeds(t) {
		data := m
		if len(data) > 4 && data[0]|data[1]|data[2]|data[3] == 0 {
			data = data[4:]
		}
		h, _ := isakmp.ParseHeader(data)
		name := fmt.Sprintf("real-%02d-%s", i, exchangeName(h.Exchange))
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", m)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func exchangeName(x isakmp.ExchangeType) string {
	switch x {
	case isakmp.ExchangeMainMode:
		return "mm"
	case isakmp.ExchangeQuickMode:
		return "qm"
	case isakmp.ExchangeInformational:
		return "info"
	}
	return "other"
}
