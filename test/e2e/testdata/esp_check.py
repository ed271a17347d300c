#!/usr/bin/python3
"""Decrypt every ESP packet of a capture with scapy, independently of gresec.

usage: esp_check.py PCAP KEYLOG MODE
  KEYLOG  gresec's --keylog file (Wireshark esp_sa lines)
  MODE    transport | tunnel

For each ESP packet (raw IP protocol 50 or UDP 4500), finds its SA by SPI,
checks the ICV and decrypts it with scapy's SecurityAssociation, and checks
that the payload is GRE carrying IPv4 (in tunnel mode: IPv4 protocol 47
carrying GRE carrying IPv4). Prints "ok N" on success; exits 1 with the
reasons otherwise.
"""
import csv
import sys

from scapy.all import rdpcap, IP, UDP, Raw
from scapy.layers.ipsec import ESP, SecurityAssociation
from scapy.layers.l2 import GRE

ENC = {
    "AES-CBC [RFC3602]": "AES-CBC",
    "AES-GCM with 16 octet ICV [RFC4106]": "AES-GCM",
}
AUTH = {
    "HMAC-SHA-1-96 [RFC2404]": "HMAC-SHA1-96",
    "HMAC-SHA-256-128 [RFC4868]": "SHA2-256-128",
    "HMAC-SHA-384-192 [RFC4868]": "SHA2-384-192",
    "HMAC-SHA-512-256 [RFC4868]": "SHA2-512-256",
    "NULL": None,
}


def load_sas(path):
    sas = {}
    with open(path) as f:
        for row in csv.reader(f):
            if len(row) != 8 or row[0] not in ("IPv4", "IPv6"):
                continue  # an IKE line (ikev1_ or ikev2_decryption_table)
            spi = int(row[3], 16)
            enc, ekey, auth, akey = row[4], bytes.fromhex(row[5][2:]), row[6], bytes.fromhex(row[7][2:])
            sas[spi] = SecurityAssociation(
                ESP, spi=spi, crypt_algo=ENC[enc], crypt_key=ekey,
                auth_algo=AUTH[auth], auth_key=akey if AUTH[auth] else None)
    return sas


def main():
    pcap, keylog, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    sas = load_sas(keylog)
    ok, bad = 0, []
    for i, pkt in enumerate(rdpcap(pcap)):
        if IP not in pkt:
            continue
        ip = pkt[IP]
        if ip.proto == 50:
            esp_bytes = bytes(ip.payload)
        elif UDP in pkt and 4500 in (pkt[UDP].sport, pkt[UDP].dport):
            esp_bytes = bytes(pkt[UDP].payload)
            if len(esp_bytes) < 8 or esp_bytes[:4] == b"\0\0\0\0":
                continue  # IKE or keepalive
        else:
            continue
        spi = int.from_bytes(esp_bytes[:4], "big")
        sa = sas.get(spi)
        if sa is None:
            bad.append("packet %d: no SA for SPI 0x%08x" % (i, spi))
            continue
        # Rebuild a plain IP/ESP packet: scapy's SA works on IP layers.
        plain = IP(src=ip.src, dst=ip.dst, proto=50) / ESP(esp_bytes)
        plain = IP(bytes(plain))
        try:
            dec = sa.decrypt(plain)
        except Exception as e:  # ICV or padding failure
            bad.append("packet %d SPI 0x%08x: %s" % (i, spi, e))
            continue
        inner = dec.payload
        if mode == "tunnel":
            if not isinstance(inner, IP) or inner.proto != 47:
                bad.append("packet %d: tunnel mode payload is not IPv4/GRE: %r" % (i, inner))
                continue
            inner = inner.payload
        else:
            if dec.proto != 47:
                bad.append("packet %d: next header %d, want 47" % (i, dec.proto))
                continue
            inner = GRE(bytes(inner))
        if not isinstance(inner, GRE) or inner.proto not in (0x0800, 0x0000):
            bad.append("packet %d: not GRE/IPv4: %r" % (i, inner))
            continue
        ok += 1
    if bad or ok == 0:
        print("ok %d, bad %d" % (ok, len(bad)))
        for b in bad[:20]:
            print(b)
        sys.exit(1)
    print("ok %d" % ok)


main()
