#!/usr/bin/env python3
"""A minimal mDNS responder for tests: answers A queries for NAME with ADDR.

Usage: mdns_responder.py NAME ADDR SECONDS

It joins 224.0.0.251:5353 and answers a query for NAME (case-insensitive) by unicast to the
querier's address and port, as RFC 6762 section 6.7 says for one-shot queries from a port other
than 5353. It exits after SECONDS.
"""
import socket
import struct
import sys
import time


def read_name(msg, off):
    labels = []
    jumps = 0
    end = None
    while True:
        n = msg[off]
        if n == 0:
            off += 1
            break
        if n & 0xC0 == 0xC0:
            if end is None:
                end = off + 2
            off = ((n & 0x3F) << 8) | msg[off + 1]
            jumps += 1
            if jumps > 16:
                raise ValueError("pointer loop")
            continue
        labels.append(msg[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n
    return ".".join(labels), (end if end is not None else off)


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def main():
    name, addr, seconds = sys.argv[1].lower().rstrip("."), sys.argv[2], float(sys.argv[3])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("", 5353))
    mreq = struct.pack("4s4s", socket.inet_aton("224.0.0.251"), socket.inet_aton("0.0.0.0"))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    s.settimeout(0.2)
    print("listening", flush=True)
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            msg, peer = s.recvfrom(9000)
        except socket.timeout:
            continue
        try:
            qid, flags, qd = struct.unpack("!HHH", msg[:6])
            if flags & 0x8000 or qd == 0:
                continue
            off = 12
            for _ in range(qd):
                qname, off = read_name(msg, off)
                qtype, _qclass = struct.unpack("!HH", msg[off:off + 4])
                off += 4
                if qname.lower() == name and qtype == 1:
                    rr = encode_name(name) + struct.pack("!HHIH", 1, 0x8001, 120, 4)
                    rr += socket.inet_aton(addr)
                    # A legacy unicast answer repeats the query id and goes to its source.
                    resp = struct.pack("!HHHHHH", qid, 0x8400, 0, 1, 0, 0) + rr
                    s.sendto(resp, peer)
                    print("answered", peer, flush=True)
        except (ValueError, IndexError, struct.error):
            continue


if __name__ == "__main__":
    main()
