package show

import (
	"fmt"
	"io"
	"strings"

	"github.com/gresec/gresec/internal/api"
)

// IPsecSAs writes `show crypto ipsec sa` as IOS does.
func IPsecSAs(w io.Writer, sas api.IPsecSAs) {
	for _, t := range sas.Tunnels {
		fmt.Fprintf(w, "\ninterface: %s\n", t.Interface)
		fmt.Fprintf(w, "    Crypto map tag: %s, local addr %s\n\n", t.MapTag, t.LocalAddr)
		fmt.Fprintf(w, "   protected vrf: (none)\n")
		// IOS's words for an IPv6 selector.
		head := "addr/mask/prot/port"
		if strings.Contains(t.LocalIdent.Addr, ":") {
			head = "addr/prefixlen/proto/port"
		}
		fmt.Fprintf(w, "   local  ident (%s): %s\n", head, protPort(t.LocalIdent))
		fmt.Fprintf(w, "   remote ident (%s): %s\n", head, protPort(t.RemoteIdent))
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
		pfs := "N, DH group: none"
		if t.PFSGroup != 0 {
			pfs = fmt.Sprintf("Y, DH group: group%d", t.PFSGroup)
		}
		fmt.Fprintf(w, "     PFS (Y/N): %s\n", pfs)
		saBlock(w, "inbound", t.Inbound)
		saBlock(w, "outbound", t.Outbound)
	}
}

func saBlock(w io.Writer, dir string, sas []api.IPsecSA) {
	fmt.Fprintf(w, "\n     %s esp sas:\n", dir)
	for _, sa := range sas {
		fmt.Fprintf(w, "      spi: 0x%X(%d)\n", sa.SPI, sa.SPI)
		fmt.Fprintf(w, "        transform: %s ,\n", sa.Transform)
		fmt.Fprintf(w, "        in use settings ={%s, }\n", SAMode(sa))
		fmt.Fprintf(w, "        sa timing: remaining key lifetime (k/sec): (%d/%d)\n", sa.RemainingKB, sa.RemainingSeconds)
		if sa.ReplayWindow > 0 {
			fmt.Fprintf(w, "        replay detection support: Y, window size %d\n", sa.ReplayWindow)
		}
		status := "ACTIVE"
		if sa.Retiring {
			status = "ACTIVE (retiring after rekey)"
		}
		fmt.Fprintf(w, "        Status: %s\n", status)
	}
}

// ISAKMPSAs writes `show crypto isakmp sa`.
func ISAKMPSAs(w io.Writer, sas api.ISAKMPSAs) {
	v4, v6 := splitFamilies(sas.SAs)
	fmt.Fprintf(w, "IPv4 Crypto ISAKMP SA\n")
	fmt.Fprintf(w, "%-15s %-15s %-14s %7s %s\n", "dst", "src", "state", "conn-id", "status")
	for _, s := range v4 {
		fmt.Fprintf(w, "%-15s %-15s %-14s %7d %s\n", s.Dst, s.Src, s.State, s.ConnID, s.Status)
	}
	if len(v6) == 0 {
		return
	}
	// IPv6 addresses do not fit the columns: IOS gives each its line.
	fmt.Fprintf(w, "\nIPv6 Crypto ISAKMP SA\n")
	for _, s := range v6 {
		fmt.Fprintf(w, "\n dst: %s\n src: %s\n state: %-14s conn-id: %6d status: %s\n", upper(s.Dst), upper(s.Src), s.State, s.ConnID, s.Status)
	}
}

// splitFamilies separates the SAs between IPv4 and IPv6 peers.
func splitFamilies(sas []api.ISAKMPSA) (v4, v6 []api.ISAKMPSA) {
	for _, s := range sas {
		if strings.Contains(s.Dst, ":") {
			v6 = append(v6, s)
		} else {
			v4 = append(v4, s)
		}
	}
	return v4, v6
}

