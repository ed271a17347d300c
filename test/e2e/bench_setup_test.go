package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gresec/gresec/internal/esp"
	"github.com/gresec/gresec/internal/router"
)

// The benchmark's topology: two network namespaces A and B joined by one
// veth pair (A's a0 198.51.100.1/24, B's b0 198.51.100.2/24), each side's
// tunnel endpoint and iperf3 in the same namespace. Every setup builds its
// own pair and tears it down (cleanups), also when it fails.

// cleanups runs what a setup started, last first.
type cleanups []func()

func (c *cleanups) add(f func()) { *c = append(*c, f) }

func (c *cleanups) run() {
	for i := len(*c) - 1; i >= 0; i-- {
		(*c)[i]()
	}
	*c = nil
}

// ipNetns runs a command in a namespace and returns its combined output.
func ipNetns(ns string, args ...string) (string, error) {
	out, err := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s in %s: %v\n%s", strings.Join(args, " "), ns, err, out)
	}
	return string(out), nil
}

func newBenchPair(cl *cleanups) (pair, error) {
	prefix := fmt.Sprintf("gb%d-%d-", os.Getpid()%10000, labSeq.Add(1))
	p := pair{a: prefix + "A", b: prefix + "B"}
	cl.add(func() {
		_ = exec.Command("ip", "netns", "del", p.a).Run()
		_ = exec.Command("ip", "netns", "del", p.b).Run()
	})
	for _, c := range [][]string{
		{"netns", "add", p.a}, {"netns", "add", p.b},
		{"link", "add", "a0", "netns", p.a, "type", "veth", "peer", "name", "b0", "netns", p.b},
		{"-n", p.a, "addr", "add", "198.51.100.1/24", "dev", "a0"},
		{"-n", p.b, "addr", "add", "198.51.100.2/24", "dev", "b0"},
		// For the rows over an IPv6 underlay.
		{"-n", p.a, "addr", "add", benchV6A + "/64", "dev", "a0", "nodad"},
		{"-n", p.b, "addr", "add", benchV6B + "/64", "dev", "b0", "nodad"},
		{"-n", p.a, "link", "set", "a0", "up"}, {"-n", p.b, "link", "set", "b0", "up"},
		{"-n", p.a, "link", "set", "lo", "up"}, {"-n", p.b, "link", "set", "lo", "up"},
	} {
		if out, err := exec.Command("ip", c...).CombinedOutput(); err != nil {
			return p, fmt.Errorf("ip %s: %v %s", strings.Join(c, " "), err, out)
		}
	}
	return p, nil
}

// startProc starts a long-running command and stops it (SIGTERM, by its
// PID) at cleanup; its output is kept for error messages.
func startProc(cl *cleanups, env []string, args ...string) (*exec.Cmd, *logBuffer, error) {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), env...)
	logs := &logBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	cl.add(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	return cmd, logs, nil
}

