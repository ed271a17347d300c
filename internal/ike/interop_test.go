package ike

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gresec/gresec/internal/config"
)

// Interoperability with strongSwan's charon (Debian 5.9), set up as
// ../../shared/notes/strongswan-and-tshark.md describes: two network
// namespaces joined by a veth, charon with kernel-libipsec (userspace ESP,
// so that it can install the SA pair) in one, and in the other this test
// binary run again as TestHelperIKEPeer, a minimal daemon that drives the
// engine over real UDP sockets on ports 500 and 4500. The reference IKE
// policy (aes256/sha256/group 19, PSK) and ESP aes256-sha384 in tunnel
// mode for GRE between the two endpoints, gresec once as initiator and
// once as responder. Checked: charon lists the IKE SA and the installed
// CHILD_SA with the engine's SPIs, the ESP keys charon logs (chd level 4)
// equal those of the engine's InstallPair, ESP goes in UDP (charon with
// libipsec fakes a NAT), charon answers the engine's R-U-THERE, and it
// honours the engine's DELETEs for the SA pair and the ISAKMP SA.
//
// It needs root, ip(8) and charon; it is skipped without them, except
// under CI=true, where it fails.

const (
	charonPath  = "/usr/lib/ipsec/charon"
	interopPSK  = "SecretPassword12"
	interopG    = "192.0.2.1" // gresec
	interopS    = "192.0.2.2" // strongSwan
	helperEnv   = "GRESEC_IKE_HELPER"
	helperLimit = 60 * time.Second
)

func interopTools(t *testing.T) (swanctl string) {
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root")
	}
	if _, err := os.Stat(charonPath); err != nil {
		missing = append(missing, charonPath)
	}
	swanctl, err := exec.LookPath("swanctl")
	if err != nil {
		missing = append(missing, "swanctl")
	}
	for _, tool := range []string{"ip", "unshare"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("strongSwan interop needs %s (CI=true)", strings.Join(missing, ", "))
		}
		t.Skipf("strongSwan interop needs %s", strings.Join(missing, ", "))
	}
	return swanctl
}

func TestStrongSwan(t *testing.T) {
	if os.Getenv(helperEnv) != "" {
		t.Skip("in the helper process")
	}
	swanctl := interopTools(t)
	for _, gresecInitiates := range []bool{true, false} {
		name := "gresec-responder"
		if gresecInitiates {
			name = "gresec-initiator"
		}
		t.Run(name, func(t *testing.T) { interop(t, swanctl, gresecInitiates) })
	}
}

