#!/usr/bin/python3
"""aiortc peer for signaling and connection interop tests.

  aiortc_peer.py offer [--data-only] [--connect [--hold S]] [--timeout S]
      print an offer (audio + video + one data channel, or data only) and
      an empty line, read the answer from stdin, apply it.
  aiortc_peer.py answer [--connect [--hold S]] [--timeout S]
      read an offer from stdin, print the answer and an empty line.
  aiortc_peer.py check
      exit 0 if aiortc can be imported (else exit 2 saying why).

Without --connect: exit 0 when the remote description was accepted ("ok"
on stderr), 1 with the stack's error on stderr otherwise.  Host candidates
only (no ICE servers); no ICE checks are started and the program exits
without waiting for a connection.

With --connect: after signaling, aiortc runs ICE and the DTLS handshake.
Once the connection is up (connectionState or the DTLS transport state
"connected", within --timeout) the program prints "connected" and the
selected candidate pair on stderr, then stays up until the peer hangs up
(DTLS close_notify), stdin reaches EOF, or --hold seconds (default 30) have
passed.  Exit 0 if it connected, 1 otherwise.

With --data-test (implies --connect): once connected, run a data-channel
test instead of just staying up (see data_test below): open a channel of
our own (label "aiortc"), send --text as one string message, an empty
string, the 256 bytes 00..ff as one binary message, an empty binary
message, then --send-file in 64 KiB binary messages, and close it; account
every message on channels the peer opened (written raw to --recv-out,
checked against --expect-sha256).  Exit 0 when our channel and every
channel the peer opened are closed (and the sha256 matched), 1 otherwise.

With --media-recv S (implies --connect): receive media.  The offer has
recvonly audio and video transceivers (and the data channel); as answerer
nothing is sent (the answer is recvonly for a sendonly offer).  Every
received track is consumed with MediaStreamTrack.recv(): decoded video
frames (and their size), VP8 key frames handed to the decoder and decoded
audio samples (per channel) are counted, with the receivers' getStats()
(packetsReceived, packetsLost) and the NACK/PLI aiortc sent.  Once
connected, one JSON line per second for S seconds ("aiortc: media {...}"),
then a verdict: pass when the video frames rose by at least --min-ratio
(0.8) x --expect-fps (30) per second, the audio samples by at least 0.8 x
48000 per second and the last frame was --expect-size (640x480, or "any").
Afterwards the peer stays up as with --connect; exit 0 when media passed
and it connected, 1 otherwise.

With --media-send S (implies --connect): send media.  The offer has a
sendonly (--send-direction sendrecv: sendrecv) audio and video transceiver
and the data channel; as answerer a track is added on every audio/video
m-line (sendonly for a recvonly offer).  Video: --send-size (640x480)
frames with a moving pattern (a diagonal gradient that scrolls and a white
box that crosses the picture) at --send-fps (30), encoded by aiortc (VP8);
audio: a --tone (1000 Hz) sine at 48 kHz, mono, at half full scale, in 20 ms
frames (Opus).  Once connected, one JSON line per second for S seconds
("aiortc: media sent {...}": frames and audio samples handed to the
encoders, the senders' packetsSent, PLI/NACK/REMB received, key frames
sent), then a last one ("aiortc: media send done {...}") and a hang-up
(close_notify).  With --keep-sending the peer goes on sending after S
seconds until the peer hangs up, stdin ends or --hold passes, and prints
"media send done" then.  Exit 0 when it connected.

Needs python3-aiortc; run with /usr/bin/python3.
"""

import argparse
import asyncio
import hashlib
import json
import fractions
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sdpio  # noqa: E402

try:
    from aiortc import (RTCConfiguration, RTCPeerConnection,
                        RTCSessionDescription)
    from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
except ImportError as e:  # pragma: no cover
    sdpio.fail("aiortc not available: %s" % e, 2)


async def _no_connect(self):
    # Signaling only: never start ICE checks or DTLS.
    return None


def signaling_only():
    RTCPeerConnection._RTCPeerConnection__connect = _no_connect


def new_pc():
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


