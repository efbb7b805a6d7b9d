#!/usr/bin/python3
"""aiortc sides of the media-send benchmark (bench/media-send.sh).

  aiortc_send.py recv [--timeout S]
      Answerer that receives and discards: reads an offer on stdin (SDP ending
      at an empty line or EOF), writes a recvonly answer and an empty line on
      stdout, then accounts the media without decoding it. Exits when the
      peer hangs up (DTLS close_notify) or after --timeout seconds, printing
      "aiortc-recv: video_frames=.. audio_frames=.. video_packets=.. ..." on
      stderr.
  aiortc_send.py send --duration S [--bitrate KBPS|remb]
      Offerer that sends like `rtcpeer offer --video test --audio test`:
      640x480@30 moving test pattern through VP8 and a 440 Hz tone (48 kHz
      mono, 20 ms frames) through Opus. Writes the offer and an empty line on
      stdout, reads the answer on stdin, sends for S seconds once connected,
      hangs up and prints "aiortc-send: ..." on stderr (see report()).

The receiver never decodes (aiortc's decoder thread is replaced by one that
only counts the frames the jitter buffer completes), so it costs the sender
nothing beyond the RTCP it sends back (receiver reports, REMB, NACK/PLI on
loss). The sender runs aiortc's own VP8 and Opus encoders; their CPU time is
measured per call (thread CPU time around each encode, which aiortc runs in
an executor thread) so the report also shows what aiortc spends outside the
codecs.

aiortc adapts its VP8 target to the receiver's REMB (500 kbit/s at start,
clamped to 250..1500 kbit/s). With --bitrate KBPS (default 1000) the target
is pinned to KBPS, like rtcpeer's --video-bitrate, and the REMB values that
arrive are only recorded; --bitrate remb leaves aiortc's own control on.

Host candidates only (no ICE servers). Needs python3-aiortc (and numpy, which
PyAV depends on); run with /usr/bin/python3.
"""

import argparse
import asyncio
import fractions
import sys
import threading
import time

import numpy

from aiortc import (RTCConfiguration, RTCPeerConnection,
                    RTCSessionDescription, rtcrtpreceiver)
from aiortc.codecs import HEADER_EXTENSIONS
from aiortc.codecs import opus as aio_opus
from aiortc.codecs import vpx as aio_vpx
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame, VideoFrame

WIDTH, HEIGHT, FPS = 640, 480, 30
RATE, PTIME = 48000, 0.020


# aiortc 1.4 gives audio's ssrc-audio-level and video's abs-send-time the same extmap id (2),
# which a BUNDLE receiver cannot tell apart (aiortc's own receiver fails on the first video
# packet): move audio's to 3.
for _ext in HEADER_EXTENSIONS["audio"]:
    if _ext.uri.endswith("ssrc-audio-level"):
        _ext.id = 3


def log(msg):
    sys.stderr.write("%s\n" % msg)
    sys.stderr.flush()


# --- signaling ------------------------------------------------------------------------------------
def read_sdp():
    """SDP from stdin up to an empty line or EOF."""
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


def new_pc():
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


async def wait_connected(pc, timeout):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while pc.connectionState != "connected":
        if pc.connectionState in ("failed", "closed") or loop.time() > deadline:
            raise RuntimeError("not connected: connectionState %s, iceConnectionState %s"
                               % (pc.connectionState, pc.iceConnectionState))
        await asyncio.sleep(0.01)


def dtls_of(pc):
    for t in pc.getTransceivers():
        if t.receiver.transport is not None:
            return t.receiver.transport
    return pc.sctp.transport if pc.sctp is not None else None


# --- receiver -------------------------------------------------------------------------------------
frames_in = {"video": 0, "audio": 0}


def discard_worker(loop, input_q, output_q):
    """Stands in for aiortc's decoder thread: counts completed frames, decodes nothing."""
    while True:
        task = input_q.get()
        if task is None:
            break
        codec, _ = task
        frames_in["video" if codec.mimeType.lower().startswith("video/") else "audio"] += 1


