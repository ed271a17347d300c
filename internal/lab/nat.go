package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/gresec/gresec/internal/api"
	"github.com/gresec/gresec/internal/show"
)

// buildNAT joins the NAT namespace to both cores with the links (and
// addresses) left has without a NAT, routes right's loopback over both,
// and installs the translation (SetNATPorts).
func (l *Lab) buildNAT() error {
	if _, err := exec.LookPath("nft"); err != nil {
		return fmt.Errorf("the NAT lab needs nftables' `nft` command (apt-get install nftables)")
	}
	plain := Routers()[0]
	right := Routers()[1]
	if err := l.sysctl(natNode, "net.ipv4.ip_forward", "1"); err != nil {
		return err
	}
	ns := l.NS(natNode)
	var hops []string
	for i, c := range plain.Core {
		dev := fmt.Sprintf("n-c%d", i+1)
		if err := l.veth(natNode, dev, c.CoreNS, c.CoreDev); err != nil {
			return err
		}
		if err := l.ip(ns, "addr", "add", c.Addr+"/30", "dev", dev); err != nil {
			return err
		}
		if err := l.ip(l.NS(c.CoreNS), "addr", "add", c.NextHop+"/30", "dev", c.CoreDev); err != nil {
			return err
		}
		if err := l.ip(l.NS(c.CoreNS), "route", "add", NATPublic+"/32", "via", c.Addr); err != nil {
			return err
		}
		hops = append(hops, "nexthop", "via", c.NextHop, "dev", dev)
	}
	if err := l.ip(ns, append([]string{"route", "add", right.Loopback + "/32"}, hops...)...); err != nil {
		return err
	}
	// The public address is the NAT's, but nothing listens on it: what
	// arrives for it without a mapping is dropped silently, as a home
	// router does (no ICMP that would tell the peer).
	if err := l.ip(ns, "route", "add", "blackhole", NATPublic+"/32"); err != nil {
		return err
	}
	return l.SetNATPorts(context.Background(), l.opts.NATPorts)
}

// natRuleset is the NAT's nftables configuration: left's private
// addresses leave as NATPublic, UDP with its source port rewritten into
// ports ("20000-20099", randomly) when ports is set.
func natRuleset(ports string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "table ip gresec_lab_nat {\n chain post {\n  type nat hook postrouting priority srcnat; policy accept;\n")
	match := fmt.Sprintf(`ip saddr %s oifname { "n-c1", "n-c2" }`, natNet)
	if ports != "" {
		fmt.Fprintf(&b, "  %s meta l4proto udp snat to %s:%s random\n", match, NATPublic, ports)
	}
	fmt.Fprintf(&b, "  %s snat to %s\n }\n}\n", match, NATPublic)
	return b.String()
}

// SetNATPorts replaces the NAT's translation (see Options.NATPorts).
// Existing mappings stay until FlushNAT.
func (l *Lab) SetNATPorts(ctx context.Context, ports string) error {
	if !l.opts.NAT {
		return fmt.Errorf("no NAT in this lab")
	}
	path := filepath.Join(l.opts.Dir, "nat.nft")
	text := "table ip gresec_lab_nat\ndelete table ip gresec_lab_nat\n" + natRuleset(ports)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		return err
	}
	if out, err := l.Exec(ctx, natNode, "nft", "-f", path); err != nil {
		return fmt.Errorf("nat: nft -f: %v: %s", err, strings.TrimSpace(out))
	}
	l.opts.NATPorts = ports
	return nil
}

// FlushNAT makes the NAT forget its mappings (conntrack -F), as a NAT does
// whose mappings time out or that restarts: the next packet from left
// gets a new one, with a new source port when NATPorts is set.
func (l *Lab) FlushNAT(ctx context.Context) error {
	if !l.opts.NAT {
		return fmt.Errorf("no NAT in this lab")
	}
	if out, err := l.Exec(ctx, natNode, "conntrack", "-F"); err != nil {
		return fmt.Errorf("nat: conntrack -F: %v: %s", err, strings.TrimSpace(out))
	}
	return nil
}

// NATMappings lists the NAT's UDP mappings as conntrack shows them.
func (l *Lab) NATMappings(ctx context.Context) (string, error) {
	return l.Exec(ctx, natNode, "conntrack", "-L", "-p", "udp")
}

