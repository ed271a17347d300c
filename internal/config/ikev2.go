package config

// The IKEv2 statements (issue 12): proposals, policies and the global
// `crypto ikev2` settings. Keyrings are in ikev2_keyring.go, profiles in
// ikev2_profile.go, trustpoints in pki.go, the checks across sections in
// ikev2_validate.go.

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

const (
	defaultIKEv2Lifetime = 86400 * time.Second
	// defaultIKEv2Name is the name IOS gives its built-in proposal and
	// policy; see DefaultIKEv2Proposals.
	defaultIKEv2Name = "default"
)

var ikev2Commands = []*command{
	{name: "proposal", run: (*parser).ikev2Proposal},
	{name: "policy", run: (*parser).ikev2Policy},
	{name: "keyring", run: (*parser).ikev2Keyring},
	{name: "profile", run: (*parser).ikev2Profile},
	{name: "nat", sub: []*command{
		{name: "keepalive", run: (*parser).ikev2NATKeepalive},
	}},
	{name: "dpd", run: (*parser).ikev2GlobalDPD},
	{name: "cookie-challenge", run: (*parser).ikev2CookieChallenge},
	{name: "limit", sub: []*command{
		{name: "max-in-negotiation-sa", run: (*parser).ikev2MaxInNegotiation},
		{name: "max-sa", run: (*parser).ikev2MaxSA},
	}},
	{name: "fragmentation", run: (*parser).ikev2Fragmentation},
}

// ikev2ProposalContext is the mode of a `crypto ikev2 proposal` section.
var ikev2ProposalContext = context{
	name: "crypto ikev2 proposal",
	commands: []*command{
		{name: "encryption", run: (*parser).proposalEncryption},
		{name: "integrity", run: (*parser).proposalIntegrity},
		{name: "prf", run: (*parser).proposalPRF},
		{name: "group", run: (*parser).proposalGroup},
	},
}

// ikev2PolicyContext is the mode of a `crypto ikev2 policy` section.
var ikev2PolicyContext = context{
	name: "crypto ikev2 policy",
	commands: []*command{
		{name: "proposal", run: (*parser).v2PolicyProposal},
		{name: "match", sub: []*command{
			{name: "address", sub: []*command{
				{name: "local", run: (*parser).v2PolicyMatchLocal},
			}},
			{name: "fvrf", run: (*parser).refuseFVRF, hidden: true},
		}},
	},
}

// ikev2State is what the parser keeps about the IKEv2 and PKI sections:
// indexes by name and the words that referred to other sections, for
// messages at the right place.
type ikev2State struct {
	proposals   map[string]*IKEv2Proposal
	policies    map[string]*IKEv2Policy
	keyrings    map[string]*IKEv2Keyring
	profiles    map[string]*IKEv2Profile
	trustpoints map[string]*PKITrustpoint

	proposalMeta   map[*IKEv2Proposal]*proposalMeta
	policyRefs     map[*IKEv2Policy][]word // the words naming proposals
	profileMeta    map[*IKEv2Profile]*v2ProfileMeta
	trustpointMeta map[*PKITrustpoint]*trustpointMeta
	ipsecRefs      map[*Profile]word // the word of `set ikev2-profile`
}

func newIKEv2State() *ikev2State {
	return &ikev2State{
		proposals:      map[string]*IKEv2Proposal{},
		policies:       map[string]*IKEv2Policy{},
		keyrings:       map[string]*IKEv2Keyring{},
		profiles:       map[string]*IKEv2Profile{},
		trustpoints:    map[string]*PKITrustpoint{},
		proposalMeta:   map[*IKEv2Proposal]*proposalMeta{},
		policyRefs:     map[*IKEv2Policy][]word{},
		profileMeta:    map[*IKEv2Profile]*v2ProfileMeta{},
		trustpointMeta: map[*PKITrustpoint]*trustpointMeta{},
		ipsecRefs:      map[*Profile]word{},
	}
}

// proposalMeta records where a proposal's integrity and prf were given.
type proposalMeta struct {
	integrity, prf word
}

func (st *ikev2State) propMeta(pr *IKEv2Proposal) *proposalMeta {
	m := st.proposalMeta[pr]
	if m == nil {
		m = &proposalMeta{}
		st.proposalMeta[pr] = m
	}
	return m
}

