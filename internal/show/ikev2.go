package show

import (
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/gresec/gresec/internal/api"
)

// IKEv2SAs writes `show crypto ikev2 sa` as IOS does: the IPv4 IKE SAs,
// then the IPv6 ones, each under its heading.
func IKEv2SAs(w io.Writer, sas api.IKEv2SAs) { ikev2SAs(w, sas, false) }

// IKEv2SAsDetailed writes `show crypto ikev2 sa detailed`.
func IKEv2SAsDetailed(w io.Writer, sas api.IKEv2SAs) { ikev2SAs(w, sas, true) }

func ikev2SAs(w io.Writer, sas api.IKEv2SAs, detailed bool) {
	for _, family := range []string{"IPv4", "IPv6"} {
		fmt.Fprintf(w, " %s Crypto IKEv2  SA \n\n", family)
		for _, sa := range sas.SAs {
			if addrFamily(sa.Local) != family {
				continue
			}
			ikev2SA(w, sa, detailed)
			fmt.Fprintln(w)
		}
	}
}

// IKEv2Sessions writes `show crypto ikev2 session`: per peer, its IKE SAs
// and then their CHILD_SAs.
func IKEv2Sessions(w io.Writer, ss api.IKEv2Sessions) { ikev2Sessions(w, ss, false) }

// IKEv2SessionsDetailed writes `show crypto ikev2 session detailed`.
func IKEv2SessionsDetailed(w io.Writer, ss api.IKEv2Sessions) { ikev2Sessions(w, ss, true) }

func ikev2Sessions(w io.Writer, ss api.IKEv2Sessions, detailed bool) {
	for _, family := range []string{"IPv4", "IPv6"} {
		fmt.Fprintf(w, " %s Crypto IKEv2 Session \n\n", family)
		for _, s := range ss.Sessions {
			if len(s.SAs) == 0 || addrFamily(s.SAs[0].Local) != family {
				continue
			}
			children := 0
			for _, sa := range s.SAs {
				children += len(sa.Children)
			}
			fmt.Fprintf(w, "Session-id:%d, Status:%s, IKE count:%d, CHILD count:%d\n\n", s.SessionID, s.Status, len(s.SAs), children)
			for _, sa := range s.SAs {
				ikev2SA(w, sa, detailed)
			}
			for _, sa := range s.SAs {
				for _, c := range sa.Children {
					childSA(w, c, detailed)
				}
			}
			fmt.Fprintln(w)
		}
	}
}

