package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gresec/gresec/internal/lab"
)

// IKEv2 against strongSwan's charon (issue 12, item 7): the helpers and the
// topology of strongswan_test.go (gresec in A; charon with kernel-libipsec
// and a plain-GRE gresec in B), with issue 12's IKEv2 configuration on
// gresec's side and its mirror in swanctl.conf.

// swanV2Config is gresec's side: swanGREConfig in tunnel mode (libipsec does
// no other) with the IKEv2 statements of issue 12 in place of crypto isakmp;
// pairs of edits are applied to the result.
func swanV2Config(edits ...string) string {
	return strings.NewReplacer(edits...).Replace(lab.ToIKEv2(fmt.Sprintf(swanGREConfig, "tunnel")))
}

// swanctlV2 is charon's side, the swanctl.conf README shows: IKEv2, tunnel
// mode, the reference algorithms; pairs of edits are applied to it.
func swanctlV2(edits ...string) string {
	base := strings.NewReplacer("version = 1", "version = 2", "mode = transport", "mode = tunnel").Replace(swanctlTransport)
	return strings.NewReplacer(edits...).Replace(base)
}

// gcmEdits turn both sides to AES-GCM: aes-gcm-256 with prf sha384 for the
// IKE SA, esp-gcm 256 for the CHILD_SA.
var (
	gcmGresec = []string{
		" encryption aes-cbc-256\n integrity sha256\n", " encryption aes-gcm-256\n prf sha384\n",
		"esp-aes 256 esp-sha384-hmac", "esp-gcm 256",
	}
	gcmSwanctl = []string{
		"proposals = aes256-sha256-ecp256", "proposals = aes256gcm16-prfsha384-ecp256",
		"esp_proposals = aes256-sha384", "esp_proposals = aes256gcm16",
	}
)

// swanV2 starts charon, the plain-GRE gresec beside it and the IKEv2
// gresec in a fresh pair, and waits until a ping crosses. With
// gresecInitiates false, charon first has no connection, so gresec's
// IKE_SA_INIT draws NO_PROPOSAL_CHOSEN and gresec waits out its back-off
// (5 s) while charon, given the connection, initiates.
func swanV2(t *testing.T, gresecInitiates bool, gresecConf, swanctl string) (pair, *charon, *daemon) {
	t.Helper()
	p := newPair(t)
	var c *charon
	var g *daemon
	if gresecInitiates {
		c = startCharon(t, p.b, "kernel-libipsec kernel-netlink", libipsecPlugins, swanctl)
		startGresec(t, p.b, gresecPlainB)
		g = startGresec(t, p.a, gresecConf)
	} else {
		c = startCharon(t, p.b, "kernel-libipsec kernel-netlink", libipsecPlugins, "connections {}\n")
		startGresec(t, p.b, gresecPlainB)
		g = startGresec(t, p.a, gresecConf)
		waitFor(t, 10*time.Second, "charon refusing gresec's first IKE_SA_INIT", func() bool {
			return strings.Contains(g.logs.String(), "NO_PROPOSAL_CHOSEN")
		})
		file := filepath.Join(c.dir, "swanctl.conf")
		if err := os.WriteFile(file, []byte(swanctl), 0o600); err != nil {
			t.Fatal(err)
		}
		c.swanctl(t, "--load-all", "--noprompt", "--file", file)
		t.Logf("swanctl --initiate:\n%s", c.swanctl(t, "--initiate", "--child", "gre", "--timeout", "10"))
	}
	waitFor(t, 20*time.Second, "a ping across the tunnel to charon's side", func() bool {
		return exec.Command("ip", "netns", "exec", p.a, "ping", "-c", "1", "-W", "1", "10.255.0.2").Run() == nil
	})
	return p, c, g
}

var charonEstablished = regexp.MustCompile(`IKE_SA gre\[\d+\] established between 198\.51\.100\.2\[198\.51\.100\.2\]\.\.\.198\.51\.100\.1\[198\.51\.100\.1\]`)