// sectionName reads the name of a named section's header line (argument
// 0, nothing after it) and says whether a section should be opened or
// removed with that name. A name that is too long opens a detached section.
func (s *stmt) sectionName(kind string) (name string, w word, attached bool, ok bool) {
	w, ok = s.arg(0, "a name")
	if !ok {
		return "", w, false, false
	}
	s.end(1)
	if len(w.text) > maxNameLength {
		s.errorf(w, "%s name too long (at most %d characters)", kind, maxNameLength)
		return w.text, w, false, true
	}
	return w.text, w, true, true
}

func (p *parser) ikev2Proposal(s *stmt) {
	detached := &section{ctx: &ikev2ProposalContext, header: "crypto ikev2 proposal", proposal: &IKEv2Proposal{}}
	name, w, attached, ok := s.sectionName("proposal")
	if !ok {
		return
	}
	existing := p.v2.proposals[name]
	if s.neg && name == defaultIKEv2Name {
		// The default policy is made of the default proposals: without
		// them it is gone too.
		p.cfg.IKEv2.NoDefaultPolicy = true
		return
	}
	if s.neg {
		if existing == nil {
			s.warnf(w, "%s", describeRemoval("crypto ikev2 proposal "+name))
			return
		}
		p.cfg.IKEv2Proposals = slices.DeleteFunc(p.cfg.IKEv2Proposals, func(o *IKEv2Proposal) bool { return o == existing })
		delete(p.v2.proposals, name)
		delete(p.v2.proposalMeta, existing)
		return
	}
	if name == defaultIKEv2Name {
		s.errorf(w, "%q is IOS's built-in proposal, which gresec does not let you change; give yours another name and list it in a \"crypto ikev2 policy\"", name)
		attached = false
	}
	if !attached {
		p.sec = detached
		return
	}
	if existing == nil {
		existing = &IKEv2Proposal{Name: name, Pos: s.line.words[0].pos}
		p.cfg.IKEv2Proposals = append(p.cfg.IKEv2Proposals, existing)
		p.v2.proposals[name] = existing
	}
	// Re-entering a proposal continues it, as on IOS.
	p.sec = &section{ctx: &ikev2ProposalContext, header: "crypto ikev2 proposal " + name, proposal: existing}
}

// editList applies a proposal line that lists values. As on IOS, each
// line adds its values to those of earlier lines; with `no` it removes
// them, or every value when none is given. parse reads one value and
// reports its own errors; fits reports, for a value to add, why it cannot
// join the list so far.
func editList[T comparable](s *stmt, list *[]T, need string, parse func(w word) (T, bool), fits func(w word, v T, have []T) bool) bool {
	if s.neg && !s.has(0) {
		*list = nil
		return true
	}
	if _, ok := s.arg(0, need); !ok {
		return false
	}
	vals := make([]T, 0, len(s.args))
	for _, w := range s.args {
		v, ok := parse(w)
		if !ok {
			return false
		}
		switch {
		case slices.Contains(vals, v):
			s.errorf(w, "%s is listed twice", w.text)
			return false
		case s.neg && !slices.Contains(*list, v):
			s.warnf(w, "%s", describeRemoval(strings.TrimPrefix(s.path, "no ")+" "+w.text))
		case !s.neg && slices.Contains(*list, v):
			s.warnf(w, "%s is already listed by an earlier line; ignored", w.text)
			continue
		case !s.neg && fits != nil && !fits(w, v, append(slices.Clone(*list), vals...)):
			return false
		}
		vals = append(vals, v)
	}
	if s.neg {
		*list = slices.DeleteFunc(*list, func(v T) bool { return slices.Contains(vals, v) })
	} else {
		*list = append(*list, vals...)
	}
	return true
}

var ikev2Ciphers = []struct {
	word   string
	cipher IKEv2Cipher
}{
	{"aes-cbc-128", IKEv2Cipher{KeyBits: 128}},
	{"aes-cbc-192", IKEv2Cipher{KeyBits: 192}},
	{"aes-cbc-256", IKEv2Cipher{KeyBits: 256}},
	{"aes-gcm-128", IKEv2Cipher{KeyBits: 128, AEAD: true}},
	{"aes-gcm-256", IKEv2Cipher{KeyBits: 256, AEAD: true}},
}