async def do_offer(args):
    pc = new_pc()
    if args.media_recv:
        MediaRecv.attach(pc, args)
        pc.addTransceiver("audio", direction="recvonly")
        pc.addTransceiver("video", direction="recvonly")
    elif args.media_send:
        ms = MediaSend.attach(pc, args)
        pc.addTransceiver(ms.audio, direction=args.send_direction)
        pc.addTransceiver(ms.video, direction=args.send_direction)
    elif not args.data_only:
        pc.addTrack(AudioStreamTrack())
        pc.addTrack(VideoStreamTrack())
    our_channel = pc.createDataChannel("aiortc" if args.data_test else "data")
    if args.data_test:
        DataTest.attach(pc, args, our_channel)
    offer = await pc.createOffer()
    # aiortc gathers all host candidates inside setLocalDescription.
    await asyncio.wait_for(pc.setLocalDescription(offer), args.timeout)
    sdpio.write_sdp(pc.localDescription.sdp)
    loop = asyncio.get_running_loop()
    try:
        answer = await loop.run_in_executor(None, sdpio.read_sdp, args.timeout)
    except (sdpio.Timeout, ValueError) as e:
        sdpio.fail("aiortc: reading answer: %s" % e)
    try:
        await asyncio.wait_for(
            pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer")),
            args.timeout)
    except asyncio.TimeoutError:
        sdpio.fail("aiortc: setRemoteDescription(answer) timed out")
    except Exception as e:  # the stack's own rejection
        sdpio.fail("aiortc: setRemoteDescription(answer) failed: %s: %s"
                   % (type(e).__name__, e))
    sys.stderr.write("ok\n")
    if args.connect:
        return await stay_connected(pc, args)
    return 0


async def do_answer(args):
    pc = new_pc()
    if args.data_test:
        DataTest.attach(pc, args, None)
    if args.media_recv:
        MediaRecv.attach(pc, args)
    if args.media_send:
        MediaSend.attach(pc, args)
    loop = asyncio.get_running_loop()
    try:
        offer = await loop.run_in_executor(None, sdpio.read_sdp, args.timeout)
    except (sdpio.Timeout, ValueError) as e:
        sdpio.fail("aiortc: reading offer: %s" % e)
    try:
        await asyncio.wait_for(
            pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer")),
            args.timeout)
        # Send on every audio/video m-line the offer has (sendrecv answer),
        # or nothing at all with --media-recv (recvonly answer).
        for t in ([] if args.media_recv else pc.getTransceivers()):
            if t.kind == "audio":
                pc.addTrack(pc._media_send.audio if args.media_send else AudioStreamTrack())
            elif t.kind == "video":
                pc.addTrack(pc._media_send.video if args.media_send else VideoStreamTrack())
        answer = await pc.createAnswer()
        await asyncio.wait_for(pc.setLocalDescription(answer), args.timeout)
    except asyncio.TimeoutError:
        sdpio.fail("aiortc: answering timed out")
    except Exception as e:
        sdpio.fail("aiortc: offer rejected: %s: %s" % (type(e).__name__, e))
    sdpio.write_sdp(pc.localDescription.sdp)
    if args.connect:
        return await stay_connected(pc, args)
    return 0


def dtls_transports(pc):
    """The DTLS transports, the data channel's first (rtcpeer accepts only the
    data section, so that is the one that connects)."""
    out = []
    if pc.sctp is not None:
        out.append(pc.sctp.transport)
    for t in pc.getTransceivers():
        if t.sender.transport is not None and t.sender.transport not in out:
            out.append(t.sender.transport)
    return out


def selected_pair(dtls):
    """The nominated pair of the ICE connection under a DTLS transport."""
    try:
        conn = dtls.transport._connection
        pair = conn._nominated.get(1)
        if pair is None:
            return "no nominated pair"
        lc, rc = pair.local_candidate, pair.remote_candidate
        return "%s %s <-> %s %s" % (lc.type, fmt_addr(lc.host, lc.port),
                                    rc.type, fmt_addr(rc.host, rc.port))
    except Exception as e:  # private aioice attributes: best effort
        return "pair unknown (%s)" % e


def fmt_addr(host, port):
    return ("[%s]:%d" % (host, port)) if ":" in host else ("%s:%d" % (host, port))