// TestStrongSwanIKEv2: gresec's IKEv2 engine against charon, PSK with the
// reference algorithms both ways round and AES-GCM; then CHILD_SA and IKE
// SA rekeys under a ping flood, and dead peer detection of a stopped
// charon. Each subtest has its own pair of namespaces; they run in
// parallel, as most of their time is waiting.
func TestStrongSwanIKEv2(t *testing.T) {
	requireTools(t, "iperf3", "nft")
	for _, tc := range []struct {
		name            string
		gresecInitiates bool
		gresec, swanctl []string
	}{
		{"psk/gresec initiates", true, nil, nil},
		{"psk/charon initiates", false, nil, nil},
		{"gcm/gresec initiates", true, gcmGresec, gcmSwanctl},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, c, g := swanV2(t, tc.gresecInitiates, swanV2Config(tc.gresec...), swanctlV2(tc.swanctl...))
			checkSwanV2(t, p, c, g, tc.gresecInitiates)
		})
	}
	t.Run("rekey under a ping flood", func(t *testing.T) {
		t.Parallel()
		testSwanV2Rekey(t)
	})
	t.Run("dpd", func(t *testing.T) {
		t.Parallel()
		testSwanV2DPD(t)
	})
}

// checkSwanV2: charon established the IKE SA (and initiated it when it
// should have), the ESP keys agree, pings and iperf3 cross, and charon's
// CHILD_SA is an installed tunnel-mode SA in UDP.
func checkSwanV2(t *testing.T, p pair, c *charon, g *daemon, gresecInitiates bool) {
	log := c.log(t)
	if !charonEstablished.MatchString(log) {
		t.Errorf("charon did not establish the IKE SA")
	}
	if initiated := strings.Contains(log, "initiating IKE_SA gre["); initiated == gresecInitiates {
		t.Errorf("charon initiated: %v, want %v", initiated, !gresecInitiates)
	}
	out, err := exec.Command("ip", "netns", "exec", p.a, "ping", "-c", "5", "-i", "0.2", "-W", "2", "10.255.0.2").CombinedOutput()
	if err != nil || !strings.Contains(string(out), " 0% packet loss") {
		t.Errorf("ping: %v\n%s", err, out)
	}
	if m := matchKeys(t, c.log(t), gresecESPKeys(t, g.keylog)); m < 2 {
		t.Errorf("only %d SPIs matched between gresec's keylog and charon's log", m)
	}
	sas := c.swanctl(t, "--list-sas")
	if !strings.Contains(sas, "IKEv2") || !strings.Contains(sas, "TUNNEL-in-UDP") || !strings.Contains(sas, "INSTALLED") {
		t.Errorf("charon's SA is not an installed IKEv2 tunnel-mode SA in UDP:\n%s", sas)
	}
	_, sess, _ := gresec(t, "show", "--socket", g.socket, "crypto", "session")
	if !strings.Contains(sess, "UP-ACTIVE") {
		t.Errorf("show crypto session:\n%s", sess)
	}
	srv := exec.Command("ip", "netns", "exec", p.b, "iperf3", "-s", "-1", "-B", "10.255.0.2")
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	time.Sleep(300 * time.Millisecond)
	if out, err := exec.Command("ip", "netns", "exec", p.a, "timeout", "30", "iperf3", "-c", "10.255.0.2", "-t", "2").CombinedOutput(); err != nil {
		t.Errorf("iperf3 across gresec and strongSwan: %v\n%s\ncharon:\n%s", err, out, sas)
	} else {
		i := strings.LastIndex(string(out), "- - -")
		t.Logf("iperf3:\n%s", string(out)[max(i, 0):])
	}
}

