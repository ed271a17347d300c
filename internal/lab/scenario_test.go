package lab

import (
	"testing"
	"time"
)

func TestParsePing(t *testing.T) {
	for _, c := range []struct {
		out        string
		sent, recv int
	}{
		{"--- 10.2.0.10 ping statistics ---\n1000 packets transmitted, 993 received, 0.7% packet loss, time 5012ms\n", 1000, 993},
		{"2500 packets transmitted, 0 received, +12 errors, 100% packet loss, time 4999ms", 2500, 0},
		{"5 packets transmitted, 5 packets received, 0.0% packet loss", 5, 5}, // BusyBox
	} {
		p, err := ParsePing(c.out)
		if err != nil || p.Sent != c.sent || p.Received != c.recv {
			t.Errorf("ParsePing(%q) = %+v, %v; want %d/%d", c.out, p, err, c.sent, c.recv)
		}
	}
	if _, err := ParsePing("ping: connect: Network is unreachable"); err == nil {
		t.Error("no summary accepted")
	}
	if l := (PingResult{Sent: 200, Received: 150}).Loss(); l != 0.25 {
		t.Errorf("Loss = %v", l)
	}
}

func TestPrefixOfMask(t *testing.T) {
	for in, want := range map[string]string{
		"10.2.0.0 255.255.0.0":      "10.2.0.0/16",
		"172.16.1.0 255.255.255.0":  "172.16.1.0/24",
		"0.0.0.0 0.0.0.0":           "0.0.0.0/0",
		"192.0.2.2 255.255.255.255": "192.0.2.2/32",
		"10.0.0.0 255.255.255.252":  "10.0.0.0/30",
	} {
		if got := prefixOfMask(in); got != want {
			t.Errorf("prefixOfMask(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLogTime(t *testing.T) {
	ts, ok := LogTime("2026-11-29T21:50:44.635Z left %TUN-5-RECURDOWN: Tunnel0 temporarily disabled due to recursive routing")
	if !ok || !ts.Equal(time.Date(2026, 11, 29, 21, 50, 44, 635e6, time.UTC)) {
		t.Errorf("LogTime = %v, %v", ts, ok)
	}
	if _, ok := LogTime("no time here"); ok {
		t.Error("a line without a time stamp parsed")
	}
}
