package e2e

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gresec/gresec/internal/api"
)

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCheckReferenceConfig(t *testing.T) {
	code, stdout, stderr := gresec(t, "check", "-c", "../../internal/config/testdata/reference.conf")
	if code != 0 {
		t.Fatalf("check of the reference configuration: exit %d\n%s%s", code, stdout, stderr)
	}
}

const brokenConfig = `hostname bad
interface Tunnel0
 tunel source Loopback0
 tunnel destination 192.0.2.300
 tunnel protection ipsec profile NOPE
crypto isakmp policy 10
 encr 3des
`

func TestCheckReportsAllProblems(t *testing.T) {
	path := writeFile(t, "bad.conf", brokenConfig)
	code, _, stderr := gresec(t, "check", "-c", path)
	if code != 1 {
		t.Fatalf("check of a broken file: exit %d, want 1\n%s", code, stderr)
	}
	for _, want := range []string{
		path + ":3:2: ", `did you mean "tunnel"`,
		path + ":4:",
		path + ":5:", "NOPE",
		path + ":7:",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("check output lacks %q:\n%s", want, stderr)
		}
	}
}

func TestRunRefusesInvalidConfig(t *testing.T) {
	path := writeFile(t, "bad.conf", brokenConfig)
	code, _, stderr := gresec(t, "run", "-c", path, "--socket", filepath.Join(t.TempDir(), "s.sock"))
	if code != 1 || !strings.Contains(stderr, path+":3:2: ") || !strings.Contains(stderr, "refusing to start") {
		t.Fatalf("run with a broken file: exit %d\n%s", code, stderr)
	}
}

func TestLabNeedsRoot(t *testing.T) {
	requireRoot(t)
	requireTools(t, "setpriv")
	// The binary must be reachable by an unprivileged user.
	dir, err := os.MkdirTemp("", "gresec-nonroot-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "gresec")
	data, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(dir, 0o755)
	out, err := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", bin, "lab").CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("lab as nobody: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "needs root") {
		t.Errorf("lab as nobody should say so in one line, said:\n%s", out)
	}
}

func namespacesWithPrefix(t *testing.T, prefix string) []string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, ln := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(ln, prefix) {
			found = append(found, strings.Fields(ln)[0])
		}
	}
	return found
}

// TestLabCommand runs `gresec lab` as a newcomer would.
func TestLabCommand(t *testing.T) {
	requireRoot(t)
	requireTools(t, "ip", "ping")
	prefix := "gtlab-"
	cmd := exec.Command(binary, "lab", "--prefix", prefix)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("gresec lab: %v\n%s", err, out)
	}
	for _, want := range []string{"0% packet loss", "Tunnel0 is up, line protocol is up", "Interface  ", "%LINEPROTO-5-UPDOWN", "Removing the lab"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("lab output lacks %q", want)
		}
	}
	if ns := namespacesWithPrefix(t, prefix); len(ns) != 0 {
		t.Errorf("lab left namespaces behind: %v", ns)
	}
}

// TestLabInterrupted: Ctrl-C in the middle removes everything too.
func TestLabInterrupted(t *testing.T) {
	requireRoot(t)
	requireTools(t, "ip", "ping")
	prefix := "gtint-"
	cmd := exec.Command(binary, "lab", "--prefix", prefix)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "Waiting for Tunnel0") {
			break
		}
	}
	if len(namespacesWithPrefix(t, prefix)) == 0 {
		t.Fatal("no lab namespaces while the lab runs")
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	go func() {
		for sc.Scan() {
		}
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("lab did not exit after SIGINT")
	}
	if ns := namespacesWithPrefix(t, prefix); len(ns) != 0 {
		t.Errorf("interrupted lab left namespaces behind: %v", ns)
	}
}

