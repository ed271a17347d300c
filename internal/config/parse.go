package config

import (
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
)

// Options are the host-dependent parts of validation.
type Options struct {
	// InterfaceExists reports whether a Linux interface exists on the host.
	// Nil skips the check (as when validating a file for another machine).
	InterfaceExists func(linuxName string) bool
	// FileReadable reports why the file at an absolute path cannot be
	// read (the files of crypto pki trustpoints), or nil when it can.
	// Nil skips the check, so Parse itself never touches the file system.
	FileReadable func(path string) error
}

// Parse parses and validates one configuration file. It reports every
// problem it finds in one pass. The Config is nil exactly when the
// diagnostics contain an error; warnings alone still yield a Config.
// Parse never panics, whatever src holds.
func Parse(filename string, src []byte, opts Options) (*Config, Diagnostics) {
	p := &parser{
		file:      filename,
		opts:      opts,
		cfg:       &Config{ReplayWindow: defaultReplayWindow},
		ifMeta:    map[*Interface]*ifaceMeta{},
		tsRefs:    map[*Profile][]word{},
		invalidTS: map[string]bool{},
		rtMeta:    map[*StaticRoute]routeMeta{},
		ifaces:    map[string]*Interface{},
		policies:  map[int]*ISAKMPPolicy{},
		keys:      map[netip.Prefix]*ISAKMPKey{},
		tsets:     map[string]*TransformSet{},
		profiles:  map[string]*Profile{},
		routes:    map[routeKey]*StaticRoute{},
		v2:        newIKEv2State(),
	}
	lines, lexErrs := lex(src)
	for _, e := range lexErrs {
		p.errorf(e.pos, "%s", e.msg)
	}
	for i := range lines {
		if p.statement(&lines[i]) {
			if rest := len(lines) - i - 1; rest > 0 {
				p.warnf(lines[i+1].words[0].pos, "ignoring %d line(s) after \"end\"", rest)
			}
			break
		}
	}
	p.finish()
	p.validate()
	p.diags.sort()
	if p.diags.HasErrors() {
		return nil, p.diags
	}
	return p.cfg, p.diags
}

// parser holds the state of one Parse. Statements are applied in order, as
// IOS applies pasted lines, so `no` can undo what came before; positions
// the validator needs (which line set the tunnel destination?) live in side
// tables rather than in the public types.
type parser struct {
	file  string
	opts  Options
	diags Diagnostics
	cfg   *Config
	sec   *section // the open section, nil at global level

	ifMeta map[*Interface]*ifaceMeta
	tsRefs map[*Profile][]word // the words naming each profile's transform sets
	// invalidTS names transform sets that were refused, so that references
	// to them are not reported a second time as undefined.
	invalidTS map[string]bool
	rtMeta    map[*StaticRoute]routeMeta

	// Indexes of what the Config holds so far, so that a file with
	// thousands of statements does not take quadratic time.
	ifaces   map[string]*Interface
	policies map[int]*ISAKMPPolicy
	keys     map[netip.Prefix]*ISAKMPKey
	tsets    map[string]*TransformSet
	profiles map[string]*Profile
	routes   map[routeKey]*StaticRoute

	v2 *ikev2State // IKEv2 and PKI sections, in ikev2.go
}

// routeKey identifies a static route; the distance is an attribute of it.
type routeKey struct {
	prefix  netip.Prefix
	iface   string
	nextHop netip.Addr
}

// ifaceMeta records where the statements of one interface were written.
type ifaceMeta struct {
	address, source, destination, protection, routeVia word
	ipMTU, ipv6MTU                                     word
	// ipv6 indexes the interface's IPv6Addresses, with the word of each.
	ipv6 map[ipv6Key]ipv6Entry
}

// ipv6Key identifies an `ipv6 address` of one interface: an address once,
// whatever its prefix length; an eui-64 line by its prefix.
type ipv6Key struct {
	addr  netip.Addr
	eui64 bool
}

type ipv6Entry struct {
	prefix netip.Prefix
	w      word
}

// routeMeta records where an ip route named its interface.
type routeMeta struct {
	iface word
}

