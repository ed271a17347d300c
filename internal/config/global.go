package config

import (
	"fmt"
	"slices"
	"time"
)

// globalContext is global configuration mode: unindented lines.
var globalContext = context{
	name: "global",
	commands: []*command{
		{name: "hostname", run: (*parser).hostname},
		{name: "interface", run: (*parser).interfaceSection},
		{name: "crypto", sub: cryptoCommands},
		{name: "ip", sub: []*command{
			{name: "route", run: (*parser).ipRoute},
		}},
		{name: "ipv6", sub: []*command{
			{name: "unicast-routing", run: (*parser).ipv6UnicastRouting},
			{name: "route", run: (*parser).ipv6Route},
		}},
	},
}

func (p *parser) hostname(s *stmt) {
	if s.neg {
		p.cfg.Hostname = ""
		return
	}
	w, ok := s.arg(0, "a name")
	if !ok || !s.end(1) {
		return
	}
	if msg := checkHostname(w.text); msg != "" {
		s.errorf(w, "invalid hostname %q: %s", w.text, msg)
		return
	}
	p.cfg.Hostname = w.text
}

// checkHostname applies the IOS (and RFC 1123 label) rules, so the name
// also works as a prompt, a log tag and a DNS label.
func checkHostname(h string) string {
	if len(h) > 63 {
		return "at most 63 characters"
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return "use only letters, digits and hyphens"
		}
	}
	if c := h[0]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
		return "must start with a letter"
	}
	if h[len(h)-1] == '-' {
		return "must not end with a hyphen"
	}
	return ""
}

const defaultRecursionHoldDown = 60 * time.Second

func (p *parser) interfaceSection(s *stmt) {
	w, ok := s.arg(0, "an interface name")
	if !ok {
		return
	}
	name, kind, next, ok := s.ifname(0)
	if !ok {
		if s.neg {
			return
		}
		// Still open a section, detached from the Config, so that its
		// sub-commands are checked instead of each being reported as
		// outside any section. A tunnel accepts every sub-command.
		p.sec = &section{ctx: &interfaceContext, header: "interface " + w.text,
			iface: &Interface{Name: w.text, Kind: Tunnel, Tunnel: &TunnelConfig{}}}
		return
	}
	// Extra words are an error, but the section is still opened, so that
	// its sub-commands are checked.
	s.end(next)
	existing := p.ifaces[name]
	if s.neg {
		if existing == nil {
			s.warnf(w, "%s", describeRemoval("interface "+name))
			return
		}
		p.cfg.Interfaces = slices.DeleteFunc(p.cfg.Interfaces, func(i *Interface) bool { return i == existing })
		delete(p.ifaces, name)
		delete(p.ifMeta, existing)
		return
	}
	if existing == nil {
		if kind == Physical && p.opts.InterfaceExists != nil && !p.opts.InterfaceExists(name) {
			s.errorf(w, "interface %s does not exist on this host", name)
		}
		existing = &Interface{Name: name, Kind: kind, Pos: s.line.words[0].pos}
		if kind == Tunnel {
			existing.Tunnel = &TunnelConfig{RecursionHoldDown: defaultRecursionHoldDown}
		}
		p.cfg.Interfaces = append(p.cfg.Interfaces, existing)
		p.ifaces[name] = existing
	}
	// Re-entering an interface continues it, as on IOS.
	p.sec = &section{ctx: &interfaceContext, header: "interface " + name, iface: existing}
}

// meta returns the statement positions recorded for iface.
func (p *parser) meta(iface *Interface) *ifaceMeta {
	m := p.ifMeta[iface]
	if m == nil {
		m = &ifaceMeta{}
		p.ifMeta[iface] = m
	}
	return m
}

// describeRemoval is the warning for a `no` that matched nothing; IOS is
// silent, but a file that removes what it never added is likely confused.
func describeRemoval(what string) string {
	return fmt.Sprintf("nothing to remove: %s is not configured", what)
}
