package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gresec/gresec/internal/api"
	"github.com/gresec/gresec/internal/control"
	"github.com/gresec/gresec/internal/esp"
	"github.com/gresec/gresec/internal/lab"
	"github.com/gresec/gresec/internal/router"
)

// staticOnly is a router's protected configuration in which IKE cannot
// succeed (the two ends' pre-shared keys differ), so that the only SAs are
// the static ones a test installs.
func staticOnly(r lab.Router) string {
	cfg := r.Config(true)
	if r.Name == "right" {
		cfg = strings.Replace(cfg, "SecretPassword12", "NotTheSameKey99", 1)
	}
	return cfg
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// installStaticSAs installs mirrored SAs in the two lab daemons through
// the test-only control command.
func installStaticSAs(t testing.TB, l *lab.Lab, suite esp.Suite, tunnelMode, udp bool) {
	t.Helper()
	installStaticSAPair(t, l, suite, tunnelMode, udp, 0x2002, 0x1001)
}

// installStaticSAPair installs SAs with the given SPIs on Tunnel0: left
// receives on leftIn and sends on leftOut, right the other way round.
func installStaticSAPair(t testing.TB, l *lab.Lab, suite esp.Suite, tunnelMode, udp bool, leftIn, leftOut uint32) {
	t.Helper()
	installStaticTunnelSAs(t, l, "Tunnel0", suite, tunnelMode, udp, leftIn, leftOut)
}

// installStaticTunnelSAs is installStaticSAPair for any tunnel.
func installStaticTunnelSAs(t testing.TB, l *lab.Lab, tunnel string, suite esp.Suite, tunnelMode, udp bool, leftIn, leftOut uint32) {
	t.Helper()
	lr := router.TestSA{Cipher: suite.Cipher, Integrity: suite.Integrity, TunnelMode: tunnelMode,
		InSPI: leftIn, OutSPI: leftOut,
		InEnc: randHex(suite.KeyLen()), InAuth: randHex(suite.AuthKeyLen()),
		OutEnc: randHex(suite.KeyLen()), OutAuth: randHex(suite.AuthKeyLen()),
		UDP: udp, LocalPort: 4500, RemotePort: 4500}
	rr := lr
	rr.InSPI, rr.OutSPI = lr.OutSPI, lr.InSPI
	rr.InEnc, rr.InAuth, rr.OutEnc, rr.OutAuth = lr.OutEnc, lr.OutAuth, lr.InEnc, lr.InAuth
	for _, side := range []struct {
		name string
		sa   router.TestSA
	}{{"left", lr}, {"right", rr}} {
		js, _ := json.Marshal(side.sa)
		if code, out, stderr := gresec(t, "test-sa", "--socket", l.Socket(side.name), tunnel, string(js)); code != 0 {
			t.Fatalf("%s: installing static SAs on %s: exit %d %s%s", side.name, tunnel, code, out, stderr)
		}
	}
}

func ipsecSAs(t *testing.T, l *lab.Lab, r string) api.IPsecTunnel {
	t.Helper()
	code, out, stderr := gresec(t, "show", "--socket", l.Socket(r), "--json", "crypto", "ipsec", "sa", "interface", "Tunnel0")
	var sas api.IPsecSAs
	if code != 0 || json.Unmarshal([]byte(out), &sas) != nil || len(sas.Tunnels) != 1 {
		t.Fatalf("%s: show crypto ipsec sa: exit %d %s%s", r, code, out, stderr)
	}
	return sas.Tunnels[0]
}

// espDecryptArgs are tshark's options to decrypt with a keylog file: its
// esp_sa lines (quoted CSV) and its IKEv1 lines (bare hex).
func espDecryptArgs(t testing.TB, keylog string) []string {
	t.Helper()
	data, err := os.ReadFile(keylog)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"-o", "esp.enable_encryption_decode:TRUE", "-o", "esp.enable_authentication_check:TRUE"}
	for _, ln := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if strings.HasPrefix(ln, "\"") {
			args = append(args, "-o", "uat:esp_sa:"+ln)
		} else if strings.Count(ln, ",") == 7 {
			args = append(args, "-o", "uat:ikev2_decryption_table:"+ln)
		} else if ln != "" {
			args = append(args, "-o", "uat:ikev1_decryption_table:"+ln)
		}
	}
	return args
}