async def stay_connected(pc, args):
    """Wait for the connection, report it, then stay up until the peer hangs
    up, stdin ends or --hold passes.  0 if connected, 1 otherwise."""
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    transports = dtls_transports(pc)
    if not transports:
        sdpio.fail("aiortc: no transport to connect")
    dtls = transports[0]

    def log(msg):
        sys.stderr.write("aiortc: %s\n" % msg)
        sys.stderr.flush()

    deadline = t0 + args.timeout
    while True:
        # (with rejected audio/video, aiortc's connectionState may be
        # "failed" while the data transport connects: watch that one)
        if pc.connectionState == "connected" or dtls.state == "connected":
            break
        if dtls.state in ("failed", "closed"):
            log("connection failed: connectionState %s, iceConnectionState %s,"
                " DTLS %s" % (pc.connectionState, pc.iceConnectionState, dtls.state))
            return 1
        if loop.time() > deadline:
            log("not connected after %gs: connectionState %s, iceConnectionState"
                " %s, DTLS %s" % (args.timeout, pc.connectionState,
                                  pc.iceConnectionState, dtls.state))
            return 1
        await asyncio.sleep(0.02)
    log("connected in %.1f ms: connectionState %s, iceConnectionState %s,"
        " DTLS %s (role %s), pair %s"
        % ((loop.time() - t0) * 1000, pc.connectionState, pc.iceConnectionState,
           dtls.state, dtls._role, selected_pair(dtls)))
    if args.data_test:
        return await pc._data_test.run(dtls)
    code = 0
    if args.media_recv:
        code = await pc._media_recv.run(dtls)
    if args.media_send:
        await pc._media_send.run(dtls)
        if not args.keep_sending:
            await pc._media_send.report("media send done")
            log("hanging up after sending for %gs" % args.media_send)
            try:  # close_notify, bounded
                await asyncio.wait_for(pc.close(), 2)
            except Exception:
                pass
            return 0

    # Stay up: the peer's close_notify closes the DTLS transport; stdin EOF
    # means the peer's program ended.
    ended = loop.create_future()

    def finish(reason):
        if not ended.done():
            ended.set_result(reason)

    def on_dtls_state():
        if dtls.state in ("closed", "failed"):
            finish("DTLS %s (peer hung up)" % dtls.state)
    dtls.on("statechange", on_dtls_state)
    on_dtls_state()

    fd = sys.stdin.fileno()

    def on_stdin():
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b""
        if not data:
            # The peer's program ended; give its close_notify, which may
            # still be on its way, half a second to be seen.
            loop.remove_reader(fd)
            loop.call_later(0.5, finish, "stdin EOF")
    loop.add_reader(fd, on_stdin)
    try:
        reason = await asyncio.wait_for(ended, args.hold)
    except asyncio.TimeoutError:
        reason = "hold time of %gs over" % args.hold
    log("end after %.1f s connected: %s" % (loop.time() - t0, reason))
    if args.media_send and args.keep_sending:
        await pc._media_send.report("media send done")
    if dtls.state == "connected":
        try:  # hang up ourselves (close_notify), bounded
            await asyncio.wait_for(pc.close(), 2)
        except Exception:
            pass
    return code