// ISAKMPSAsDetail writes `show crypto isakmp sa detail`.
func ISAKMPSAsDetail(w io.Writer, sas api.ISAKMPSAs) {
	fmt.Fprintf(w, "Codes: D - Dead Peer Detection, N - NAT-traversal, psk - Preshared key\n\n")
	v4, v6 := splitFamilies(sas.SAs)
	for _, fam := range []struct {
		name string
		sas  []api.ISAKMPSA
	}{{"IPv4", v4}, {"IPv6", v6}} {
		if fam.name == "IPv6" && len(fam.sas) == 0 {
			break
		}
		if fam.name == "IPv6" {
			fmt.Fprintln(w)
		}
		isakmpDetail(w, fam.name, fam.sas)
	}
}

// isakmpDetail writes one family's section of `show crypto isakmp sa
// detail`; an IPv6 SA's addresses get a line each, as IOS writes them.
func isakmpDetail(w io.Writer, family string, sas []api.ISAKMPSA) {
	fmt.Fprintf(w, "%s Crypto ISAKMP SA\n\n", family)
	v6 := family == "IPv6"
	if v6 {
		fmt.Fprintf(w, "%-5s %-6s %-4s %-6s %-4s %-2s %-9s %s\n", "C-id", "Status", "Encr", "Hash", "Auth", "DH", "Lifetime", "Cap.")
	} else {
		fmt.Fprintf(w, "%-5s %-15s %-15s %-6s %-4s %-6s %-4s %-2s %-9s %s\n", "C-id", "Local", "Remote", "Status", "Encr", "Hash", "Auth", "DH", "Lifetime", "Cap.")
	}
	for _, s := range sas {
		caps := ""
		if s.DPD {
			caps += "D"
		}
		if s.NATT {
			caps += "N"
		}
		life := fmt.Sprintf("%02d:%02d:%02d", s.LifetimeSeconds/3600, s.LifetimeSeconds/60%60, s.LifetimeSeconds%60)
		encr := fmt.Sprintf("%s%d", s.Cipher, s.KeyBits)
		if v6 {
			fmt.Fprintf(w, "%-5d %-6s %-4s %-6s %-4s %-2d %-9s %s\n", s.ConnID, s.Status, encr, s.Hash, s.Auth, s.Group, life, caps)
			fmt.Fprintf(w, "      Local %s\n      Remote %s\n", upper(s.Local), upper(s.Remote))
		} else {
			fmt.Fprintf(w, "%-5d %-15s %-15s %-6s %-4s %-6s %-4s %-2d %-9s %s\n", s.ConnID, s.Local, s.Remote, s.Status,
				encr, s.Hash, s.Auth, s.Group, life, caps)
		}
		fmt.Fprintf(w, "      State %s, %s, cookies %s:%s\n", s.State, map[bool]string{true: "initiator", false: "responder"}[s.Initiator], s.InitiatorCookie, s.ResponderCookie)
		if s.NATT {
			fmt.Fprintf(w, "      NAT-T: local behind NAT %v, remote behind NAT %v\n", s.LocalBehindNAT, s.RemoteBehindNAT)
		}
	}
}

// Sessions writes `show crypto session`.
func Sessions(w io.Writer, ss api.CryptoSessions) {
	fmt.Fprintf(w, "Crypto session current status\n")
	for _, s := range ss.Sessions {
		fmt.Fprintf(w, "\nInterface: %s\n", s.Interface)
		fmt.Fprintf(w, "Session status: %s\n", s.Status)
		fmt.Fprintf(w, "Peer: %s port %d\n", s.Peer, s.PeerPort)
		if s.IKEVersion == 2 {
			for _, ike := range s.IKEv2SAs {
				state := "Inactive"
				if ike.Active {
					state = "Active"
				}
				fmt.Fprintf(w, "  IKEv2 SA: local %s remote %s %s\n", hostPort(ike.Local, ike.LocalPort), hostPort(ike.Remote, ike.RemotePort), state)
			}
		} else {
			fmt.Fprintf(w, "  IKEv1 SAs: %d\n", s.ISAKMPSAs)
		}
		fmt.Fprintf(w, "  IPSEC FLOW: permit 47 host %s host %s\n", s.Local, s.Remote)
		fmt.Fprintf(w, "        Active SAs: %d, origin: crypto map\n", s.ActiveSAs)
	}
}