func sh(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func interop(t *testing.T, swanctl string, gresecInitiates bool) {
	id := os.Getpid() % 100000
	nsG, nsS := fmt.Sprintf("ikeT-g%d", id), fmt.Sprintf("ikeT-s%d", id)
	vethG, vethS := fmt.Sprintf("ikeT-vg%d", id), fmt.Sprintf("ikeT-vs%d", id)
	sh(t, "ip", "netns", "add", nsG)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", nsG).Run() })
	sh(t, "ip", "netns", "add", nsS)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", nsS).Run() })
	sh(t, "ip", "link", "add", vethG, "netns", nsG, "type", "veth", "peer", "name", vethS, "netns", nsS)
	sh(t, "ip", "-n", nsG, "addr", "add", interopG+"/24", "dev", vethG)
	sh(t, "ip", "-n", nsS, "addr", "add", interopS+"/24", "dev", vethS)
	for _, c := range [][]string{{nsG, vethG}, {nsS, vethS}} {
		sh(t, "ip", "-n", c[0], "link", "set", "lo", "up")
		sh(t, "ip", "-n", c[0], "link", "set", c[1], "up")
	}

	// charon, with a private /run (its pid file path is fixed).
	dir := t.TempDir()
	run := filepath.Join(dir, "run")
	if err := os.Mkdir(run, 0o700); err != nil {
		t.Fatal(err)
	}
	vici := "unix://" + filepath.Join(run, "charon.vici")
	logFile := filepath.Join(dir, "charon.log")
	conf := fmt.Sprintf(`charon {
	load_modular = no
	load = random nonce openssl aes sha1 sha2 hmac gmp curve25519 kdf pem pkcs1 x509 pubkey kernel-libipsec kernel-netlink socket-default vici
	plugins {
		vici { socket = %s }
		kernel-libipsec { allow_peer_ts = yes }
		socket-default { fwmark = 0x42 }
		kernel-netlink { fwmark = !0x42 }
	}
	filelog {
		interop {
			path = %s
			default = 1
			ike = 2
			chd = 4
			flush_line = yes
		}
	}
}
`, vici, logFile)
	if err := os.WriteFile(filepath.Join(dir, "strongswan.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	swan := fmt.Sprintf(`connections {
	gresec {
		version = 1
		local_addrs = %[1]s
		remote_addrs = %[2]s
		proposals = aes256-sha256-ecp256
		local { auth = psk
			id = %[1]s }
		remote { auth = psk
			id = %[2]s }
		children {
			gre {
				mode = tunnel
				esp_proposals = aes256-sha384
				local_ts = dynamic[gre]
				remote_ts = dynamic[gre]
			}
		}
	}
}
secrets {
	ike-gresec {
		id-g = %[2]s
		id-s = %[1]s
		secret = %[3]s
	}
}
`, interopS, interopG, interopPSK)
	if err := os.WriteFile(filepath.Join(dir, "swanctl.conf"), []byte(swan), 0o600); err != nil {
		t.Fatal(err)
	}
	charon := exec.Command("ip", "netns", "exec", nsS, "unshare", "--mount", "--propagation", "private", "sh", "-c",
		fmt.Sprintf("mount --bind %s /run && exec env STRONGSWAN_CONF=%s %s", run, filepath.Join(dir, "strongswan.conf"), charonPath))
	var charonOut bytes.Buffer
	charon.Stdout, charon.Stderr = &charonOut, &charonOut
	if err := charon.Start(); err != nil {
		t.Fatal(err)
	}
	charonDone := make(chan struct{})
	go func() { charon.Wait(); close(charonDone) }()
	t.Cleanup(func() {
		charon.Process.Kill() // by PID: only the charon this test started
		<-charonDone
		if t.Failed() {
			log, _ := os.ReadFile(logFile)
			t.Logf("charon output:\n%s\ncharon log:\n%s", charonOut.String(), log)
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; {
		if _, err := os.Stat(filepath.Join(run, "charon.vici")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("charon did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	sh(t, swanctl, "--load-all", "--noprompt", "--uri", vici, "--file", filepath.Join(dir, "swanctl.conf"))

	// The gresec side.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), helperLimit+10*time.Second)
	defer cancel()
	helper := exec.CommandContext(ctx, "ip", "netns", "exec", nsG, exe, "-test.run=^TestHelperIKEPeer$", "-test.v")
	passive := "0"
	if !gresecInitiates {
		passive = "1"
	}
	helper.Env = append(os.Environ(), helperEnv+"=1", "IKE_LOCAL="+interopG, "IKE_REMOTE="+interopS, "IKE_PASSIVE="+passive)
	stdin, _ := helper.StdinPipe()
	stdout, _ := helper.StdoutPipe()
	helper.Stderr = helper.Stdout
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	var helperLog strings.Builder
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	defer func() {
		stdin.Close()
		helper.Wait()
		if t.Failed() {
			t.Logf("helper output:\n%s", helperLog.String())
		}
	}()
	waitFor := func(prefix string, d time.Duration) string {
		timeout := time.After(d)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("helper exited before %q", prefix)
				}
				helperLog.WriteString(l + "\n")
				if strings.HasPrefix(l, prefix) {
					return l
				}
			case <-timeout:
				t.Fatalf("no %q from the helper", prefix)
			}
		}
	}
	waitFor("READY", 10*time.Second)
	if !gresecInitiates {
		go exec.Command(swanctl, "--initiate", "--ike", "gresec", "--child", "gre", "--timeout", "30", "--uri", vici).Run()
	}
	inst := parseInstall(t, waitFor("INSTALL", 40*time.Second))

	// charon's view: the IKE SA and the installed CHILD_SA with our SPIs.
	var sas string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		sas = sh(t, swanctl, "--list-sas", "--uri", vici)
		if strings.Contains(sas, "INSTALLED") || time.Now().After(deadline) {
			break
		}
	}
	for _, want := range []string{
		"gresec: #", "ESTABLISHED, IKEv1", "AES_CBC-256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/ECP_256",
		"gre: #", "INSTALLED", "ESP:AES_CBC-256/HMAC_SHA2_384_192",
		fmt.Sprintf("%08x", inst.in), fmt.Sprintf("%08x", inst.out),
	} {
		if !strings.Contains(sas, want) {
			t.Errorf("swanctl --list-sas lacks %q:\n%s", want, sas)
		}
	}
	// charon's keys: its "initiator" keys are those the Quick Mode
	// initiator sends with (its "initiator SA seed" holds the responder's
	// SPI), i.e. the initiator's outbound SA.
	logText, _ := os.ReadFile(logFile)
	keys := charonKeys(t, string(logText))
	encI, encR, authI, authR := inst.outEnc, inst.inEnc, inst.outAuth, inst.inAuth
	if !gresecInitiates {
		encI, encR, authI, authR = encR, encI, authR, authI
	}
	for name, want := range map[string][]byte{
		"encryption initiator key": encI, "encryption responder key": encR,
		"integrity initiator key": authI, "integrity responder key": authR,
	} {
		if got := keys[name]; !bytes.Equal(got, want) {
			t.Errorf("charon's %s = %x, gresec's %x", name, got, want)
		}
	}
	// charon with kernel-libipsec fakes a NAT to force ESP in UDP; the
	// engine must have followed it to port 4500 and UDP encapsulation.
	if !inst.encap {
		t.Error("ESP not UDP-encapsulated although charon forces it")
	}

	// Dead peer detection: the helper probes every second; charon answers.
	time.Sleep(2500 * time.Millisecond)
	logText, _ = os.ReadFile(logFile)
	for _, want := range []string{"[ HASH N(DPD) ]", "[ HASH N(DPD_ACK) ]"} {
		if !strings.Contains(string(logText), want) {
			t.Errorf("charon's log lacks %q", want)
		}
	}
	// Stop: the engine deletes the SA pair and the ISAKMP SA, and charon
	// honours both DELETEs.
	fmt.Fprintln(stdin, "STOP")
	waitFor("STOPPED", 10*time.Second)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		sas = sh(t, swanctl, "--list-sas", "--uri", vici)
		if !strings.Contains(sas, "gresec") {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("charon kept SAs after gresec's DELETEs:\n%s", sas)
			break
		}
	}
}

type installLine struct {
	in, out                        uint32
	inEnc, inAuth, outEnc, outAuth []byte
	encap                          bool
}

func parseInstall(t *testing.T, l string) installLine {
	var r installLine
	for _, f := range strings.Fields(l)[1:] {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "in", "out":
			n, err := strconv.ParseUint(v, 16, 32)
			if err != nil {
				t.Fatalf("bad INSTALL line %q", l)
			}
			if k == "in" {
				r.in = uint32(n)
			} else {
				r.out = uint32(n)
			}
		case "inenc", "inauth", "outenc", "outauth":
			b, err := hex.DecodeString(v)
			if err != nil {
				t.Fatalf("bad INSTALL line %q", l)
			}
			switch k {
			case "inenc":
				r.inEnc = b
			case "inauth":
				r.inAuth = b
			case "outenc":
				r.outEnc = b
			case "outauth":
				r.outAuth = b
			}
		case "encap":
			r.encap = v == "true"
		}
	}
	return r
}

// charonKeys reads the last child SA keys charon logged: a line "... NAME
// => N bytes @ 0x..." followed by hex dump lines "   0: 2B 7E ...".
func charonKeys(t *testing.T, log string) map[string][]byte {
	keys := map[string][]byte{}
	head := regexp.MustCompile(`((?:encryption|integrity) (?:initiator|responder) key) => (\d+) bytes`)
	dump := regexp.MustCompile(`^\s*\d+: ((?:[0-9A-F]{2} ){1,16})`)
	lines := strings.Split(log, "\n")
	for i := 0; i < len(lines); i++ {
		m := head.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[2])
		var b []byte
		for j := i + 1; j < len(lines) && len(b) < n; j++ {
			// Continuation lines carry the log prefix; the dump starts
			// after it.
			rest := lines[j]
			if k := strings.Index(rest, "] "); k >= 0 {
				rest = rest[k+2:]
			}
			d := dump.FindStringSubmatch(rest)
			if d == nil {
				break
			}
			for _, h := range strings.Fields(d[1]) {
				v, _ := strconv.ParseUint(h, 16, 8)
				b = append(b, byte(v))
			}
		}
		if len(b) >= n {
			keys[m[1]] = b[:n]
		}
	}
	if len(keys) != 4 {
		t.Fatalf("found %d child keys in charon's log", len(keys))
	}
	return keys
}

// TestHelperIKEPeer is not a test: TestStrongSwan runs the test binary as
// this function inside a network namespace. It is a minimal daemon: the
// engine with the reference configuration over real UDP sockets, printing
// READY, then INSTALL lines with the SA pair's SPIs and keys; it exits
// when its standard input closes.
func TestHelperIKEPeer(t *testing.T) {
	if os.Getenv(helperEnv) == "" {
		t.Skip("helper process for TestStrongSwan")
	}
	local := netip.MustParseAddr(os.Getenv("IKE_LOCAL"))
	remote := netip.MustParseAddr(os.Getenv("IKE_REMOTE"))
	e, err := New(Config{
		Policies: []config.ISAKMPPolicy{refPolicy()},
		PSK:      pskAll(interopPSK),
		DPD:      &config.DPD{Interval: time.Second, Retry: time.Second, Periodic: true},
		KeyLog:   true,
	})
	if err != nil {
		t.Fatal(err)
	}
	conns := map[uint16]*net.UDPConn{}
	type packet struct {
		local uint16
		from  netip.AddrPort
		data  []byte
	}
	pkts := make(chan packet, 64)
	for _, port := range []uint16{Port, NATTPort} {
		c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(local, port)))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[port] = c
		go func() {
			buf := make([]byte, 65536)
			for {
				n, from, err := c.ReadFromUDPAddrPort(buf)
				if err != nil {
					return
				}
				pkts <- packet{port, from, append([]byte(nil), buf[:n]...)}
			}
		}()
	}
	done := make(chan struct{})
	stop := make(chan struct{}, 1)
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			if sc.Text() == "STOP" {
				stop <- struct{}{}
			}
		}
		close(done)
	}()
	act := func(as []Action) {
		for _, a := range as {
			switch v := a.(type) {
			case Send:
				if _, err := conns[v.Local.Port()].WriteToUDPAddrPort(v.Data, v.Remote); err != nil {
					fmt.Println("LOG send:", err)
				}
			case InstallPair:
				fmt.Printf("INSTALL in=%08x out=%08x inenc=%x inauth=%x outenc=%x outauth=%x encap=%v mode=%v\n",
					v.In.SPI, v.Out.SPI, v.In.EncKey, v.In.AuthKey, v.Out.EncKey, v.Out.AuthKey, v.Encap != nil, v.Mode)
			case Log:
				fmt.Println("LOG", v.Level, v.Msg)
			}
		}
	}
	ts := refTransform()
	ts.Mode = config.ModeTunnel
	p := protect(local, remote, ts)
	p.Passive = os.Getenv("IKE_PASSIVE") == "1"
	fmt.Println("READY")
	as, err := e.Start(time.Now(), p)
	if err != nil {
		t.Fatal(err)
	}
	act(as)
	limit := time.After(helperLimit)
	for {
		wait := time.Hour
		if w := e.NextWake(); !w.IsZero() {
			wait = max(time.Until(w), 0)
		}
		timer := time.NewTimer(wait)
		select {
		case pk := <-pkts:
			act(e.Receive(time.Now(), Datagram{Local: netip.AddrPortFrom(local, pk.local), Remote: pk.from, Data: pk.data}))
		case <-timer.C:
			act(e.Tick(time.Now()))
		case <-stop:
			act(e.Stop(time.Now(), p.Name))
			fmt.Println("STOPPED")
		case <-done:
			return
		case <-limit:
			return
		}
		timer.Stop()
	}
}