class DataTest:
    """--data-test: one channel of ours sent and closed, the peer's channels
    accounted, both directions must end with every channel closed."""

    CHUNK = 65536

    def __init__(self, pc, args, channel):
        self.pc = pc
        self.args = args
        self.ours = channel
        self.theirs = []     # channels the peer opened
        self.h = hashlib.sha256()
        self.received = 0
        self.messages = 0
        self.kinds = {"string": 0, "binary": 0, "empty": 0}
        self.out = open(args.recv_out, "wb") if args.recv_out else None
        self.changed = asyncio.Event()
        pc.on("datachannel", self.on_datachannel)

    @classmethod
    def attach(cls, pc, args, channel):
        pc._data_test = cls(pc, args, channel)

    def log(self, msg):
        sys.stderr.write("aiortc: %s\n" % msg)
        sys.stderr.flush()

    def on_datachannel(self, ch):
        self.theirs.append(ch)
        self.log("data: the peer opened channel %r (id %s, ordered %s, maxRetransmits %s,"
                 " maxPacketLifeTime %s)" % (ch.label, ch.id, ch.ordered, ch.maxRetransmits,
                                             ch.maxPacketLifeTime))

        @ch.on("message")
        def on_message(m):
            if isinstance(m, str):
                data = m.encode("utf-8")
                self.kinds["string"] += 1
            else:
                data = bytes(m)
                self.kinds["binary"] += 1
            if not data:
                self.kinds["empty"] += 1
            self.messages += 1
            self.received += len(data)
            self.h.update(data)
            if self.out:
                self.out.write(data)

        @ch.on("close")
        def on_close():
            self.changed.set()
        self.changed.set()

    async def wait_until(self, cond, what):
        deadline = asyncio.get_running_loop().time() + self.args.timeout
        while not cond():
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise asyncio.TimeoutError(what)
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), min(left, 0.05))
            except asyncio.TimeoutError:
                pass

    async def send_all(self):
        ch = self.ours
        if ch is None:
            ch = self.ours = self.pc.createDataChannel("aiortc")
        ch.on("close", self.changed.set)
        ch.on("open", self.changed.set)
        await self.wait_until(lambda: ch.readyState != "connecting", "our channel to open")
        if ch.readyState != "open":
            raise RuntimeError("our channel is %s" % ch.readyState)
        self.log("data: our channel %r open (id %s)" % (ch.label, ch.id))
        sent = hashlib.sha256()
        n = 0
        msgs = [self.args.text, "", bytes(range(256)), b""]
        for m in msgs:
            ch.send(m)
            b = m.encode("utf-8") if isinstance(m, str) else m
            sent.update(b)
            n += len(b)
        count = len(msgs)
        if self.args.send_file:
            with open(self.args.send_file, "rb") as f:
                while True:
                    chunk = f.read(self.CHUNK)
                    if not chunk:
                        break
                    # flow control: keep at most 1 MiB queued in aiortc
                    await self.wait_until(lambda: ch.bufferedAmount <= (1 << 20),
                                          "the send buffer to drain")
                    ch.send(chunk)
                    sent.update(chunk)
                    n += len(chunk)
                    count += 1
        # aiortc 1.4.0 sends the stream reset with the last TSN assigned so
        # far and drops what is still queued: close only once all of it has
        # been handed to SCTP.
        await self.wait_until(lambda: ch.bufferedAmount == 0, "the send buffer to drain")
        ch.close()
        self.log("data: sent %d bytes in %d messages (sha256 %s), closing our channel"
                 % (n, count, sent.hexdigest()))

    async def run(self, dtls):
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        dtls.on("statechange", self.changed.set)
        ok = True
        try:
            await self.send_all()
            await self.wait_until(
                lambda: (self.ours.readyState == "closed" and self.theirs
                         and all(c.readyState == "closed" for c in self.theirs))
                or dtls.state in ("closed", "failed"),
                "every channel to close")
        except (asyncio.TimeoutError, RuntimeError) as e:
            self.log("data: failed: %s: %s" % ("timed out waiting for" if isinstance(
                e, asyncio.TimeoutError) else "error", e))
            ok = False
        if self.out:
            self.out.close()
        digest = self.h.hexdigest()
        states = "ours %s, theirs %s, DTLS %s" % (
            self.ours.readyState if self.ours else "none",
            ",".join(c.readyState for c in self.theirs) or "none", dtls.state)
        self.log("data: received %d bytes in %d messages (%d string, %d binary, %d empty)"
                 " (sha256 %s) in %.1f s; channels: %s"
                 % (self.received, self.messages, self.kinds["string"], self.kinds["binary"],
                    self.kinds["empty"], digest, loop.time() - t0, states))
        if ok and not (self.ours.readyState == "closed" and self.theirs
                       and all(c.readyState == "closed" for c in self.theirs)):
            self.log("data: failed: the session ended before every channel closed (%s)" % states)
            ok = False
        if self.args.expect_sha256 and digest != self.args.expect_sha256.lower():
            self.log("data: failed: sha256 of the bytes received is %s, expected %s"
                     % (digest, self.args.expect_sha256))
            ok = False
        if ok:
            self.log("data: test passed")
        # leave the hang-up to the peer; give its close_notify a moment
        await asyncio.sleep(0.2)
        return 0 if ok else 1