// CryptoMaps writes `show crypto map`.
func CryptoMaps(w io.Writer, ms api.CryptoMaps) {
	for _, m := range ms.Maps {
		family := "IPv4"
		if strings.Contains(m.Peer, ":") {
			family = "IPv6"
		}
		fmt.Fprintf(w, "Crypto Map %s %q 65536 ipsec-isakmp\n", family, m.Tag)
		fmt.Fprintf(w, "        Map is a PROFILE INSTANCE.\n")
		fmt.Fprintf(w, "        Profile name: %s\n", m.Profile)
		fmt.Fprintf(w, "        Peer = %s\n", m.Peer)
		fmt.Fprintf(w, "        Extended IP access list\n")
		fmt.Fprintf(w, "            access-list  permit %s host %s host %s\n", protoName(m.ACL.Protocol), m.ACL.Addr, m.ACLDest.Addr)
		fmt.Fprintf(w, "        Security association lifetime: %d kilobytes/%d seconds\n", m.LifetimeKB, m.LifetimeSeconds)
		pfs := "N"
		if m.PFSGroup != 0 {
			pfs = fmt.Sprintf("Y, group%d", m.PFSGroup)
		}
		fmt.Fprintf(w, "        PFS (Y/N): %s\n", pfs)
		fmt.Fprintf(w, "        Transform sets={\n")
		for _, ts := range m.TransformSets {
			fmt.Fprintf(w, "                %s,\n", ts)
		}
		fmt.Fprintf(w, "        }\n")
		fmt.Fprintf(w, "        Interfaces using crypto map %s:\n                %s\n\n", m.Tag, m.Interface)
	}
}

// Sockets writes `show crypto socket`.
func Sockets(w io.Writer, ss api.CryptoSockets) {
	fmt.Fprintf(w, "\nNumber of Crypto Socket connections %d\n", len(ss.Sockets))
	for _, s := range ss.Sockets {
		fmt.Fprintf(w, "   %s Peers (local/remote): %s/%s\n", s.Interface, s.Local, s.Remote)
		fmt.Fprintf(w, "       Local Ident  (addr/mask/port/prot): %s\n", portProt(s.LocalIdent))
		fmt.Fprintf(w, "       Remote Ident (addr/mask/port/prot): %s\n", portProt(s.RemoteIdent))
		fmt.Fprintf(w, "       IPSec Profile: %q\n", s.Profile)
		fmt.Fprintf(w, "       Socket State: %s\n", s.State)
		fmt.Fprintf(w, "       Client: \"TUNNEL SECURITY\" (Client State: Active)\n")
	}
	fmt.Fprintf(w, "Crypto Sockets in Listen state:\n")
	for _, s := range ss.Sockets {
		fmt.Fprintf(w, "Client: \"TUNNEL SECURITY\" Profile: %q Map-name: %q\n", s.Profile, s.MapTag)
	}
}

// protPort writes a selector as `show crypto ipsec sa` does:
// (addr/mask/prot/port).
func protPort(s api.Selector) string {
	return fmt.Sprintf("(%s/%s/%d/%d)", s.Addr, s.Mask, s.Protocol, s.Port)
}

// portProt writes a selector as `show crypto socket` does:
// (addr/mask/port/prot).
func portProt(s api.Selector) string {
	return fmt.Sprintf("(%s/%s/%d/%d)", s.Addr, s.Mask, s.Port, s.Protocol)
}

// protoName names an IP protocol as IOS access lists do.
func protoName(p int) string {
	switch p {
	case 0:
		return "ip"
	case 47:
		return "gre"
	case 50:
		return "esp"
	case 6:
		return "tcp"
	case 17:
		return "udp"
	}
	return fmt.Sprintf("%d", p)
}

// SAMode writes an SA's mode as IOS's "in use settings" do: Transport or
// Tunnel, with UDP-Encaps for ESP in UDP.
func SAMode(sa api.IPsecSA) string {
	m := "Transport"
	if sa.Mode == "tunnel" {
		m = "Tunnel"
	}
	if sa.UDPEncap {
		m += " UDP-Encaps"
	}
	return m
}
