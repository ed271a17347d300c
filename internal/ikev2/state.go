package ikev2

import (
	"net/netip"
	"slices"
	"time"

	"github.com/gresec/gresec/internal/dh"
	"github.com/gresec/gresec/internal/esp"
	"github.com/gresec/gresec/internal/ike"
	"github.com/gresec/gresec/internal/ikev2/wire"
	"github.com/gresec/gresec/internal/retransmit"
)

// peerKey names a peer by the addresses IKE runs between: a tunnel's
// source and destination.
type peerKey struct {
	local, remote netip.Addr
}

// peer is everything negotiated with one remote address.
type peer struct {
	key     peerKey
	tunnels []*tunnel
	sas     []*ikeSA // negotiating, established and replaced IKE SAs
	// Failed IKE SA negotiations in a row, and when to try again.
	failures int
	retryAt  time.Time
	lastSeen time.Time // last sign of life (authenticated IKE, data plane)
	// natPort is the port a NATed peer was last seen from, kept across
	// IKE SAs so that a new one starts where the old one ended.
	natPort uint16
}

// best returns the IKE SA that new exchanges use: the newest established
// one that is not being deleted or replaced.
func (p *peer) best() *ikeSA {
	var b *ikeSA
	for _, sa := range p.sas {
		if sa.state == saEstablished && sa.replacedBy == nil && (b == nil || sa.established.After(b.established)) {
			b = sa
		}
	}
	return b
}

// negotiating reports whether an IKE SA with the peer is being set up.
func (p *peer) negotiating() bool {
	for _, sa := range p.sas {
		if sa.state == saInit || sa.state == saAuth {
			return true
		}
	}
	return false
}

// tunnel is one protected tunnel.
type tunnel struct {
	p        Protect
	peer     *peer
	children []*child
	// A CHILD_SA for the tunnel is being negotiated (not a rekey).
	creating bool
	failures int
	retryAt  time.Time
}

// newest returns the tunnel's newest CHILD_SA, the one outbound traffic
// uses.
func (t *tunnel) newest() *child {
	var n *child
	for _, c := range t.children {
		if !c.deleting && (n == nil || c.installed.After(n.installed)) {
			n = c
		}
	}
	return n
}

// saState is the state of an IKE SA.
type saState uint8

const (
	saInit        saState = iota + 1 // IKE_SA_INIT sent (initiator) or answered (responder)
	saAuth                           // IKE_AUTH sent (initiator)
	saEstablished                    // authenticated
	saDeleting                       // Delete sent, waiting for the answer
)

func (s saState) String() string {
	switch s {
	case saInit:
		return "IN-NEG"
	case saAuth:
		return "IN-NEG"
	case saEstablished:
		return "READY"
	case saDeleting:
		return "DELETE"
	}
	return "UNKNOWN"
}

// ikeSA is one IKE SA.
type ikeSA struct {
	peer      *peer
	spiI      [8]byte
	spiR      [8]byte
	initiator bool // this side is the original initiator
	state     saState
	local     netip.AddrPort
	remote    netip.AddrPort
	// NAT: natLocal when this side is behind a NAT, natRemote when the
	// peer is; either moves IKE to port 4500 and ESP into UDP.
	natLocal, natRemote bool
	suite               suite
	keys                keys
	ni, nr              []byte
	dh                  *dh.Key
	// initReq and initResp are the IKE_SA_INIT messages, which AUTH signs.
	initReq, initResp []byte
	offered           []wire.Proposal // initiator: the IKE_SA_INIT offer
	cookie            []byte          // initiator: the responder's cookie
	group             dh.Group        // initiator: the group of the KE sent
	// peerHashes are the hashes the peer's SIGNATURE_HASH_ALGORITHMS
	// lists (RFC 7427); none: classic signature methods only.
	peerHashes  []wire.HashAlgorithm
	peerSubject string // the subject of the peer's certificate
	// tunnel is the tunnel whose CHILD_SA IKE_AUTH carries.
	tunnel *tunnel

	// Message IDs (RFC 7296 section 2.2) with a window of one.
	nextMID  uint32   // of our next request
	req      *request // our request waiting for its response
	peerMID  uint32   // of the peer's next request
	lastResp [][]byte // our response to the peer's last request (its fragments)
	lastMID  uint32   // that request's ID
	answered bool     // lastResp is valid

	created     time.Time
	established time.Time
	rekeyAt     time.Time
	expireAt    time.Time
	replacedBy  *ikeSA    // a rekey replaced this SA
	deleteAt    time.Time // replaced: when to delete it
	rekeying    bool      // a CREATE_CHILD_SA rekeying it is under way
	// nonces of the rekey exchange that created this SA, for collisions
	rekeyNi, rekeyNr []byte
	rekeyedByUs      bool

	// Dead peer detection.
	// fragOK: both ends announced FRAGMENTATION_SUPPORTED (RFC 7383).
	fragOK      bool
	reasm       *reassembly
	dpdLast     time.Time
	keepaliveAt time.Time // next NAT keepalive
}

