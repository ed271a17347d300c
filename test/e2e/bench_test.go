package e2e

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/gresec/gresec/internal/esp"
	"github.com/gresec/gresec/internal/lab"
)

// iperf runs one iperf3 TCP transfer from left-host to right-host and
// returns the receiver's Gbit/s.
func iperf(_ testing.TB, l *lab.Lab, seconds int) (float64, error) {
	srv := exec.Command("ip", "netns", "exec", l.NS("right-host"), "iperf3", "-s", "-1", "-B", "10.2.0.10")
	if err := srv.Start(); err != nil {
		return 0, err
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	time.Sleep(300 * time.Millisecond)
	out, err := exec.Command("ip", "netns", "exec", l.NS("left-host"), "iperf3", "-c", "10.2.0.10", "-t", fmt.Sprint(seconds), "-J").Output()
	if err != nil {
		return 0, fmt.Errorf("iperf3: %v\n%s", err, out)
	}
	var res struct {
		End struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return 0, err
	}
	return res.End.SumReceived.BitsPerSecond / 1e9, nil
}

// BenchmarkTunnelThroughput prints iperf3 TCP throughput (one stream, inner
// MTU 1400) through gresec tunnels in namespaces, side by side in one run:
// unprotected GRE next to the IPsec suites. It asserts nothing about speed
// (the machines are shared): it prints figures for `make bench`.
//
//	go test -run '^$' -bench TunnelThroughput -benchtime 1x ./test/e2e/
func BenchmarkTunnelThroughput(b *testing.B) {
	setups := []struct {
		name       string
		protect    bool
		suite      esp.Suite
		tunnelMode bool
		udp        bool
	}{
		{name: "GRE, unprotected (raw IP 47)"},
		{name: "ESP transport esp-aes 256 esp-sha384-hmac (raw IP 50)", protect: true, suite: esp.Suite{Cipher: esp.AES256CBC, Integrity: esp.HMACSHA384}},
		{name: "ESP transport esp-gcm 256 (raw IP 50)", protect: true, suite: esp.Suite{Cipher: esp.AES256GCM}},
		{name: "ESP transport esp-gcm 256 (UDP 4500)", protect: true, suite: esp.Suite{Cipher: esp.AES256GCM}, udp: true},
	}
	const runs, seconds = 3, 4
	type row struct {
		name          string
		min, med, max float64
	}
	var rows []row
	for _, s := range setups {
		var results []float64
		func() {
			l := benchLab(b, s.protect)
			defer l.Close()
			if s.protect {
				installStaticSAs(b, l, s.suite, s.tunnelMode, s.udp)
			}
			for range runs {
				g, err := iperf(b, l, seconds)
				if err != nil {
					b.Fatalf("%s: %v", s.name, err)
				}
				results = append(results, g)
			}
		}()
		slices.Sort(results)
		rows = append(rows, row{s.name, results[0], results[len(results)/2], results[len(results)-1]})
	}
	fmt.Printf("\niperf3 TCP, one stream, inner MTU 1400, %d runs of %d s each (Gbit/s):\n", runs, seconds)
	fmt.Printf("%-58s %6s %6s %6s %s\n", "setup", "min", "median", "max", "ratio to GRE")
	for _, r := range rows {
		fmt.Printf("%-58s %6.2f %6.2f %6.2f %.2f\n", r.name, r.min, r.med, r.max, r.med/rows[0].med)
	}
}

// benchLab starts the lab outside a *testing.T, for benchmarks.
func benchLab(b *testing.B, protect bool) *lab.Lab {
	b.Helper()
	if err := exec.Command("iperf3", "--version").Run(); err != nil {
		b.Fatalf("iperf3 is needed: %v", err)
	}
	prefix := fmt.Sprintf("gb%d-", labSeq.Add(1))
	l, err := lab.Start(b.Context(), lab.Options{Binary: binary, Prefix: prefix, Dir: b.TempDir(), Out: discard{},
		Config: func(r lab.Router) string {
			if protect {
				return staticOnly(r)
			}
			return r.Config(false)
		}})
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range []string{"left", "right"} {
		if _, err := l.WaitLineProtocol(b.Context(), r, "up", 20*time.Second); err != nil {
			l.Close()
			b.Fatal(err)
		}
	}
	return l
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
