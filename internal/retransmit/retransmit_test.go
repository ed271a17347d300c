package retransmit

import (
	"net/netip"
	"testing"
	"time"
)

func TestSchedule(t *testing.T) {
	var r Timer
	t0 := time.Unix(1_000_000, 0)
	if resend, giveUp := r.Fire(t0.Add(time.Hour)); resend || giveUp {
		t.Fatal("the zero Timer fired")
	}
	a := netip.MustParseAddrPort("192.0.2.1:500")
	r.Arm(t0, []byte{1}, a, a)
	var sends []time.Duration
	for now := t0; now.Before(t0.Add(5 * time.Minute)); now = now.Add(time.Second) {
		resend, giveUp := r.Fire(now)
		if resend {
			sends = append(sends, now.Sub(t0))
		}
		if giveUp {
			sends = append(sends, -now.Sub(t0))
			break
		}
	}
	want := []time.Duration{2 * time.Second, 6 * time.Second, 14 * time.Second, 30 * time.Second, 62 * time.Second, -94 * time.Second}
	if len(sends) != len(want) {
		t.Fatalf("resends at %v, want %v (negative: give up)", sends, want)
	}
	for i := range want {
		if sends[i] != want[i] {
			t.Fatalf("resends at %v, want %v (negative: give up)", sends, want)
		}
	}
	r.Arm(t0, nil, a, a)
	r.Stop()
	if resend, _ := r.Fire(t0.Add(time.Hour)); resend {
		t.Error("a stopped Timer fired")
	}
}

func TestBackoff(t *testing.T) {
	for n, want := range map[int]time.Duration{0: 0, 1: 5 * time.Second, 2: 10 * time.Second, 7: 5 * time.Minute, 50: 5 * time.Minute} {
		if got := Backoff(n); got != want {
			t.Errorf("Backoff(%d) = %v, want %v", n, got, want)
		}
	}
}