// refusedIKEv2Words are the algorithms IOS offers in proposals and
// gresec refuses, with the reason.
var refusedIKEv2Words = map[string]string{
	"des":  "encryption des is refused: a 56-bit key is brute-forced in hours; use aes-cbc-256 or aes-gcm-256",
	"3des": "encryption 3des is refused: its 64-bit block is open to Sweet32 and RFC 8247 deprecates it; use aes-cbc-256 or aes-gcm-256",
	"md5":  "md5 is refused: MD5 collisions are practical and RFC 8247 forbids it; use sha256 or better",
}

func (p *parser) proposalEncryption(s *stmt) {
	words := []string{"des", "3des"}
	for _, c := range ikev2Ciphers {
		words = append(words, c.word)
	}
	parse := func(w word) (IKEv2Cipher, bool) {
		kw, ok := s.matchChoice(w, words)
		if !ok {
			return IKEv2Cipher{}, false
		}
		if reason := refusedIKEv2Words[kw]; reason != "" {
			s.errorf(w, "%s", reason)
			return IKEv2Cipher{}, false
		}
		for _, c := range ikev2Ciphers {
			if c.word == kw {
				return c.cipher, true
			}
		}
		return IKEv2Cipher{}, false
	}
	fits := func(w word, c IKEv2Cipher, have []IKEv2Cipher) bool {
		for _, o := range have {
			if o.AEAD != c.AEAD {
				// One proposal has one set of transforms: GCM takes no
				// integrity algorithm, CBC needs one (RFC 7296 3.3).
				s.errorf(w, "%s cannot be in one proposal with %s: an AEAD cipher takes no integrity algorithm and CBC needs one; put them in two proposals", c, o)
				return false
			}
		}
		return true
	}
	editList(s, &s.sec.proposal.Encryption, "one or more of \"aes-cbc-128\", \"aes-cbc-192\", \"aes-cbc-256\", \"aes-gcm-128\" or \"aes-gcm-256\"", parse, fits)
}

var ikev2Hashes = []struct {
	word string
	hash Hash
}{
	{"sha1", HashSHA1},
	{"sha256", HashSHA256},
	{"sha384", HashSHA384},
	{"sha512", HashSHA512},
}

// ikev2Hash reads w as an integrity or PRF algorithm.
func (s *stmt) ikev2Hash(w word) (Hash, bool) {
	words := []string{"md5"}
	for _, h := range ikev2Hashes {
		words = append(words, h.word)
	}
	kw, ok := s.matchChoice(w, words)
	if !ok {
		return 0, false
	}
	if kw == "md5" {
		s.errorf(w, "%s %s", s.path, refusedIKEv2Words[kw])
		return 0, false
	}
	for _, h := range ikev2Hashes {
		if h.word == kw {
			return h.hash, true
		}
	}
	return 0, false
}

const hashChoices = "one or more of \"sha1\", \"sha256\", \"sha384\" or \"sha512\""

func (p *parser) proposalIntegrity(s *stmt) {
	pr := s.sec.proposal
	if editList(s, &pr.Integrity, hashChoices, s.ikev2Hash, nil) && !s.neg {
		p.v2.propMeta(pr).integrity = s.args[0]
	}
}

func (p *parser) proposalPRF(s *stmt) {
	pr := s.sec.proposal
	if editList(s, &pr.PRF, hashChoices, s.ikev2Hash, nil) && !s.neg {
		p.v2.propMeta(pr).prf = s.args[0]
	}
}

// ikev2GroupProblem says why DH group g is refused for IKEv2, or "" when
// it is accepted: the IKEv1 groups and curve25519 (RFC 8031).
func ikev2GroupProblem(g uint64) string {
	switch g {
	case 31:
		return ""
	case 1, 2, 5, 22, 23, 24:
		return groupProblem(g) // weak, for the same reasons as in ISAKMP
	}
	if groupProblem(g) == "" {
		return ""
	}
	return fmt.Sprintf("DH group %d is not supported; use 14, 15, 16, 19, 20, 21 or 31", g)
}

