package router

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/gresec/gresec/internal/config"
	"github.com/gresec/gresec/internal/ikev2"
)

// Trust points (`crypto pki trustpoint`) are PEM files: the CA
// certificates that verify peers, this router's certificate chain (leaf
// first) and its private key (PKCS #8, PKCS #1 or SEC 1, unencrypted).
// They are read once per configuration.

// credentials returns the loaded trust points of an IKEv2 profile.
func (r *Router) credentials(p2 *config.IKEv2Profile) (*ikev2.Credentials, error) {
	if r.pkiCfg != r.cfg {
		r.pkiCfg, r.pkiCache = r.cfg, map[string]*ikev2.Credentials{}
	}
	if c, ok := r.pkiCache[p2.Name]; ok {
		return c, nil
	}
	c := &ikev2.Credentials{}
	signs := p2.AuthLocal == config.AuthRSASig || p2.AuthLocal == config.AuthECDSASig
	if signs {
		tp := r.cfg.Trustpoint(p2.SignTrustpoint)
		if tp == nil {
			return nil, fmt.Errorf("ikev2 profile %s: no trustpoint to sign with", p2.Name)
		}
		chain, err := r.readCerts(tp.CertFile)
		if err != nil {
			return nil, fmt.Errorf("trustpoint %s: certificate: %w", tp.Name, err)
		}
		key, err := r.readKey(tp.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("trustpoint %s: private key: %w", tp.Name, err)
		}
		type equaler interface{ Equal(crypto.PublicKey) bool }
		if e, ok := key.Public().(equaler); !ok || !e.Equal(chain[0].PublicKey) {
			return nil, fmt.Errorf("trustpoint %s: the private key does not belong to certificate %q", tp.Name, chain[0].Subject)
		}
		c.Chain, c.Key = chain, key
	}
	for _, name := range p2.VerifyTrustpoints {
		tp := r.cfg.Trustpoint(name)
		if tp == nil || tp.CACertFile == "" {
			continue
		}
		cas, err := r.readCerts(tp.CACertFile)
		if err != nil {
			return nil, fmt.Errorf("trustpoint %s: CA certificate: %w", tp.Name, err)
		}
		c.CAs = append(c.CAs, cas...)
	}
	r.pkiCache[p2.Name] = c
	return c, nil
}

// readCerts reads the PEM certificates of a file, in order.
func (r *Router) readCerts(path string) ([]*x509.Certificate, error) {
	if path == "" {
		return nil, errors.New("no file configured")
	}
	b, err := r.host.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no PEM certificate", path)
	}
	return out, nil
}

// readKey reads a PEM private key.
func (r *Router) readKey(path string) (crypto.Signer, error) {
	if path == "" {
		return nil, errors.New("no file configured")
	}
	b, err := r.host.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return nil, fmt.Errorf("%s: no PEM private key", path)
		}
		var k any
		switch blk.Type {
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(blk.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			return nil, fmt.Errorf("%s: encrypted private keys are not supported", path)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("%s: unsupported key type %T", path, k)
		}
		return s, nil
	}
}
