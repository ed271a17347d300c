package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// openSSLPKI makes, with the openssl tool, a CA and a certificate for each
// end (subjectAltName the end's address), RSA or ECDSA P-256 keys: the
// certificates come from a tool gresec shares no code with.
type openSSLPKI struct {
	dir string
}

func newOpenSSLPKI(t *testing.T, rsaKeys bool) *openSSLPKI {
	t.Helper()
	requireTools(t, "openssl")
	p := &openSSLPKI{dir: t.TempDir()}
	genkey := func(name string) {
		args := []string{"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", p.path(name + ".key")}
		if rsaKeys {
			args = []string{"genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", p.path(name + ".key")}
		}
		p.openssl(t, args...)
	}
	genkey("ca")
	p.openssl(t, "req", "-x509", "-new", "-key", p.path("ca.key"), "-subj", "/O=gresec test/CN=gresec test CA", "-days", "2", "-out", p.path("ca.pem"))
	for name, ip := range map[string]string{"gresec": "198.51.100.1", "charon": "198.51.100.2"} {
		genkey(name)
		p.openssl(t, "req", "-new", "-key", p.path(name+".key"), "-subj", "/O=gresec test/CN="+name, "-out", p.path(name+".csr"))
		ext := p.path(name + ".ext")
		if err := os.WriteFile(ext, []byte("subjectAltName=IP:"+ip+"\nkeyUsage=digitalSignature\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		p.openssl(t, "x509", "-req", "-in", p.path(name+".csr"), "-CA", p.path("ca.pem"), "-CAkey", p.path("ca.key"),
			"-CAcreateserial", "-days", "1", "-extfile", ext, "-out", p.path(name+".pem"))
	}
	return p
}

func (p *openSSLPKI) path(name string) string { return filepath.Join(p.dir, name) }

func (p *openSSLPKI) read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(p.path(name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (p *openSSLPKI) openssl(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("openssl", args...).CombinedOutput(); err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// gresecCertConfig is issue 12's IKEv2 profile with certificates: the
// trust point holds openssl's CA, gresec's certificate and key.
const gresecCertConfig = `hostname A
interface a0
 ip address 198.51.100.1 255.255.255.0
crypto pki trustpoint TP
 ca-certificate file %[1]s/ca.pem
 certificate file %[1]s/gresec.pem
 private-key file %[1]s/gresec.key
crypto ikev2 proposal PROP
 encryption aes-cbc-256
 integrity sha256
 group 19
crypto ikev2 policy POL
 proposal PROP
crypto ikev2 profile IKEV2
 match identity remote address 198.51.100.2 255.255.255.255
 authentication remote %[2]s
 authentication local %[2]s
 pki trustpoint TP
 dpd 10 3 periodic
crypto ikev2 fragmentation mtu 1280
crypto ipsec transform-set TRANSFORM esp-aes 256 esp-sha384-hmac
 mode tunnel
crypto ipsec profile TUNNEL
 set transform-set TRANSFORM
 set ikev2-profile IKEV2
interface Tunnel0
 ip address 10.255.0.1 255.255.255.252
 tunnel source a0
 tunnel destination 198.51.100.2
 tunnel protection ipsec profile TUNNEL
`

const swanctlCert = `connections {
  gre {
    version = 2
    local_addrs = 198.51.100.2
    remote_addrs = 198.51.100.1
    proposals = aes256-sha256-ecp256
    fragmentation = yes
    local { auth = pubkey
            certs = charon.pem
            id = 198.51.100.2 }
    remote { auth = pubkey
             id = 198.51.100.1 }
    children {
      gre {
        local_ts = dynamic[gre]
        remote_ts = dynamic[gre]
        mode = tunnel
        esp_proposals = aes256-sha384
      }
    }
  }
}
`

// TestStrongSwanIKEv2Certificates: gresec and charon authenticate each
// other with certificates made by openssl (ECDSA P-256 and RSA 2048),
// gresec initiating and charon initiating, across a path that drops IP
// fragments (nftables in both namespaces): the certificate exchanges
// must go as IKE fragments (RFC 7383). Traffic crosses the tunnel
// through charon's kernel-libipsec.
func TestStrongSwanIKEv2Certificates(t *testing.T) {
	requireTools(t, "nft")
	for _, tc := range []struct {
		name, method    string
		rsa, gresecInit bool
	}{
		{"ecdsa gresec initiates", "ecdsa-sig", false, true},
		{"rsa charon initiates", "rsa-sig", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pki := newOpenSSLPKI(t, tc.rsa)
			p := newPair(t)
			for _, ns := range []string{p.a, p.b} {
				for _, rule := range []string{"add table ip nofrag",
					"add chain ip nofrag pre { type filter hook prerouting priority -500; }",
					"add rule ip nofrag pre ip frag-off & 0x3fff != 0 counter drop"} {
					if out, err := exec.Command("ip", "netns", "exec", ns, "nft", rule).CombinedOutput(); err != nil {
						t.Fatalf("nft %s: %v %s", rule, err, out)
					}
				}
			}
			files := []charonFile{
				{"x509ca/ca.pem", pki.read(t, "ca.pem")},
				{"x509/charon.pem", pki.read(t, "charon.pem")},
				{"private/charon.key", pki.read(t, "charon.key")},
			}
			conf := fmt.Sprintf(gresecCertConfig, pki.dir, tc.method)
			var c *charon
			var ga *daemon
			if tc.gresecInit {
				c = startCharon(t, p.b, "kernel-libipsec kernel-netlink", libipsecPlugins, swanctlCert, files...)
				startGresec(t, p.b, gresecPlainB)
				ga = startGresec(t, p.a, conf)
			} else {
				ga = startGresec(t, p.a, conf)
				time.Sleep(500 * time.Millisecond)
				c = startCharon(t, p.b, "kernel-libipsec kernel-netlink", libipsecPlugins, swanctlCert, files...)
				startGresec(t, p.b, gresecPlainB)
				out, _ := exec.Command("ip", "netns", "exec", p.b, "swanctl", "--initiate", "--child", "gre", "--timeout", "10",
					"--uri", "unix://"+c.dir+"/run/charon.vici").CombinedOutput()
				t.Logf("swanctl --initiate:\n%s", out)
			}
			deadline := time.Now().Add(30 * time.Second)
			for {
				out, err := exec.Command("ip", "netns", "exec", p.a, "ping", "-c", "1", "-W", "1", "10.255.0.2").CombinedOutput()
				if err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no ping across the tunnel:\n%s\n%s\n%s", out, c.swanctl(t, "--list-sas"), c.log(t))
				}
			}
			log := c.log(t)
			if !regexp.MustCompile(`authentication of '198\.51\.100\.1' with [A-Z_0-9]+ successful`).MatchString(log) {
				t.Errorf("charon did not authenticate gresec's signature")
			}
			if !strings.Contains(ga.logs.String(), "established") {
				t.Errorf("gresec did not establish the IKE SA")
			}
			if !strings.Contains(log, "EF(") && !strings.Contains(log, "fragment") {
				t.Errorf("no IKE fragments in charon's log")
			}
			if m := matchKeys(t, log, gresecESPKeys(t, ga.keylog)); m < 2 {
				t.Errorf("only %d SPIs matched between gresec's keylog and charon's log", m)
			}
			out, err := exec.Command("ip", "netns", "exec", p.a, "ping", "-c", "5", "-i", "0.2", "-W", "2", "10.255.0.2").CombinedOutput()
			if err != nil || !strings.Contains(string(out), " 0% packet loss") {
				t.Errorf("ping: %v\n%s", err, out)
			}
		})
	}
}