// section is the open section that indented lines apply to.
type section struct {
	ctx    *context
	header string // as in messages: "interface Tunnel0"
	// parent is the section a sub-section (a keyring's peer) was opened
	// in, nil for sections opened at global level; indent is the
	// indentation of the line that opened a sub-section. Lines indented no
	// deeper than that line belong to the parent again.
	parent *section
	indent int
	// child is the last sub-section opened in this one, kept after it is
	// left so that a line indented too little can be told where it belongs.
	child *section
	// Exactly one of these is set. A section whose header was invalid gets a
	// detached object, so its sub-commands are still checked but go nowhere.
	iface      *Interface
	policy     *ISAKMPPolicy
	tset       *TransformSet
	profile    *Profile
	proposal   *IKEv2Proposal
	v2policy   *IKEv2Policy
	keyring    *IKEv2Keyring
	peer       *IKEv2KeyringPeer
	v2profile  *IKEv2Profile
	trustpoint *PKITrustpoint
}

// enter opens a sub-section of s for the line ln; its lines are those
// indented deeper than ln.
func (s *section) enter(ln *line, sub *section) *section {
	sub.parent, sub.indent = s, ln.indent
	s.child = sub
	return sub
}

// context is a command mode: global configuration or one kind of section.
type context struct {
	name     string // "interface", "crypto isakmp policy", ...
	commands []*command
}

// command is a node of a mode's keyword tree.
type command struct {
	name string // lower case keyword
	sub  []*command
	// run applies the command once its keywords are matched, with the
	// remaining words as arguments. Nil means a sub-keyword must follow.
	run func(p *parser, s *stmt)
	// tunnelOnly commands are refused under non-tunnel interfaces.
	tunnelOnly bool
	// hidden keywords are recognised (to refuse them with a reason) but not
	// offered in "needs one of" lists.
	hidden bool
}

// stmt is one matched command being applied.
type stmt struct {
	p    *parser
	sec  *section
	neg  bool
	path string // canonical keywords, "tunnel destination"
	kw   word   // the last keyword, where "incomplete" points
	args []word
	line *line
}

