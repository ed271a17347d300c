package router

import (
	"github.com/gresec/gresec/internal/api"
	"github.com/gresec/gresec/internal/config"
	"github.com/gresec/gresec/internal/dataplane"
	"github.com/gresec/gresec/internal/esp"
	"github.com/gresec/gresec/internal/ike"
)

// ipsecSAs builds `show crypto ipsec sa [interface NAME]`.
func (r *Router) ipsecSAs(only string) api.IPsecSAs {
	now := r.opts.Now()
	var out api.IPsecSAs
	for _, ic := range r.cfg.Interfaces {
		it := r.ifs[ic.Name]
		if it == nil || ic.Kind != config.Tunnel || ic.Tunnel.ProtectionProfile == "" || (only != "" && ic.Name != only) {
			continue
		}
		tc := ic.Tunnel
		t := api.IPsecTunnel{
			Interface:   ic.Name,
			MapTag:      ic.Name + "-head-0",
			LocalAddr:   it.src.String(),
			LocalIdent:  api.HostGRE(it.src.String()),
			RemoteIdent: api.HostGRE(tc.Destination.String()),
			Peer:        tc.Destination.String(),
			PeerPort:    ike.Port,
		}
		if prof := r.cfg.Profile(tc.ProtectionProfile); prof != nil {
			t.PFSGroup = int(prof.PFS)
		}
		tot := it.retired
		for _, p := range it.sas {
			o, in := p.out.Stats(), p.in.Stats()
			tot.encaps += o.Packets
			tot.sendErr += o.Errors
			tot.decaps += in.Packets
			tot.auth += in.AuthFailures
			tot.replay += in.ReplayFailures
			tot.recvErr += in.Errors
			mode := "transport"
			if p.spec.TunnelMode {
				mode = "tunnel"
			}
			if e := p.spec.Encap; e != nil && p == it.outPair {
				t.PeerPort = int(e.RemotePort)
			}
			udp, retiring := p.spec.Encap != nil, !p.retireAt.IsZero()
			remaining := func(s esp.Stats) (uint64, int) {
				var kb uint64
				if p.spec.LifetimeKB > 0 {
					used := s.Bytes / 1024
					kb = p.spec.LifetimeKB - min(used, p.spec.LifetimeKB)
				}
				secs := 0
				if p.spec.Lifetime > 0 {
					secs = max(int(p.installed.Add(p.spec.Lifetime).Sub(now).Seconds()), 0)
				}
				return kb, secs
			}
			kbIn, secIn := remaining(in)
			kbOut, secOut := remaining(o)
			t.Inbound = append(t.Inbound, api.IPsecSA{SPI: p.spec.InSPI, Transform: p.spec.Suite.String(), Mode: mode, UDPEncap: udp,
				RemainingKB: kbIn, RemainingSeconds: secIn, ReplayWindow: p.in.ReplayWindow(), Retiring: retiring})
			if p == it.outPair {
				t.OutboundSPI = p.spec.OutSPI
				t.Outbound = append(t.Outbound, api.IPsecSA{SPI: p.spec.OutSPI, Transform: p.spec.Suite.String(), Mode: mode, UDPEncap: udp,
					RemainingKB: kbOut, RemainingSeconds: secOut})
			}
		}
		t.Encaps, t.Encrypt, t.Digest = tot.encaps, tot.encaps, tot.encaps
		t.Decaps, t.Decrypt, t.Verify = tot.decaps, tot.decaps, tot.decaps
		t.SendErrors, t.RecvErrors = tot.sendErr, tot.recvErr+tot.auth+tot.replay
		t.ReplayFailures, t.AuthFailures = tot.replay, tot.auth
		s := it.dp.C.Snapshot()
		t.DroppedNoSA, t.DroppedClear = s[dataplane.OutNoSADrops], s[dataplane.InClearDrops]
		t.PathMTU = r.transportMTU(it)
		_, maxO := r.overhead(it)
		t.PlaintextMTU = t.PathMTU - (maxO - overhead(tc)) // what ESP can carry
		out.Tunnels = append(out.Tunnels, t)
	}
	return out
}

// protectionSuite is the ESP suite, mode and encapsulation a protected
// tunnel uses: its installed SA's, else its profile's first transform set.
func (r *Router) protectionSuite(it *iface) (suite esp.Suite, tunnelMode, udp bool, ok bool) {
	if len(it.sas) > 0 {
		s := it.sas[0].spec
		return s.Suite, s.TunnelMode, s.Encap != nil, true
	}
	prof := r.cfg.Profile(it.cfg.Tunnel.ProtectionProfile)
	if prof == nil || len(prof.TransformSets) == 0 {
		return suite, false, false, false
	}
	ts := r.cfg.TransformSet(prof.TransformSets[0])
	if ts == nil {
		return suite, false, false, false
	}
	suite, mode, err := ike.SuiteFromTransformSet(*ts)
	return suite, mode == ike.ModeTunnel, r.cfg.ForceUDPEncap, err == nil
}

// overhead is the exact range of bytes a tunnel adds to an inner packet:
// the outer IP header and GRE with its options, and when protected the ESP
// header, IV, padding (0 to block size - 1), trailer and ICV, another IP
// header in ESP tunnel mode, and UDP with NAT traversal.
func (r *Router) overhead(it *iface) (lo, hi int) {
	n := overhead(it.cfg.Tunnel)
	if it.cfg.Tunnel.ProtectionProfile == "" {
		return n, n
	}
	suite, tunnelMode, udp, ok := r.protectionSuite(it)
	if !ok {
		return n, n
	}
	if tunnelMode {
		n += outerHeaderLen(it.cfg.Tunnel)
	}
	if udp {
		n += esp.UDPEncapLen
	}
	hi = n + suite.MaxOverhead()
	return hi - (suite.BlockSize() - 1), hi
}

// transportMTU is the MTU of the interface the underlay leaves by, or over
// IPv6 the path MTU when the kernel learned a smaller one.
func (r *Router) transportMTU(it *iface) int {
	if pm := r.pathMTU6(it); pm > 0 {
		return pm // the path's, learned from Packet Too Big
	}
	if it.lookup.Found {
		if l, ok := r.hs.link(it.lookup.Device); ok {
			return l.MTU
		}
	}
	return 1500
}
