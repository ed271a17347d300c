package config

import (
	"fmt"
	"strings"
	"time"
)

// FormatOptions control Format.
type FormatOptions struct {
	// MaskKeys prints pre-shared keys as ***** (for show running-config).
	// A masked configuration does not parse back to the same keys.
	MaskKeys bool
}

// Format prints c as a canonical running configuration, in IOS order:
// hostname, ipv6 unicast-routing, crypto (PKI, IKEv2, ISAKMP, then IPsec), interfaces,
// static routes (ip, then ipv6). Lines
// are omitted where they state gresec's default and IOS's default is the
// same; where the defaults differ (encr, authentication, group), the line
// is printed so the text means the same thing on an IOS router.
// Parsing the unmasked output yields a Config equal to c except for Pos.
func (c *Config) Format(opts FormatOptions) string {
	f := &formatter{}
	if c.Hostname != "" {
		f.line("hostname %s", c.Hostname)
		f.sep()
	}
	if c.IPv6UnicastRouting {
		f.line("ipv6 unicast-routing")
		f.sep()
	}
	c.formatPKI(f)
	c.formatIKEv2(f, opts)
	c.formatISAKMP(f, opts)
	c.formatIPsec(f)
	for _, iface := range c.Interfaces {
		formatInterface(f, iface)
		f.sep()
	}
	for _, r := range c.Routes {
		formatRoute(f, r)
	}
	if len(c.Routes) > 0 {
		f.sep()
	}
	f.line("end")
	return f.b.String()
}

type formatter struct {
	b strings.Builder
}

func (f *formatter) line(format string, args ...any) {
	fmt.Fprintf(&f.b, format, args...)
	f.b.WriteByte('\n')
}

// sep writes the "!" that IOS puts between blocks.
func (f *formatter) sep() { f.b.WriteString("!\n") }

func seconds(d time.Duration) int64 { return int64(d / time.Second) }

func (c *Config) formatISAKMP(f *formatter, opts FormatOptions) {
	for _, pol := range c.ISAKMPPolicies {
		f.line("crypto isakmp policy %d", pol.Priority)
		if pol.EncryptionBits == 128 {
			f.line(" encr aes")
		} else {
			f.line(" encr aes %d", pol.EncryptionBits)
		}
		if pol.Hash != HashSHA1 {
			f.line(" hash %s", pol.Hash)
		}
		f.line(" authentication pre-share")
		f.line(" group %d", pol.Group)
		if pol.Lifetime != defaultPolicyLifetime {
			f.line(" lifetime %d", seconds(pol.Lifetime))
		}
	}
	for _, k := range c.ISAKMPKeys {
		key := k.Key
		if opts.MaskKeys {
			key = "*****"
		}
		f.line("crypto isakmp key %s address %s", key, peerString(k.Peer))
	}
	if d := c.DPD; d != nil {
		s := fmt.Sprintf("crypto isakmp keepalive %d", seconds(d.Interval))
		if d.Retry != defaultDPDRetry {
			s += fmt.Sprintf(" %d", seconds(d.Retry))
		}
		if d.Periodic {
			s += " periodic"
		}
		f.line("%s", s)
	}
	if c.NATKeepalive != 0 {
		f.line("crypto isakmp nat keepalive %d", seconds(c.NATKeepalive))
	}
	if c.ForceUDPEncap {
		f.line("crypto isakmp nat force-encap")
	}
	if len(c.ISAKMPPolicies)+len(c.ISAKMPKeys) > 0 || c.DPD != nil || c.NATKeepalive != 0 || c.ForceUDPEncap {
		f.sep()
	}
}