// TestShowViewsAndJSON: the views answer in text and JSON, accept IOS
// abbreviations, and never show the pre-shared key.
func TestShowViewsAndJSON(t *testing.T) {
	l := startLab(t, nil)
	waitUp(t, l)
	sock := l.Socket("left")
	code, out, stderr := gresec(t, "show", "--socket", sock, "interfaces", "Tunnel0")
	if code != 0 || !strings.HasPrefix(out, "Tunnel0 is up, line protocol is up\n") {
		t.Fatalf("show interfaces Tunnel0: exit %d\n%s%s", code, out, stderr)
	}
	for _, want := range []string{"Internet address is 10.255.0.1/30", "Tunnel source 192.0.2.1 (Loopback0), destination 192.0.2.2", "Tunnel protocol/transport GRE/IP", "Keepalive set (10 sec), retries 3"} {
		if !strings.Contains(out, want) {
			t.Errorf("show interfaces Tunnel0 lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = gresec(t, "show", "--socket", sock, "ip", "int", "br")
	if code != 0 || !strings.Contains(out, "Tunnel0") || !strings.Contains(out, "10.255.0.1") || !strings.Contains(out, "Loopback0") {
		t.Errorf("show ip int br:\n%s", out)
	}
	code, out, _ = gresec(t, "show", "--socket", sock, "ip", "route")
	if code != 0 || !strings.Contains(out, "S        10.2.0.0/16 is directly connected, Tunnel0") || !strings.Contains(out, "192.0.2.2/32 [1/0] via 198.51.100.254") {
		t.Errorf("show ip route:\n%s", out)
	}
	code, out, _ = gresec(t, "show", "--socket", sock, "running-config")
	if code != 0 || strings.Contains(out, "SecretPassword12") || !strings.Contains(out, "interface Tunnel0") {
		t.Errorf("show running-config (key must be masked):\n%s", out)
	}
	code, out, _ = gresec(t, "show", "--socket", sock, "--json", "interfaces", "tu0")
	var ifs api.Interfaces
	if code != 0 || json.Unmarshal([]byte(out), &ifs) != nil || len(ifs.Interfaces) != 1 {
		t.Fatalf("show --json interfaces tu0: exit %d\n%s", code, out)
	}
	ti := ifs.Interfaces[0]
	if ti.Name != "Tunnel0" || ti.LineProtocol != "up" || ti.Tunnel == nil || ti.Tunnel.Destination != "192.0.2.2" || ti.MTU != 1400 {
		t.Errorf("JSON Tunnel0: %+v", ti)
	}
	code, _, stderr = gresec(t, "show", "--socket", sock, "interfaces", "Tunnel9")
	if code == 0 || !strings.Contains(stderr, "Tunnel9") {
		t.Errorf("show interfaces Tunnel9: exit %d %s", code, stderr)
	}
}

// TestReload: a valid change applies; an invalid file keeps the running
// configuration and says why; SIGHUP reloads like `gresec reload`.
func TestReload(t *testing.T) {
	l := startLab(t, nil)
	waitUp(t, l)
	sock := l.Socket("left")
	path := l.ConfigPath("left")
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	withDesc := strings.Replace(string(orig), "interface Tunnel0\n", "interface Tunnel0\n description to right\n", 1)
	if err := os.WriteFile(path, []byte(withDesc), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, stderr := gresec(t, "reload", "--socket", sock); code != 0 {
		t.Fatalf("reload of a valid change: exit %d\n%s%s", code, out, stderr)
	}
	_, rc, _ := gresec(t, "show", "--socket", sock, "running-config")
	if !strings.Contains(rc, "description to right") {
		t.Fatalf("reloaded description not in the running configuration:\n%s", rc)
	}
	if err := os.WriteFile(path, []byte(withDesc+"interface Tunnel0\n tunnel destinaton 192.0.2.9\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := gresec(t, "reload", "--socket", sock)
	if code != 1 || !strings.Contains(stderr, path+":") || !strings.Contains(stderr, "running configuration stays") {
		t.Fatalf("reload of a broken file: exit %d\n%s", code, stderr)
	}
	if _, rc2, _ := gresec(t, "show", "--socket", sock, "running-config"); rc2 != rc {
		t.Errorf("a broken reload changed the running configuration")
	}
	if _, err := l.WaitLineProtocol(t.Context(), "left", "up", time.Second); err != nil {
		t.Errorf("tunnel affected by a broken reload: %v", err)
	}
	// SIGHUP with a valid file.
	withDesc2 := strings.Replace(withDesc, "description to right", "description via SIGHUP", 1)
	if err := os.WriteFile(path, []byte(withDesc2), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(l.Pid("left"), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, rc3, _ := gresec(t, "show", "--socket", sock, "running-config")
		if strings.Contains(rc3, "description via SIGHUP") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("SIGHUP did not reload:\n%s", rc3)
		}
		time.Sleep(100 * time.Millisecond)
	}
	run(t, l, "left-host", "ping", "-c", "2", "-i", "0.2", "-W", "2", "10.2.0.10")
}

// TestDaemonExitCleansUp: gresec removes its devices and routes on exit.
func TestDaemonExitCleansUp(t *testing.T) {
	l := startLab(t, nil)
	waitUp(t, l)
	l.StopDaemon("left")
	links := run(t, l, "left", "ip", "-o", "link")
	for _, dev := range []string{"Tunnel0", "Loopback0"} {
		if strings.Contains(links, dev) {
			t.Errorf("%s still exists after the daemon exited", dev)
		}
	}
	if routes := strings.TrimSpace(run(t, l, "left", "ip", "route", "show", "proto", "47")); routes != "" {
		t.Errorf("gresec routes left behind:\n%s", routes)
	}
	if addrs := run(t, l, "left", "ip", "-o", "addr", "show", "dev", "l-c1"); strings.Contains(addrs, "198.51.100.253") {
		t.Errorf("configured address left on l-c1: %s", addrs)
	}
}
