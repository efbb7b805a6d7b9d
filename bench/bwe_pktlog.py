#!/usr/bin/python3
"""Logs the IPv4/UDP packets seen on one interface, for bwe-ramp.sh.

    bwe_pktlog.py IFACE OUT

One line per packet: kernel receive/transmit time (s, SO_TIMESTAMPNS, the host
clock that every namespace shares), packet type (0 to us, 4 sent by us: see
packet(7)), length on the link (Ethernet header included, as tbf counts it),
then "rtp SSRC SEQ" for RTP (the SRTP header is in the clear) or "udp". RTCP,
STUN, DTLS are "udp". Stops on SIGTERM/SIGINT, having written everything.
Needs root (AF_PACKET); run it inside the namespace (ip netns exec).
"""
import signal
import socket
import struct
import sys

SO_TIMESTAMPNS = 35


def main():
    iface, out = sys.argv[1], sys.argv[2]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    s.bind((iface, 0))
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    f = open(out, "w")
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    signal.signal(signal.SIGINT, lambda *a: stop.append(1))
    s.settimeout(0.2)
    while not stop:
        try:
            data, anc, _, addr = s.recvmsg(2048, 64)
        except socket.timeout:
            continue
        except InterruptedError:
            continue
        t = None
        for lvl, typ, val in anc:
            if lvl == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS:
                sec, ns = struct.unpack("qq", val[:16])
                t = sec + ns / 1e9
        if t is None or len(data) < 42 or data[12:14] != b"\x08\x00" or data[23] != 17:
            continue
        ihl = (data[14] & 15) * 4
        p = data[14 + ihl + 8:]
        kind = "udp"
        if len(p) >= 12 and p[0] >> 6 == 2 and not 192 <= p[1] <= 223:
            seq, ssrc = struct.unpack("!H", p[2:4])[0], struct.unpack("!I", p[8:12])[0]
            kind = "rtp %08x %d" % (ssrc, seq)
        f.write("%.6f %d %d %s\n" % (t, addr[2], len(data), kind))
    f.close()


if __name__ == "__main__":
    main()