func (p *parser) proposalGroup(s *stmt) {
	parse := func(w word) (DHGroup, bool) {
		g, ok := s.parseNumber(w, "DH group", 1, 1000)
		if !ok {
			return 0, false
		}
		if msg := ikev2GroupProblem(g); msg != "" {
			s.errorf(w, "%s", msg)
			return 0, false
		}
		return DHGroup(g), true
	}
	editList(s, &s.sec.proposal.Groups, "one or more DH groups (14, 15, 16, 19, 20, 21, 31)", parse, nil)
}

func (p *parser) ikev2Policy(s *stmt) {
	detached := &section{ctx: &ikev2PolicyContext, header: "crypto ikev2 policy", v2policy: &IKEv2Policy{}}
	name, w, attached, ok := s.sectionName("policy")
	if !ok {
		return
	}
	existing := p.v2.policies[name]
	if name == defaultIKEv2Name {
		if s.neg {
			p.cfg.IKEv2.NoDefaultPolicy = true
			return
		}
		s.errorf(w, "%q is IOS's built-in policy, which gresec does not let you change; give yours another name", name)
		p.sec = detached
		return
	}
	if s.neg {
		if existing == nil {
			s.warnf(w, "%s", describeRemoval("crypto ikev2 policy "+name))
			return
		}
		p.cfg.IKEv2Policies = slices.DeleteFunc(p.cfg.IKEv2Policies, func(o *IKEv2Policy) bool { return o == existing })
		delete(p.v2.policies, name)
		delete(p.v2.policyRefs, existing)
		return
	}
	if !attached {
		p.sec = detached
		return
	}
	if existing == nil {
		existing = &IKEv2Policy{Name: name, Pos: s.line.words[0].pos}
		p.cfg.IKEv2Policies = append(p.cfg.IKEv2Policies, existing)
		p.v2.policies[name] = existing
	}
	p.sec = &section{ctx: &ikev2PolicyContext, header: "crypto ikev2 policy " + name, v2policy: existing}
}

func (p *parser) v2PolicyProposal(s *stmt) {
	pol := s.sec.v2policy
	parse := func(w word) (string, bool) { return w.text, true }
	if !editList(s, &pol.Proposals, "one or more proposal names", parse, nil) {
		return
	}
	// Keep the word of each name still listed, for undefined references.
	refs := append(p.v2.policyRefs[pol], s.args...)
	p.v2.policyRefs[pol] = slices.DeleteFunc(refs, func(w word) bool { return !slices.Contains(pol.Proposals, w.text) })
}

func (p *parser) v2PolicyMatchLocal(s *stmt) {
	pol := s.sec.v2policy
	editList(s, &pol.LocalAddresses, "a local IPv4 or IPv6 address", s.parseAddr, nil)
}

func (p *parser) refuseFVRF(s *stmt) {
	if !s.neg {
		s.errorf(s.kw, "front-door VRFs are not supported; gresec has one routing table")
	}
}

func (p *parser) ikev2NATKeepalive(s *stmt) {
	if s.neg {
		p.cfg.IKEv2.NATKeepalive = 0
		return
	}
	if n, ok := s.number(0, "NAT keepalive seconds", 5, 3600); ok && s.end(1) {
		p.cfg.IKEv2.NATKeepalive = time.Duration(n) * time.Second
	}
}

// ikev2DPD reads `INTERVAL RETRY periodic|on-demand`; IOS wants all three
// for IKEv2, unlike crypto isakmp keepalive.
func (s *stmt) ikev2DPD() (*DPD, bool) {
	n, ok := s.number(0, "DPD interval seconds", 10, 3600)
	if !ok {
		return nil, false
	}
	r, ok := s.number(1, "retry seconds", 2, 60)
	if !ok {
		return nil, false
	}
	mode, ok := s.choice(2, "periodic", "on-demand")
	if !ok || !s.end(3) {
		return nil, false
	}
	return &DPD{Interval: time.Duration(n) * time.Second, Retry: time.Duration(r) * time.Second, Periodic: mode == "periodic"}, true
}

