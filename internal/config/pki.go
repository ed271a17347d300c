package config

// `crypto pki trustpoint NAME`: where the certificates of IKEv2
// signature authentication are. IOS enrolls with a CA and keeps the
// certificates in its configuration; gresec reads PEM files, named by
// sub-commands of its own. The IOS enrollment commands are accepted, with
// a warning that they do nothing, so that a pasted IOS trustpoint fails
// only where a file is missing.

import (
	"slices"
	"strings"
)

var pkiCommands = []*command{
	{name: "trustpoint", run: (*parser).trustpoint},
	{name: "certificate", run: (*parser).refuseCertificateChain, hidden: true},
}

// trustpointContext is the mode of a `crypto pki trustpoint` section.
var trustpointContext = context{
	name: "crypto pki trustpoint",
	commands: []*command{
		{name: "ca-certificate", sub: []*command{
			{name: "file", run: (*parser).trustpointCACert},
		}},
		{name: "certificate", sub: []*command{
			{name: "file", run: (*parser).trustpointCert},
		}},
		{name: "private-key", sub: []*command{
			{name: "file", run: (*parser).trustpointKey},
		}},
		{name: "enrollment", run: (*parser).trustpointIgnored},
		{name: "subject-name", run: (*parser).trustpointIgnored},
		{name: "rsakeypair", run: (*parser).trustpointIgnored},
		{name: "eckeypair", run: (*parser).trustpointIgnored},
		{name: "revocation-check", run: (*parser).trustpointRevocation},
	},
}

// trustpointMeta records where a trustpoint's files were named.
type trustpointMeta struct {
	caCert, cert, key word
}

func (st *ikev2State) tpMeta(tp *PKITrustpoint) *trustpointMeta {
	m := st.trustpointMeta[tp]
	if m == nil {
		m = &trustpointMeta{}
		st.trustpointMeta[tp] = m
	}
	return m
}

func (p *parser) trustpoint(s *stmt) {
	detached := &section{ctx: &trustpointContext, header: "crypto pki trustpoint", trustpoint: &PKITrustpoint{}}
	name, w, attached, ok := s.sectionName("trustpoint")
	if !ok {
		return
	}
	existing := p.v2.trustpoints[name]
	if s.neg {
		if existing == nil {
			s.warnf(w, "%s", describeRemoval("crypto pki trustpoint "+name))
			return
		}
		p.cfg.Trustpoints = slices.DeleteFunc(p.cfg.Trustpoints, func(o *PKITrustpoint) bool { return o == existing })
		delete(p.v2.trustpoints, name)
		delete(p.v2.trustpointMeta, existing)
		return
	}
	if !attached {
		p.sec = detached
		return
	}
	if existing == nil {
		existing = &PKITrustpoint{Name: name, Pos: s.line.words[0].pos}
		p.cfg.Trustpoints = append(p.cfg.Trustpoints, existing)
		p.v2.trustpoints[name] = existing
	}
	p.sec = &section{ctx: &trustpointContext, header: "crypto pki trustpoint " + name, trustpoint: existing}
}

func (p *parser) refuseCertificateChain(s *stmt) {
	if !s.neg {
		s.errorf(s.kw, "certificates in the configuration are not supported; name PEM files in the trustpoint with \"ca-certificate file\", \"certificate file\" and \"private-key file\"")
	}
}

// trustpointFile reads the PATH of a `... file PATH` line into *dst and
// its word into *at.
func (s *stmt) trustpointFile(dst *string, at *word) {
	if s.neg {
		*dst, *at = "", word{}
		return
	}
	w, ok := s.arg(0, "an absolute file path")
	if !ok || !s.end(1) {
		return
	}
	// The daemon's working directory is no place to look for a key.
	if !strings.HasPrefix(w.text, "/") {
		s.errorf(w, "%q is not an absolute path; give the file's whole path, starting with /", w.text)
		return
	}
	*dst, *at = w.text, w
}

func (p *parser) trustpointCACert(s *stmt) {
	tp := s.sec.trustpoint
	s.trustpointFile(&tp.CACertFile, &p.v2.tpMeta(tp).caCert)
}

func (p *parser) trustpointCert(s *stmt) {
	tp := s.sec.trustpoint
	s.trustpointFile(&tp.CertFile, &p.v2.tpMeta(tp).cert)
}

func (p *parser) trustpointKey(s *stmt) {
	tp := s.sec.trustpoint
	s.trustpointFile(&tp.KeyFile, &p.v2.tpMeta(tp).key)
}

func (p *parser) trustpointIgnored(s *stmt) {
	if !s.neg {
		s.warnf(s.kw, "%q is ignored: gresec does not enroll; it reads the files named by \"ca-certificate file\", \"certificate file\" and \"private-key file\"", s.path)
	}
}

func (p *parser) trustpointRevocation(s *stmt) {
	if s.neg {
		return
	}
	// IOS takes methods in the order to try them: "crl none".
	if _, ok := s.arg(0, "one or more of \"none\", \"crl\" or \"ocsp\""); !ok {
		return
	}
	for _, w := range s.args {
		m, ok := s.matchChoice(w, []string{"none", "crl", "ocsp"})
		if !ok {
			return
		}
		if m != "none" {
			s.warnf(w, "revocation-check %s is ignored: gresec does not check revocation in this release", m)
			return
		}
	}
}
