package router

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"
)

// pemFiles returns a CA certificate, a leaf certificate it issued and the
// leaf's key, PEM encoded; other is a key of no certificate.
func pemFiles(t *testing.T) (ca, cert, key, other []byte) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	lt := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "hub"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	leafDER, err := x509.CreateCertificate(rand.Reader, lt, caCert, leafKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	k8, _ := x509.MarshalPKCS8PrivateKey(leafKey)
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	o8, _ := x509.MarshalECPrivateKey(otherKey)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k8}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: o8})
}

const certCrypto = "crypto pki trustpoint TP\n ca-certificate file /pki/ca.pem\n certificate file /pki/hub.pem\n private-key file /pki/hub.key\n" +
	"crypto ikev2 proposal PROP\n encryption aes-cbc-256\n integrity sha256\n group 19\n" +
	"crypto ikev2 policy POL\n proposal PROP\n" +
	"crypto ikev2 profile IKEV2\n match identity remote any\n authentication remote ecdsa-sig\n" +
	" authentication local ecdsa-sig\n pki trustpoint TP\n" +
	"crypto ipsec transform-set TS esp-aes 256 esp-sha384-hmac\n mode transport\n" +
	"crypto ipsec profile P\n set transform-set TS\n set ikev2-profile IKEV2\n!\n"

// TestIKEv2Certificates: a profile with ecdsa-sig loads its trust point's
// PEM files and negotiates; a key that is not the certificate's keeps the
// tunnel from negotiating and says why.
func TestIKEv2Certificates(t *testing.T) {
	ca, cert, key, other := pemFiles(t)
	for _, tc := range []struct {
		name string
		key  []byte
		want string // warning; "" for none and an IKE_SA_INIT sent
	}{
		{"good", key, ""},
		{"wrong key", other, "the private key does not belong to certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := physicalHost()
			h.files = map[string][]byte{"/pki/ca.pem": ca, "/pki/hub.pem": cert, "/pki/hub.key": tc.key}
			tr := startRouter(t, h, certCrypto+tunnelConf(threeTunnels[:1], " tunnel protection ipsec profile P\n", ""))
			tr.wantUp("Tunnel0")
			h.mu.Lock()
			ikes := slices.Clone(h.ikes)
			h.mu.Unlock()
			sent := false
			for _, c := range ikes {
				select {
				case d := <-c.Out:
					sent = sent || (len(d.Data) > 28 && d.Data[17] == 0x20)
				case <-time.After(time.Second):
				}
			}
			logs := tr.logs.String()
			if tc.want == "" {
				if !sent {
					t.Errorf("no IKEv2 message sent\n%s", logs)
				}
				return
			}
			if sent || !strings.Contains(logs, tc.want) {
				t.Errorf("sent %v; logs lack %q:\n%s", sent, tc.want, logs)
			}
		})
	}
}