// waitPing pings addr from ns (optionally from a source address) until it
// answers.
func waitPing(ns, addr, src string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	args := []string{"ping", "-c", "1", "-W", "1", addr}
	if src != "" {
		args = append(args, "-I", src)
	}
	for {
		out, err := ipNetns(ns, args...)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no ping to %s from %s: %s", addr, ns, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// benchGresecConfig is one side of a gresec tunnel across the pair: Tunnel0
// 10.255.0.1/30 (A) or .2 (B), inner MTU 1400, protected or not. The two
// sides' pre-shared keys differ so that IKE never completes: the benchmark
// installs static SAs instead and measures the data plane alone.
// With v6 the underlay is IPv6 (tunnel mode gre ipv6 between benchV6A and
// benchV6B).
func benchGresecConfig(a, protect, v6 bool) string {
	name, dev, local, remote, tun, key := "A", "a0", "198.51.100.1", "198.51.100.2", "10.255.0.1", "SecretPassword12"
	local6, remote6 := benchV6A, benchV6B
	if !a {
		name, dev, local, remote, tun, key = "B", "b0", "198.51.100.2", "198.51.100.1", "10.255.0.2", "NotTheSameKey99"
		local6, remote6 = benchV6B, benchV6A
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "hostname %s\ninterface %s\n ip address %s 255.255.255.0\n", name, dev, local)
	if v6 {
		fmt.Fprintf(&sb, " ipv6 address %s/64\n", local6)
		remote = remote6
	}
	if protect {
		fmt.Fprintf(&sb, `crypto isakmp policy 10
 encr aes 256
 hash sha256
 authentication pre-share
 group 19
crypto isakmp key %s address %s
crypto ipsec transform-set TRANSFORM esp-aes 256 esp-sha384-hmac
 mode transport
crypto ipsec profile TUNNEL
 set transform-set TRANSFORM
`, key, map[bool]string{false: "0.0.0.0", true: "ipv6 ::/0"}[v6])
	}
	fmt.Fprintf(&sb, "interface Tunnel0\n ip address %s 255.255.255.252\n ip mtu 1400\n ip tcp adjust-mss 1360\n tunnel source %s\n tunnel destination %s\n", tun, dev, remote)
	if v6 {
		sb.WriteString(" tunnel mode gre ipv6\n")
	}
	if protect {
		sb.WriteString(" tunnel protection ipsec profile TUNNEL\n")
	}
	return sb.String()
}

// startBenchGresec runs gresec (the tests' binary, which has the static SA
// command) in a namespace and returns its control socket.
func startBenchGresec(cl *cleanups, dir, ns, config, keylog string) (string, error) {
	socket := filepath.Join(dir, ns+".sock")
	conf := filepath.Join(dir, ns+".conf")
	if err := os.WriteFile(conf, []byte(config), 0o600); err != nil {
		return "", err
	}
	args := []string{"ip", "netns", "exec", ns, binary, "run", "-c", conf, "--socket", socket, "--keylog", keylog}
	if d := os.Getenv("BENCH_PROFILE"); d != "" {
		// A CPU profile per daemon, named after the namespace.
		args = append(args, "--cpuprofile", filepath.Join(d, ns+".pprof"))
	}
	_, logs, err := startProc(cl, nil, args...)
	if err != nil {
		return "", err
	}
	for range 100 {
		if _, err := os.Stat(socket); err == nil {
			return socket, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return "", fmt.Errorf("gresec did not start in %s:\n%s", ns, logs.String())
}

// benchKeyLog is where the A side of a gresec pair logs its SAs' keys (both
// directions: enough to decrypt a capture).
func benchKeyLog(p pair) string {
	return filepath.Join(os.TempDir(), "gresec-bench-"+p.a+".keys")
}

// The pair's IPv6 addresses, for the rows over an IPv6 underlay.
const (
	benchV6A = "2001:db8:5::1"
	benchV6B = "2001:db8:5::2"
)

// setupGresec: gresec on both sides, plain GRE or ESP with static SAs,
// over IPv4 or (v6) IPv6.
func setupGresec(tb testing.TB, cl *cleanups, p pair, protect bool, suite esp.Suite, udp, v6 bool) error {
	dir := tb.TempDir()
	keylog := benchKeyLog(p)
	cl.add(func() { os.Remove(keylog) })
	sa, err := startBenchGresec(cl, dir, p.a, benchGresecConfig(true, protect, v6), keylog)
	if err != nil {
		return err
	}
	sb, err := startBenchGresec(cl, dir, p.b, benchGresecConfig(false, protect, v6), filepath.Join(dir, p.b+".keys"))
	if err != nil {
		return err
	}
	if protect {
		a := router.TestSA{Cipher: suite.Cipher, Integrity: suite.Integrity,
			InSPI: 0x2002, OutSPI: 0x1001,
			InEnc: randHex(suite.KeyLen()), InAuth: randHex(suite.AuthKeyLen()),
			OutEnc: randHex(suite.KeyLen()), OutAuth: randHex(suite.AuthKeyLen()),
			UDP: udp, LocalPort: 4500, RemotePort: 4500}
		b := a
		b.InSPI, b.OutSPI = a.OutSPI, a.InSPI
		b.InEnc, b.InAuth, b.OutEnc, b.OutAuth = a.OutEnc, a.OutAuth, a.InEnc, a.InAuth
		for _, s := range []struct {
			socket string
			sa     router.TestSA
		}{{sa, a}, {sb, b}} {
			js, _ := json.Marshal(s.sa)
			out, err := exec.Command(binary, "test-sa", "--socket", s.socket, "Tunnel0", string(js)).CombinedOutput()
			if err != nil {
				return fmt.Errorf("installing static SAs: %v %s", err, out)
			}
		}
	}
	return waitPing(p.a, "10.255.0.2", "", 30*time.Second)
}

// wireguardGo installs golang.zx2c4.com/wireguard at the version go.mod
// pins into a temporary GOBIN (once per run), unless WIREGUARD_GO names a
// binary already.
func wireguardGo(tb testing.TB) (string, error) {
	if p := os.Getenv("WIREGUARD_GO"); p != "" {
		return p, nil
	}
	if wgGoPath != "" {
		return wgGoPath, nil
	}
	ver, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "golang.zx2c4.com/wireguard").Output()
	if err != nil {
		return "", fmt.Errorf("go list -m golang.zx2c4.com/wireguard: %v", err)
	}
	dir, err := os.MkdirTemp("", "gresec-bench-wg-")
	if err != nil {
		return "", err
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	cmd := exec.Command("go", "install", "golang.zx2c4.com/wireguard@"+strings.TrimSpace(string(ver)))
	cmd.Dir = dir // outside the module: go install pkg@version
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=-buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install wireguard-go: %v\n%s", err, out)
	}
	wgGoPath = filepath.Join(dir, "wireguard")
	return wgGoPath, nil
}

var wgGoPath string

// setupWireGuard: wireguard-go in the foreground on both sides, configured
// with wg, addresses 10.255.0.1/30 and .2 like the gresec tunnels, MTU 1400.
// The interface names are unique per run: wireguard-go's UAPI sockets live
// in the shared /var/run/wireguard.
func setupWireGuard(tb testing.TB, cl *cleanups, p pair, gomaxprocs1 bool) error {
	wgGo, err := wireguardGo(tb)
	if err != nil {
		return err
	}
	dir := tb.TempDir()
	seq := labSeq.Add(1)
	type side struct {
		ns, dev, addr, endpoint, key, pub string
	}
	sides := []*side{
		{ns: p.a, dev: fmt.Sprintf("wg%d-%da", os.Getpid()%10000, seq), addr: "10.255.0.1/30", endpoint: "198.51.100.1:51820"},
		{ns: p.b, dev: fmt.Sprintf("wg%d-%db", os.Getpid()%10000, seq), addr: "10.255.0.2/30", endpoint: "198.51.100.2:51820"},
	}
	for _, s := range sides {
		key, err := exec.Command("wg", "genkey").Output()
		if err != nil {
			return fmt.Errorf("wg genkey: %v", err)
		}
		cmd := exec.Command("wg", "pubkey")
		cmd.Stdin = bytes.NewReader(key)
		pub, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("wg pubkey: %v", err)
		}
		s.key, s.pub = filepath.Join(dir, s.dev+".key"), strings.TrimSpace(string(pub))
		if err := os.WriteFile(s.key, key, 0o600); err != nil {
			return err
		}
		env := []string{"WG_PROCESS_FOREGROUND=1"}
		if gomaxprocs1 {
			env = append(env, "GOMAXPROCS=1")
		}
		_, logs, err := startProc(cl, env, "ip", "netns", "exec", s.ns, wgGo, "-f", s.dev)
		if err != nil {
			return err
		}
		sock := "/var/run/wireguard/" + s.dev + ".sock"
		for i := 0; ; i++ {
			if _, err := os.Stat(sock); err == nil {
				break
			}
			if i == 100 {
				return fmt.Errorf("wireguard-go did not start in %s:\n%s", s.ns, logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	for i, s := range sides {
		peer := sides[1-i]
		for _, args := range [][]string{
			{"wg", "set", s.dev, "private-key", s.key, "listen-port", "51820",
				"peer", peer.pub, "endpoint", peer.endpoint, "allowed-ips", strings.Replace(peer.addr, "/30", "/32", 1)},
			{"ip", "addr", "add", s.addr, "dev", s.dev},
			{"ip", "link", "set", s.dev, "mtu", "1400", "up"},
		} {
			if _, err := ipNetns(s.ns, args...); err != nil {
				return err
			}
		}
	}
	return waitPing(p.a, "10.255.0.2", "", 20*time.Second)
}

// setupCharon: strongSwan charon with kernel-libipsec (userspace ESP in C,
// always ESP in UDP 4500) on both sides, IKEv2, a tunnel-mode CHILD_SA
// between 10.9.0.1 (on A's lo) and 10.9.0.2 (on B's lo), routed into
// ipsec0 (MTU 1400, libipsec's default).
func setupCharon(tb testing.TB, cl *cleanups, p pair, espProposal string) error {
	for _, tool := range []string{"/usr/lib/ipsec/charon", "swanctl"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is needed (make deps)", tool)
		}
	}
	var dirs []string
	for i, ns := range []string{p.a, p.b} {
		local, remote, inner, peerInner := "198.51.100.1", "198.51.100.2", "10.9.0.1", "10.9.0.2"
		if i == 1 {
			local, remote, inner, peerInner = remote, local, peerInner, inner
		}
		if _, err := ipNetns(ns, "ip", "addr", "add", inner+"/32", "dev", "lo"); err != nil {
			return err
		}
		dir := tb.TempDir()
		dirs = append(dirs, dir)
		if err := os.MkdirAll(filepath.Join(dir, "run"), 0o755); err != nil {
			return err
		}
		conf := fmt.Sprintf(`charon {
  load_modular = no
  load = random nonce openssl aes sha1 sha2 hmac gmp curve25519 kdf pem pkcs1 x509 pubkey kernel-libipsec kernel-netlink socket-default vici
  plugins {
    vici { socket = unix://%[1]s/run/charon.vici }
  }
  filelog {
    log { path = %[1]s/charon.log
      default = 1
      flush_line = yes
    }
  }
}
`, dir)
		swan := fmt.Sprintf(`connections {
  bench {
    version = 2
    local_addrs = %[1]s
    remote_addrs = %[2]s
    proposals = aes256-sha256-ecp256
    local { auth = psk
            id = %[1]s }
    remote { auth = psk
             id = %[2]s }
    children {
      bench {
        local_ts = %[3]s/32
        remote_ts = %[4]s/32
        mode = tunnel
        esp_proposals = %[5]s
      }
    }
  }
}
secrets {
  ike-1 { id-1 = 198.51.100.1
          id-2 = 198.51.100.2
          secret = SecretPassword12 }
}
`, local, remote, inner, peerInner, espProposal)
		if err := os.WriteFile(filepath.Join(dir, "strongswan.conf"), []byte(conf), 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "swanctl.conf"), []byte(swan), 0o600); err != nil {
			return err
		}
		_, logs, err := startProc(cl, nil, "ip", "netns", "exec", ns, "unshare", "--mount", "--propagation", "private", "sh", "-c",
			fmt.Sprintf("mount --bind %s/run /run && exec env STRONGSWAN_CONF=%s/strongswan.conf /usr/lib/ipsec/charon", dir, dir))
		if err != nil {
			return err
		}
		for j := 0; ; j++ {
			if _, err := os.Stat(filepath.Join(dir, "run", "charon.vici")); err == nil {
				break
			}
			if j == 100 {
				return fmt.Errorf("charon did not start in %s:\n%s", ns, logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
		if _, err := ipNetns(ns, "swanctl", "--load-all", "--noprompt", "--file", filepath.Join(dir, "swanctl.conf"),
			"--uri", "unix://"+dir+"/run/charon.vici"); err != nil {
			return err
		}
	}
	if out, err := ipNetns(p.a, "swanctl", "--initiate", "--child", "bench", "--timeout", "10",
		"--uri", "unix://"+dirs[0]+"/run/charon.vici"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dirs[0], "charon.log"))
		return fmt.Errorf("swanctl --initiate: %v\n%s\n%s", err, out, log)
	}
	return waitPing(p.a, "10.9.0.2", "10.9.0.1", 20*time.Second)
}

// iperfResult is one iperf3 run: TCP Gbit/s, or UDP datagrams per second
// delivered (the receiver's count).
type iperfResult struct {
	gbps, pps float64
	// TCP: segments retransmitted by the sender.
	retransmits int
	// UDP: datagrams sent, lost and received out of order.
	packets, lost, outOfOrder int
}

// iperfLoad is one iperf3 run's traffic: one TCP stream, or UDP datagrams
// of udpLen bytes at rate ("0": as fast as the sender can).
type iperfLoad struct {
	seconds int
	udpLen  int
	rate    string
}

// iperfPair runs one iperf3 transfer from ns client to the server at addr
// in ns server (from bind, if set) and returns what the receiver counted.
func iperfPair(ctx context.Context, client, server, addr, bind string, load iperfLoad) (iperfResult, error) {
	srv := exec.CommandContext(ctx, "ip", "netns", "exec", server, "iperf3", "-s", "-1", "-B", addr)
	var srvOut bytes.Buffer
	srv.Stdout, srv.Stderr = &srvOut, &srvOut
	if err := srv.Start(); err != nil {
		return iperfResult{}, err
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	args := []string{"iperf3", "-c", addr, "-t", fmt.Sprint(load.seconds), "-J"}
	if bind != "" {
		args = append(args, "-B", bind)
	}
	if load.udpLen > 0 {
		args = append(args, "-u", "-b", load.rate, "-l", fmt.Sprint(load.udpLen))
	}
	var out []byte
	var err error
	for try := 0; try < 20; try++ {
		time.Sleep(150 * time.Millisecond) // the server's listen
		out, err = exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", client}, args...)...).Output()
		if err == nil || !bytes.Contains(out, []byte("Connection refused")) {
			break
		}
	}
	if err != nil {
		return iperfResult{}, fmt.Errorf("iperf3: %v\n%s\nserver: %s", err, out, srvOut.String())
	}
	var res struct {
		End struct {
			Streams []struct {
				UDP struct {
					OutOfOrder int `json:"out_of_order"`
				} `json:"udp"`
			} `json:"streams"`
			Sum struct {
				LostPackets int `json:"lost_packets"`
				Packets     int `json:"packets"`
			} `json:"sum"`
			SumSent struct {
				Retransmits int `json:"retransmits"`
			} `json:"sum_sent"`
			SumReceived struct {
				Seconds       float64 `json:"seconds"`
				Bytes         float64 `json:"bytes"`
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return iperfResult{}, err
	}
	if res.Error != "" {
		return iperfResult{}, errors.New("iperf3: " + res.Error)
	}
	r := res.End.SumReceived
	if load.udpLen == 0 {
		return iperfResult{gbps: r.BitsPerSecond / 1e9, retransmits: res.End.SumSent.Retransmits}, nil
	}
	ir := iperfResult{gbps: r.BitsPerSecond / 1e9, packets: res.End.Sum.Packets, lost: res.End.Sum.LostPackets}
	if r.Seconds > 0 {
		ir.pps = r.Bytes / float64(load.udpLen) / r.Seconds
	}
	for _, st := range res.End.Streams {
		ir.outOfOrder += st.UDP.OutOfOrder
	}
	return ir, nil
}
