package config

import (
	"reflect"
	"strings"
	"testing"
)

// zeroPos clears every Pos in c: positions depend on the text's layout,
// which Format is free to change.
func zeroPos(c *Config) {
	for _, i := range c.Interfaces {
		i.Pos = Pos{}
	}
	for _, p := range c.ISAKMPPolicies {
		p.Pos = Pos{}
	}
	for _, k := range c.ISAKMPKeys {
		k.Pos = Pos{}
	}
	for _, t := range c.TransformSets {
		t.Pos = Pos{}
	}
	for _, p := range c.Profiles {
		p.Pos = Pos{}
	}
	for _, r := range c.Routes {
		r.Pos = Pos{}
	}
	for _, p := range c.IKEv2Proposals {
		p.Pos = Pos{}
	}
	for _, p := range c.IKEv2Policies {
		p.Pos = Pos{}
	}
	for _, k := range c.IKEv2Keyrings {
		k.Pos = Pos{}
		for _, pe := range k.Peers {
			pe.Pos = Pos{}
		}
	}
	for _, p := range c.IKEv2Profiles {
		p.Pos = Pos{}
	}
	for _, t := range c.Trustpoints {
		t.Pos = Pos{}
	}
}

// checkRoundTrip formats c, parses the text again, and reports any
// difference other than positions. It returns the formatted text.
func checkRoundTrip(t testing.TB, c *Config) string {
	t.Helper()
	text := c.Format(FormatOptions{})
	again, diags := Parse("formatted.conf", []byte(text), Options{})
	if again == nil {
		t.Fatalf("formatted config does not parse:\n%s\ntext:\n%s", diags, text)
	}
	zeroPos(c)
	zeroPos(again)
	if !reflect.DeepEqual(c, again) {
		t.Fatalf("round trip changed the config; text:\n%s\nreparsed as:\n%s", text, again.Format(FormatOptions{}))
	}
	return text
}

func TestRoundTrip(t *testing.T) {
	for _, file := range []string{"testdata/reference.conf", "testdata/everything.conf", ikev2File, ikev2CertFile} {
		t.Run(file, func(t *testing.T) {
			c, diags := Parse(file, readFile(t, file), Options{})
			if len(diags) > 0 {
				t.Fatalf("diagnostics:\n%s", diags)
			}
			text := checkRoundTrip(t, c)
			// Formatting is a fixed point: the output formats to itself.
			again, _ := Parse(file, []byte(text), Options{})
			if again.Format(FormatOptions{}) != text {
				t.Errorf("Format is not idempotent")
			}
		})
	}
}

func TestFormatReference(t *testing.T) {
	c, _ := Parse("reference.conf", readFile(t, "testdata/reference.conf"), Options{})
	want := `hostname left
!
crypto isakmp policy 10
 encr aes 256
 hash sha256
 authentication pre-share
 group 19
crypto isakmp key SecretPassword12 address 0.0.0.0
crypto isakmp keepalive 10 periodic
!
crypto ipsec transform-set TRANSFORM esp-aes 256 esp-sha384-hmac
 mode transport
!
crypto ipsec profile TUNNEL
 set transform-set TRANSFORM
!
interface Loopback0
 ip address 192.0.2.1 255.255.255.255
!
interface Tunnel0
 ip address 10.255.0.1 255.255.255.252
 ip mtu 1400
 ip tcp adjust-mss 1360
 keepalive 10 3
 tunnel source Loopback0
 tunnel destination 192.0.2.2
 tunnel protection ipsec profile TUNNEL
!
ip route 192.0.2.2 255.255.255.255 198.51.100.254
ip route 10.2.0.0 255.255.0.0 Tunnel0
!
end
`
	if got := c.Format(FormatOptions{}); got != want {
		t.Errorf("Format =\n%s\nwant\n%s", got, want)
	}
	masked := c.Format(FormatOptions{MaskKeys: true})
	if strings.Contains(masked, "SecretPassword12") || !strings.Contains(masked, "crypto isakmp key ***** address 0.0.0.0\n") {
		t.Errorf("masked Format =\n%s", masked)
	}
}

func TestFormatDefaults(t *testing.T) {
	// An empty configuration prints nothing but "end", and parses back.
	c := mustParse(t, "")
	if got := c.Format(FormatOptions{}); got != "end\n" {
		t.Errorf("Format(empty) = %q", got)
	}
	checkRoundTrip(t, c)

	// Keys that look like the type digit stay unambiguous.
	for _, src := range []string{
		"crypto isakmp key 0 address 192.0.2.2",
		"crypto isakmp key 0 0 address 192.0.2.2",
		"crypto isakmp key 6 address 10.0.0.0 255.0.0.0",
		"crypto isakmp key 0 address address 192.0.2.2",
	} {
		checkRoundTrip(t, mustParse(t, src))
	}
}
