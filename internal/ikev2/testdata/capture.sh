#!/bin/sh
# capture.sh records strongswan.pcap and strongswan-keys.log, the known
# answers of kat_test.go: IKEv2 between two strongSwan charons (5.9.8,
# Debian) in two network namespaces, as
# ../../../../shared/notes/strongswan-and-tshark.md describes, with charon
# logging its key derivation (ike, chd and cfg at level 4). Run it as root
# from anywhere; it needs charon, swanctl, tcpdump and ip.
#
# What is on the wire, initiator 192.0.2.1, responder 198.51.100.2, PSK:
#   - IKE SA "cbc": AES-CBC-256/HMAC-SHA-256/PRF-HMAC-SHA-256/ECP-256, its
#     CHILD_SA ESP AES-CBC-256/HMAC-SHA-384 for GRE (protocol 47) between
#     the two hosts, created in IKE_AUTH (no PFS);
#   - CREATE_CHILD_SA rekeying that CHILD_SA with PFS (MODP-2048);
#   - the initiator rekeying the IKE SA, to the same algorithms;
#   - the responder rekeying it again; as neither side prefers its own
#     proposals, the initiator picks the responder's first, so the newest
#     IKE SA has AES-CBC-256/HMAC-SHA-384/PRF-HMAC-SHA-384/ECP-256: its
#     SKEYSEED comes from the old PRF, and (RFC 7296 section 2.18) its keys
#     from the new one, though charon uses the old one for them too;
#   - the initiator rekeying the CHILD_SA again, now from the newest SK_d;
#   - IKE SA "gcm": AES-GCM-16-256/PRF-HMAC-SHA-384/Curve25519 with an ESP
#     AES-GCM-16-256 CHILD_SA.
# The CHILD_SAs are in tunnel mode: kernel-libipsec, the only ESP charon has
# on a kernel without ESP, refuses transport mode, and the mode does not
# enter the key schedule.
#
# strongswan-keys.log keeps the initiator's log lines (with their hex dumps)
# that name a DH secret, SKEYSEED, an SK_* key, a CHILD_SA key or a step of
# a PSK AUTH computation (its own and the one verifying the responder's),
# and the summary of each message, prefixed by the IKE SA's name and unique
# id ("<cbc|1>"). Every secret in it belongs to this throwaway capture.
set -eu

out=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
I=ikv2kat-i
R=ikv2kat-r
IA=192.0.2.1
RA=198.51.100.2
pids=""

cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	ip netns del $I 2>/dev/null || true
	ip netns del $R 2>/dev/null || true
	if [ -n "${KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT INT TERM

ip netns add $I
ip netns add $R
ip link add ikv2kat-vi netns $I type veth peer name ikv2kat-vr netns $R
ip -n $I addr add $IA/24 dev ikv2kat-vi
ip -n $R addr add $RA/24 dev ikv2kat-vr
for x in "$I ikv2kat-vi" "$R ikv2kat-vr"; do
	set -- $x
	ip -n "$1" link set lo up
	ip -n "$1" link set "$2" up
done
ip -n $I route add 198.51.100.0/24 dev ikv2kat-vi
ip -n $R route add 192.0.2.0/24 dev ikv2kat-vr

# conf NAME writes NAME's strongswan.conf.
conf() {
	mkdir -p "$work/$1/run"
	cat >"$work/$1/strongswan.conf" <<EOF
charon {
	load_modular = no
	prefer_configured_proposals = no
	load = random nonce openssl aes sha1 sha2 hmac gcm gmp curve25519 kdf pem pkcs1 x509 pubkey kernel-libipsec kernel-netlink socket-default vici
	plugins {
		vici { socket = unix://$work/$1/run/charon.vici }
		kernel-libipsec { allow_peer_ts = yes }
		socket-default { fwmark = 0x42 }
		kernel-netlink { fwmark = !0x42 }
	}
	filelog {
		log {
			path = $work/$1/charon.log
			default = 1
			ike = 4
			chd = 4
			cfg = 4
			ike_name = yes
			flush_line = yes
		}
	}
}
EOF
}
conf i
conf r

cat >"$work/i/swanctl.conf" <<EOF
connections {
	cbc {
		remote_addrs = $RA
		proposals = aes256-sha256-ecp256, aes256-sha384-ecp256
		local { auth = psk
			id = $IA }
		remote { auth = psk
			id = $RA }
		children { gre {
			esp_proposals = aes256-sha384-modp2048
			local_ts = dynamic[gre]
			remote_ts = dynamic[gre] } }
	}
	gcm {
		remote_addrs = $RA
		proposals = aes256gcm16-prfsha384-curve25519
		local { auth = psk
			id = $IA }
		remote { auth = psk
			id = $RA }
		children { gre {
			esp_proposals = aes256gcm16
			local_ts = dynamic[gre]
			remote_ts = dynamic[gre] } }
	}
}
secrets { ike { id-i = $IA
	id-r = $RA
	secret = ikev2-kat-capture } }
EOF
cat >"$work/r/swanctl.conf" <<EOF
connections {
	any {
		local_addrs = $RA
		proposals = aes256-sha384-ecp256, aes256-sha256-ecp256, aes256gcm16-prfsha384-curve25519
		local { auth = psk
			id = $RA }
		remote { auth = psk
			id = $IA }
		children { gre {
			esp_proposals = aes256-sha384-modp2048, aes256gcm16
			local_ts = dynamic[gre]
			remote_ts = dynamic[gre] } }
	}
}
secrets { ike { id-i = $IA
	id-r = $RA
	secret = ikev2-kat-capture } }
EOF

ip netns exec $I tcpdump -i ikv2kat-vi -U -s 0 -w "$work/capture.pcap" \
	'udp port 500 or (udp port 4500 and udp[8:4] = 0)' 2>"$work/tcpdump.err" &
pids="$pids $!"

for n in i r; do
	ns=$I
	[ $n = r ] && ns=$R
	ip netns exec $ns unshare --mount --propagation private sh -c \
		"mount --bind $work/$n/run /run && exec env STRONGSWAN_CONF=$work/$n/strongswan.conf /usr/lib/ipsec/charon" \
		>"$work/$n/charon.out" 2>&1 &
	pids="$pids $!"
done
for n in i r; do
	until [ -S "$work/$n/run/charon.vici" ]; do sleep 0.1; done
	swanctl --load-all --noprompt --uri "unix://$work/$n/run/charon.vici" --file "$work/$n/swanctl.conf" >/dev/null
done
sleep 1 # tcpdump is listening by now

ctl() { swanctl "$@" --uri "unix://$work/i/run/charon.vici" >/dev/null; }
ctl --initiate --child gre --ike cbc
ctl --rekey --child gre
sleep 1
ctl --rekey --ike cbc
sleep 1
swanctl --rekey --ike any --uri "unix://$work/r/run/charon.vici" >/dev/null
sleep 1
ctl --rekey --child gre
sleep 1
ctl --terminate --ike cbc
ctl --initiate --child gre --ike gcm
ctl --terminate --ike gcm
sleep 1

# A message with a hex dump ("SKEYSEED => 32 bytes @ 0x...") is followed by
# lines "<cbc|1>    0: 01 02 ...  ....". Keep the dumps the tests read, the
# one-line summary of each message, and the lines saying which SA was set up.
sed 's/^[0-9]*\[[A-Z]*\] //' "$work/i/charon.log" | awk '
/^<[^>]*> (shared Diffie Hellman secret|DH secret|SKEYSEED|Sk_[a-z]+ secret|SK_p|IDx.|secret|prf\(secret, keypad\)|octets = .*|AUTH = .*|(encryption|integrity) (initiator|responder) key) => / {
	keep = 1; sub(/ @ 0x[0-9a-f]*$/, ""); print; next
}
/^<[^>]*> +[0-9]+: / { if (keep) print; next }
{ keep = 0 }
/^<[^>]*> (generating|parsed) |(IKE_SA|CHILD_SA) .* (established|rekeyed)/ { print }' >"$out/strongswan-keys.log"

cp "$work/capture.pcap" "$out/strongswan.pcap"
wc -l "$out/strongswan-keys.log"
ls -l "$out/strongswan.pcap"