// TestIPsecStaticSAs: protected tunnels carry traffic once SAs exist, in
// every mode and encapsulation; a capture decrypts with tshark and scapy
// from the keylog with every ICV good and GRE/IP inside; no GRE is ever in
// clear on the core; before the SAs the tunnel fails closed.
func TestIPsecStaticSAs(t *testing.T) {
	requireTools(t, "tshark", "tcpdump", "/usr/bin/python3")
	_, err := exec.Command("/usr/bin/python3", "-c", "import scapy.layers.ipsec").CombinedOutput()
	require(t, err == nil, "python3-scapy")
	cases := []struct {
		name       string
		suite      esp.Suite
		tunnelMode bool
		udp        bool
	}{
		{"transport raw aes256-sha384", esp.Suite{Cipher: esp.AES256CBC, Integrity: esp.HMACSHA384}, false, false},
		{"tunnel raw gcm256", esp.Suite{Cipher: esp.AES256GCM}, true, false},
		{"transport udp gcm128", esp.Suite{Cipher: esp.AES128GCM}, false, true},
		{"tunnel udp aes128-sha256", esp.Suite{Cipher: esp.AES128CBC, Integrity: esp.HMACSHA256}, true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mode := map[bool]string{false: "transport", true: "tunnel"}[c.tunnelMode]
			l := startLabWith(t, lab.Options{KeyLog: true, Config: func(r lab.Router) string {
				return strings.Replace(staticOnly(r), " mode transport\n", " mode "+mode+"\n", 1)
			}})
			waitUp(t, l)
			var clear1, clear2 string
			clear1 = capture(t, l, "core1", "any", "ip proto 47", func() {
				clear2 = capture(t, l, "core2", "any", "ip proto 47", func() {
					// Fail closed before the SAs: nothing gets through.
					out, err := l.Exec(context.Background(), "left-host", "ping", "-c", "2", "-i", "0.2", "-W", "1", "10.2.0.10")
					if err == nil {
						t.Errorf("ping crossed a protected tunnel without SAs:\n%s", out)
					}
					if s := ipsecSAs(t, l, "left"); s.DroppedNoSA == 0 {
						t.Errorf("no fail-closed drops counted: %+v", s)
					}
					installStaticSAs(t, l, c.suite, c.tunnelMode, c.udp)
					espCap := capture(t, l, "left", "any", "ip proto 50 or udp port 4500", func() {
						run(t, l, "left-host", "ping", "-c", "5", "-i", "0.2", "-W", "2", "10.2.0.10")
					})
					checkESPCapture(t, l, espCap, mode)
				})
			})
			for _, pc := range []string{clear1, clear2} {
				if out := strings.TrimSpace(tshark(t, "-r", pc)); out != "" {
					t.Errorf("clear-text GRE on the core:\n%s", out)
				}
			}
			s := ipsecSAs(t, l, "left")
			if s.Encaps < 5 || s.Decaps < 5 || s.OutboundSPI != 0x1001 || len(s.Inbound) != 1 || s.Inbound[0].SPI != 0x2002 {
				t.Errorf("show crypto ipsec sa: %+v", s)
			}
			wantMode := map[bool]string{false: "transport", true: "tunnel"}[c.tunnelMode]
			if in := s.Inbound[0]; in.Mode != wantMode || in.UDPEncap != c.udp || in.Transform != c.suite.String() {
				t.Errorf("SA shows %q (UDP %v) %q, want %q (UDP %v) %q", in.Mode, in.UDPEncap, in.Transform, wantMode, c.udp, c.suite.String())
			}
			wantText := map[bool]string{false: "Transport", true: "Tunnel"}[c.tunnelMode]
			if c.udp {
				wantText += " UDP-Encaps"
			}
			code, text, _ := gresec(t, "show", "--socket", l.Socket("left"), "crypto", "ipsec", "sa")
			for _, want := range []string{"interface: Tunnel0", "Crypto map tag: Tunnel0-head-0", "(192.0.2.1/255.255.255.255/47/0)", "#pkts encaps: ", "in use settings ={" + wantText + ", }", "current outbound spi: 0x1001"} {
				if code != 0 || !strings.Contains(text, want) {
					t.Errorf("show crypto ipsec sa lacks %q:\n%s", want, text)
				}
			}
			if st, err := os.Stat(l.KeyLogPath("left")); err != nil || st.Mode().Perm() != 0o600 {
				t.Errorf("keylog file mode: %v %v", st.Mode(), err)
			}
		})
	}
}