func (p *parser) errorf(pos Pos, format string, args ...any) {
	p.diags = append(p.diags, Diagnostic{File: p.file, Pos: pos, Severity: Error, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) warnf(pos Pos, format string, args ...any) {
	p.diags = append(p.diags, Diagnostic{File: p.file, Pos: pos, Severity: Warning, Msg: fmt.Sprintf(format, args...)})
}

// statement applies one line and reports whether it was "end".
func (p *parser) statement(ln *line) (end bool) {
	ws := ln.words
	ctx := &globalContext
	switch {
	case !ln.indented:
		// A global command leaves any section, as it does on IOS.
		prev := p.sec
		p.sec = nil
		if prev != nil {
			if _, global := commandPath(&globalContext, ws); !global {
				for sec := prev; sec != nil; sec = sec.parent {
					if path, ok := commandPath(sec.ctx, ws); ok {
						p.errorf(ws[0].pos, "%q is a sub-command of %q; indent it", path, sec.header)
						// Stay in the section, so that the lines after this
						// one are not all reported as outside any section.
						p.sec = sec
						return false
					}
				}
			}
		}
	case p.sec != nil:
		for p.sec.parent != nil && ln.indent <= p.sec.indent {
			p.sec = p.sec.parent
		}
		ctx = p.sec.ctx
	}

	first := append(names(ctx.commands), "no", "exit", "end")
	idx, res, could := matchKeyword(ws[0].text, first)
	if res == matched {
		switch first[idx] {
		case "end":
			return true
		case "exit":
			if len(ws) > 1 {
				p.errorf(ws[1].pos, "unexpected argument %q to \"exit\"", ws[1].text)
			}
			// As on IOS, exit leaves a sub-section for its parent.
			if p.sec != nil {
				p.sec = p.sec.parent
			}
			if p.sec != nil {
				p.sec.child = nil // left on purpose: no hint to indent into it
			}
			return false
		}
	}
	if ln.indented && p.sec == nil {
		p.errorf(ws[0].pos, "indented line outside any section; %s", p.whereItBelongs(ws, nil))
		return false
	}

	s := &stmt{p: p, sec: p.sec, line: ln, kw: ws[0]}
	i := 0
	if res == matched && first[idx] == "no" {
		s.neg = true
		s.path = "no "
		i = 1
		if len(ws) == 1 {
			p.errorf(ws[0].pos, "incomplete command: \"no\" needs a command to negate")
			return false
		}
		if w := strings.ToLower(ws[1].text); w == "no" || w == "exit" || w == "end" {
			p.errorf(ws[1].pos, "%q cannot be negated", w)
			return false
		}
	} else if res == ambiguous {
		p.errorf(ws[0].pos, "ambiguous command %q: could be %s", ws[0].text, quoteList(could))
		return false
	}
	p.walk(ctx, s, ws, i)
	return false
}

// walk matches keywords from ws[i] down ctx's tree and runs the command.
func (p *parser) walk(ctx *context, s *stmt, ws []word, i int) {
	cmds := ctx.commands
	start := i
	var node *command
	for {
		if i == len(ws) {
			if node != nil && node.run != nil {
				break
			}
			p.errorf(s.kw.pos, "incomplete command: %q needs one of %s", strings.TrimSpace(s.path), quoteList(visibleNames(cmds)))
			return
		}
		idx, res, could := matchKeyword(ws[i].text, names(cmds))
		if res != matched {
			if node != nil && node.run != nil {
				break // the rest are the command's arguments
			}
			typed := s.path + ws[i].text
			if res == ambiguous {
				p.errorf(ws[i].pos, "ambiguous command %q: could be %s", typed, quoteList(could))
				return
			}
			if hint := p.misplaced(ws[start:], ctx); hint != "" {
				p.errorf(ws[start].pos, "%s", hint)
				return
			}
			msg := fmt.Sprintf("unknown command %q", typed)
			if sug := suggest(ws[i].text, names(cmds)); sug != "" {
				msg += fmt.Sprintf("; did you mean %q?", s.path+sug)
			} else if i > start {
				msg += fmt.Sprintf("; %q takes %s", strings.TrimSpace(s.path), quoteList(visibleNames(cmds)))
			}
			p.errorf(ws[i].pos, "%s", msg)
			return
		}
		node = cmds[idx]
		s.path += node.name + " "
		s.kw = ws[i]
		i++
		if node.tunnelOnly && s.sec != nil && s.sec.iface != nil && s.sec.iface.Kind != Tunnel {
			p.errorf(s.kw.pos, "%q applies only to Tunnel interfaces; %s is %s",
				strings.TrimPrefix(strings.TrimSpace(s.path), "no "), s.sec.iface.Name, kindPhrase(s.sec.iface.Kind))
			return
		}
		cmds = node.sub
	}
	s.path = strings.TrimSpace(s.path)
	s.args = ws[i:]
	node.run(p, s)
}

func kindPhrase(k InterfaceKind) string {
	switch k {
	case Loopback:
		return "a loopback interface"
	case Tunnel:
		return "a tunnel interface"
	}
	return "a physical interface"
}

// misplaced explains a command that is valid, but in another mode: the
// commonest slip in a hand-written file is a missing or extra indentation.
func (p *parser) misplaced(ws []word, here *context) string {
	other, path := p.locate(ws, here)
	if other == nil {
		return ""
	}
	switch {
	case other == &globalContext:
		return fmt.Sprintf("%q is a global command; it cannot be indented under %q", path, p.sec.header)
	case here != &globalContext && p.sec.child != nil && other == p.sec.child.ctx:
		return fmt.Sprintf("%q is a sub-command of %q; indent it deeper than the line %q", path, p.sec.child.header, p.sec.child.header)
	case here != &globalContext && p.sec.parent != nil && other == p.sec.parent.ctx:
		return fmt.Sprintf("%q is a sub-command of %q, not of %q; indent it as deep as the line %q", path, p.sec.parent.header, p.sec.header, p.sec.header)
	case here == &globalContext:
		return fmt.Sprintf("%q is a sub-command of %q sections; indent it under one", path, other.name)
	}
	return fmt.Sprintf("%q is a sub-command of %q sections, not of %q", path, other.name, p.sec.header)
}

// whereItBelongs finishes the message for an indented line with no section.
func (p *parser) whereItBelongs(ws []word, here *context) string {
	other, path := p.locate(ws, here)
	switch {
	case other == nil:
		return "sub-commands follow a section line such as \"interface NAME\""
	case other == &globalContext:
		return fmt.Sprintf("%q is a global command: remove the indentation", path)
	}
	return fmt.Sprintf("%q belongs under a %q line", path, other.name)
}

// locate finds the mode, other than here, whose tree recognises ws as a
// complete command, and the canonical keywords it matched.
func (p *parser) locate(ws []word, here *context) (*context, string) {
	for _, ctx := range allContexts {
		if ctx == here {
			continue
		}
		if path, ok := commandPath(ctx, ws); ok {
			return ctx, path
		}
	}
	return nil, ""
}

// commandPath reports whether ctx's tree recognises ws (after an optional
// "no") as a complete command, and the canonical keywords it matched.
func commandPath(ctx *context, ws []word) (string, bool) {
	if len(ws) > 1 && strings.EqualFold(ws[0].text, "no") {
		ws = ws[1:]
	}
	cmds := ctx.commands
	var path []string
	var node *command
	for _, w := range ws {
		idx, res, _ := matchKeyword(w.text, names(cmds))
		if res != matched {
			break
		}
		node = cmds[idx]
		path = append(path, node.name)
		cmds = node.sub
	}
	return strings.Join(path, " "), node != nil && node.run != nil
}

func names(cmds []*command) []string {
	out := make([]string, len(cmds))
	for i, c := range cmds {
		out[i] = c.name
	}
	return out
}

func visibleNames(cmds []*command) []string {
	var out []string
	for _, c := range cmds {
		if !c.hidden {
			out = append(out, c.name)
		}
	}
	return out
}

// allContexts lists every mode, for locate.
var allContexts = []*context{&globalContext, &interfaceContext, &policyContext, &transformSetContext, &profileContext,
	&ikev2ProposalContext, &ikev2PolicyContext, &ikev2KeyringContext, &ikev2PeerContext, &ikev2ProfileContext, &trustpointContext}

// finish turns the parser's working state into the final Config shape.
func (p *parser) finish() {
	c := p.cfg
	slices.SortStableFunc(c.ISAKMPPolicies, func(a, b *ISAKMPPolicy) int { return a.Priority - b.Priority })
	// Removing the last element leaves an empty, non-nil slice; make "none"
	// always nil so that equal configurations are equal.
	if len(c.Interfaces) == 0 {
		c.Interfaces = nil
	}
	if len(c.ISAKMPPolicies) == 0 {
		c.ISAKMPPolicies = nil
	}
	if len(c.ISAKMPKeys) == 0 {
		c.ISAKMPKeys = nil
	}
	if len(c.TransformSets) == 0 {
		c.TransformSets = nil
	}
	if len(c.Profiles) == 0 {
		c.Profiles = nil
	}
	if len(c.Routes) == 0 {
		c.Routes = nil
	}
	// IPv4 routes first, as show running-config lists them.
	slices.SortStableFunc(c.Routes, func(a, b *StaticRoute) int {
		return a.Prefix.Addr().BitLen() - b.Prefix.Addr().BitLen()
	})
	for _, i := range c.Interfaces {
		if len(i.IPv6Addresses) == 0 {
			i.IPv6Addresses = nil
		}
	}
	for _, pr := range c.Profiles {
		if len(pr.TransformSets) == 0 {
			pr.TransformSets = nil
		}
	}
	p.finishIKEv2()
}

// Load reads and parses a configuration file. It returns the problems as
// text (FILE:LINE:COL: ...), warnings included; the Config is nil when the
// file could not be read or has errors.
func Load(path string, opts Options) (*Config, []string) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, []string{err.Error()}
	}
	cfg, diags := Parse(path, src, opts)
	problems := make([]string, 0, len(diags))
	for _, d := range diags {
		problems = append(problems, d.String())
	}
	return cfg, problems
}
