package lab

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// frrDir is where the Debian frr package keeps its daemons.
const frrDir = "/usr/lib/frr"

// frrRun is the directory FRR daemons insist on (ospfd writes
// ospfd-gr.json there whatever it is told); each router gets its own,
// bind-mounted over it inside the router's namespace.
const frrRun = "/var/run/frr"

// HaveFRR reports whether FRR's zebra, the given daemons and vtysh are
// installed.
func HaveFRR(daemons ...string) bool {
	for _, d := range append([]string{"zebra"}, daemons...) {
		if _, err := os.Stat(filepath.Join(frrDir, d)); err != nil {
			return false
		}
	}
	_, err := exec.LookPath("vtysh")
	return err == nil
}

// FRRDir is a router's FRR directory: configurations, pid files, vty
// sockets (for `vtysh --vty_socket`) and the daemons' log files.
func (l *Lab) FRRDir(router string) string { return filepath.Join(l.opts.Dir, "frr-"+router) }

// StartFRR runs zebra and the daemons of confs (daemon name -> its
// configuration, e.g. "ospfd") in a router's namespace, as
// ../shared/notes/frr.md describes: the daemons drop to user frr, and the
// router's FRR directory is mounted over /var/run/frr in their (private)
// mount namespace, so that several FRR instances share one host.
func (l *Lab) StartFRR(router string, confs map[string]string) error {
	dir := l.FRRDir(router)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	u, err := user.Lookup("frr")
	if err != nil {
		return fmt.Errorf("FRR: %w (is the frr package installed?)", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	files := map[string]string{"zebra.conf": "hostname " + router + "\n"}
	for d, text := range confs {
		files[d+".conf"] = text
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o640); err != nil {
			return err
		}
	}
	if err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chown(p, uid, gid)
	}); err != nil {
		return err
	}
	// Once one daemon is running, Close must stop it.
	if !slices.Contains(l.frr, router) {
		l.frr = append(l.frr, router)
	}
	daemons := []string{"zebra"}
	for d := range confs {
		daemons = append(daemons, d)
	}
	for _, d := range daemons {
		// Paths are given under /var/run/frr, which the daemons (user frr)
		// can reach; the lab's own directory may not be.
		script := fmt.Sprintf("mount --bind %s %s && exec %s -d -f %s/%s.conf -i %s/%s.pid -z %s/zserv.api --vty_socket %s -P 0",
			dir, frrRun, filepath.Join(frrDir, d), frrRun, d, frrRun, d, frrRun, frrRun)
		out, err := exec.Command("ip", "netns", "exec", l.NS(router), "sh", "-c", script).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: start %s: %v: %s", router, d, err, strings.TrimSpace(string(out)))
		}
		if d == "zebra" {
			// The other daemons connect to zebra's socket.
			if err := waitFile(filepath.Join(dir, "zserv.api"), 10*time.Second); err != nil {
				return fmt.Errorf("%s: zebra: %w", router, err)
			}
		}
	}
	return nil
}

func waitFile(path string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not appear within %s", path, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Vtysh runs vtysh commands against a router's FRR daemons.
func (l *Lab) Vtysh(router string, cmds ...string) (string, error) {
	args := []string{"--vty_socket", l.FRRDir(router)}
	for _, c := range cmds {
		args = append(args, "-c", c)
	}
	out, err := exec.Command("vtysh", args...).CombinedOutput()
	return string(out), err
}

// FRRLog is the log file a daemon's configuration names as
// `log file /var/run/frr/DAEMON.log`, read from the host side.
func (l *Lab) FRRLog(router, daemon string) string {
	b, _ := os.ReadFile(filepath.Join(l.FRRDir(router), daemon+".log"))
	return string(b)
}

// stopFRR stops the FRR daemons the lab started, by the pids they wrote.
func (l *Lab) stopFRR() {
	for _, router := range l.frr {
		pids, _ := filepath.Glob(filepath.Join(l.FRRDir(router), "*.pid"))
		for _, pf := range pids {
			b, err := os.ReadFile(pf)
			if err != nil {
				continue
			}
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil || pid <= 1 {
				continue
			}
			stopPid(pid)
			_ = os.Remove(pf)
		}
	}
	l.frr = nil
}

// stopPid sends SIGTERM, waits for the process to go, then SIGKILL.
func stopPid(pid int) {
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return
	}
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

// OSPFConfig is an ospfd configuration that peers over Tunnel0
// (point-to-point, hello 1 s, dead 4 s) and advertises the router's LAN
// and Loopback0's network, with the fast SPF and LSA timers frr.md
// measured (about 7 s per cycle of the article's loop instead of 17 s).
func OSPFConfig(r Router) string {
	return fmt.Sprintf(`hostname %[1]s
log file %[2]s/ospfd.log
!
interface Tunnel0
 ip ospf area 0
 ip ospf network point-to-point
 ip ospf hello-interval 1
 ip ospf dead-interval 4
!
interface %[1]s-lan
 ip ospf area 0
 ip ospf passive
!
interface Loopback0
 ip ospf area 0
 ip ospf passive
!
router ospf
 ospf router-id %[3]s
 log-adjacency-changes
 timers throttle spf 0 50 500
 timers throttle lsa all 0
 timers lsa min-arrival 0
!
`, r.Name, frrRun, r.Loopback)
}

// RIPConfig is a ripd configuration (RIPv2, 5 s updates) that speaks on
// Tunnel0 and advertises the router's LAN and Loopback0's network.
func RIPConfig(r Router) string {
	return fmt.Sprintf(`hostname %[1]s
log file %[2]s/ripd.log
!
router rip
 version 2
 network Tunnel0
 network %[1]s-lan
 network Loopback0
 passive-interface %[1]s-lan
 passive-interface Loopback0
 timers basic 5 15 10
!
`, r.Name, frrRun)
}

// OSPFv3Config is an ospf6d configuration that peers over Tunnel0
// (point-to-point, hello 1 s, dead 4 s, over the link-local addresses
// gresec gives the tunnel) and advertises the router's IPv6 LAN.
func OSPFv3Config(r Router) string {
	return fmt.Sprintf(`hostname %[1]s
log file %[2]s/ospf6d.log
!
interface Tunnel0
 ipv6 ospf6 network point-to-point
 ipv6 ospf6 hello-interval 1
 ipv6 ospf6 dead-interval 4
!
interface %[1]s-lan
 ipv6 ospf6 passive
!
router ospf6
 ospf6 router-id %[3]s
 log-adjacency-changes
 timers throttle spf 0 50 500
 interface Tunnel0 area 0.0.0.0
 interface %[1]s-lan area 0.0.0.0
!
`, r.Name, frrRun, r.Loopback)
}