class MediaRecv:
    """--media-recv: count what aiortc decodes from the received tracks."""

    def __init__(self, pc, args):
        self.pc = pc
        self.args = args
        self.frames = 0          # decoded video frames returned by recv()
        self.size = None
        self.sizes = {}
        self.samples = 0         # decoded audio samples (per channel)
        self.audio_frames = 0
        self.audio_format = None
        self.tasks = []
        self.errors = []
        pc.on("track", self.on_track)

    # Counters kept on the classes (one peer connection per program): VP8
    # frames handed to the decoder, key frames among them, RTCP sent.
    keyframes = 0
    encoded = 0
    nacks = 0
    plis = 0

    @classmethod
    def attach(cls, pc, args):
        pc._media_recv = cls(pc, args)
        cls.hook()

    @classmethod
    def hook(cls):
        from aiortc.codecs import vpx
        from aiortc.rtcrtpreceiver import RTCRtpReceiver
        decode = vpx.Vp8Decoder.decode

        def counting_decode(self, encoded_frame):
            data = encoded_frame.data
            cls.encoded += 1
            # VP8 frame tag (RFC 6386 9.1): bit 0 of the first byte is 0 for
            # a key frame.
            if data and not data[0] & 1:
                cls.keyframes += 1
            return decode(self, encoded_frame)
        vpx.Vp8Decoder.decode = counting_decode
        send_nack = RTCRtpReceiver._send_rtcp_nack
        send_pli = RTCRtpReceiver._send_rtcp_pli

        async def counting_nack(self, media_ssrc, lost):
            cls.nacks += 1
            return await send_nack(self, media_ssrc, lost)

        async def counting_pli(self, media_ssrc):
            cls.plis += 1
            return await send_pli(self, media_ssrc)
        RTCRtpReceiver._send_rtcp_nack = counting_nack
        RTCRtpReceiver._send_rtcp_pli = counting_pli

    def log(self, msg):
        sys.stderr.write("aiortc: %s\n" % msg)
        sys.stderr.flush()

    def on_track(self, track):
        self.log("media: track %s (id %s)" % (track.kind, track.id))
        self.tasks.append(asyncio.ensure_future(self.consume(track)))

    async def consume(self, track):
        from aiortc.mediastreams import MediaStreamError
        try:
            while True:
                frame = await track.recv()
                if track.kind == "video":
                    self.frames += 1
                    self.size = "%dx%d" % (frame.width, frame.height)
                    self.sizes[self.size] = self.sizes.get(self.size, 0) + 1
                else:
                    self.audio_frames += 1
                    self.samples += frame.samples
                    self.audio_format = "%s %s %d Hz" % (frame.format.name, frame.layout.name,
                                                         frame.sample_rate)
        except MediaStreamError:
            pass  # the track ended
        except Exception as e:  # report, do not hang
            self.errors.append("%s track: %s: %s" % (track.kind, type(e).__name__, e))

    async def receiver_stats(self):
        out = {}
        for t in self.pc.getTransceivers():
            if t.kind not in ("audio", "video"):
                continue
            try:
                report = await asyncio.wait_for(t.receiver.getStats(), 2)
            except Exception:
                continue
            for s in report.values():
                if getattr(s, "type", None) == "inbound-rtp":
                    out[t.kind] = {"ssrc": s.ssrc, "packetsReceived": s.packetsReceived,
                                   "packetsLost": s.packetsLost, "jitter": s.jitter}
            codecs = t.receiver._RTCRtpReceiver__codecs if hasattr(
                t.receiver, "_RTCRtpReceiver__codecs") else {}
            if codecs and t.kind in out:
                out[t.kind]["codecs"] = sorted("%s/%d" % (c.mimeType, pt)
                                               for pt, c in codecs.items())
        return out

    async def sample(self, t):
        st = await self.receiver_stats()
        cls = type(self)
        return {
            "t": round(t, 1),
            "video": dict(st.get("video", {}), framesDecoded=self.frames, size=self.size,
                          framesToDecoder=cls.encoded, keyFrames=cls.keyframes,
                          nackSent=cls.nacks, pliSent=cls.plis),
            "audio": dict(st.get("audio", {}), samples=self.samples,
                          frames=self.audio_frames, format=self.audio_format),
        }

    async def run(self, dtls):
        args = self.args
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        first = await self.sample(0)
        self.log("media " + json.dumps(first))
        last = first
        for i in range(1, int(args.media_recv) + 1):
            await asyncio.sleep(max(0, t0 + i - loop.time()))
            last = await self.sample(loop.time() - t0)
            self.log("media " + json.dumps(last))
        secs = loop.time() - t0
        frames = last["video"]["framesDecoded"] - first["video"]["framesDecoded"]
        samples = last["audio"]["samples"] - first["audio"]["samples"]
        fps, sps = frames / secs, samples / secs
        problems = []
        if fps < args.min_ratio * args.expect_fps:
            problems.append("video decoded at %.1f fps < %.1f"
                            % (fps, args.min_ratio * args.expect_fps))
        if sps < args.min_ratio * 48000:
            problems.append("audio decoded at %d samples/s < %d"
                            % (sps, args.min_ratio * 48000))
        if args.expect_size != "any" and self.size != args.expect_size:
            problems.append("frame size %s, expected %s" % (self.size, args.expect_size))
        problems += self.errors
        v, a = last["video"], last["audio"]
        verdict = {
            "seconds": round(secs, 2),
            "video": {"framesDecoded": frames, "fps": round(fps, 2), "size": self.size,
                      "sizes": self.sizes, "keyFrames": v["keyFrames"],
                      "framesToDecoder": v["framesToDecoder"],
                      "packetsReceived": v.get("packetsReceived"),
                      "packetsLost": v.get("packetsLost"), "nackSent": v["nackSent"],
                      "pliSent": v["pliSent"]},
            "audio": {"samples": samples, "samplesPerSecond": round(sps),
                      "format": self.audio_format,
                      "packetsReceived": a.get("packetsReceived"),
                      "packetsLost": a.get("packetsLost")},
        }
        self.log("media verdict " + json.dumps(verdict))
        if problems:
            self.log("media FAILED: " + "; ".join(problems))
            return 1
        self.log("media ok: video %.1f fps %s (%d frames, %d key), audio %d samples/s in %.1f s"
                 % (fps, self.size, frames, v["keyFrames"], sps, secs))
        return 0