// natScenarioPorts and natScenarioNewPorts are the port ranges of the nat
// scenario's NAT before and after it loses its mappings.
const (
	natScenarioPorts    = "20000-20099"
	natScenarioNewPorts = "20100-20199"
)

// NATResult is what the nat scenario saw.
type NATResult struct {
	LeftBehindNAT, RightSawNAT bool
	// PeerPort is the port right sends left's ESP to (the NAT's), before
	// and after the NAT made a new mapping (0 if that part did not run).
	PeerPort, MovedPort int
	Ping, PingAfter     PingResult
}

// NATTraversal plays the nat scenario on a lab started with Options.NAT
// and the protected reference configuration: NAT detection in Main Mode,
// the float to UDP 4500, ESP in UDP across the NAT; then the NAT forgets
// its mappings and the tunnel follows left to its new port.
func (l *Lab) NATTraversal(ctx context.Context) (NATResult, error) {
	var res NATResult
	ports := l.opts.NATPorts
	if ports == "" {
		ports = "kept"
	}
	l.printf("\n== The NAT: left's Loopback0 %s is private; the %snat namespace translates it to %s (UDP source ports: %s).\n"+
		"   Right's configuration is the reference one: it knows left only as %s.\n", NATInside, l.opts.Prefix, NATPublic, ports, NATPublic)
	for _, r := range []string{"left", "right"} {
		if _, err := l.WaitLineProtocol(ctx, r, "up", 30*time.Second); err != nil {
			return res, err
		}
	}
	if err := l.waitProtection(ctx, 30*time.Second); err != nil {
		return res, err
	}
	ls, err := l.isakmpSA("left")
	if err != nil {
		return res, err
	}
	rs, err := l.isakmpSA("right")
	if err != nil {
		return res, err
	}
	res.LeftBehindNAT, res.RightSawNAT = ls.LocalBehindNAT, rs.RemoteBehindNAT
	l.printf("\n== NAT detection (RFC 3947): the NAT-D hashes in Main Mode messages 3 and 4 do not match the addresses each side sees\n")
	l.printf("   left:  NAT-T %s, this side behind a NAT: %s (it sent from %s; the peer saw it elsewhere)\n", yes(ls.NATT), yes(ls.LocalBehindNAT), NATInside)
	l.printf("   right: NAT-T %s, peer behind a NAT: %s (peer ID %s arrives from %s)\n", yes(rs.NATT), yes(rs.RemoteBehindNAT), NATInside, rs.Remote)
	if !ls.NATT || !ls.LocalBehindNAT || !rs.RemoteBehindNAT {
		return res, fmt.Errorf("NAT not detected: left %+v right %+v", ls, rs)
	}
	l.printf("\n== The float to UDP 4500: from Main Mode message 5 on, IKE runs on port 4500 behind the non-ESP marker\n")
	l.printf("   left's ISAKMP SA:  %s -> %s\n   right's ISAKMP SA: %s -> %s\n", ls.Local, ls.Remote, rs.Local, rs.Remote)
	rt, err := l.ipsecTunnel("right")
	if err != nil {
		return res, err
	}
	res.PeerPort = rt.PeerPort
	if len(rt.Inbound) == 0 {
		return res, fmt.Errorf("right has no SA pair")
	}
	mode := show.SAMode(rt.Inbound[0])
	l.printf("\n== ESP in UDP (RFC 3948): right's SA pair is %q, current_peer %s port %d (the NAT's port, not 4500)\n", mode, rt.Peer, rt.PeerPort)
	if !rt.Inbound[0].UDPEncap {
		return res, fmt.Errorf("right's SA is %q, not UDP-encapsulated", mode)
	}
	if m, err := l.NATMappings(ctx); err == nil {
		l.printf("\n== The NAT's mappings (conntrack -L -p udp in %snat):\n%s", l.opts.Prefix, indent(m))
	}
	l.printf("\n== LAN to LAN through the NAT: left-host 10.1.0.10 -> right-host 10.2.0.10\n")
	out, err := l.Exec(ctx, "left-host", "ping", "-c", "5", "-i", "0.2", "-W", "2", "10.2.0.10")
	l.printf("%s", out)
	if res.Ping, _ = ParsePing(out); err != nil {
		return res, fmt.Errorf("LAN-to-LAN ping through the NAT failed: %w", err)
	}
	if _, err := exec.LookPath("conntrack"); err != nil || l.opts.NATPorts == "" {
		l.printf("\n== (Skipping the NAT rebinding part: it needs the conntrack tool and a port-rewriting NAT)\n")
		return res, nil
	}
	// Both ends start a Quick Mode at first; the losing pair is deleted
	// about 10 s later. Let that finish: a DELETE sent while the NAT has
	// no mapping would be lost, which is not what this part shows.
	if err := l.waitSettled(ctx, 25*time.Second); err != nil {
		return res, err
	}
	l.printf("\n== The NAT loses its mappings (conntrack -F) and now picks ports in %s: left's next packets leave from a new port\n", natScenarioNewPorts)
	if err := l.SetNATPorts(ctx, natScenarioNewPorts); err != nil {
		return res, err
	}
	if err := l.FlushNAT(ctx); err != nil {
		return res, err
	}
	start := time.Now()
	for {
		if _, err := l.Exec(ctx, "left-host", "ping", "-c", "1", "-W", "1", "10.2.0.10"); err == nil {
			if rt, err := l.ipsecTunnel("right"); err == nil && rt.PeerPort != res.PeerPort {
				res.MovedPort = rt.PeerPort
				break
			}
		}
		if time.Since(start) > 40*time.Second {
			return res, fmt.Errorf("the tunnel did not follow the NAT's new mapping in 40 s")
		}
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		time.Sleep(200 * time.Millisecond)
	}
	l.printf("\n== Peer port change followed (RFC 3947 section 4): right moved left from port %d to %d after %s,\n"+
		"   on the first authenticated IKE message from the new port (left's DPD R-U-THERE); same SAs, no renegotiation\n",
		res.PeerPort, res.MovedPort, time.Since(start).Round(100*time.Millisecond))
	out, err = l.Exec(ctx, "left-host", "ping", "-c", "5", "-i", "0.2", "-W", "2", "10.2.0.10")
	l.printf("%s", out)
	if res.PingAfter, _ = ParsePing(out); err != nil {
		return res, fmt.Errorf("LAN-to-LAN ping after the NAT rebinding failed: %w", err)
	}
	if data, err := l.Show("right", "crypto", "isakmp", "sa", "detail"); err == nil {
		l.outMu.Lock()
		fmt.Fprintf(l.opts.Out, "\nright# show crypto isakmp sa detail\n")
		_ = decode(data, func(v api.ISAKMPSAs) { show.ISAKMPSAsDetail(l.opts.Out, v) })
		l.outMu.Unlock()
	}
	return res, nil
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// isakmpSA is a router's established ISAKMP SA.
func (l *Lab) isakmpSA(router string) (api.ISAKMPSA, error) {
	data, err := l.Show(router, "crypto", "isakmp", "sa", "detail")
	if err != nil {
		return api.ISAKMPSA{}, err
	}
	var sas api.ISAKMPSAs
	if err := json.Unmarshal(data, &sas); err != nil {
		return api.ISAKMPSA{}, err
	}
	for _, sa := range sas.SAs {
		if sa.State == "QM_IDLE" {
			return sa, nil
		}
	}
	return api.ISAKMPSA{}, fmt.Errorf("%s: no established ISAKMP SA", router)
}

// ipsecTunnel is a router's Tunnel0 in `show crypto ipsec sa`.
func (l *Lab) ipsecTunnel(router string) (api.IPsecTunnel, error) {
	data, err := l.Show(router, "crypto", "ipsec", "sa", "interface", "Tunnel0")
	if err != nil {
		return api.IPsecTunnel{}, err
	}
	var sas api.IPsecSAs
	if err := json.Unmarshal(data, &sas); err != nil || len(sas.Tunnels) != 1 {
		return api.IPsecTunnel{}, fmt.Errorf("%s: bad answer for show crypto ipsec sa", router)
	}
	return sas.Tunnels[0], nil
}

// waitSettled waits until left and right each hold one SA pair, matching.
func (l *Lab) waitSettled(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		lt, lerr := l.ipsecTunnel("left")
		rt, rerr := l.ipsecTunnel("right")
		if lerr == nil && rerr == nil && len(lt.Inbound) == 1 && len(rt.Inbound) == 1 &&
			lt.OutboundSPI == rt.Inbound[0].SPI && rt.OutboundSPI == lt.Inbound[0].SPI {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the SA pairs did not settle in %s", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
