package config

import (
	"strings"
	"testing"
)

// A valid protected tunnel to build error cases on (lines 1-11).
const base = `crypto isakmp policy 10
crypto isakmp key secret address 192.0.2.2
crypto ipsec transform-set TRANSFORM esp-gcm 256
crypto ipsec profile TUNNEL
 set transform-set TRANSFORM
interface Loopback0
 ip address 192.0.2.1 255.255.255.255
interface Tunnel0
 tunnel source Loopback0
 tunnel destination 192.0.2.2
 tunnel protection ipsec profile TUNNEL
`

func TestBaseIsValid(t *testing.T) { mustParse(t, base) }

// hasDiag reports whether diags holds one of severity sev at pos whose
// message contains msg.
func hasDiag(diags Diagnostics, sev Severity, pos, msg string) bool {
	for _, d := range diags {
		if d.Severity == sev && strings.HasPrefix(d.Error(), "t.conf:"+pos+": ") && strings.Contains(d.Msg, msg) {
			return true
		}
	}
	return false
}

// TestErrors has one case per class of error, each with the exact position
// and the part of the message that matters.
func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		pos  string // LINE:COL
		msg  string
		opts Options
	}{
		// Structure and keywords.
		{"unknown command", "tunel source x", "1:1", `unknown command "tunel"`, Options{}},
		{"did you mean", "hostnme r", "1:1", `unknown command "hostnme"; did you mean "hostname"?`, Options{}},
		{"unknown sub-keyword", base + " tunnel destinaton 192.0.2.2", "12:9", `unknown command "tunnel destinaton"; did you mean "tunnel destination"?`, Options{}},
		{"unknown sub-keyword lists choices", "crypto isakmp frobnicate", "1:15", `"crypto isakmp" takes "policy", "key", "keepalive" or "nat"`, Options{}},
		{"ambiguous command", "interface eth0\n e", "2:2", `ambiguous command "e": could be "exit" or "end"`, Options{}},
		{"ambiguous top", "i", "1:1", `could be "interface", "ip" or "ipv6"`, Options{}},
		{"incomplete keyword", "crypto ipsec", "1:8", `incomplete command: "crypto ipsec" needs one of "transform-set", "profile" or "security-association"`, Options{}},
		{"incomplete argument", base + " tunnel destination", "12:9", `incomplete command: "tunnel destination" needs an IPv4 or IPv6 address`, Options{}},
		{"incomplete no", "no", "1:1", `incomplete command: "no" needs a command`, Options{}},
		{"no exit", "interface eth0\n no exit", "2:5", `"exit" cannot be negated`, Options{}},
		{"no no", "no no hostname", "1:4", `"no" cannot be negated`, Options{}},
		{"extra argument", "hostname a b", "1:12", `unexpected argument "b" to "hostname"`, Options{}},
		{"exit argument", "interface eth0\n exit now", "2:7", `unexpected argument "now" to "exit"`, Options{}},
		{"sub-command outside section", " shutdown", "1:2", `indented line outside any section; "shutdown" belongs under a "interface" line`, Options{}},
		{"indented global", "interface eth0\n ip route 10.0.0.0 255.0.0.0 eth0", "2:2", `"ip route" is a global command; it cannot be indented under "interface eth0"`, Options{}},
		{"unindented sub-command", "interface eth0\nip address 10.0.0.1 255.0.0.0", "2:1", `"ip address" is a sub-command of "interface eth0"; indent it`, Options{}},
		{"sub-command at top level", "ip address 10.0.0.1 255.0.0.0", "1:1", `"ip address" is a sub-command of "interface" sections; indent it under one`, Options{}},
		{"wrong section", "crypto ipsec profile P\n mode transport", "2:2", `"mode" is a sub-command of "crypto ipsec transform-set" sections, not of "crypto ipsec profile P"`, Options{}},
		{"tunnel-only on physical", "interface eth0\n tunnel source lo", "2:2", `"tunnel" applies only to Tunnel interfaces; eth0 is a physical interface`, Options{}},
		{"tunnel-only on loopback", "interface Loopback0\n ip mtu 1400", "2:5", `"ip mtu" applies only to Tunnel interfaces; Loopback0 is a loopback interface`, Options{}},
		{"keepalive on physical", "interface eth0\n no keepalive", "2:5", `"keepalive" applies only to Tunnel interfaces`, Options{}},

		// Characters.
		{"control character", "hostname a\x01b", "1:11", "unexpected control character U+0001", Options{}},
		{"no-break space", "hostname\u00a0r1", "1:9", "unexpected white space character U+00A0; use a plain space", Options{}},
		{"zero-width space", "hostname r\u200b1", "1:11", "unexpected invisible character U+200B", Options{}},
		{"invalid utf-8", "hostname \xff", "1:10", "invalid UTF-8", Options{}},

		// Values.
		{"invalid ipv4", base + " tunnel destination 192.0.2.300", "12:21", `invalid IPv4 address "192.0.2.300"`, Options{}},
		{"ipv6 destination with gre ip", base + " tunnel destination 2001:db8::1", "12:21", `Tunnel0: tunnel destination 2001:db8::1 is an IPv6 address, but tunnel mode gre ip (the default) runs over IPv4; add "tunnel mode gre ipv6"`, Options{}},
		{"cidr", "ip route 10.0.0.0/8 192.0.2.1", "1:10", `write the mask: "10.0.0.0 255.0.0.0"`, Options{}},
		{"mask not contiguous", "interface eth0\n ip address 10.0.0.1 255.0.255.0", "2:22", "mask 255.0.255.0 is not contiguous", Options{}},
		{"invalid mask", "interface eth0\n ip address 10.0.0.1 /8", "2:22", `invalid mask "/8"`, Options{}},
		{"out of range", base + " ip mtu 100", "12:9", "MTU 100 out of range 576-9000", Options{}},
		{"not a number", base + " ip tcp adjust-mss lots", "12:20", `invalid MSS "lots": want a number 500-1460`, Options{}},
		{"keepalive retries range", base + " keepalive 10 0", "12:15", "keepalive retries 0 out of range 1-255", Options{}},
		{"tunnel key range", base + " tunnel key 4294967296", "12:13", "tunnel key 4294967296 out of range 0-4294967295", Options{}},
		{"hold-down range", base + " tunnel recursion hold-down 3601", "12:29", "hold-down seconds 3601 out of range 0-3600", Options{}},
		{"host bits", "ip route 10.1.2.3 255.255.0.0 192.0.2.1", "1:10", "prefix 10.1.2.3 has host bits set for mask 255.255.0.0; did you mean 10.1.0.0?", Options{}},
		{"route distance", "ip route 10.0.0.0 255.0.0.0 192.0.2.1 0", "1:39", "distance 0 out of range 1-255", Options{}},
		{"route next hop", "ip route 10.0.0.0 255.0.0.0 224.0.0.1", "1:29", "invalid next hop 224.0.0.1: it is a multicast address", Options{}},
		{"route via null", "ip route 10.0.0.0 255.0.0.0 Null0", "1:29", "Null interfaces (discard routes) are not supported", Options{}},
		{"network address", "interface eth0\n ip address 10.0.0.0 255.255.255.252", "2:13", "10.0.0.0 is the network address of 10.0.0.0/30", Options{}},
		{"broadcast address", "interface eth0\n ip address 10.0.0.3 255.255.255.252", "2:13", "10.0.0.3 is the broadcast address of 10.0.0.0/30", Options{}},
		{"loopback address", "interface eth0\n ip address 127.0.0.1 255.0.0.0", "2:13", "127.0.0.0/8 is reserved", Options{}},
		{"zero mask", "interface eth0\n ip address 10.0.0.1 0.0.0.0", "2:22", "mask 0.0.0.0 is not valid for an interface address", Options{}},
		{"secondary", "interface eth0\n ip address 10.0.0.1 255.0.0.0 secondary", "2:32", "secondary addresses are not supported", Options{}},
		{"bad interface name", "interface GigabitEthernet0/0", "1:11", "cannot contain '/'", Options{}},
		{"interface needs number", "interface Tunnel", "1:11", `interface "Tunnel" needs a number, as in Tunnel0`, Options{}},
		{"invalid hostname", "hostname 1router", "1:10", `invalid hostname "1router": must start with a letter`, Options{}},
		{"description too long", "interface eth0\n description " + strings.Repeat("x", 241), "2:14", "description too long (241 characters; at most 240)", Options{}},
		{"tunnel mode multipoint", base + " tunnel mode gre multipoint", "12:18", "tunnel mode gre multipoint (DMVPN) is not supported", Options{}},
		{"tunnel mode ipsec", base + " tunnel mode ipsec ipv4", "12:14", `tunnel mode ipsec is not supported; use "tunnel mode gre ip" with "tunnel protection ipsec profile"`, Options{}},
		{"tunnel mode typo", base + " tunnel mode gree ip", "12:14", `invalid argument "gree" to "tunnel mode"; did you mean "gre"?`, Options{}},
		{"protection shared", base + " tunnel protection ipsec profile TUNNEL shared", "12:41", "shared tunnel protection is not supported", Options{}},
		{"route-via needs mode", base + " tunnel route-via eth0", "12:9", `incomplete command: "tunnel route-via" needs one of "mandatory" or "preferred"`, Options{}},

		// Weak or unsupported cryptography.
		{"encr des", "crypto isakmp policy 1\n encr des", "2:7", "encryption des is refused: a 56-bit key", Options{}},
		{"encr 3des", "crypto isakmp policy 1\n encr 3des", "2:7", "encryption 3des is refused", Options{}},
		{"encr aes 512", "crypto isakmp policy 1\n encr aes 512", "2:11", `invalid key size "512" for "encryption"; want 128, 192, 256`, Options{}},
		{"hash md5", "crypto isakmp policy 1\n hash md5", "2:7", "hash md5 is refused", Options{}},
		{"group 1", "crypto isakmp policy 1\n group 1", "2:8", "group 1 is a 768-bit MODP group", Options{}},
		{"group 2", "crypto isakmp policy 1\n group 2", "2:8", "group 2 is a 1024-bit MODP group, breakable today; use group 14 or 19-21", Options{}},
		{"group 5", "crypto isakmp policy 1\n group 5", "2:8", "group 5 is a 1536-bit MODP group", Options{}},
		{"group 24", "crypto isakmp policy 1\n group 24", "2:8", "deprecated by RFC 8247", Options{}},
		{"group 17", "crypto isakmp policy 1\n group 17", "2:8", "DH group 17 is not supported", Options{}},
		{"rsa-sig", "crypto isakmp policy 1\n authentication rsa-sig", "2:17", "authentication rsa-sig needs certificates", Options{}},
		{"rsa-encr", "crypto isakmp policy 1\n authentication rsa-encr", "2:17", "authentication rsa-encr is refused", Options{}},
		{"policy lifetime", "crypto isakmp policy 1\n lifetime 59", "2:11", "lifetime seconds 59 out of range 60-86400", Options{}},
		{"policy priority", "crypto isakmp policy 0", "1:22", "policy priority 0 out of range 1-10000", Options{}},
		{"esp-des", "crypto ipsec transform-set T esp-des esp-sha-hmac", "1:30", "esp-des is refused", Options{}},
		{"esp-3des", "crypto ipsec transform-set T esp-3des esp-sha-hmac", "1:30", "esp-3des is refused", Options{}},
		{"esp-md5-hmac", "crypto ipsec transform-set T esp-aes esp-md5-hmac", "1:38", "esp-md5-hmac is refused", Options{}},
		{"esp-null", "crypto ipsec transform-set T esp-null esp-sha-hmac", "1:30", "esp-null is refused: it does not encrypt", Options{}},
		{"ah", "crypto ipsec transform-set T ah-sha-hmac", "1:30", "ah-sha-hmac is not supported", Options{}},
		{"esp-aes alone", "crypto ipsec transform-set T esp-aes 256", "1:30", "esp-aes without an integrity transform is refused", Options{}},
		{"esp-gcm with integrity", "crypto ipsec transform-set T esp-gcm esp-sha256-hmac", "1:38", "esp-gcm authenticates by itself and takes no integrity transform", Options{}},
		{"esp-gcm 192", "crypto ipsec transform-set T esp-gcm 192", "1:38", `invalid key size "192"`, Options{}},
		{"integrity alone", "crypto ipsec transform-set T esp-sha-hmac", "1:30", "has no encryption transform", Options{}},
		{"two ciphers", "crypto ipsec transform-set T esp-aes esp-gcm", "1:38", "more than one encryption transform", Options{}},
		{"no transforms", "crypto ipsec transform-set T", "1:14", `incomplete command: "crypto ipsec transform-set" needs transforms`, Options{}},
		{"pfs group2", "crypto ipsec profile P\n set pfs group2", "2:10", "group 2 is a 1024-bit MODP group", Options{}},
		{"pfs bare number", "crypto ipsec profile P\n set pfs 14", "2:10", `invalid PFS group "14"; write "group14"`, Options{}},
		{"pfs missing", "crypto ipsec profile P\n set pfs", "2:6", "IOS's implicit group1 is too weak", Options{}},
		{"sa lifetime", "crypto ipsec profile P\n set security-association lifetime seconds 119", "2:44", "lifetime seconds 119 out of range 120-86400", Options{}},
		{"sa kilobytes disable", "crypto ipsec profile P\n set security-association lifetime kilobytes disable", "2:46", "volume lifetimes cannot be disabled", Options{}},
		{"too many transform sets", "crypto ipsec profile P\n set transform-set A B C D E F G", "2:32", "at most 6 transform sets per profile", Options{}},
		{"transform set twice", "crypto ipsec profile P\n set transform-set A A", "2:22", `transform set "A" is listed twice`, Options{}},
		{"replay disable", "crypto ipsec security-association replay disable", "1:42", "anti-replay cannot be disabled", Options{}},
		{"replay window", "crypto ipsec security-association replay window-size 100", "1:54", `invalid window size "100"; want 64, 128, 256, 512 or 1024`, Options{}},
		{"global sa lifetime", "crypto ipsec security-association lifetime seconds 3600", "1:35", "global SA lifetimes are not supported", Options{}},
		{"crypto map", "crypto map M 10 ipsec-isakmp", "1:8", "crypto maps are not supported", Options{}},
		{"key type 6", "crypto isakmp key 6 abc address 192.0.2.2", "1:19", "type 6 (encrypted) keys", Options{}},
		{"key by hostname", "crypto isakmp key abc hostname peer", "1:23", "keys by hostname are not supported", Options{}},
		{"key host bits", "crypto isakmp key abc address 10.0.0.1 255.0.0.0", "1:31", "peer 10.0.0.1 has host bits set for mask 255.0.0.0; did you mean 10.0.0.0?", Options{}},
		{"key too long", "crypto isakmp key " + strings.Repeat("k", 129) + " address 0.0.0.0", "1:19", "key too long (129 characters; at most 128)", Options{}},
		{"dpd range", "crypto isakmp keepalive 5", "1:25", "keepalive seconds 5 out of range 10-3600", Options{}},
		{"dpd mode", "crypto isakmp keepalive 10 2 sometimes", "1:30", `invalid argument "sometimes" to "crypto isakmp keepalive"`, Options{}},
		{"nat keepalive range", "crypto isakmp nat keepalive 4", "1:29", "NAT keepalive seconds 4 out of range 5-3600", Options{}},

		// Duplicates.
		{"duplicate policy", "crypto isakmp policy 10\ncrypto isakmp policy 10", "2:22", "duplicate crypto isakmp policy 10 (first at line 1)", Options{}},
		{"duplicate transform-set", "crypto ipsec transform-set T esp-gcm\ncrypto ipsec transform-set T esp-gcm 256", "2:28", `duplicate crypto ipsec transform-set "T" (first at line 1)`, Options{}},

		// References and semantics.
		{"undefined profile", strings.Replace(base, "protection ipsec profile TUNNEL\n", "protection ipsec profile TUNNL\n", 1), "11:34", `Tunnel0: crypto ipsec profile "TUNNL" is not defined; did you mean "TUNNEL"?`, Options{}},
		{"undefined profile no hint", strings.Replace(base, "protection ipsec profile TUNNEL\n", "protection ipsec profile X\n", 1), "11:34", `define it with "crypto ipsec profile X"`, Options{}},
		{"undefined transform-set", strings.Replace(base, "set transform-set TRANSFORM", "set transform-set TRANSFROM", 1), "5:20", `crypto ipsec transform-set "TRANSFROM" is not defined; did you mean "TRANSFORM"?`, Options{}},
		{"profile without transform set", strings.Replace(base, " set transform-set TRANSFORM\n", "", 1), "10:34", `Tunnel0: crypto ipsec profile TUNNEL has no "set transform-set"`, Options{}},
		{"no isakmp policy", strings.Replace(base, "crypto isakmp policy 10\n", "", 1), "10:34", `tunnel protection needs at least one "crypto isakmp policy"`, Options{}},
		{"no isakmp key", strings.Replace(base, "address 192.0.2.2", "address 192.0.2.3", 1), "11:34", `Tunnel0: no crypto isakmp key matches peer 192.0.2.2; add "crypto isakmp key KEY address 192.0.2.2"`, Options{}},
		{"no source", strings.Replace(base, " tunnel source Loopback0\n", "", 1), "8:1", `Tunnel0 has no "tunnel source"`, Options{}},
		{"no destination", "interface Tunnel0\n tunnel source 192.0.2.1", "1:1", `Tunnel0 has no "tunnel destination"; configure one or "shutdown" the tunnel`, Options{}},
		{"source is destination", "interface Tunnel0\n tunnel source 192.0.2.1\n tunnel destination 192.0.2.1", "3:21", "tunnel destination 192.0.2.1 is the tunnel source address", Options{}},
		{"source interface is destination", strings.Replace(base, "destination 192.0.2.2", "destination 192.0.2.1", 1), "10:21", "is the tunnel source address", Options{}},
		{"destination is own address", "interface eth0\n ip address 198.51.100.1 255.255.255.0\ninterface Tunnel0\n tunnel source 192.0.2.1\n tunnel destination 198.51.100.1", "5:21", "tunnel destination 198.51.100.1 is an address of this router (eth0)", Options{}},
		{"sourced from itself", "interface Tunnel0\n tunnel source Tunnel0\n tunnel destination 192.0.2.2", "2:16", "Tunnel0 cannot be its own tunnel source", Options{}},
		{"sourced from a tunnel", "interface Tunnel1\n shutdown\ninterface Tunnel0\n tunnel source Tunnel1\n tunnel destination 192.0.2.2", "4:16", "tunnel source Tunnel1 is a tunnel", Options{}},
		{"source loopback missing", "interface Tunnel0\n tunnel source Loopback9\n tunnel destination 192.0.2.2", "2:16", `interface Loopback9 is not configured; add an "interface Loopback9" section`, Options{}},
		{"source not on host", "interface Tunnel0\n tunnel source eth9\n tunnel destination 192.0.2.2", "2:16", "Tunnel0: tunnel source: interface eth9 does not exist on this host", Options{InterfaceExists: func(n string) bool { return n == "eth0" }}},
		{"interface not on host", "interface eth9", "1:11", "interface eth9 does not exist on this host", Options{InterfaceExists: func(n string) bool { return n == "eth0" }}},
		{"route via missing tunnel", "ip route 10.0.0.0 255.0.0.0 Tunnel5", "1:29", "ip route 10.0.0.0/8: interface Tunnel5 is not configured", Options{}},
		{"route via interface not on host", "ip route 10.0.0.0 255.0.0.0 eth9 192.0.2.1", "1:29", "interface eth9 does not exist on this host", Options{InterfaceExists: func(string) bool { return false }}},
		{"route-via tunnel", base + " tunnel route-via Tunnel0 mandatory", "12:19", "the underlay must leave through a physical interface, not a tunnel", Options{}},
		{"route-via loopback", base + " tunnel route-via Loopback0 preferred", "12:19", "not a loopback", Options{}},
		{"route-via unknown", base + " tunnel route-via eth7 preferred", "12:19", "interface eth7 does not exist on this host", Options{InterfaceExists: func(string) bool { return false }}},
		{"demux", "interface Tunnel0\n tunnel source 192.0.2.1\n tunnel destination 192.0.2.2\ninterface Loopback0\n ip address 192.0.2.1 255.255.255.255\ninterface Tunnel1\n tunnel source Loopback0\n tunnel destination 192.0.2.2",
			"8:21", "Tunnel1 has the same source, destination and key as Tunnel0", Options{}},
		{"overlap", "interface eth0\n ip address 10.0.0.1 255.255.255.0\ninterface Tunnel0\n shutdown\n ip address 10.0.0.5 255.255.255.252", "5:13", "Tunnel0: 10.0.0.5/30 overlaps eth0's 10.0.0.1/24", Options{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, diags := Parse("t.conf", []byte(tt.src), tt.opts)
			if c != nil {
				t.Errorf("got a Config despite errors")
			}
			if !hasDiag(diags, Error, tt.pos, tt.msg) {
				t.Errorf("want error t.conf:%s: ...%s...; got:\n%s", tt.pos, tt.msg, diags)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		name string
		src  string
		pos  string
		msg  string
	}{
		{"recursion advice", "ip route 192.0.2.0 255.255.255.0 198.51.100.254\ninterface Tunnel0\n tunnel source 198.51.100.1\n tunnel destination 192.0.2.2",
			"4:21", `Tunnel0: destination 192.0.2.2 is reached only through 192.0.2.0/24 (less specific than /32); a route learned over the tunnel could make it recursive: add "ip route 192.0.2.2 255.255.255.255 198.51.100.254"`},
		{"recursion advice without next hop", "ip route 192.0.0.0 255.255.0.0 eth0\ninterface Tunnel0\n tunnel source 198.51.100.1\n tunnel destination 192.0.2.2",
			"4:21", `add "ip route 192.0.2.2 255.255.255.255 <next-hop>"`},
		{"recursion advice on default route", "ip route 0.0.0.0 0.0.0.0 198.51.100.254\ninterface Tunnel0\n tunnel source 198.51.100.1\n tunnel destination 192.0.2.2",
			"4:21", "reached only through 0.0.0.0/0"},
		{"recursive through a tunnel", "interface Tunnel1\n shutdown\nip route 192.0.2.0 255.255.255.0 Tunnel1\ninterface Tunnel0\n tunnel source 198.51.100.1\n tunnel destination 192.0.2.2",
			"6:21", "Tunnel0: destination 192.0.2.2 is routed through Tunnel1 (192.0.2.0/24): recursive routing"},
		{"recursive through itself", "interface Tunnel0\n ip address 10.0.0.1 255.255.255.0\n tunnel source 198.51.100.1\n tunnel destination 10.0.0.2",
			"4:21", "routed through Tunnel0 itself (10.0.0.0/24)"},
		{"duplicate route", "ip route 10.0.0.0 255.0.0.0 192.0.2.1\nip route 10.0.0.0 255.0.0.0 192.0.2.1", "2:1", "duplicate of the route at line 1; ignored"},
		{"distance changed", "ip route 10.0.0.0 255.0.0.0 192.0.2.1\nip route 10.0.0.0 255.0.0.0 192.0.2.1 5", "2:1", "changes the distance of the route at line 1 from 1 to 5"},
		{"key replaced", "crypto isakmp key a address 192.0.2.2\ncrypto isakmp key b address 192.0.2.2", "2:29", "replaces the key for 192.0.2.2 at line 1"},
		{"short key", "crypto isakmp key Secret123 address 192.0.2.2", "1:19", "pre-shared key of 9 characters is short: an attacker who can answer as the peer can guess it offline; use at least 16 random characters"},
		{"no removes nothing", "no ip route 10.0.0.0 255.0.0.0 192.0.2.1", "1:13", "nothing to remove"},
		{"no interface removes nothing", "no interface Tunnel3", "1:14", "nothing to remove: interface Tunnel3 is not configured"},
		{"lines after end", "hostname a\nend\nhostname b\n!\nfoo", "3:1", `ignoring 2 line(s) after "end"`},
		{"loopback without address", "interface Loopback0\ninterface Tunnel0\n tunnel source Loopback0\n tunnel destination 192.0.2.2", "3:16", "tunnel source Loopback0 has no ip address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, diags := Parse("t.conf", []byte(tt.src), Options{})
			if c == nil {
				t.Fatalf("no Config; diagnostics:\n%s", diags)
			}
			if !hasDiag(diags, Warning, tt.pos, tt.msg) {
				t.Errorf("want warning t.conf:%s: ...%s...; got:\n%s", tt.pos, tt.msg, diags)
			}
		})
	}
}

func TestRouteViaMandatorySilencesRecursionAdvice(t *testing.T) {
	src := "ip route 192.0.2.0 255.255.255.0 198.51.100.254\ninterface eth0\ninterface Tunnel0\n tunnel source 198.51.100.1\n tunnel destination 192.0.2.2\n tunnel route-via eth0 mandatory\n"
	c, diags := Parse("t.conf", []byte(src), Options{})
	if c == nil || len(diags) != 0 {
		t.Errorf("route-via mandatory pins the underlay, no advice expected; got:\n%s", diags)
	}
	preferred := strings.Replace(src, "mandatory", "preferred", 1)
	if _, diags := Parse("t.conf", []byte(preferred), Options{}); !hasDiag(diags, Warning, "5:21", "less specific than /32") {
		t.Errorf("route-via preferred can still fall back: advice expected; got:\n%s", diags)
	}
}

func TestReferenceHasNoRecursionWarning(t *testing.T) {
	// The /32 to the peer is exactly what the advice asks for.
	if _, diags := Parse("r.conf", readFile(t, "testdata/reference.conf"), Options{}); len(diags) != 0 {
		t.Errorf("diagnostics:\n%s", diags)
	}
}

// TestAllErrorsInOnePass checks that parsing goes on after each error and
// that diagnostics come out in file order.
func TestAllErrorsInOnePass(t *testing.T) {
	src := strings.Join([]string{
		"hostname left",                           // 1
		"interface Tunnel0",                       // 2
		" tunel source Loopback0",                 // 3
		" tunnel destination 1.2.3",               // 4
		" ip mtu 100",                             // 5
		"crypto isakmp policy 10",                 // 6
		" group 2",                                // 7
		" hash md5",                               // 8
		"ip route 10.1.2.3 255.255.0.0 192.0.2.1", // 9
		" shutdown",                               // 10
		"ip route 10.0.0.0 255.0.0.0 Tunnel7",     // 11
	}, "\n")
	c, diags := Parse("t.conf", []byte(src), Options{})
	if c != nil {
		t.Fatal("got a Config")
	}
	want := []string{
		"t.conf:2:1: Tunnel0 has no \"tunnel source\"",
		"t.conf:2:1: Tunnel0 has no \"tunnel destination\"",
		"t.conf:3:2: unknown command \"tunel\"; did you mean \"tunnel\"?",
		"t.conf:4:21: invalid IPv4 address \"1.2.3\"",
		"t.conf:5:9: MTU 100 out of range",
		"t.conf:7:8: group 2 is a 1024-bit MODP group",
		"t.conf:8:7: hash md5 is refused",
		"t.conf:9:10: prefix 10.1.2.3 has host bits set",
		"t.conf:10:2: indented line outside any section",
		"t.conf:11:29: ip route 10.0.0.0/8: interface Tunnel7 is not configured",
	}
	if len(diags) != len(want) {
		t.Fatalf("got %d diagnostics, want %d:\n%s", len(diags), len(want), diags)
	}
	for i, d := range diags {
		if !strings.HasPrefix(d.Error(), want[i]) {
			t.Errorf("diagnostic %d = %q, want prefix %q", i, d.Error(), want[i])
		}
	}
}

// TestMissingIndentKeepsSection checks that one unindented sub-command is
// one error, not one more for every line of the section after it.
func TestMissingIndentKeepsSection(t *testing.T) {
	_, diags := Parse("t.conf", []byte("interface Tunnel0\n shutdown\ntunnel source Loopback0\n tunnel key 5\n keepalive\n"), Options{})
	if len(diags) != 1 || !strings.HasPrefix(diags[0].Error(), `t.conf:3:1: "tunnel source" is a sub-command of "interface Tunnel0"; indent it`) {
		t.Errorf("diagnostics:\n%s", diags)
	}
}

func TestDidYouMean(t *testing.T) {
	tests := []struct{ src, want string }{
		{"interfce eth0", `did you mean "interface"?`},
		{"crypto isakmp polcy 10", `did you mean "crypto isakmp policy"?`},
		{"crypto ipsec transfrom-set T esp-gcm", `did you mean "crypto ipsec transform-set"?`},
		{"crypto ipsec transform-set T esp-gmc", `did you mean "esp-gcm"?`},
		{"interface Tunnel0\n tunnel protetcion ipsec profile P", `did you mean "tunnel protection"?`},
		{"interface Tunnel0\n tunnel route-vai eth0 mandatory", `did you mean "tunnel route-via"?`},
		{"interface Tunnel0\n tunnel route-via eth0 mandatroy", `did you mean "mandatory"?`},
		{"crypto isakmp policy 1\n hash sha265", `did you mean "sha256"?`},
		{"crypto isakmp policy 1\n autentication pre-share", `did you mean "authentication"?`},
		{"crypto ipsec profile P\n set transfom-set T", `did you mean "set transform-set"?`},
		{"ip rute 10.0.0.0 255.0.0.0 192.0.2.1", `did you mean "ip route"?`},
	}
	for _, tt := range tests {
		_, diags := Parse("t.conf", []byte(tt.src), Options{})
		found := false
		for _, d := range diags {
			found = found || strings.Contains(d.Msg, tt.want)
		}
		if !found {
			t.Errorf("%q: want %q in:\n%s", tt.src, tt.want, diags)
		}
	}
	if got := suggest("xyzzy", []string{"interface", "hostname"}); got != "" {
		t.Errorf("suggest(unrelated) = %q", got)
	}
}
