#!/usr/bin/python3
"""aiortc side of the media-recv benchmark (bench/media-recv.sh): glass to glass beside rtcpeer.

  aiortc_recv.py [--timeout S]
      Answerer that receives and decodes: reads an offer on stdin (SDP ending
      at an empty line or EOF), writes a recvonly answer and an empty line on
      stdout, then consumes both tracks with MediaStreamTrack.recv() (aiortc's
      own VP8 and Opus decoders). Every decoded picture is read as rtcpeer's
      test pattern (src/media/testpattern.c: the frame number and the sender's
      CLOCK_MONOTONIC capture time in blocky digits with check digits) and the
      glass-to-glass time is taken as time.monotonic() when recv() returns the
      picture minus the capture time: like rtcpeer's
      rtcpeerGlassToGlassMedianMs, valid when both peers run on one machine.
      Exits when the peer hangs up (DTLS close_notify) or after --timeout
      seconds, printing on stderr
      "aiortc-recv: video_frames=.. g2g_frames=.. g2g_median_ms=.. g2g_p95_ms=..
       audio_frames=.. audio_samples=.. cpu_s=.. connected_cpu_s=.. ..."
      (cpu_s: this process from start to the report; connected_cpu_s: from
      connected to the report).

Quantiles are taken as rtcpeer takes them (src/cli/mediarecv.c): each
latency rounded to whole ms, the smallest value with more than q x n samples
at or below it.

Host candidates only (no ICE servers). Needs python3-aiortc and numpy; run
with /usr/bin/python3.
"""

import argparse
import asyncio
import resource
import sys
import time

import numpy

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.codecs import HEADER_EXTENSIONS
from aiortc.mediastreams import MediaStreamError

# Same fix as aiortc_send.py: aiortc 1.4 gives audio's ssrc-audio-level and video's
# abs-send-time one extmap id; its BUNDLE receiver cannot tell them apart.
for _ext in HEADER_EXTENSIONS["audio"]:
    if _ext.uri.endswith("ssrc-audio-level"):
        _ext.id = 3

