package show

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gresec/gresec/internal/api"
)

// TestCryptoViewsRenderSelectors: the API carries selectors and PFS as
// values; the views write them in IOS's layouts, whose field orders
// differ (ipsec sa: addr/mask/prot/port; crypto socket: addr/mask/port/prot).
func TestCryptoViewsRenderSelectors(t *testing.T) {
	var b bytes.Buffer
	IPsecSAs(&b, api.IPsecSAs{Tunnels: []api.IPsecTunnel{{
		Interface: "Tunnel0", LocalIdent: api.HostGRE("192.0.2.1"), RemoteIdent: api.HostGRE("192.0.2.2"), PFSGroup: 14,
	}}})
	Sockets(&b, api.CryptoSockets{Sockets: []api.CryptoSocket{{
		Interface: "Tunnel0", LocalIdent: api.HostGRE("192.0.2.1"), RemoteIdent: api.HostGRE("192.0.2.2"),
	}}})
	CryptoMaps(&b, api.CryptoMaps{Maps: []api.CryptoMap{{
		Tag: "Tunnel0-head-0", ACL: api.HostGRE("192.0.2.1"), ACLDest: api.HostGRE("192.0.2.2"),
	}}})
	out := b.String()
	for _, want := range []string{
		"   local  ident (addr/mask/prot/port): (192.0.2.1/255.255.255.255/47/0)\n",
		"   remote ident (addr/mask/prot/port): (192.0.2.2/255.255.255.255/47/0)\n",
		"     PFS (Y/N): Y, DH group: group14\n",
		"       Local Ident  (addr/mask/port/prot): (192.0.2.1/255.255.255.255/0/47)\n",
		"       Remote Ident (addr/mask/port/prot): (192.0.2.2/255.255.255.255/0/47)\n",
		"            access-list  permit gre host 192.0.2.1 host 192.0.2.2\n",
		"        PFS (Y/N): N\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}
