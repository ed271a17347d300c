package ikev2

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gresec/gresec/internal/config"
	"github.com/gresec/gresec/internal/ike"
)

// A test PKI: a CA and leaf certificates for the two ends, valid for a
// year from t0.
type testPKI struct {
	ca    *x509.Certificate
	caKey crypto.Signer
}

func newPKI(t *testing.T, name string) *testPKI {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	return &testPKI{ca: ca, caKey: key}
}

// leaf issues a certificate for addr with an RSA or an ECDSA key
// (curve), valid from notBefore for a day.
func (p *testPKI) leaf(t *testing.T, cn string, addr string, rsaKey bool, curve elliptic.Curve, notBefore time.Time) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	var key crypto.Signer
	var err error
	if rsaKey {
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	} else {
		key, err = ecdsa.GenerateKey(curve, rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn, Organization: []string{"gresec test"}},
		NotBefore: notBefore, NotAfter: notBefore.Add(24 * time.Hour), IPAddresses: []net.IP{net.ParseIP(addr)},
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, key.Public(), p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, key
}

func certProfile(method config.IKEv2AuthMethod, chain *x509.Certificate, key crypto.Signer, cas ...*x509.Certificate) Profile {
	pr := profile()
	pr.PSKLocal, pr.PSKRemote = "", ""
	pr.AuthLocal, pr.AuthRemote = method, []config.IKEv2AuthMethod{config.AuthRSASig, config.AuthECDSASig}
	pr.Creds = &Credentials{Chain: []*x509.Certificate{chain}, Key: key, CAs: cas}
	return pr
}

// TestCertificates: IKE_AUTH with RSA and ECDSA certificates from one CA,
// identities by address and by subject; expired certificates, another
// CA's and an identity the certificate does not hold are refused.
func TestCertificates(t *testing.T) {
	pki := newPKI(t, "gresec test CA")
	other := newPKI(t, "someone else's CA")
	for _, tc := range []struct {
		name     string
		rsaA     bool
		curveA   elliptic.Curve
		dnA      bool
		caB      *testPKI // who issues B's certificate
		notAfter time.Duration
		addrA    string // the address in A's certificate
		ok       bool
		why      string
	}{
		{name: "ecdsa p256", curveA: elliptic.P256(), caB: pki, addrA: "192.0.2.1", ok: true},
		{name: "ecdsa p384", curveA: elliptic.P384(), caB: pki, addrA: "192.0.2.1", ok: true},
		{name: "rsa", rsaA: true, caB: pki, addrA: "192.0.2.1", ok: true},
		{name: "identity dn", curveA: elliptic.P256(), dnA: true, caB: pki, addrA: "192.0.2.1", ok: true},
		{name: "other CA", curveA: elliptic.P256(), caB: other, addrA: "192.0.2.1", why: "certificate signed by unknown authority"},
		{name: "expired", curveA: elliptic.P256(), caB: pki, addrA: "192.0.2.1", notAfter: 48 * time.Hour, why: "expired"},
		{name: "wrong address", curveA: elliptic.P256(), caB: pki, addrA: "192.0.2.99", why: "is not in the peer's certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := t0.Add(-time.Hour)
			if tc.notAfter > 0 {
				start = t0.Add(-tc.notAfter)
			}
			certA, keyA := pki.leaf(t, "left", tc.addrA, tc.rsaA, tc.curveA, start)
			certB, keyB := tc.caB.leaf(t, "right", "198.51.100.2", false, elliptic.P256(), t0.Add(-time.Hour))
			method := config.AuthECDSASig
			if tc.rsaA {
				method = config.AuthRSASig
			}
			prA := certProfile(method, certA, keyA, pki.ca)
			if tc.dnA {
				prA.LocalID = config.IKEv2Identity{Kind: config.IDDN}
			}
			prB := certProfile(config.AuthECDSASig, certB, keyB, pki.ca)
			prB.RemoteID = append(prB.RemoteID, config.IKEv2IdentityMatch{Kind: config.MatchAny})
			pa, pb := protection("Tunnel0", addrA, addrB, prA), protection("Tunnel0", addrB, addrA, prB)
			pb.Passive = true
			n := newNet(t, &pa, &pb)
			n.runFor(time.Second)
			if !tc.ok {
				if len(n.a.installed())+len(n.b.installed()) != 0 {
					t.Fatalf("a pair was installed\n%s%s", n.a.logText(), n.b.logText())
				}
				if !strings.Contains(n.a.logText()+n.b.logText(), tc.why) {
					t.Errorf("logs lack %q:\n%s%s", tc.why, n.a.logText(), n.b.logText())
				}
				return
			}
			n.checkPaired()
			if s := n.b.e.Snapshot(n.now).SAs[0]; s.Status != "READY" {
				t.Errorf("B's SA %+v", s)
			}
			if len(actionsOf[ike.SessionUp](n.a.actions)) != 1 {
				t.Error("no session up")
			}
		})
	}
}

// TestFragmentation: certificates make IKE_AUTH larger than a path that
// drops what exceeds 576-byte IP packets; with RFC 7383 fragments of
// that size it still comes up, and both ends reassemble.
func TestFragmentation(t *testing.T) {
	pki := newPKI(t, "gresec test CA")
	certA, keyA := pki.leaf(t, "left", "192.0.2.1", true, nil, t0.Add(-time.Hour))
	certB, keyB := pki.leaf(t, "right", "198.51.100.2", true, nil, t0.Add(-time.Hour))
	pa := protection("Tunnel0", addrA, addrB, certProfile(config.AuthRSASig, certA, keyA, pki.ca))
	pb := protection("Tunnel0", addrB, addrA, certProfile(config.AuthRSASig, certB, keyB, pki.ca))
	pb.Passive = true
	n := &network{t: t, now: t0,
		a: newNode(t, "A", addrA, 1, Config{FragmentMTU: 576}),
		b: newNode(t, "B", addrB, 2, Config{FragmentMTU: 576})}
	dropped := 0
	n.drop = func(_ *node, s ike.Send) bool {
		if len(s.Data) > 576-28 {
			dropped++
			return true
		}
		return false
	}
	n.start(n.a, pa)
	n.start(n.b, pb)
	n.runFor(time.Second)
	n.checkPaired()
	if dropped != 0 {
		t.Errorf("%d datagrams exceeded the fragment size", dropped)
	}
	frags := 0
	for _, s := range append(n.a.sent, n.b.sent...) {
		if h, ok := headerOf(s); ok && h.NextPayload == 53 { // SKF
			frags++
		}
	}
	if frags < 4 {
		t.Errorf("%d fragments for two IKE_AUTH messages with RSA certificates", frags)
	}
	// A CHILD_SA rekey over the same SA (small messages: no fragments).
	spi := n.a.installed()[0].In.SPI
	n.take(n.a, n.a.e.Rekey(n.now, "Tunnel0", spi))
	n.runFor(time.Minute)
	n.checkPaired()
}