// checkESPCapture decrypts a capture with tshark and with scapy.
func checkESPCapture(t *testing.T, l *lab.Lab, pcap, mode string) {
	t.Helper()
	args := append(espDecryptArgs(t, l.KeyLogPath("left")), "-r", pcap, "-T", "fields", "-e", "esp.spi", "-e", "esp.icv_good", "-e", "gre.proto", "-e", "icmp.type")
	out := strings.TrimSpace(tshark(t, args...))
	lines := strings.Split(out, "\n")
	if len(lines) < 10 {
		t.Fatalf("tshark saw %d ESP packets, want 10 (5 requests, 5 replies):\n%s", len(lines), out)
	}
	for _, ln := range lines {
		f := strings.Split(ln, "\t")
		if len(f) < 4 || f[1] != "1" || !strings.Contains(f[2], "0x0800") || (f[3] != "8" && f[3] != "0") {
			t.Errorf("tshark: ESP packet not decrypted with a good ICV into GRE/ICMP: %q", ln)
		}
	}
	if bad := strings.TrimSpace(tshark(t, append(espDecryptArgs(t, l.KeyLogPath("left")), "-r", pcap, "-Y", "_ws.malformed || _ws.expert.severity >= \"Error\"")...)); bad != "" {
		t.Errorf("tshark reports errors in the decrypted capture:\n%s", bad)
	}
	sc, err := exec.Command("/usr/bin/python3", "testdata/esp_check.py", pcap, l.KeyLogPath("left"), mode).CombinedOutput()
	if err != nil {
		t.Errorf("scapy could not decrypt every packet: %v\n%s", err, sc)
	} else if n, _ := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(string(sc)), "ok ")); n < 10 {
		t.Errorf("scapy decrypted %d packets, want 10: %s", n, sc)
	}
}