async def recv(args):
    rtcrtpreceiver.decoder_worker = discard_worker
    pc = new_pc()
    loop = asyncio.get_running_loop()
    offer = await loop.run_in_executor(None, read_sdp)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
    for t in pc.getTransceivers():  # receive only, whatever the offer allows
        t.direction = "recvonly"
    await pc.setLocalDescription(await pc.createAnswer())
    write_sdp(pc.localDescription.sdp)
    await wait_connected(pc, 30)
    t0 = loop.time()
    dtls = dtls_of(pc)
    ended = loop.create_future()

    def on_state():
        if dtls.state in ("closed", "failed") and not ended.done():
            ended.set_result("DTLS %s" % dtls.state)
    dtls.on("statechange", on_state)
    try:
        why = await asyncio.wait_for(ended, args.timeout)
    except asyncio.TimeoutError:
        why = "timeout"
    counts = {}
    for t in pc.getTransceivers():
        for s in (await t.receiver.getStats()).values():
            if s.type == "inbound-rtp":
                counts["%s_packets" % s.kind] = s.packetsReceived
                counts["%s_lost" % s.kind] = s.packetsLost
    log("aiortc-recv: video_frames=%d audio_frames=%d %s seconds=%.1f end=%s"
        % (frames_in["video"], frames_in["audio"],
           " ".join("%s=%s" % kv for kv in sorted(counts.items())), loop.time() - t0,
           why.replace(" ", "_")))
    await pc.close()
    return 0