func (c *Config) formatIPsec(f *formatter) {
	if c.ReplayWindow != defaultReplayWindow {
		f.line("crypto ipsec security-association replay window-size %d", c.ReplayWindow)
		f.sep()
	}
	for _, ts := range c.TransformSets {
		s := "crypto ipsec transform-set " + ts.Name + " " + ts.Cipher.String()
		if ts.KeyBits != 128 {
			s += fmt.Sprintf(" %d", ts.KeyBits)
		}
		if ts.Integrity != IntegrityNone {
			s += " " + ts.Integrity.String()
		}
		f.line("%s", s)
		// Printed even when it is the default, as IOS 15 does: the mode is
		// the first thing a reader of a GRE protection config looks for.
		f.line(" mode %s", ts.Mode)
		f.sep()
	}
	for _, pr := range c.Profiles {
		f.line("crypto ipsec profile %s", pr.Name)
		if len(pr.TransformSets) > 0 {
			f.line(" set transform-set %s", strings.Join(pr.TransformSets, " "))
		}
		if pr.LifetimeSeconds != defaultSALifetime {
			f.line(" set security-association lifetime seconds %d", seconds(pr.LifetimeSeconds))
		}
		if pr.LifetimeKilobytes != defaultSAKilobytes {
			f.line(" set security-association lifetime kilobytes %d", pr.LifetimeKilobytes)
		}
		if pr.IKEv2Profile != "" {
			f.line(" set ikev2-profile %s", pr.IKEv2Profile)
		}
		if pr.PFS != 0 {
			f.line(" set pfs group%d", pr.PFS)
		}
		f.sep()
	}
}

func formatInterface(f *formatter, iface *Interface) {
	f.line("interface %s", iface.Name)
	if iface.Description != "" {
		f.line(" description %s", iface.Description)
	}
	if iface.Address.IsValid() {
		f.line(" ip address %s %s", iface.Address.Addr(), maskString(iface.Address.Bits()))
	} else {
		f.line(" no ip address")
	}
	t := iface.Tunnel
	if t != nil && t.IPMTU != 0 {
		f.line(" ip mtu %d", t.IPMTU)
	}
	if t != nil && t.AdjustMSS != 0 {
		f.line(" ip tcp adjust-mss %d", t.AdjustMSS)
	}
	if a := iface.IPv6LinkLocal; a.IsValid() {
		f.line(" ipv6 address %s link-local", a)
	}
	for _, a := range iface.IPv6Addresses {
		f.line(" ipv6 address %s", ipv6AddressString(a))
	}
	if iface.IPv6Enable {
		f.line(" ipv6 enable")
	}
	if t != nil && t.IPv6MTU != 0 {
		f.line(" ipv6 mtu %d", t.IPv6MTU)
	}
	if t != nil && t.IPv6AdjustMSS != 0 {
		f.line(" ipv6 tcp adjust-mss %d", t.IPv6AdjustMSS)
	}
	if iface.Shutdown {
		f.line(" shutdown")
	}
	if t == nil {
		return
	}
	if ka := t.Keepalive; ka != nil {
		f.line(" keepalive %d %d", seconds(ka.Period), ka.Retries)
	}
	switch {
	case t.SourceInterface != "":
		f.line(" tunnel source %s", t.SourceInterface)
	case t.SourceAddr.IsValid():
		f.line(" tunnel source %s", t.SourceAddr)
	}
	if t.Destination.IsValid() {
		f.line(" tunnel destination %s", t.Destination)
	}
	if t.Mode != ModeGREIP {
		f.line(" tunnel mode %s", t.Mode)
	}
	if t.HasKey {
		f.line(" tunnel key %d", t.Key)
	}
	if t.Sequence {
		f.line(" tunnel sequence-datagrams")
	}
	if t.Checksum {
		f.line(" tunnel checksum")
	}
	if rv := t.RouteVia; rv != nil {
		how := "preferred"
		if rv.Mandatory {
			how = "mandatory"
		}
		f.line(" tunnel route-via %s %s", rv.Interface, how)
	}
	if t.RecursionHoldDown != defaultRecursionHoldDown {
		f.line(" tunnel recursion hold-down %d", seconds(t.RecursionHoldDown))
	}
	if t.ProtectionProfile != "" {
		f.line(" tunnel protection ipsec profile %s", t.ProtectionProfile)
	}
}

func formatRoute(f *formatter, r *StaticRoute) {
	var s string
	if r.Prefix.Addr().Is6() {
		s = "ipv6 route " + r.Prefix.String()
	} else {
		s = fmt.Sprintf("ip route %s %s", r.Prefix.Addr(), maskString(r.Prefix.Bits()))
	}
	if r.Interface != "" {
		s += " " + r.Interface
	}
	if r.NextHop.IsValid() {
		s += " " + r.NextHop.String()
	}
	if r.Distance != defaultDistance {
		s += fmt.Sprintf(" %d", r.Distance)
	}
	f.line("%s", s)
}
