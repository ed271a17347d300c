package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gresec/gresec/internal/api"
	"github.com/gresec/gresec/internal/show"
)

// IKEv2Result is what the ikev2 scenario saw.
type IKEv2Result struct {
	// Established are the routers' log lines saying an IKEv2 SA came up.
	Established map[string][]string
	Sessions    map[string]api.CryptoSession // each router's Tunnel0 session
	Ping        PingResult
}

// IKEv2 plays the ikev2 scenario on a lab whose routers run the reference
// configuration with issue 12's IKEv2 statements (Router.ConfigIKEv2):
// both negotiate IKE_SA_INIT and IKE_AUTH with the pre-shared key of the
// keyring and a CHILD_SA for GRE between the loopbacks; the sessions and
// SAs are shown and the LANs ping each other across the tunnel.
func (l *Lab) IKEv2(ctx context.Context) (IKEv2Result, error) {
	res := IKEv2Result{Established: map[string][]string{}, Sessions: map[string]api.CryptoSession{}}
	l.printf("\n== The configuration: the reference one, its crypto isakmp statements replaced by IKEv2's (IOS FlexVPN style);\n" +
		"   the IPsec profile TUNNEL says `set ikev2-profile IKEV2`, so Tunnel0 is negotiated with IKEv2 (RFC 7296)\n")
	l.printf("%s", indent(IKEv2Block+"crypto ipsec profile TUNNEL\n set transform-set TRANSFORM\n set ikev2-profile IKEV2\n"))
	for _, r := range []string{"left", "right"} {
		if _, err := l.WaitLineProtocol(ctx, r, "up", 30*time.Second); err != nil {
			return res, err
		}
	}
	if err := l.waitProtection(ctx, 30*time.Second); err != nil {
		return res, err
	}
	l.printf("\n== Both routers negotiated IKEv2: IKE_SA_INIT (aes-cbc-256, sha256, group 19), IKE_AUTH (pre-share), the CHILD_SA for GRE\n")
	for _, r := range []string{"left", "right"} {
		res.Established[r] = l.LogSince(r, 0, "IKEv2 SA ")
		// Both ends initiate as soon as the tunnel has a source; the
		// duplicate IKE SA is deleted as RFC 7296 section 2.8 has it.
		for _, line := range append(slices.Clone(res.Established[r]), l.LogSince(r, 0, "both ends initiated")...) {
			l.printf("   %s\n", strings.TrimSpace(line))
		}
		if len(res.Established[r]) == 0 {
			return res, fmt.Errorf("%s: no IKEv2 SA in its log", r)
		}
	}
	for _, r := range []string{"left", "right"} {
		data, err := l.Show(r, "crypto", "session")
		if err != nil {
			return res, err
		}
		var ss api.CryptoSessions
		if err := json.Unmarshal(data, &ss); err != nil {
			return res, err
		}
		for _, s := range ss.Sessions {
			if s.Interface == "Tunnel0" {
				res.Sessions[r] = s
			}
		}
		l.outMu.Lock()
		fmt.Fprintf(l.opts.Out, "\n%s# show crypto session\n", r)
		show.Sessions(l.opts.Out, ss)
		l.outMu.Unlock()
		if res.Sessions[r].Status != "UP-ACTIVE" {
			return res, fmt.Errorf("%s: Tunnel0's crypto session is %q, not UP-ACTIVE", r, res.Sessions[r].Status)
		}
	}
	if data, err := l.Show("left", "crypto", "ipsec", "sa"); err == nil {
		l.outMu.Lock()
		fmt.Fprintf(l.opts.Out, "\nleft# show crypto ipsec sa\n")
		err = decode(data, func(v api.IPsecSAs) { show.IPsecSAs(l.opts.Out, v) })
		l.outMu.Unlock()
		if err != nil {
			return res, err
		}
	}
	l.printf("\n== LAN to LAN across the IKEv2-protected tunnel: left-host 10.1.0.10 -> right-host 10.2.0.10\n")
	out, err := l.Exec(ctx, "left-host", "ping", "-c", "5", "-i", "0.2", "-W", "2", "10.2.0.10")
	l.printf("%s", out)
	if res.Ping, _ = ParsePing(out); err != nil {
		return res, fmt.Errorf("LAN-to-LAN ping across the IKEv2 tunnel failed: %w", err)
	}
	return res, nil
}
