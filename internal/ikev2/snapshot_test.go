package ikev2

import (
	"testing"
	"time"

	"github.com/gresec/gresec/internal/esp"
	"github.com/gresec/gresec/internal/ike"
)

// TestSnapshotSessionsAndChildren: each side's IKE SA names its session
// (the peer) and carries its CHILD_SA with GRE host selectors and the SPIs
// mirrored between the two ends.
func TestSnapshotSessionsAndChildren(t *testing.T) {
	n := newNet(t, nil, nil)
	n.runFor(time.Minute)
	a, b := n.a.e.Snapshot(n.now), n.b.e.Snapshot(n.now)
	if len(a.SAs) != 1 || len(b.SAs) != 1 {
		t.Fatalf("IKE SAs: A %d, B %d; want one each", len(a.SAs), len(b.SAs))
	}
	sa, sb := a.SAs[0], b.SAs[0]
	if sa.Session != 1 || len(sa.ChildSAs) != 1 || len(sb.ChildSAs) != 1 {
		t.Fatalf("A's IKE SA: session %d, %d CHILD_SAs; B's %d CHILD_SAs", sa.Session, len(sa.ChildSAs), len(sb.ChildSAs))
	}
	ca, cb := sa.ChildSAs[0], sb.ChildSAs[0]
	if ca.Tunnel != "Tunnel0" || ca.LocalTS.Start != addrA || ca.LocalTS.End != addrA || ca.RemoteTS.Start != addrB ||
		ca.LocalTS.IPProtocol != 47 || ca.LocalTS.StartPort != 0 || ca.LocalTS.EndPort != 65535 {
		t.Errorf("A's CHILD_SA %+v", ca)
	}
	if ca.InSPI != cb.OutSPI || ca.OutSPI != cb.InSPI || ca.InSPI == 0 {
		t.Errorf("SPIs: A in/out %#x/%#x, B in/out %#x/%#x", ca.InSPI, ca.OutSPI, cb.InSPI, cb.OutSPI)
	}
	if ca.Suite != (esp.Suite{Cipher: esp.AES256CBC, Integrity: esp.HMACSHA384}) || ca.Mode != ike.ModeTransport || ca.Encap {
		t.Errorf("A's CHILD_SA transform %v, mode %v, encap %v", ca.Suite, ca.Mode, ca.Encap)
	}
}