# --- rtcpeer's test pattern digits (src/media/testpattern.c) ----------------------------------
FONT = [
    [0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e], [0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e],
    [0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f], [0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e],
    [0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02], [0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e],
    [0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e], [0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
    [0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e], [0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c],
]
GLYPHS = numpy.array([[[(row >> (4 - c)) & 1 for c in range(5)] for row in g] for g in FONT],
                     dtype=bool)  # 10 x 7 x 5
SEQ_DIGITS, TIME_DIGITS = 10, 16
CELL_W, CELL_H, ORIGIN, MAX_SCALE = 6, 9, 16, 8
BOX_W, BOX_H = (TIME_DIGITS + 1) * CELL_W + 1, 2 * CELL_H


def scale_for(w, h):
    if w < 2 * ORIGIN + BOX_W or h < 2 * ORIGIN + BOX_H:
        return 0
    return min((w - 2 * ORIGIN) // BOX_W, (h - 2 * ORIGIN) // BOX_H, MAX_SCALE)


_coords = {}


def coords(s, line, n):
    """Sample points (middle of each font pixel) of the n + 1 characters of a line."""
    key = (s, line, n)
    if key not in _coords:
        c, r, col = numpy.meshgrid(numpy.arange(n + 1), numpy.arange(7), numpy.arange(5),
                                   indexing="ij")
        x = ORIGIN + (1 + c * CELL_W + col) * s + s // 2
        y = ORIGIN + (line * CELL_H + 1 + r) * s + s // 2
        _coords[key] = (y, x)
    return _coords[key]


def check_digit(d):
    total = sum(v * (3 if i % 2 == 0 else 1) for i, v in enumerate(reversed(d)))
    return (10 - total % 10) % 10


def read_line(luma, s, line, n):
    y, x = coords(s, line, n)
    bits = luma[y, x] > 125                                           # (n+1) x 7 x 5
    dist = (bits[:, None] != GLYPHS[None]).sum(axis=(2, 3))            # (n+1) x 10
    order = numpy.argsort(dist, axis=1, kind="stable")
    best = order[:, 0]
    rows = numpy.arange(n + 1)
    best_d, second_d = dist[rows, best], dist[rows, order[:, 1]]
    if (best_d > 2).any() or not (second_d > best_d).all():
        return None
    d = [int(v) for v in best]
    if check_digit(d[:n]) != d[n]:
        return None
    v = 0
    for g in d[:n]:
        v = v * 10 + g
    return v


def read_pattern(frame):
    """(seq, capture_us) drawn in an rtcpeer test picture, or None."""
    s = scale_for(frame.width, frame.height)
    if not s:
        return None
    plane = frame.planes[0]
    luma = numpy.frombuffer(plane, numpy.uint8).reshape(-1, plane.line_size)
    seq = read_line(luma, s, 0, SEQ_DIGITS)
    cap = read_line(luma, s, 1, TIME_DIGITS) if seq is not None else None
    return None if cap is None else (seq, cap)


# --- signaling (as aiortc_send.py) ------------------------------------------------------------
def log(msg):
    sys.stderr.write("%s\n" % msg)
    sys.stderr.flush()


def read_sdp():
    lines = []
    for line in sys.stdin:
        line = line.rstrip("\r\n")
        if not line:
            if lines:
                break
            continue
        lines.append(line)
    if not lines:
        raise ValueError("no description on stdin")
    return "\r\n".join(lines) + "\r\n"


def write_sdp(sdp):
    sys.stdout.write(sdp.replace("\r\n", "\n").rstrip("\n") + "\n\n")
    sys.stdout.flush()


def cpu_s():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def quantile(ms, q):
    """rtcpeer's histogram quantile: the smallest value with more than q x n at or below it."""
    if not ms:
        return None
    v = sorted(ms)
    return v[min(len(v) - 1, int(q * len(v)))]


class Counter:
    def __init__(self):
        self.video = self.audio = self.samples = self.unreadable = 0
        self.g2g = []      # whole ms
        self.size = None

    async def consume(self, track):
        try:
            while True:
                frame = await track.recv()
                now_us = time.monotonic_ns() // 1000
                if track.kind == "video":
                    self.video += 1
                    self.size = "%dx%d" % (frame.width, frame.height)
                    got = read_pattern(frame)
                    if got is None or got[1] > now_us or now_us - got[1] > 10_000_000:
                        self.unreadable += 1
                    else:
                        self.g2g.append((now_us - got[1] + 500) // 1000)
                else:
                    self.audio += 1
                    self.samples += frame.samples
        except MediaStreamError:
            pass


async def recv(args):
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    count = Counter()
    tasks = []
    pc.on("track", lambda t: tasks.append(asyncio.ensure_future(count.consume(t))))
    loop = asyncio.get_running_loop()
    offer = await loop.run_in_executor(None, read_sdp)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
    for t in pc.getTransceivers():
        t.direction = "recvonly"
    await pc.setLocalDescription(await pc.createAnswer())
    write_sdp(pc.localDescription.sdp)
    deadline = loop.time() + 30
    while pc.connectionState != "connected":
        if pc.connectionState in ("failed", "closed") or loop.time() > deadline:
            raise RuntimeError("not connected: %s" % pc.connectionState)
        await asyncio.sleep(0.01)
    t0, c0 = loop.time(), cpu_s()
    dtls = next(t.receiver.transport for t in pc.getTransceivers() if t.receiver.transport)
    ended = loop.create_future()

    def on_state():
        if dtls.state in ("closed", "failed") and not ended.done():
            ended.set_result("DTLS_%s" % dtls.state)
    dtls.on("statechange", on_state)
    try:
        why = await asyncio.wait_for(ended, args.timeout)
    except asyncio.TimeoutError:
        why = "timeout"
    secs, c1 = loop.time() - t0, cpu_s()
    med, p95 = quantile(count.g2g, 0.5), quantile(count.g2g, 0.95)
    log("aiortc-recv: video_frames=%d g2g_frames=%d g2g_median_ms=%s g2g_p95_ms=%s "
        "unreadable=%d size=%s audio_frames=%d audio_samples=%d seconds=%.1f cpu_s=%.3f "
        "connected_cpu_s=%.3f end=%s"
        % (count.video, len(count.g2g), med, p95, count.unreadable, count.size, count.audio,
           count.samples, secs, c1, c1 - c0, why))
    await pc.close()
    for t in tasks:
        t.cancel()
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--timeout", type=float, default=600)
    args = ap.parse_args()
    try:
        return asyncio.run(recv(args))
    except Exception as e:
        log("aiortc-recv: error: %s: %s" % (type(e).__name__, e))
        return 1


if __name__ == "__main__":
    sys.exit(main())