// mySPI is the SPI that names the SA here.
func (sa *ikeSA) mySPI() [8]byte {
	if sa.initiator {
		return sa.spiI
	}
	return sa.spiR
}

// out and in are the SK protection of each direction.
func (sa *ikeSA) out() protect {
	if sa.initiator {
		return protect{sa.suite, sa.keys.ei, sa.keys.ai}
	}
	return protect{sa.suite, sa.keys.er, sa.keys.ar}
}

func (sa *ikeSA) in() protect {
	if sa.initiator {
		return protect{sa.suite, sa.keys.er, sa.keys.ar}
	}
	return protect{sa.suite, sa.keys.ei, sa.keys.ai}
}

// natt reports whether IKE and ESP go over port 4500.
func (sa *ikeSA) natt() bool { return sa.natLocal || sa.natRemote || sa.local.Port() == ike.NATTPort }

// exchange kinds of our requests.
type requestKind uint8

const (
	reqInit requestKind = iota + 1
	reqAuth
	reqCreateChild
	reqRekeyChild
	reqRekeyIKE
	reqDeleteChild
	reqDeleteIKE
	reqDPD
)

// request is a request of ours waiting for its response.
type request struct {
	kind  requestKind
	mid   uint32
	xmit  retransmit.Timer
	frags [][]byte      // the datagrams of the request (one unless fragmented)
	child *pendingChild // reqCreateChild, reqRekeyChild
	newSA *ikeSA        // reqRekeyIKE
	// reqDeleteChild: the CHILD_SAs named.
	deleting []*child
	dpd      bool // a liveness check: retried every DPD retry interval
}

// pendingChild is a CHILD_SA this side proposed.
type pendingChild struct {
	tunnel  *tunnel
	inSPI   uint32
	ni      []byte
	dh      *dh.Key
	offers  []childOffer
	rekeys  *child // the CHILD_SA it replaces
	mode    ike.Mode
	started time.Time
}

// child is an installed CHILD_SA pair.
type child struct {
	tunnel        *tunnel
	sa            *ikeSA // the IKE SA that deletes and rekeys it
	inSPI, outSPI uint32
	suite         esp.Suite
	mode          ike.Mode
	pfs           dh.Group
	encap         bool
	installed     time.Time
	rekeyAt       time.Time
	expireAt      time.Time
	// ni and nr are the nonces of the exchange that created it, and
	// ours whether this side initiated that exchange (collisions).
	ni, nr     []byte
	ours       bool
	rekeying   bool   // a CREATE_CHILD_SA rekeying it is under way
	replacedBy *child // the CHILD_SA that took over
	// replacements are the CHILD_SAs that rekeyed it: two when both ends
	// rekeyed at once (RFC 7296 section 2.8.1).
	replacements []*child
	deleteAt     time.Time // replaced: when to delete it
	deleting     bool      // Delete sent
}

func removeChild(cs []*child, c *child) []*child {
	return slices.DeleteFunc(cs, func(x *child) bool { return x == c })
}
