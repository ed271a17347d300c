// Package ikev2 is gresec's IKEv2 control plane (RFC 7296): it negotiates
// the IKE SA and the CHILD_SAs that protect GRE tunnels configured with an
// IKEv2 profile (`set ikev2-profile`), beside package ike, which does the
// same with IKEv1. Its messages are encoded and decoded by package wire.
//
// Like package ike it is a pure state machine: it does no I/O, starts no
// goroutines and reads no clock; the daemon feeds it events with the
// current time and carries out the actions (package ike's Action types)
// each call returns.
package ikev2
