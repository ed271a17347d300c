package e2e

import (
	"context"
	"slices"
	"testing"
	"time"
)

// shortCheckSeconds is the length of each run of the short correctness
// checks: long enough for thousands of packets at speed, short enough that
// the four setups take well under a minute.
const shortCheckSeconds = 2

// TestCorrectnessAtSpeedShort is the short form of `make bench`'s
// correctness checks (issue 10 item 9), run by `make test`: for gresec GRE,
// esp-gcm 256 over raw IP 50 and over UDP 4500, and the reference suite
// (esp-aes 256 esp-sha384-hmac), each between two fresh namespaces with the
// bench's own setup, a TCP run at full speed retransmits at most the
// bench's limit, a paced UDP run loses almost nothing and reorders nothing,
// a UDP flood (overload) reorders nothing, and every ESP packet captured at
// full speed decrypts with tshark from the keylog with a good ICV.
func TestCorrectnessAtSpeedShort(t *testing.T) {
	requireRoot(t)
	requireTools(t, "ip", "ping", "iperf3", "tcpdump", "tshark")
	keys := []string{"gre", "gcm-raw", "gcm-udp", "ref"}
	ran := 0
	for _, s := range benchSetups() {
		if !slices.Contains(keys, s.key) {
			continue
		}
		ran++
		t.Run(s.key, func(t *testing.T) {
			var cl cleanups
			defer cl.run()
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			p, err := newBenchPair(&cl)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.start(t, &cl, p); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			// Other tests share the machine: see speedCheck.
			c := &speedCheck{pacedLossLimit: 5, captureSlack: 1}
			r, err := iperfPair(ctx, p.a, p.b, s.addr, s.bind, iperfLoad{seconds: shortCheckSeconds})
			if err != nil {
				t.Fatalf("TCP: %v", err)
			}
			c.retransmits, c.segments = r.retransmits, tcpSegments(r.gbps, shortCheckSeconds)
			if err := checkAtSpeed(ctx, t, p, s, c, shortCheckSeconds); err != nil {
				t.Fatal(err)
			}
			if s.flood {
				f, err := iperfPair(ctx, p.a, p.b, s.addr, s.bind, iperfLoad{seconds: shortCheckSeconds, udpLen: 1372, rate: "0"})
				if err != nil {
					t.Fatalf("UDP flood: %v", err)
				}
				c.flooded, c.floodOOO = true, f.outOfOrder
				t.Logf("UDP flood: %d datagrams sent, %d lost, %d out of order", f.packets, f.lost, f.outOfOrder)
			}
			t.Logf("%s: TCP %.2f Gbit/s, %d retransmissions of about %.0f segments; paced UDP at %s: %d sent, %d lost, %d out of order",
				s.name, r.gbps, c.retransmits, c.segments, c.udpRate, c.udp.packets, c.udp.lost, c.udp.outOfOrder)
			if c.espChecked {
				t.Logf("ESP captured at full speed: %d packets, %d decrypted by tshark with a good ICV", c.esp, c.good)
			}
			for _, pr := range c.problems() {
				t.Error(pr)
			}
		})
	}
	if ran != len(keys) {
		t.Fatalf("bench setups %v: found %d of them", keys, ran)
	}
}