// ikev2SA writes one IKE SA: its row under the column headings, the
// algorithms and times, and in the detailed form everything else IOS
// lists that gresec has.
func ikev2SA(w io.Writer, sa api.IKEv2SA, detailed bool) {
	fmt.Fprintf(w, "%-10s%-22s%-22s%-21s%-7s\n", "Tunnel-id", "Local", "Remote", "fvrf/ivrf", "Status")
	fmt.Fprintf(w, "%-10d%-22s%-22s%-21s%-7s\n", sa.TunnelID, hostPort(sa.Local, sa.LocalPort), hostPort(sa.Remote, sa.RemotePort), "none/none", sa.Status)
	fmt.Fprintf(w, "      Encr: %s, keysize: %d, PRF: %s, Hash: %s, DH Grp:%d, Auth sign: %s, Auth verify: %s\n",
		unknown(sa.Encryption), sa.KeyBits, unknown(sa.PRF), hashName(sa.Integrity), sa.Group, unknown(sa.AuthSign), unknown(sa.AuthVerify))
	fmt.Fprintf(w, "      Life/Active Time: %d/%d sec\n", sa.LifetimeSeconds, sa.ActiveSeconds)
	if !detailed {
		return
	}
	// IOS's software crypto engine numbers its connections from 1001;
	// gresec gives each IKE SA the one that goes with its Tunnel-id.
	fmt.Fprintf(w, "      CE id: %d, Session-id: %d\n", 1000+sa.TunnelID, sa.SessionID)
	fmt.Fprintf(w, "      Status Description: %s\n", statusDescription(sa.Status))
	fmt.Fprintf(w, "      Local spi: %s       Remote spi: %s\n", strings.ToUpper(sa.LocalSPI), strings.ToUpper(sa.RemoteSPI))
	fmt.Fprintf(w, "      Local id: %s\n", sa.LocalID)
	fmt.Fprintf(w, "      Remote id: %s\n", sa.RemoteID)
	// With a window of one and no queue behind it, the IDs of the
	// current request, the next one and the last queued are one number.
	fmt.Fprintf(w, "      Local req msg id:  %-15dRemote req msg id:  %d\n", sa.LocalNextMID, sa.RemoteNextMID)
	fmt.Fprintf(w, "      Local next msg id: %-15dRemote next msg id: %d\n", sa.LocalNextMID, sa.RemoteNextMID)
	fmt.Fprintf(w, "      Local req queued:  %-15dRemote req queued:  %d\n", sa.LocalNextMID, sa.RemoteNextMID)
	fmt.Fprintf(w, "      Local window:      %-15dRemote window:      %d\n", sa.Window, sa.Window)
	fmt.Fprintf(w, "      DPD configured for %d seconds, retry %d\n", sa.DPDInterval, sa.DPDRetry)
	fmt.Fprintf(w, "      Fragmentation not  configured.\n")
	fmt.Fprintf(w, "      Extended Authentication not configured.\n")
	switch {
	case sa.LocalBehindNAT:
		fmt.Fprintf(w, "      NAT-T is detected inside\n")
	case sa.RemoteBehindNAT:
		fmt.Fprintf(w, "      NAT-T is detected outside\n")
	default:
		fmt.Fprintf(w, "      NAT-T is not detected\n")
	}
	fmt.Fprintf(w, "      Initiator of SA : %s\n", yesNo(sa.Initiator))
}

// childSA writes a CHILD_SA of `show crypto ikev2 session`.
func childSA(w io.Writer, c api.IKEv2Child, detailed bool) {
	fmt.Fprintf(w, "Child sa: local selector  %s\n", selectorRange(c.LocalSelector))
	fmt.Fprintf(w, "          remote selector %s\n", selectorRange(c.RemoteSelector))
	fmt.Fprintf(w, "          ESP spi in/out: 0x%X/0x%X  \n", c.InSPI, c.OutSPI)
	if !detailed {
		return
	}
	fmt.Fprintf(w, "          Encr: %s, keysize: %d, esp_hmac: %s\n", c.Encryption, c.KeyBits, hashName(c.Integrity))
	fmt.Fprintf(w, "          ah_hmac: None, comp: IPCOMP_NONE, mode %s\n", c.Mode)
}

// selectorRange writes a traffic selector as IOS does: start/port -
// end/port.
func selectorRange(s api.TrafficRange) string {
	return fmt.Sprintf("%s/%d - %s/%d", s.StartAddr, s.StartPort, s.EndAddr, s.EndPort)
}

func hostPort(addr string, port int) string {
	return fmt.Sprintf("%s/%d", addr, port)
}

// addrFamily is the heading an address goes under.
func addrFamily(addr string) string {
	if a, err := netip.ParseAddr(addr); err == nil && a.Is6() && !a.Is4In6() {
		return "IPv6"
	}
	return "IPv4"
}

// hashName writes an integrity algorithm as IOS does: HMAC-SHA1-96 is
// SHA96, none (AES-GCM) is None.
func hashName(h string) string {
	switch h {
	case "":
		return "None"
	case "SHA1":
		return "SHA96"
	}
	return h
}

// unknown is what IOS writes for an algorithm not negotiated yet.
func unknown(s string) string {
	if s == "" {
		return "Unknown - 0"
	}
	return s
}

func statusDescription(status string) string {
	switch status {
	case "READY":
		return "Negotiation done"
	case "IN-NEG":
		return "Negotiation in progress"
	case "DELETE":
		return "Deleting IKE SA"
	}
	return status
}

func yesNo(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}