// TestIPsecReplayAndTamper: a replayed ESP packet and a tampered one are
// dropped and counted by the receiver.
func TestIPsecReplayAndTamper(t *testing.T) {
	requireTools(t, "tcpdump", "/usr/bin/python3")
	l := startLab(t, staticOnly)
	waitUp(t, l)
	installStaticSAs(t, l, esp.Suite{Cipher: esp.AES256CBC, Integrity: esp.HMACSHA384}, false, false)
	pcap := capture(t, l, "left", "any", "ip proto 50 or udp port 4500", func() {
		run(t, l, "left-host", "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.2.0.10")
	})
	before := ipsecSAs(t, l, "right")
	// Re-send the first captured ESP packet as is, then with a flipped byte.
	script := fmt.Sprintf(`
from scapy.all import rdpcap, IP, send, conf
conf.verb = 0
pkts = rdpcap(%q)
esps = [p for p in pkts if IP in p and p[IP].proto == 50 and p[IP].src == "192.0.2.1"]
if not esps: raise SystemExit("no ESP packet among %%d: %%r" %% (len(pkts), [p.summary() for p in pkts[:5]]))
pkt = esps[0][IP]
esp = bytearray(bytes(pkt.payload))
send(IP(src=pkt.src, dst=pkt.dst, proto=50)/bytes(esp))
esp[len(esp)//2] ^= 0x20
esp[7] = (esp[7] + 100) %% 256  # a fresh sequence number, so only the ICV fails
send(IP(src=pkt.src, dst=pkt.dst, proto=50)/bytes(esp))
`, pcap)
	if out, err := exec.Command("ip", "netns", "exec", l.NS("left"), "/usr/bin/python3", "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("scapy send: %v\n%s", err, out)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		after := ipsecSAs(t, l, "right")
		if after.ReplayFailures > before.ReplayFailures && after.AuthFailures > before.AuthFailures {
			if after.Decaps != before.Decaps {
				t.Errorf("a replayed or tampered packet was accepted: decaps %d -> %d", before.Decaps, after.Decaps)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replay/auth failures not counted: before %+v after %+v", before, after)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestProductionBinaryCannotInstallStaticSAs: the test-only command does
// not exist in a normal build, neither in the CLI nor in the daemon.
func TestProductionBinaryCannotInstallStaticSAs(t *testing.T) {
	l := startLabWith(t, lab.Options{Binary: productionBinary, Config: staticOnly})
	if out, err := exec.Command(productionBinary, "test-sa", "--socket", l.Socket("left"), "Tunnel0", "{}").CombinedOutput(); err == nil {
		t.Errorf("the production CLI accepted test-sa:\n%s", out)
	}
	sa := router.TestSA{Cipher: esp.AES128GCM, InSPI: 1, OutSPI: 2, InEnc: randHex(20), OutEnc: randHex(20)}
	js, _ := json.Marshal(sa)
	rep, err := control.Call(l.Socket("left"), []string{"test", "install-sa", "Tunnel0", string(js)})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Error == "" || !strings.Contains(rep.Error, "unknown request") {
		t.Errorf("the production daemon answered a test-sa request: %+v", rep)
	}
	if s := ipsecSAs(t, l, "left"); len(s.Inbound) != 0 {
		t.Errorf("the production daemon installed an SA: %+v", s)
	}
}

// TestIPsecRekeyNoLoss: a new SA pair replaces the old one while a ping
// flood crosses the tunnel (make-before-break): no packet is lost, the
// outbound SPI moves to the new pair, and the old inbound SA stays until
// its grace period ends.
func TestIPsecRekeyNoLoss(t *testing.T) {
	l := startLab(t, staticOnly)
	waitUp(t, l)
	suite := esp.Suite{Cipher: esp.AES256CBC, Integrity: esp.HMACSHA384}
	installStaticSAs(t, l, suite, false, false)
	run(t, l, "left-host", "ping", "-c", "2", "-i", "0.2", "-W", "2", "10.2.0.10")
	ping := exec.Command("ip", "netns", "exec", l.NS("left-host"), "ping", "-c", "400", "-i", "0.01", "-W", "1", "10.2.0.10")
	var out strings.Builder
	ping.Stdout = &out
	if err := ping.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	installStaticSAPair(t, l, suite, false, false, 0x4004, 0x3003)
	if err := ping.Wait(); err != nil {
		t.Fatalf("ping across the rekey: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), " 0% packet loss") {
		t.Errorf("packets lost across the rekey:\n%s", out.String()[strings.LastIndex(out.String(), "---"):])
	}
	s := ipsecSAs(t, l, "left")
	if s.OutboundSPI != 0x3003 || len(s.Inbound) != 2 {
		t.Errorf("after the rekey: outbound SPI 0x%x, %d inbound SAs; want 0x3003 and both inbound SAs during the grace period", s.OutboundSPI, len(s.Inbound))
	}
	if s.Decaps < 400 {
		t.Errorf("decaps %d across both SAs, want at least 400", s.Decaps)
	}
}