func (p *parser) ikev2GlobalDPD(s *stmt) {
	if s.neg {
		p.cfg.IKEv2.DPD = nil
		return
	}
	if d, ok := s.ikev2DPD(); ok {
		p.cfg.IKEv2.DPD = d
	}
}

func (p *parser) ikev2CookieChallenge(s *stmt) {
	if s.neg {
		p.cfg.IKEv2.CookieChallenge = 0
		return
	}
	if n, ok := s.number(0, "half-open SAs", 1, 1000); ok && s.end(1) {
		p.cfg.IKEv2.CookieChallenge = int(n)
	}
}

// maxIKEv2Limit is the largest SA limit IOS takes.
const maxIKEv2Limit = 99999

func (p *parser) ikev2MaxInNegotiation(s *stmt) {
	if s.neg {
		p.cfg.IKEv2.MaxInNegotiationSA = 0
		return
	}
	n, ok := s.number(0, "SA limit", 1, maxIKEv2Limit)
	if !ok {
		return
	}
	if s.has(1) {
		if _, res, _ := matchKeyword(s.args[1].text, []string{"incoming", "outgoing"}); res == matched {
			s.errorf(s.args[1], "limits per direction are not supported; one limit counts both")
			return
		}
	}
	if s.end(1) {
		p.cfg.IKEv2.MaxInNegotiationSA = int(n)
	}
}

func (p *parser) ikev2MaxSA(s *stmt) {
	if s.neg {
		p.cfg.IKEv2.MaxSA = 0
		return
	}
	if n, ok := s.number(0, "SA limit", 1, maxIKEv2Limit); ok && s.end(1) {
		p.cfg.IKEv2.MaxSA = int(n)
	}
}

func (p *parser) ikev2Fragmentation(s *stmt) {
	g := &p.cfg.IKEv2
	if s.neg {
		g.Fragmentation, g.FragmentationMTU = false, 0
		return
	}
	mtu := uint64(0)
	next := 0
	if s.has(0) {
		if _, ok := s.choice(0, "mtu"); !ok {
			return
		}
		n, ok := s.number(1, "fragmentation MTU", 68, 1500)
		if !ok {
			return
		}
		mtu, next = n, 2
	}
	if s.end(next) {
		g.Fragmentation, g.FragmentationMTU = true, int(mtu)
	}
}

// finishIKEv2 gives the IKEv2 sections their final shape: "none" is
// always nil, so that equal configurations are equal, and a proposal
// without `prf` uses its integrity algorithms, as on IOS.
func (p *parser) finishIKEv2() {
	c := p.cfg
	c.IKEv2Proposals = nilIfEmpty(c.IKEv2Proposals)
	c.IKEv2Policies = nilIfEmpty(c.IKEv2Policies)
	c.IKEv2Keyrings = nilIfEmpty(c.IKEv2Keyrings)
	c.IKEv2Profiles = nilIfEmpty(c.IKEv2Profiles)
	c.Trustpoints = nilIfEmpty(c.Trustpoints)
	for _, pr := range c.IKEv2Proposals {
		pr.Encryption = nilIfEmpty(pr.Encryption)
		pr.Integrity = nilIfEmpty(pr.Integrity)
		pr.Groups = nilIfEmpty(pr.Groups)
		if len(pr.PRF) == 0 {
			pr.PRF = slices.Clone(pr.Integrity)
		}
		pr.PRF = nilIfEmpty(pr.PRF)
	}
	for _, pol := range c.IKEv2Policies {
		pol.Proposals = nilIfEmpty(pol.Proposals)
		pol.LocalAddresses = nilIfEmpty(pol.LocalAddresses)
	}
	for _, kr := range c.IKEv2Keyrings {
		kr.Peers = nilIfEmpty(kr.Peers)
	}
	for _, pr := range c.IKEv2Profiles {
		pr.MatchRemote = nilIfEmpty(pr.MatchRemote)
		pr.AuthRemote = nilIfEmpty(pr.AuthRemote)
		pr.VerifyTrustpoints = nilIfEmpty(pr.VerifyTrustpoints)
	}
}

func nilIfEmpty[S ~[]E, E any](s S) S {
	if len(s) == 0 {
		return nil
	}
	return s
}
