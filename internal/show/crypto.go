package show

import (
	"fmt"
	"io"

	"github.com/gresec/gresec/internal/api"
)

// IPsecSAs writes `show crypto ipsec sa` as IOS does.
func IPsecSAs(w io.Writer, sas api.IPsecSAs) {
	for _, t := range sas.Tunnels {
		fmt.Fprintf(w, "\ninterface: %s\n", t.Interface)
		fmt.Fprintf(w, "    Crypto map tag: %s, local addr %s\n\n", t.MapTag, t.LocalAddr)
		fmt.Fprintf(w, "   protected vrf: (none)\n")
		fmt.Fprintf(w, "   local  ident (addr/mask/prot/port): %s\n", t.LocalIdent)
		fmt.Fprintf(w, "   remote ident (addr/mask/prot/port): %s\n", t.RemoteIdent)
		fmt.Fprintf(w, "   current_peer %s port %d\n", t.Peer, t.PeerPort)
		fmt.Fprintf(w, "     PERMIT, flags={origin_is_acl,}\n")
		fmt.Fprintf(w, "    #pkts encaps: %d, #pkts encrypt: %d, #pkts digest: %d\n", t.Encaps, t.Encrypt, t.Digest)
		fmt.Fprintf(w, "    #pkts decaps: %d, #pkts decrypt: %d, #pkts verify: %d\n", t.Decaps, t.Decrypt, t.Verify)
		fmt.Fprintf(w, "    #send errors %d, #recv errors %d\n", t.SendErrors, t.RecvErrors)
		fmt.Fprintf(w, "    #pkts replay failed: %d, #pkts auth failed: %d\n", t.ReplayFailures, t.AuthFailures)
		fmt.Fprintf(w, "    #pkts dropped without SA (fail closed): %d, #clear GRE dropped: %d\n\n", t.DroppedNoSA, t.DroppedClear)
		fmt.Fprintf(w, "     local crypto endpt.: %s, remote crypto endpt.: %s\n", t.LocalAddr, t.Peer)
		fmt.Fprintf(w, "     plaintext mtu %d, path mtu %d\n", t.PlaintextMTU, t.PathMTU)
		fmt.Fprintf(w, "     current outbound spi: 0x%X(%d)\n", t.OutboundSPI, t.OutboundSPI)
		fmt.Fprintf(w, "     PFS (Y/N): %s\n", t.PFS)
		saBlock(w, "inbound", t.Inbound)
		saBlock(w, "outbound", t.Outbound)
	}
}

func saBlock(w io.Writer, dir string, sas []api.IPsecSA) {
	fmt.Fprintf(w, "\n     %s esp sas:\n", dir)
	for _, sa := range sas {
		fmt.Fprintf(w, "      spi: 0x%X(%d)\n", sa.SPI, sa.SPI)
		fmt.Fprintf(w, "        transform: %s ,\n", sa.Transform)
		fmt.Fprintf(w, "        in use settings ={%s, }\n", sa.Mode)
		fmt.Fprintf(w, "        sa timing: remaining key lifetime (k/sec): (%d/%d)\n", sa.RemainingKB, sa.RemainingSeconds)
		if sa.ReplayWindow > 0 {
			fmt.Fprintf(w, "        replay detection support: Y, window size %d\n", sa.ReplayWindow)
		}
		fmt.Fprintf(w, "        Status: %s\n", sa.Status)
	}
}