# --- sender ---------------------------------------------------------------------------------------
class PatternTrack(MediaStreamTrack):
    """640x480@30 YUV 4:2:0 frames like rtcpeer's test pattern (src/media/testpattern.c):
    diagonal luma gradient and chroma ramps that shift every frame, a white box bouncing
    across the lower half, a black box where rtcpeer draws its digits."""

    kind = "video"

    def __init__(self):
        super().__init__()
        y, x = numpy.mgrid[0:HEIGHT, 0:WIDTH]
        self.xy = (x + y).astype(numpy.uint32)
        cy, cx = numpy.mgrid[0:HEIGHT // 2, 0:WIDTH // 2]
        self.cx2 = (cx * 2).astype(numpy.uint32)
        self.cy2 = (cy * 2).astype(numpy.uint32)
        self.lut = (16 + numpy.arange(256, dtype=numpy.uint32) * 219 // 255).astype(numpy.uint8)
        self.n = 0
        self.start = None

    async def recv(self):
        if self.readyState != "live":
            raise MediaStreamError
        if self.start is None:
            self.start = time.time()
        else:
            wait = self.start + self.n / FPS - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
        n, shift = self.n, self.n * 3
        buf = numpy.empty((HEIGHT * 3 // 2, WIDTH), numpy.uint8)
        ypl = buf[:HEIGHT]
        ypl[:] = self.lut[(self.xy + shift) & 0xff]
        ch = (64 + ((self.cx2 + shift) & 0x7f)).astype(numpy.uint8)
        cv = (64 + ((self.cy2 + shift // 2) & 0x7f)).astype(numpy.uint8)
        # I420 in one array: U then V, each (HEIGHT/2)x(WIDTH/2), packed into rows of WIDTH.
        buf[HEIGHT:HEIGHT * 5 // 4] = ch.reshape(HEIGHT // 4, WIDTH)
        buf[HEIGHT * 5 // 4:] = cv.reshape(HEIGHT // 4, WIDTH)
        bs = HEIGHT // 8
        span = WIDTH - bs
        pos = n * 8 % (2 * span)
        bx = pos if pos < span else 2 * span - pos
        by = HEIGHT - HEIGHT // 4 - bs // 2
        ypl[by:by + bs, bx:bx + bs] = 235
        ypl[16:16 + 18 * 3, 16:16 + 103 * 3] = 16
        frame = VideoFrame.from_ndarray(buf, format="yuv420p")
        frame.pts = n * (90000 // FPS)
        frame.time_base = fractions.Fraction(1, 90000)
        self.n += 1
        return frame


class ToneTrack(MediaStreamTrack):
    """440 Hz at -10 dBFS, 48 kHz mono s16, 20 ms frames."""

    kind = "audio"

    def __init__(self):
        super().__init__()
        t = numpy.arange(RATE) / RATE  # one second holds 440 whole periods
        self.second = numpy.round(9830 * numpy.sin(2 * numpy.pi * 440 * t)).astype("<i2")
        self.samples = int(RATE * PTIME)
        self.n = 0
        self.start = None

    async def recv(self):
        if self.readyState != "live":
            raise MediaStreamError
        if self.start is None:
            self.start = time.time()
        else:
            wait = self.start + self.n * PTIME - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
        off = (self.n * self.samples) % RATE
        frame = AudioFrame(format="s16", layout="mono", samples=self.samples)
        frame.planes[0].update(self.second[off:off + self.samples].tobytes())
        frame.pts = self.n * self.samples
        frame.sample_rate = RATE
        frame.time_base = fractions.Fraction(1, RATE)
        self.n += 1
        return frame


class CodecClock:
    """Thread CPU time and calls of an encoder's encode()."""

    def __init__(self, cls):
        self.cpu = 0.0
        self.calls = 0
        self.bytes = 0
        self.lock = threading.Lock()
        inner = cls.encode
        clock = self

        def encode(self, frame, force_keyframe=False):
            t0 = time.thread_time()
            out = inner(self, frame, force_keyframe)
            dt = time.thread_time() - t0
            with clock.lock:
                clock.cpu += dt
                clock.calls += 1
            return out
        cls.encode = encode


def pin_bitrate(kbps, remb):
    """Fixes aiortc's VP8 target at kbps; records the REMB values it would have followed."""
    aio_vpx.DEFAULT_BITRATE = kbps * 1000
    prop = aio_vpx.Vp8Encoder.target_bitrate

    def setter(self, bps):
        remb.append(bps)
    aio_vpx.Vp8Encoder.target_bitrate = property(prop.fget, setter)


async def send(args):
    loop = asyncio.get_running_loop()
    remb = []
    if args.bitrate != "remb":
        pin_bitrate(int(args.bitrate), remb)
    vclock = CodecClock(aio_vpx.Vp8Encoder)
    aclock = CodecClock(aio_opus.OpusEncoder)
    pc = new_pc()
    video, audio = PatternTrack(), ToneTrack()
    pc.addTransceiver(audio, direction="sendonly")
    pc.addTransceiver(video, direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    write_sdp(pc.localDescription.sdp)
    answer = await loop.run_in_executor(None, read_sdp)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    await wait_connected(pc, 30)
    cpu0, t0 = time.process_time(), loop.time()
    v0 = video.n
    vc0, vn0, ac0, an0 = vclock.cpu, vclock.calls, aclock.cpu, aclock.calls
    await asyncio.sleep(args.duration)
    cpu = time.process_time() - cpu0
    vcpu, vcalls = vclock.cpu - vc0, vclock.calls - vn0
    acpu, acalls = aclock.cpu - ac0, aclock.calls - an0
    wall = loop.time() - t0
    stats = {}
    for t in pc.getTransceivers():
        for s in (await t.sender.getStats()).values():
            if s.type == "outbound-rtp":
                stats[s.kind] = s
    encoder = next((t.sender._RTCRtpSender__encoder for t in pc.getTransceivers()
                    if t.kind == "video"), None)
    target = encoder.target_bitrate if encoder is not None else 0
    await pc.close()
    v, a = stats.get("video"), stats.get("audio")
    log("aiortc-send: seconds=%.2f media_cpu_s=%.3f vp8_cpu_s=%.3f opus_cpu_s=%.3f"
        " video_frames_made=%d video_frames_encoded=%d audio_frames_encoded=%d"
        " video_packets=%d video_bytes=%d audio_packets=%d audio_bytes=%d"
        " vp8_target_kbps=%d remb_count=%d remb_last_kbps=%d"
        % (wall, cpu, vcpu, acpu, video.n - v0, vcalls, acalls,
           v.packetsSent if v else 0, v.bytesSent if v else 0,
           a.packetsSent if a else 0, a.bytesSent if a else 0,
           target // 1000, len(remb), remb[-1] // 1000 if remb else 0))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="role", required=True)
    r = sub.add_parser("recv")
    r.add_argument("--timeout", type=float, default=600)
    s = sub.add_parser("send")
    s.add_argument("--duration", type=float, default=60)
    s.add_argument("--bitrate", default="1000")
    args = ap.parse_args()
    try:
        return asyncio.run(recv(args) if args.role == "recv" else send(args))
    except Exception as e:
        log("aiortc-%s: error: %s: %s" % (args.role, type(e).__name__, e))
        return 1


if __name__ == "__main__":
    sys.exit(main())
