package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// speedCheck is what the benchmark checks of a tunnel besides its speed:
// that it neither loses nor reorders packets when it is not overloaded,
// that TCP at full speed retransmits little, and that every ESP packet it
// sends at speed decrypts with a good ICV (tshark, with the keylog).
type speedCheck struct {
	// TCP over the timed runs: segments retransmitted and sent (about).
	retransmits int
	segments    float64
	// A paced UDP run well below every tunnel's capacity.
	udpRate string
	udp     iperfResult
	// The UDP floods (overload: loss is expected, reordering is not).
	flooded  bool
	floodOOO int
	// ESP packets captured at speed, and those tshark decrypted with a
	// good ICV into GRE; espChecked is false for unprotected setups.
	espChecked bool
	esp, good  int

	// The short form's allowances on a machine busy with other tests (0:
	// the bench's limits): paced loss is then CPU starvation, not the
	// tunnel; and a captured packet tshark cannot decrypt while TCP
	// retransmitted nothing was good on the wire (the receiver would have
	// dropped a bad one and TCP resent it): a capture artifact.
	pacedLossLimit float64
	captureSlack   int
}

// Limits of a correct tunnel: TCP recovers this much retransmission
// without harm (what it does when it fills a queue), and a tunnel below
// its capacity loses almost nothing and reorders nothing.
const (
	maxRetransmitPct = 1.0
	maxPacedLossPct  = 0.5
)

// problems says what a check found wrong, if anything.
func (c speedCheck) problems() []string {
	var p []string
	if c.segments > 0 {
		if pct := 100 * float64(c.retransmits) / c.segments; pct > maxRetransmitPct {
			p = append(p, fmt.Sprintf("TCP retransmitted %.2f %% of its segments (limit %.1f %%)", pct, maxRetransmitPct))
		}
	}
	if c.udp.packets > 0 {
		limit := maxPacedLossPct
		if c.pacedLossLimit > 0 {
			limit = c.pacedLossLimit
		}
		if pct := 100 * float64(c.udp.lost) / float64(c.udp.packets); pct > limit {
			p = append(p, fmt.Sprintf("paced UDP at %s lost %.2f %% (limit %.1f %%)", c.udpRate, pct, limit))
		}
		if c.udp.outOfOrder > 0 {
			p = append(p, fmt.Sprintf("paced UDP at %s: %d datagrams out of order", c.udpRate, c.udp.outOfOrder))
		}
		if c.floodOOO > 0 {
			p = append(p, fmt.Sprintf("UDP floods: %d datagrams out of order", c.floodOOO))
		}
	} else {
		p = append(p, "paced UDP run: nothing received")
	}
	if c.espChecked {
		switch {
		case c.esp < 1000:
			p = append(p, fmt.Sprintf("only %d ESP packets captured at speed (want 1000)", c.esp))
		case c.esp-c.good <= c.captureSlack && c.retransmits == 0:
		case c.good != c.esp:
			p = append(p, fmt.Sprintf("%d of %d ESP packets did not decrypt with a good ICV", c.esp-c.good, c.esp))
		}
	}
	return p
}

func (c speedCheck) String() string {
	retr := "-"
	if c.segments > 0 {
		retr = fmt.Sprintf("%.3f %%", 100*float64(c.retransmits)/c.segments)
	}
	esp := "-"
	if c.espChecked {
		esp = fmt.Sprintf("%d/%d", c.good, c.esp)
	}
	flood := "-"
	if c.flooded {
		flood = fmt.Sprint(c.floodOOO)
	}
	return fmt.Sprintf("%10s %8s %8d %6d %5d %9s %13s", retr, c.udpRate, c.udp.packets, c.udp.lost, c.udp.outOfOrder, flood, esp)
}

// tcpSegments estimates the segments a TCP run sent: the inner MTU is 1400,
// so a full segment carries 1348 bytes (IPv4, TCP and timestamps).
func tcpSegments(gbps float64, seconds int) float64 {
	return gbps * 1e9 / 8 * float64(seconds) / 1348
}

// pacedRate is the paced UDP run's rate: a third of the slowest gresec
// setup's UDP capacity here (single datagrams, not TCP's 64 KiB sends:
// about 25 000 a second through the raw sockets of the reference suite).
const pacedRate = "100M"

// checkAtSpeed runs a setup's paced UDP run for seconds and, for a
// protected gresec setup, captures and decrypts its ESP at full TCP speed.
func checkAtSpeed(ctx context.Context, tb testing.TB, p pair, s benchSetup, c *speedCheck, seconds int) error {
	c.udpRate = pacedRate
	r, err := iperfPair(ctx, p.a, p.b, s.addr, s.bind, iperfLoad{seconds: seconds, udpLen: 1372, rate: c.udpRate})
	if err != nil {
		return fmt.Errorf("paced UDP: %w", err)
	}
	c.udp = r
	if !s.protected {
		return nil
	}
	c.espChecked = true
	c.esp, c.good, err = captureESP(ctx, tb, p, s)
	return err
}

// captureESP captures the ESP on A's veth while iperf3 runs at full speed
// and decrypts it with tshark from A's keylog. UDP GSO would show tcpdump
// 64 KiB super-packets, not the datagrams on the wire, so the veth's GSO is
// limited to one segment at both ends while it captures: the kernel segments before the
// capture point, as a NIC without UDP segmentation offload would.
func captureESP(ctx context.Context, tb testing.TB, p pair, s benchSetup) (total, good int, err error) {
	requireTools(tb, "tcpdump", "tshark")
	// Both ends: the reverse direction's ESP (the ACKs) arrives on a0 as
	// b0 sent it.
	for _, end := range [][2]string{{p.a, "a0"}, {p.b, "b0"}} {
		if out, err := ipNetns(end[0], "ip", "link", "set", end[1], "gso_max_segs", "1"); err != nil {
			return 0, 0, fmt.Errorf("%v %s", err, out)
		}
		defer func() { _, _ = ipNetns(end[0], "ip", "link", "set", end[1], "gso_max_segs", "65535") }()
	}
	pcap := filepath.Join(tb.TempDir(), "esp.pcap")
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", p.a, "tcpdump", "-Z", "root", "--immediate-mode",
		"-U", "-n", "-i", "a0", "-c", "3000", "-w", pcap, "ip proto 50 or udp port 4500")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return 0, 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	listening := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "listening on") {
				listening <- true
			}
		}
		close(listening)
	}()
	select {
	case ok := <-listening:
		if !ok {
			_ = cmd.Wait()
			return 0, 0, fmt.Errorf("tcpdump did not start")
		}
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return 0, 0, fmt.Errorf("tcpdump did not start listening")
	}
	if _, err := iperfPair(ctx, p.a, p.b, s.addr, s.bind, iperfLoad{seconds: 2}); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return 0, 0, err
	}
	_ = cmd.Process.Signal(syscall.SIGTERM) // if it has not its 3000 yet
	_ = cmd.Wait()
	args := append(espDecryptArgs(tb, benchKeyLog(p)), "-r", pcap, "-T", "fields", "-e", "esp.spi", "-e", "esp.icv_good", "-e", "gre.proto")
	for _, ln := range strings.Split(strings.TrimSpace(tshark(tb, args...)), "\n") {
		f := strings.Split(ln, "\t")
		if len(f) < 3 || f[0] == "" {
			continue
		}
		total++
		if f[1] == "1" && strings.Contains(f[2], "0x0800") {
			good++
		}
	}
	return total, good, nil
}
