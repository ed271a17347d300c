package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gresec/gresec/internal/esp"
	"github.com/gresec/gresec/internal/lab"
)

// iperf runs one iperf3 TCP transfer from left-host to right-host in the
// lab and returns the receiver's Gbit/s.
func iperf(_ testing.TB, l *lab.Lab, seconds int) (float64, error) {
	srv := exec.Command("ip", "netns", "exec", l.NS("right-host"), "iperf3", "-s", "-1", "-B", "10.2.0.10")
	if err := srv.Start(); err != nil {
		return 0, err
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	time.Sleep(300 * time.Millisecond)
	out, err := exec.Command("ip", "netns", "exec", l.NS("left-host"), "timeout", fmt.Sprint(seconds+20), "iperf3", "-c", "10.2.0.10", "-t", fmt.Sprint(seconds), "-J").Output()
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

// benchSetup is one row of the throughput table: what runs between the two
// namespaces of a fresh pair, and where iperf3 connects (addr, from bind).
type benchSetup struct {
	key, name  string
	flood      bool // also a UDP flood (the second table)
	check      bool // gresec: correctness at speed (the third table)
	protected  bool // gresec with ESP: its capture is decrypted
	addr, bind string
	start      func(tb testing.TB, cl *cleanups, p pair) error
}

func benchSetups() []benchSetup {
	gresec := func(protect bool, s esp.Suite, udp bool) func(testing.TB, *cleanups, pair) error {
		return func(tb testing.TB, cl *cleanups, p pair) error { return setupGresec(tb, cl, p, protect, s, udp, false) }
	}
	gresec6 := func(protect bool, s esp.Suite) func(testing.TB, *cleanups, pair) error {
		return func(tb testing.TB, cl *cleanups, p pair) error {
			return setupGresec(tb, cl, p, protect, s, false, true)
		}
	}
	wg := func(one bool) func(testing.TB, *cleanups, pair) error {
		return func(tb testing.TB, cl *cleanups, p pair) error { return setupWireGuard(tb, cl, p, one) }
	}
	swan := func(proposal string) func(testing.TB, *cleanups, pair) error {
		return func(tb testing.TB, cl *cleanups, p pair) error { return setupCharon(tb, cl, p, proposal) }
	}
	gcm := esp.Suite{Cipher: esp.AES256GCM}
	ref := esp.Suite{Cipher: esp.AES256CBC, Integrity: esp.HMACSHA384}
	tun := "10.255.0.2"
	return []benchSetup{
		{key: "veth", name: "kernel veth, no tunnel (MTU 1500)", addr: "198.51.100.2",
			start: func(testing.TB, *cleanups, pair) error { return nil }},
		{key: "wg", name: "wireguard-go, default", flood: true, addr: tun, start: wg(false)},
		{key: "wg1", name: "wireguard-go, GOMAXPROCS=1", flood: true, addr: tun, start: wg(true)},
		{key: "gre", name: "gresec GRE, unprotected (raw IP 47)", flood: true, check: true, addr: tun, start: gresec(false, esp.Suite{}, false)},
		{key: "gcm-raw", name: "gresec ESP esp-gcm 256 (raw IP 50)", check: true, protected: true, addr: tun, start: gresec(true, gcm, false)},
		{key: "gcm-udp", name: "gresec ESP esp-gcm 256 (UDP 4500)", flood: true, check: true, protected: true, addr: tun, start: gresec(true, gcm, true)},
		{key: "ref", name: "gresec ESP esp-aes 256 esp-sha384-hmac (raw IP 50)", check: true, protected: true, addr: tun, start: gresec(true, ref, false)},
		{key: "ref-udp", name: "gresec ESP esp-aes 256 esp-sha384-hmac (UDP 4500)", check: true, protected: true, addr: tun, start: gresec(true, ref, true)},
		{key: "gre6", name: "gresec GRE over IPv6, unprotected (raw IPv6 47)", addr: tun, start: gresec6(false, esp.Suite{})},
		{key: "gcm6", name: "gresec ESP esp-gcm 256 over IPv6 (raw IPv6 50)", addr: tun, start: gresec6(true, gcm)},
		{key: "swan-gcm", name: "strongSwan kernel-libipsec aes256gcm16 (UDP 4500)", addr: "10.9.0.2", bind: "10.9.0.1", start: swan("aes256gcm16")},
		{key: "swan-ref", name: "strongSwan kernel-libipsec aes256-sha384 (UDP 4500)", addr: "10.9.0.2", bind: "10.9.0.1", start: swan("aes256-sha384")},
	}
}

// spread is min, median and max of several runs.
type spread struct{ min, med, max float64 }

func spreadOf(v []float64) spread {
	if len(v) == 0 {
		return spread{math.NaN(), math.NaN(), math.NaN()}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return spread{s[0], s[len(s)/2], s[len(s)-1]}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkTunnelThroughput is issue 6's side-by-side benchmark (`make
// bench`): in one run, between two namespaces joined by a veth pair, one
// iperf3 TCP stream (inner MTU 1400) through the bare veth, wireguard-go
// (default and GOMAXPROCS=1), gresec unprotected and protected (static SAs:
// IKE is not measured), and strongSwan's kernel-libipsec; then a UDP flood
// of 1372-byte datagrams; then the one-core crypto bound from the raw
// cipher benchmarks of internal/esp, and the targets computed from
// the medians. It reports, never asserts speed: a missed target is a FAIL
// in the table, not a failed benchmark (a setup that does not work is).
//
//	go test -run '^$' -bench TunnelThroughput -benchtime 1x ./test/e2e/
//
// BENCH_RUNS and BENCH_SECONDS change the runs per setup (3) and their
// length (5 s); BENCH_ONLY=key,key runs only those setups; BENCH_PROFILE=dir
// writes a CPU profile of each gresec daemon there (named after its namespace).
func BenchmarkTunnelThroughput(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root (network namespaces, TUN devices)")
	}
	for _, tool := range []string{"ip", "iperf3", "wg", "ping"} {
		if _, err := exec.LookPath(tool); err != nil {
			b.Fatalf("%s is needed (make bench installs it as root)", tool)
		}
	}
	runs, seconds := envInt("BENCH_RUNS", 3), envInt("BENCH_SECONDS", 5)
	const floodLen = 1372 // 1400 inner minus IPv4 and UDP headers

	// The crypto bound first, while nothing else runs.
	bounds, err := cryptoBounds()
	if err != nil {
		b.Errorf("crypto bound: %v", err)
	}
	path, err := dataPlanePath()
	if err != nil {
		b.Errorf("data plane path: %v", err)
	}

	var only []string
	if v := os.Getenv("BENCH_ONLY"); v != "" {
		only = strings.Split(v, ",")
	}
	setups := benchSetups()
	tcp := map[string]spread{}
	pps := map[string]spread{}
	checks := map[string]*speedCheck{}
	failed := map[string]string{}
	for _, s := range setups {
		if only != nil && !slices.Contains(only, s.key) {
			continue
		}
		func() {
			var cl cleanups
			defer cl.run()
			fail := func(err error) { failed[s.key] = err.Error() }
			p, err := newBenchPair(&cl)
			if err != nil {
				fail(err)
				return
			}
			if err := s.start(b, &cl, p); err != nil {
				fail(err)
				return
			}
			var g, f []float64
			c := &speedCheck{}
			for range runs {
				ctx, cancel := context.WithTimeout(b.Context(), time.Duration(seconds+30)*time.Second)
				r, err := iperfPair(ctx, p.a, p.b, s.addr, s.bind, iperfLoad{seconds: seconds})
				cancel()
				if err != nil {
					fail(err)
					return
				}
				g = append(g, r.gbps)
				c.retransmits += r.retransmits
				c.segments += tcpSegments(r.gbps, seconds)
			}
			tcp[s.key] = spreadOf(g)
			if s.check {
				ctx, cancel := context.WithTimeout(b.Context(), 90*time.Second)
				err := checkAtSpeed(ctx, b, p, s, c, 3)
				cancel()
				if err != nil {
					fail(err)
					return
				}
				checks[s.key] = c
			}
			if !s.flood {
				return
			}
			for range runs {
				ctx, cancel := context.WithTimeout(b.Context(), time.Duration(seconds+30)*time.Second)
				r, err := iperfPair(ctx, p.a, p.b, s.addr, s.bind, iperfLoad{seconds: seconds, udpLen: floodLen, rate: "0"})
				cancel()
				if err != nil {
					fail(err)
					return
				}
				f = append(f, r.pps)
				c.flooded = true
				c.floodOOO += r.outOfOrder
			}
			pps[s.key] = spreadOf(f)
		}()
		if msg, bad := failed[s.key]; bad {
			fmt.Printf("%s: FAILED: %s\n", s.name, msg)
		}
	}

	// wireguard-go's best configuration is each target's reference unless
	// the issue names the default one.
	best := func(m map[string]spread) float64 {
		v := math.Max(m["wg"].med, m["wg1"].med)
		if v == 0 {
			return math.NaN()
		}
		return v
	}
	med := func(m map[string]spread, k string) float64 {
		if s, ok := m[k]; ok {
			return s.med
		}
		return math.NaN()
	}
	wgBest, wgDefault := best(tcp), med(tcp, "wg")
	fmt.Printf("\nissue 6, one run: two namespaces joined by a veth pair, iperf3 one TCP stream,\n"+
		"inner MTU 1400, %d runs of %d s per setup (Gbit/s); ratios are of medians to\n"+
		"wireguard-go's best configuration (default or GOMAXPROCS=1) and to its default:\n\n", runs, seconds)
	fmt.Printf("%-52s %6s %6s %6s %9s %8s\n", "setup", "min", "median", "max", "x wg best", "x wg def")
	for _, s := range setups {
		r, ok := tcp[s.key]
		switch {
		case ok:
			fmt.Printf("%-52s %6.2f %6.2f %6.2f %9.2f %8.2f\n", s.name, r.min, r.med, r.max, r.med/wgBest, r.med/wgDefault)
		case failed[s.key] != "":
			fmt.Printf("%-52s failed (see above)\n", s.name)
		}
	}

	ppsBest := best(pps)
	fmt.Printf("\nUDP flood, iperf3 -u -b 0 -l %d, %d runs of %d s: datagrams per second delivered\n"+
		"(the receiver's count), ratio to wireguard-go's best configuration:\n\n", floodLen, runs, seconds)
	fmt.Printf("%-52s %9s %9s %9s %9s\n", "setup", "min", "median", "max", "x wg best")
	for _, s := range setups {
		if r, ok := pps[s.key]; ok {
			fmt.Printf("%-52s %9.0f %9.0f %9.0f %9.2f\n", s.name, r.min, r.med, r.max, r.med/ppsBest)
		}
	}

	fmt.Printf("\nCorrectness at speed: TCP retransmissions over the timed runs (limit %.1f %%); a\n"+
		"paced UDP run at %s, 3 s: datagrams sent, lost (limit %.1f %%), out of order (none);\n"+
		"datagrams out of order in the UDP floods (none); ESP packets captured at full TCP\n"+
		"speed that tshark decrypted with a good ICV from the keylog, of all captured:\n\n", maxRetransmitPct, pacedRate, maxPacedLossPct)
	fmt.Printf("%-52s %10s %8s %8s %6s %5s %9s %13s\n", "setup", "TCP retr", "UDP rate", "sent", "lost", "ooo", "flood ooo", "ESP good/all")
	for _, s := range setups {
		if c, ok := checks[s.key]; ok {
			fmt.Printf("%-52s %s\n", s.name, c)
			for _, pr := range c.problems() {
				fmt.Printf("    FAIL: %s\n", pr)
				b.Errorf("%s: %s", s.name, pr)
			}
		}
	}

	refBound, gcmBound := math.NaN(), math.NaN()
	fmt.Printf("\nOne-core crypto bound, a 1400-byte packet sealed and opened (internal/esp BenchmarkRaw*):\n\n")
	for _, c := range []struct {
		name, key string
		dst       *float64
	}{
		{"esp-aes 256 esp-sha384-hmac (AES-256-CBC + HMAC-SHA-384-192)", "256-aes-sha384-hmac", &refBound},
		{"esp-gcm 256 (AES-256-GCM)", "gcm-256", &gcmBound},
	} {
		if ns, ok := bounds[c.key]; ok {
			*c.dst = 1400 * 8 / ns
			fmt.Printf("%-60s %6.2f us %6.2f Gbit/s\n", c.name, ns/1000, *c.dst)
		}
	}

	fmt.Printf("\nTargets (issue 6), from the medians of this run:\n\n")
	check := func(name string, got, want float64) {
		if math.IsNaN(got) || math.IsInf(got, 0) {
			fmt.Printf("%-66s %6s >= %-5.2f n/a (a setup is missing)\n", name, "-", want)
			return
		}
		verdict := "FAIL"
		if got >= want {
			verdict = "PASS"
		}
		fmt.Printf("%-66s %6.2f >= %-5.2f %s\n", name, got, want, verdict)
	}
	check("1. esp-gcm 256 UDP 4500 / wireguard-go best", med(tcp, "gcm-udp")/wgBest, 1.5)
	// strongSwan's kernel-libipsec always encapsulates ESP in UDP: the
	// reference suite is compared in the same encapsulation, and shown
	// over raw IP 50 too.
	check("2. esp-aes 256 esp-sha384-hmac UDP / strongSwan libipsec (UDP)", med(tcp, "ref-udp")/med(tcp, "swan-ref"), 3)
	check("2. esp-aes 256 esp-sha384-hmac UDP / its one-core crypto bound", med(tcp, "ref-udp")/refBound, 0.7)
	check("3. esp-gcm 256 raw IP 50 / gresec GRE raw IP 47", med(tcp, "gcm-raw")/med(tcp, "gre"), 0.8)
	check("4. gresec GRE raw IP 47 / wireguard-go default", med(tcp, "gre")/wgDefault, 0.55)
	check("5. UDP flood pps, esp-gcm 256 UDP 4500 / wireguard-go best", med(pps, "gcm-udp")/ppsBest, 1)
	check("5. UDP flood pps, gresec GRE raw IP 47 / wireguard-go best", med(pps, "gre")/ppsBest, 1)
	fmt.Printf("(2. over raw IP 50, the IOS default without NAT: %.2f x strongSwan, %.2f of the bound.)\n",
		med(tcp, "ref")/med(tcp, "swan-ref"), med(tcp, "ref")/refBound)
	verdict := "PASS"
	if !path.ok() {
		verdict = "FAIL"
	}
	fmt.Printf("%-66s %6s %s\n", "6. allocations per packet, one goroutine per direction", "", verdict)
	fmt.Print(path)
	fmt.Println()

	for _, s := range setups {
		if msg, bad := failed[s.key]; bad {
			b.Errorf("%s: %s", s.name, msg)
		}
	}
}

// pathFigures are the data plane's own figures, without the kernel: per
// suite, the user-space ns and allocations per packet of
// internal/dataplane's BenchmarkTunnelPath, and the tests that show no
// allocation in the underlay sockets and one goroutine per direction.
type pathFigures struct {
	nsPerPacket map[string]float64
	allocs      map[string]float64
	tests       map[string]bool // test name -> passed
}

var pathTests = []string{"TestOneGoroutinePerDirection", "TestProtectedNoAllocations", "TestUnderlaysDoNotAllocate"}

func (f pathFigures) ok() bool {
	if len(f.allocs) == 0 {
		return false
	}
	for _, a := range f.allocs {
		if a != 0 {
			return false
		}
	}
	for _, t := range pathTests {
		if !f.tests[t] {
			return false
		}
	}
	return true
}

func (f pathFigures) String() string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(f.allocs)) {
		fmt.Fprintf(&b, "   BenchmarkTunnelPath/%-22s %8.0f ns/packet in user space, %v allocs per batch of 44\n", k, f.nsPerPacket[k], f.allocs[k])
	}
	for _, t := range pathTests {
		v := "FAIL"
		if f.tests[t] {
			v = "PASS"
		}
		fmt.Fprintf(&b, "   %-43s %s\n", t, v)
	}
	return b.String()
}

// dataPlanePath runs internal/dataplane's path benchmark and the tests of
// target 6 in internal/dataplane and internal/linux.
func dataPlanePath() (pathFigures, error) {
	f := pathFigures{nsPerPacket: map[string]float64{}, allocs: map[string]float64{}, tests: map[string]bool{}}
	out, err := exec.Command("go", "test", "-count=1", "-v", "-run", "^("+strings.Join(pathTests, "|")+")$",
		"-bench", "^BenchmarkTunnelPath$", "-benchtime", "300x", "-benchmem",
		"github.com/gresec/gresec/internal/dataplane", "github.com/gresec/gresec/internal/linux").CombinedOutput()
	for _, m := range regexp.MustCompile(`(?m)^--- (PASS|FAIL): (\w+)`).FindAllStringSubmatch(string(out), -1) {
		f.tests[m[2]] = m[1] == "PASS"
	}
	line := regexp.MustCompile(`(?m)^BenchmarkTunnelPath/(\S+?)(?:-\d+)?\s+\d+\s+.*?([\d.]+) ns/packet\s+\d+ B/op\s+(\d+) allocs/op`)
	for _, m := range line.FindAllStringSubmatch(string(out), -1) {
		f.nsPerPacket[m[1]], _ = strconv.ParseFloat(m[2], 64)
		f.allocs[m[1]], _ = strconv.ParseFloat(m[3], 64)
	}
	if err != nil {
		return f, fmt.Errorf("%v\n%s", err, out)
	}
	return f, nil
}

// cryptoBounds runs internal/esp's raw cipher benchmarks for a 1400-byte
// packet and returns, per suite name, the fastest seal plus the fastest
// open in ns (the one-core cost of the crypto a packet needs).
func cryptoBounds() (map[string]float64, error) {
	out, err := exec.Command("go", "test", "-run", "^$", "-count", "3",
		"-bench", "^BenchmarkRaw(AEAD|CBCHMAC)$/^(seal|open)$/^(gcm-256|256-aes-sha384-hmac)$/^1400$",
		"github.com/gresec/gresec/internal/esp").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("%v\n%s", err, out)
	}
	line := regexp.MustCompile(`(?m)^BenchmarkRaw\w+/(seal|open)/(\S+)/1400(?:-\d+)?\s+\d+\s+([\d.]+) ns/op`)
	fastest := map[string]float64{}
	for _, m := range line.FindAllStringSubmatch(string(out), -1) {
		ns, _ := strconv.ParseFloat(m[3], 64)
		k := m[2] + " " + m[1]
		if v, ok := fastest[k]; !ok || ns < v {
			fastest[k] = ns
		}
	}
	bounds := map[string]float64{}
	for _, s := range []string{"gcm-256", "256-aes-sha384-hmac"} {
		seal, ok1 := fastest[s+" seal"]
		open, ok2 := fastest[s+" open"]
		if !ok1 || !ok2 {
			return bounds, fmt.Errorf("no raw benchmark for %s in:\n%s", s, out)
		}
		bounds[s] = seal + open
	}
	return bounds, nil
}