class PatternTrack(VideoStreamTrack):
    """--media-send video: WxH yuv420p frames with a moving pattern at FPS."""

    def __init__(self, width, height, fps):
        super().__init__()
        import numpy as np
        self.np = np
        self.width, self.height, self.fps = width, height, fps
        self.frames = 0
        yy, xx = np.mgrid[0:height, 0:width]
        self.base = ((xx + yy) // 2).astype(np.int32)
        cy, cx = np.mgrid[0:height // 2, 0:width // 2]
        self.u = (64 + cx * 128 // max(1, width // 2)).astype(np.uint8)
        self.v = (64 + cy * 128 // max(1, height // 2)).astype(np.uint8)

    async def recv(self):
        from av import VideoFrame
        np = self.np
        if self.readyState != "live":
            from aiortc.mediastreams import MediaStreamError
            raise MediaStreamError
        rate = 90000
        if hasattr(self, "_timestamp"):
            self._timestamp += int(round(rate / self.fps))
            wait = self._start + self._timestamp / rate - time.time()
            await asyncio.sleep(wait)
        else:
            self._start = time.time()
            self._timestamp = 0
        n = self.frames
        w, h = self.width, self.height
        y = ((self.base + 4 * n) & 0xff).astype(np.uint8)
        s = max(8, h // 6)
        x0 = (8 * n) % max(1, w - s)
        y0 = (3 * n) % max(1, h - s)
        y[y0:y0 + s, x0:x0 + s] = 235
        img = np.concatenate([y, self.u.reshape(-1, w), self.v.reshape(-1, w)])
        frame = VideoFrame.from_ndarray(img, format="yuv420p")
        frame.pts = self._timestamp
        frame.time_base = fractions.Fraction(1, rate)
        self.frames += 1
        return frame


class ToneTrack(AudioStreamTrack):
    """--media-send audio: a sine of FREQ Hz at 48 kHz, mono s16, 20 ms frames."""

    RATE = 48000
    SAMPLES = 960

    def __init__(self, freq):
        super().__init__()
        import numpy as np
        self.np = np
        self.freq = freq
        self.samples = 0

    async def recv(self):
        from av import AudioFrame
        np = self.np
        if self.readyState != "live":
            from aiortc.mediastreams import MediaStreamError
            raise MediaStreamError
        if hasattr(self, "_timestamp"):
            self._timestamp += self.SAMPLES
            wait = self._start + self._timestamp / self.RATE - time.time()
            await asyncio.sleep(wait)
        else:
            self._start = time.time()
            self._timestamp = 0
        t = (np.arange(self.SAMPLES) + self._timestamp) / self.RATE
        pcm = (0.5 * 32767 * np.sin(2 * np.pi * self.freq * t)).astype("<i2")
        frame = AudioFrame(format="s16", layout="mono", samples=self.SAMPLES)
        frame.planes[0].update(pcm.tobytes())
        frame.pts = self._timestamp
        frame.sample_rate = self.RATE
        frame.time_base = fractions.Fraction(1, self.RATE)
        self.samples += self.SAMPLES
        return frame


class MediaSend:
    """--media-send: send a moving pattern and a tone, count what was sent."""

    # RTCP received by our senders, and key frames encoded (class-wide: one
    # peer connection per program).
    rtcp = {"pli": 0, "nack": 0, "nackedPackets": 0, "remb": 0, "rr": 0}
    remb_bps = None
    keyframes = 0
    encoded = 0

    def __init__(self, pc, args):
        self.pc = pc
        self.args = args
        w, _, h = args.send_size.partition("x")
        self.video = PatternTrack(int(w), int(h), args.send_fps)
        self.audio = ToneTrack(args.tone)
        self.t0 = None

    @classmethod
    def attach(cls, pc, args):
        pc._media_send = cls(pc, args)
        cls.hook()
        return pc._media_send

    @classmethod
    def hook(cls):
        from aiortc.codecs import vpx
        from aiortc.rtcrtpsender import RTCRtpSender
        from aiortc import rtp
        encode = vpx.Vp8Encoder.encode

        def counting_encode(self, frame, force_keyframe=False):
            payloads, ts = encode(self, frame, force_keyframe)
            cls.encoded += 1
            # VP8 payload descriptor, then the frame tag: bit 0 of its first
            # byte is 0 for a key frame (only the first packet starts it).
            if payloads:
                p = payloads[0]
                off = 1
                if p[0] & 0x80:  # X: extension byte
                    x = p[1]
                    off = 2 + (1 if x & 0x80 else 0) + (1 if x & 0x80 and p[2] & 0x80 else 0)
                    off += (1 if x & 0x40 else 0) + (1 if x & 0x30 else 0)
                if len(p) > off and not p[off] & 1:
                    cls.keyframes += 1
            return payloads, ts
        vpx.Vp8Encoder.encode = counting_encode
        handle = RTCRtpSender._handle_rtcp_packet

        async def counting_rtcp(self, packet):
            if isinstance(packet, (rtp.RtcpRrPacket, rtp.RtcpSrPacket)):
                cls.rtcp["rr"] += 1
            elif isinstance(packet, rtp.RtcpRtpfbPacket) and packet.fmt == rtp.RTCP_RTPFB_NACK:
                cls.rtcp["nack"] += 1
                cls.rtcp["nackedPackets"] += len(packet.lost)
            elif isinstance(packet, rtp.RtcpPsfbPacket) and packet.fmt == rtp.RTCP_PSFB_PLI:
                cls.rtcp["pli"] += 1
            elif isinstance(packet, rtp.RtcpPsfbPacket) and packet.fmt == rtp.RTCP_PSFB_APP:
                cls.rtcp["remb"] += 1
                try:
                    cls.remb_bps = rtp.unpack_remb_fci(packet.fci)[0]
                except Exception:
                    pass
            return await handle(self, packet)
        RTCRtpSender._handle_rtcp_packet = counting_rtcp

    def log(self, msg):
        sys.stderr.write("aiortc: %s\n" % msg)
        sys.stderr.flush()

    async def sender_stats(self):
        out = {}
        for t in self.pc.getTransceivers():
            if t.kind not in ("audio", "video") or t.sender.track is None:
                continue
            try:
                report = await asyncio.wait_for(t.sender.getStats(), 2)
            except Exception:
                continue
            for s in report.values():
                if getattr(s, "type", None) == "outbound-rtp":
                    out[t.kind] = {"ssrc": s.ssrc, "packetsSent": s.packetsSent,
                                   "bytesSent": s.bytesSent}
        return out

    async def sample(self):
        loop = asyncio.get_running_loop()
        st = await self.sender_stats()
        cls = type(self)
        t = loop.time() - self.t0 if self.t0 is not None else 0.0
        return {
            "t": round(t, 1),
            "seconds": round(t, 2),
            "video": dict(st.get("video", {}), frames=self.video.frames,
                          framesEncoded=cls.encoded, keyFramesEncoded=cls.keyframes,
                          size="%dx%d" % (self.video.width, self.video.height),
                          fps=self.args.send_fps),
            "audio": dict(st.get("audio", {}), samples=self.audio.samples,
                          sampleRate=ToneTrack.RATE, toneHz=self.args.tone),
            "rtcpReceived": dict(cls.rtcp, rembBps=cls.remb_bps),
        }

    async def report(self, what):
        self.log(what + " " + json.dumps(await self.sample()))

    async def run(self, dtls):
        """Send for --media-send seconds, one JSON line a second."""
        loop = asyncio.get_running_loop()
        self.t0 = loop.time()
        self.log("media sent " + json.dumps(await self.sample()))
        for i in range(1, int(self.args.media_send) + 1):
            await asyncio.sleep(max(0, self.t0 + i - loop.time()))
            if dtls.state in ("closed", "failed"):
                self.log("media send: the peer hung up after %.1f s" % (loop.time() - self.t0))
                break
            self.log("media sent " + json.dumps(await self.sample()))
        rest = self.args.media_send - int(self.args.media_send)
        if rest > 0 and dtls.state not in ("closed", "failed"):
            await asyncio.sleep(rest)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["offer", "answer", "check"])
    ap.add_argument("--data-only", action="store_true",
                    help="offer only a data channel")
    ap.add_argument("--timeout", type=float, default=10.0,
                    help="bound on every wait, seconds (default 10)")
    ap.add_argument("--connect", action="store_true",
                    help="run ICE + DTLS after signaling and stay connected")
    ap.add_argument("--hold", type=float, default=30.0,
                    help="with --connect: longest stay once connected (default 30)")
    ap.add_argument("--data-test", action="store_true",
                    help="after connecting, run the data-channel test (implies --connect)")
    ap.add_argument("--text", default="hello from aiortc",
                    help="--data-test: the string message to send")
    ap.add_argument("--send-file", help="--data-test: bulk data to send after the messages")
    ap.add_argument("--recv-out", help="--data-test: write the bytes received here")
    ap.add_argument("--expect-sha256", help="--data-test: sha256 the received bytes must have")
    ap.add_argument("--media-recv", type=float, default=0, metavar="S",
                    help="receive audio/video and count what is decoded for S seconds"
                    " (implies --connect)")
    ap.add_argument("--expect-fps", type=float, default=30.0,
                    help="--media-recv: the sender's frame rate (default 30)")
    ap.add_argument("--expect-size", default="640x480",
                    help="--media-recv: the frame size expected, WxH or any (default 640x480)")
    ap.add_argument("--min-ratio", type=float, default=0.8,
                    help="--media-recv: share of the expected rates required (default 0.8)")
    ap.add_argument("--media-send", type=float, default=0, metavar="S",
                    help="send a moving pattern and a tone for S seconds, then hang up"
                    " (implies --connect)")
    ap.add_argument("--keep-sending", action="store_true",
                    help="--media-send: go on after S seconds until the peer hangs up")
    ap.add_argument("--send-direction", default="sendonly", choices=["sendonly", "sendrecv"],
                    help="--media-send offer: direction of the audio/video m-lines")
    ap.add_argument("--send-size", default="640x480",
                    help="--media-send: video frame size WxH (default 640x480)")
    ap.add_argument("--send-fps", type=float, default=30.0,
                    help="--media-send: video frame rate (default 30)")
    ap.add_argument("--tone", type=float, default=1000.0,
                    help="--media-send: audio tone in Hz (default 1000)")
    args = ap.parse_args()
    if args.media_send:
        if args.data_only or args.data_test or args.media_recv:
            ap.error("--media-send goes without --data-only, --data-test and --media-recv")
        args.connect = True
    if args.data_test:
        args.connect = True
    if args.media_recv:
        if args.data_only or args.data_test:
            ap.error("--media-recv goes without --data-only and --data-test")
        args.connect = True
    if args.mode == "check":
        sys.exit(0)  # the imports above succeeded
    if not args.connect:
        signaling_only()
    coro = do_offer(args) if args.mode == "offer" else do_answer(args)
    bound = (3 * args.timeout + (args.hold if args.connect else 0) + args.media_recv
             + args.media_send)
    try:
        code = asyncio.run(asyncio.wait_for(coro, bound))
    except asyncio.TimeoutError:
        sdpio.fail("aiortc: %s timed out" % args.mode)
    except Exception as e:
        sdpio.fail("aiortc: %s: %s" % (type(e).__name__, e))
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip the orderly teardown: exiting at once guarantees that no
    # transport work is left running.
    os._exit(code)


if __name__ == "__main__":
    main()
