package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gresec/gresec/internal/esp"
	"github.com/gresec/gresec/internal/lab"
	"github.com/gresec/gresec/internal/router"
)

// TestInvalidSPIAnswered: ESP from the configured peer on an SPI this side
// has no SA for draws a protected INVALID-SPI (item 3 of issue 10), at most
// one per 10 s however many packets arrive. Here left sends on an outbound
// SA right never had (a pair installed on left alone, standing for a pair
// right lost without telling left); right's data plane reports the SPI,
// its engine answers inside the ISAKMP SA, and left receives the notify.
// (That a peer deletes the named pair and renegotiates at once is shown in
// internal/ike, gresec to gresec.)
func TestInvalidSPIAnswered(t *testing.T) {
	var logs logBuffer
	l := startLabWith(t, lab.Options{Out: &logs, Config: func(r lab.Router) string {
		// No DPD and no GRE keepalive: nothing else may notice.
		cfg := strings.Replace(r.Config(true), " keepalive 10 3\n", "", 1)
		return strings.Replace(cfg, "crypto isakmp keepalive 10 periodic\n", "", 1)
	}})
	waitUp(t, l)
	waitSAs(t, l, "left", 20*time.Second)
	waitSAs(t, l, "right", 20*time.Second)
	suite := esp.Suite{Cipher: esp.AES256CBC, Integrity: esp.HMACSHA384}
	sa := router.TestSA{Cipher: suite.Cipher, Integrity: suite.Integrity,
		InSPI: 0x7e570001, OutSPI: 0x7e570002,
		InEnc: randHex(suite.KeyLen()), InAuth: randHex(suite.AuthKeyLen()),
		OutEnc: randHex(suite.KeyLen()), OutAuth: randHex(suite.AuthKeyLen())}
	js, _ := json.Marshal(sa)
	if code, out, stderr := gresec(t, "test-sa", "--socket", l.Socket("left"), "Tunnel0", string(js)); code != 0 {
		t.Fatalf("left: installing a stray SA pair: exit %d %s%s", code, out, stderr)
	}
	start := time.Now()
	// Traffic for 12 s: left sends on the stray SA once it is active.
	go func() {
		_, _ = l.Exec(t.Context(), "left-host", "ping", "-q", "-c", "120", "-i", "0.1", "-W", "1", "10.2.0.10")
	}()
	const sent = "Tunnel0: peer 192.0.2.1: ESP on unknown SPI 0x7e570002; sending INVALID-SPI"
	const received = "INVALID-SPI for SPI 0x7e570002"
	waitFor(t, 10*time.Second, "right to answer the unknown SPI with INVALID-SPI", func() bool {
		return strings.Contains(logs.String(), sent)
	})
	waitFor(t, 5*time.Second, "left to receive the INVALID-SPI", func() bool {
		return strings.Contains(logs.String(), received)
	})
	t.Logf("INVALID-SPI sent %s after the stray SA was installed", time.Since(start).Round(10*time.Millisecond))
	time.Sleep(time.Until(start.Add(12 * time.Second)))
	if n := strings.Count(logs.String(), sent); n < 1 || n > 2 {
		t.Errorf("right sent %d INVALID-SPI notifies in 12 s of traffic on the stray SA, want 1 or 2 (one per 10 s)", n)
	}
	if s := ipsecSAs(t, l, "right"); s.Inbound == nil {
		t.Errorf("right lost its own SA pair")
	}
}