// testSwanV2Rekey: under a ping flood (100 a second), charon rekeys the
// IKE SA and the CHILD_SA (swanctl --rekey), then gresec rekeys the
// CHILD_SA itself when UDP through the tunnel reaches the soft limit of its
// volume lifetime (2560 KB).
// No ping is lost, and the CHILD_SAs made after the IKE SA rekey (keyed
// from the new SK_d) still have the keys charon logged.
func testSwanV2Rekey(t *testing.T) {
	conf := swanV2Config(" set ikev2-profile IKEV2\n", " set ikev2-profile IKEV2\n set security-association lifetime kilobytes 2560\n")
	p, c, g := swanV2(t, true, conf, swanctlV2())
	first := len(gresecESPKeys(t, g.keylog)) / 2
	srv := exec.Command("ip", "netns", "exec", p.b, "iperf3", "-s", "-B", "10.255.0.2")
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	var pingOut []byte
	var pingErr error
	pinged := make(chan struct{})
	go func() {
		defer close(pinged)
		pingOut, pingErr = exec.Command("ip", "netns", "exec", p.a, "ping", "-c", "1200", "-i", "0.01", "-W", "2", "10.255.0.2").CombinedOutput()
	}()
	time.Sleep(time.Second)
	c.swanctl(t, "--rekey", "--ike", "gre")
	time.Sleep(1500 * time.Millisecond)
	c.swanctl(t, "--rekey", "--child", "gre")
	time.Sleep(1500 * time.Millisecond)
	// Most of the volume fast, then slowly across the soft limit, so that
	// the new pair takes over (a second after it is installed) well before
	// the hard limit, as a volume lifetime suited to the rate would.
	for _, args := range [][]string{{"-b", "20M", "-n", "2000K"}, {"-b", "1M", "-t", "4"}} {
		out, err := exec.Command("ip", append([]string{"netns", "exec", p.a, "timeout", "20", "iperf3", "-c", "10.255.0.2", "-u"}, args...)...).CombinedOutput()
		if err != nil {
			t.Errorf("iperf3 %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	<-pinged
	res, perr := lab.ParsePing(string(pingOut))
	if pingErr != nil || perr != nil || res.Sent != res.Received {
		i := strings.LastIndex(string(pingOut), "---")
		t.Errorf("pings lost across the rekeys: %v\n%s", pingErr, string(pingOut)[max(i, 0):])
	}
	log := c.log(t)
	count := func(re string) int { return len(regexp.MustCompile(re).FindAllString(log, -1)) }
	ikeRekeys := count(`generating CREATE_CHILD_SA request \d+ \[ SA No KE \]`)
	charonChild := count(`generating CREATE_CHILD_SA request \d+ \[ N\(REKEY_SA\)`)
	gresecChild := count(`parsed CREATE_CHILD_SA request \d+ \[ N\(REKEY_SA\)`)
	pairs := len(gresecESPKeys(t, g.keylog)) / 2
	t.Logf("ping flood: %d sent, %d lost; IKE SA rekeys by charon %d, CHILD_SA rekeys by charon %d, by gresec %d; SA pairs in gresec's keylog %d -> %d",
		res.Sent, res.Sent-res.Received, ikeRekeys, charonChild, gresecChild, first, pairs)
	if ikeRekeys < 1 || charonChild < 1 || gresecChild < 1 {
		t.Errorf("want at least one IKE SA rekey and one CHILD_SA rekey by charon and one CHILD_SA rekey by gresec")
	}
	if !strings.Contains(log, "rekeyed between") && !regexp.MustCompile(`IKE_SA gre\[\d+\] rekeyed`).MatchString(log) {
		t.Errorf("charon did not log the IKE SA rekeyed")
	}
	if m := matchKeys(t, log, gresecESPKeys(t, g.keylog)); m < 2*(first+2) {
		t.Errorf("%d SPIs matched between gresec's keylog and charon's log, want %d (every pair since the start)", m, 2*(first+2))
	}
	if out, err := exec.Command("ip", "netns", "exec", p.a, "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.255.0.2").CombinedOutput(); err != nil {
		t.Errorf("ping after the rekeys: %v\n%s", err, out)
	}
}

// testSwanV2DPD: charon is stopped (SIGSTOP): gresec's liveness checks
// (dpd 10 2 periodic: a check at most 10 s after the last, then five
// retries 2 s apart) declare it dead and fail the tunnel closed; after
// SIGCONT gresec negotiates again by itself and traffic crosses.
func testSwanV2DPD(t *testing.T) {
	p, c, g := swanV2(t, true, swanV2Config(" dpd 10 3 periodic", " dpd 10 2 periodic"), swanctlV2())
	pid := c.cmd.Process.Pid
	if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(comm)) != "charon" {
		t.Fatalf("process %d is %q, not charon", pid, comm)
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			_ = syscall.Kill(pid, syscall.SIGCONT)
		}
	}
	defer resume() // a stopped charon would not end on SIGTERM
	waitForLog(t, g.logs, "%CRYPTO-4-DPD", 40*time.Second)
	detect := time.Since(stopped)
	if exec.Command("ip", "netns", "exec", p.a, "ping", "-c", "2", "-W", "1", "10.255.0.2").Run() == nil {
		t.Errorf("traffic crossed after the peer was declared dead")
	}
	resume()
	back := time.Now()
	waitFor(t, 30*time.Second, "traffic after charon resumed", func() bool {
		return exec.Command("ip", "netns", "exec", p.a, "ping", "-c", "1", "-W", "1", "10.255.0.2").Run() == nil
	})
	t.Logf("charon declared dead %s after SIGSTOP; traffic again %s after SIGCONT", detect.Round(100*time.Millisecond), time.Since(back).Round(100*time.Millisecond))
	if !strings.Contains(g.logs.String(), "peer is dead") {
		t.Errorf("gresec's log does not say the peer is dead")
	}
}
