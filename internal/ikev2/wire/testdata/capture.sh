#!/bin/sh
# capture.sh records strongswan.pcap, strongswan-keys.txt and strongswan.log:
# IKEv2 between two strongSwan charons (5.9.8, Debian) in two network
# namespaces, as ../../../../shared/notes/strongswan-and-tshark.md describes.
# Run it as root from anywhere; it needs charon, swanctl, tcpdump and ip.
#
# What is on the wire, initiator 192.0.2.1, responder 198.51.100.2, PSK:
#   - IKE SA "cbc" offering three proposals (AES-CBC-256/SHA-256/ECP-256
#     first, then AES-GCM-16-128 and AES-CBC-128/SHA-1/MODP-2048); the
#     initiator's fragment_size is small, so its IKE_AUTH request goes as
#     RFC 7383 fragments (SKF); encap = yes makes it fake its NAT detection
#     hash, so IKE moves to port 4500 (after the non-ESP marker) after
#     IKE_SA_INIT;
#   - CREATE_CHILD_SA rekeying the CHILD_SA, then the IKE SA;
#   - an INFORMATIONAL liveness check (DPD) and an INFORMATIONAL Delete;
#   - IKE SA "gcm": AES-GCM-16-256 only (an AEAD), then its Delete.
# strongswan-keys.txt has one line per IKE SA, "SPIi SPIr SK_ei SK_er SK_ai
# SK_ar" in hex ("-" for no key), so that tests can check ICVs and decrypt.
# strongswan.log keeps charon's own one-line summary of every message it
# generated or parsed ("generating IKE_AUTH request 1 [ IDi AUTH ... ]").
set -eu

out=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
I=ikv2codec-i
R=ikv2codec-r
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
ip link add ikv2codec-vi netns $I type veth peer name ikv2codec-vr netns $R
ip -n $I addr add $IA/24 dev ikv2codec-vi
ip -n $R addr add $RA/24 dev ikv2codec-vr
for x in "$I ikv2codec-vi" "$R ikv2codec-vr"; do
	set -- $x
	ip -n "$1" link set lo up
	ip -n "$1" link set "$2" up
done
ip -n $I route add 198.51.100.0/24 dev ikv2codec-vi
ip -n $R route add 192.0.2.0/24 dev ikv2codec-vr

# conf NAME FRAGMENT_SIZE writes NAME's strongswan.conf.
conf() {
	mkdir -p "$work/$1/run"
	cat >"$work/$1/strongswan.conf" <<EOF
charon {
	load_modular = no
	load = random nonce openssl aes sha1 sha2 hmac gcm gmp curve25519 kdf pem pkcs1 x509 pubkey kernel-libipsec kernel-netlink socket-default vici
	fragment_size = $2
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
			flush_line = yes
		}
	}
}
EOF
}
conf i 256
conf r 1280

cat >"$work/i/swanctl.conf" <<EOF
connections {
	cbc {
		remote_addrs = $RA
		proposals = aes256-sha256-ecp256, aes128gcm16-prfsha256-ecp256, aes128-sha1-modp2048
		fragmentation = yes
		encap = yes
		dpd_delay = 1s
		local { auth = psk
			id = $IA }
		remote { auth = psk
			id = $RA }
		children { gre {
			esp_proposals = aes256-sha384
			local_ts = dynamic[gre]
			remote_ts = dynamic[gre] } }
	}
	gcm {
		remote_addrs = $RA
		proposals = aes256gcm16-prfsha256-ecp256
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
	secret = ikev2-codec-capture } }
EOF
cat >"$work/r/swanctl.conf" <<EOF
connections {
	any {
		local_addrs = $RA
		proposals = aes256-sha256-ecp256, aes256gcm16-prfsha256-ecp256
		fragmentation = yes
		local { auth = psk
			id = $RA }
		remote { auth = psk
			id = $IA }
		children { gre {
			esp_proposals = aes256-sha384, aes256gcm16
			local_ts = dynamic[gre]
			remote_ts = dynamic[gre] } }
	}
}
secrets { ike { id-i = $IA
	id-r = $RA
	secret = ikev2-codec-capture } }
EOF

ip netns exec $I tcpdump -i ikv2codec-vi -U -s 0 -w "$work/capture.pcap" \
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

ctl() { swanctl "$@" --uri "unix://$work/i/run/charon.vici"; }
# spis prints the SPIs of the IKE SA named $1 as "SPIi SPIr".
spis() {
	ctl --list-sas --ike "$1" --raw |
		sed -n 's/.*initiator-spi=\([0-9a-f]*\).*responder-spi=\([0-9a-f]*\).*/\1 \2/p' | head -n 1
}

ctl --initiate --child gre --ike cbc >/dev/null
spis cbc >"$work/spis"
ctl --rekey --child gre >/dev/null
sleep 1
ctl --rekey --ike cbc >/dev/null
sleep 1
spis cbc >>"$work/spis"
sleep 3 # dpd_delay: an INFORMATIONAL liveness check each way at most
ctl --terminate --ike cbc >/dev/null
ctl --initiate --child gre --ike gcm >/dev/null
spis gcm >>"$work/spis"
ctl --terminate --ike gcm >/dev/null
sleep 1

# Keys in the order charon derived them, one IKE SA per Sk_d.
awk '
/Sk_(d|ai|ar|ei|er) secret =>/ {
	name = $0; sub(/.*Sk_/, "", name); sub(/ secret.*/, "", name)
	n = $0; sub(/.*=> /, "", n); sub(/ bytes.*/, "", n)
	want = n + 0; key = ""; collecting = 1
	if (name == "d") sa++
	next
}
collecting && /^.*[0-9]+: / {
	line = $0; sub(/.*[0-9]+: /, "", line)
	for (i = 1; i <= 16 && length(key) < 2 * want; i++) {
		h = substr(line, 3 * i - 2, 2)
		if (h ~ /^[0-9A-Fa-f][0-9A-Fa-f]$/) key = key tolower(h)
	}
	if (length(key) >= 2 * want) { k[sa, name] = key; collecting = 0 }
	next
}
END {
	for (s = 1; s <= sa; s++) {
		line = ""
		split("ei er ai ar", names, " ")
		for (j = 1; j <= 4; j++) {
			v = k[s, names[j]]
			if (v == "") v = "-"
			line = line " " v
		}
		print substr(line, 2)
	}
}' "$work/i/charon.log" >"$work/keys"
paste -d ' ' "$work/spis" "$work/keys" >"$out/strongswan-keys.txt"

grep -hE 'generating|parsed' "$work/i/charon.log" | sed 's/^.*\] //' >"$out/strongswan.log"
cp "$work/capture.pcap" "$out/strongswan.pcap"
wc -l "$out/strongswan-keys.txt" "$out/strongswan.log"
ls -l "$out/strongswan.pcap"
