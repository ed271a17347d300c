// Package ike is gresec's IKEv1 control plane: it negotiates the IPsec SA
// pairs that protect GRE tunnels, as IOS does for `tunnel protection ipsec
// profile`.
//
// It implements Main Mode with pre-shared keys and Quick Mode (RFC 2409)
// over ISAKMP (RFC 2408) in the IPsec DOI (RFC 2407); informational
// exchanges with DELETE, INITIAL-CONTACT and INVALID-SPI; dead peer
// detection (RFC 3706) in IOS's periodic and on-demand modes; and NAT
// traversal (RFC 3947, with ESP in UDP per RFC 3948). Phase 1 uses AES-CBC
// with SHA-1 or SHA-2 HMAC as prf and Diffie-Hellman groups 14, 15, 16
// (RFC 3526) and 19, 20, 21 (RFC 5903); Quick Mode negotiates the ESP
// suites of package esp, tunnel or transport mode, optionally with PFS.
// Aggressive Mode is refused.
//
// # A pure state machine
//
// The Engine does no I/O, starts no goroutines and reads no clock. The
// daemon feeds it events with the current time — Start and Stop for
// protection requests, Receive for datagrams from UDP ports 500 and 4500,
// Tick when NextWake says so, DataplaneActivity, UnknownSPI, Rekey,
// ClearSessions and ClearISAKMP — and carries out the actions each call
// returns: Send a datagram, InstallPair or DeletePair in the data plane,
// report PeerDead, SessionUp and SessionDown, write KeyLogIKE and
// KeyLogESP lines, Log. Randomness comes from Config.Rand, so tests run an
// hour of protocol time deterministically in milliseconds.
//
// An Engine is not safe for concurrent use: the daemon serialises calls.
//
// # Robustness
//
// Every message is parsed into temporaries, validated and, once keys
// exist, authenticated before anything changes; a malformed, replayed or
// forged message changes no state. Message IDs are remembered for the
// whole life of their ISAKMP SA (one that has used many is rekeyed), so a
// message captured long ago and replayed neither proves a dead peer alive
// nor moves a peer's NAT port. Such events are logged at most once a
// minute per peer and kind, and a flood from many addresses costs a few
// lines a minute. A Main Mode leaves responder state only when it comes
// from a tunnel destination or an address with a pre-shared key of its
// own (not the wildcard 0.0.0.0); half-open Main Modes are capped per
// peer and overall, the oldest that never got past MM2 making room for a
// new one, and time out. A repeated Main Mode message is answered at most
// once a second. Retransmissions back off (2, 4, 8, 16, 32 s) and give
// up; failed negotiations are retried with growing back-off.
//
// # Overlapping SAs
//
// Rekeying (before 85-90% of a lifetime, or at the data plane's soft
// volume limit) and initiation from both ends at once leave a peer with
// two ISAKMP SAs or two SA pairs for a while. The rules that resolve it
// are evaluated alike at both ends. An ISAKMP SA newer by more than 30
// seconds wins over the one it replaces; between two set up within 30
// seconds of each other, the one with the lower cookies wins. An SA pair
// whose Quick Mode started after another pair of the tunnel was installed
// replaces it and wins, however soon; pairs negotiated at the same time
// (both ends' Quick Modes crossed) collided, and the one whose Quick Mode
// had the lower initiator nonce wins. An end that answers a Quick Mode
// for a tunnel starts none of its own for it meanwhile. The side that
// initiated the losing SA deletes it (for a rekey: the side that
// initiated the replacement deletes the old one), SA pairs after a
// 10-second overlap, so that the data plane switches outbound traffic to
// the new pair before the old one goes (make-before-break).
//
// Tunnels with the same endpoints, told apart by their GRE key alone,
// negotiate with the same identities, so a responder cannot tell them
// apart. An end negotiates for one of them at a time, both ends rank them
// alike by how much they need a pair, and every Quick Mode goes to the
// neediest: each gets a pair of its own, the same pair at both ends.
//
// Log lines never contain keys or the pre-shared key; the key log actions
// exist only when Config.KeyLog asks for them.
package ike
