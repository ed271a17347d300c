package esp

import (
	"sync"
	"testing"
)

// TestStatsWhileSealing reads Stats and the lifetime views from another
// goroutine while one goroutine seals, as `show crypto ipsec sa` and the
// rekey logic do; run with -race.
func TestStatsWhileSealing(t *testing.T) {
	out, in := newPair(t, Suite{AES128GCM, IntegrityNone}, false)
	out.SetLifetime(Lifetime{SoftPackets: 500})
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
				_ = out.Stats()
				_ = out.SoftExpired()
				_ = in.Stats()
				_ = in.Expired()
			}
		}
	}()
	for range 1000 {
		if _, _, _, err := in.Open(seal(t, out, make([]byte, 64), NextHeaderGRE)); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
	if !out.SoftExpired() || out.Stats().Packets != 1000 || in.Stats().Bytes != 64000 {
		t.Fatalf("out %+v, in %+v", out.Stats(), in.Stats())
	}
}
