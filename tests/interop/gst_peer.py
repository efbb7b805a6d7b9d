#!/usr/bin/python3
"""GStreamer webrtcbin peer for signaling and connection interop tests.

  gst_peer.py offer [--data-only] [--bundle-policy P] [--connect [--hold S]]
                    [--timeout S]
      print an offer (sendrecv audio from audiotestsrc/opus, sendrecv video
      from videotestsrc/VP8, one data channel; or the data channel only)
      and an empty line, read the answer from stdin, apply it.
  gst_peer.py answer [--connect [--hold S]] [--timeout S]
      read an offer from stdin, print the answer and an empty line.
  gst_peer.py check
      exit 0 if every element the peer uses is installed, else say which
      is missing and exit 2.

Host candidates only: no STUN/TURN server and UPnP off.

Without --connect: exit 0 when the remote description was accepted ("ok"
on stderr), 1 with webrtcbin's error on stderr otherwise.  The remote
description's a=candidate lines are removed before webrtcbin sees them
(webrtcbin never rejects a description for its candidates; without remote
candidates libnice sends no ICE checks), and the program exits without
waiting for a connection.

With --connect: the remote candidates are kept; once webrtcbin's
connection-state (or ICE connected/completed with the DTLS transport
connected) is reached within --timeout, the program prints "connected" and
the selected candidate pair on stderr, then stays up until the peer hangs
up (DTLS transport closed), stdin reaches EOF, or --hold seconds (default
30) have passed.  Exit 0 if it connected, 1 otherwise.

With --media-recv S (implies --connect): receive media.  The offer has
recvonly audio (Opus) and video (VP8) transceivers and a data channel; as
answerer nothing is sent (webrtcbin answers a sendonly offer recvonly).
Each stream webrtcbin hands out is decoded (rtpvp8depay ! vp8dec, or
rtpopusdepay ! opusdec) into a fakesink whose handoffs are counted:
decoded video frames and their size, key frames reaching vp8dec, decoded
audio samples per channel, with webrtcbin's get-stats for the inbound
streams.  Once connected, one JSON line per second for S seconds ("gst:
media {...}"), then a verdict: pass when the video frames rose by at least
--min-ratio (0.8) x --expect-fps (30) per second, the audio samples by at
least 0.8 x 48000 per second and the last frame was --expect-size (640x480,
or "any").  Afterwards the peer stays up as with --connect; exit 0 when
media passed and it connected, 1 otherwise.

With --media-send S (implies --connect): send media.  Video:
videotestsrc is-live=true (pattern smpte, scrolling horizontally) at
--send-size (640x480) and --send-fps (30) ! vp8enc deadline=1 ! rtpvp8pay;
audio: audiotestsrc is-live=true wave=sine freq=--tone (1000) ! opusenc !
rtpopuspay, both into webrtcbin.  The offer has sendonly (--send-direction
sendrecv: sendrecv) audio and video and a data channel; as answerer the
offer's own Opus/VP8 payload types are used (sendonly for a recvonly
offer).  Once connected, one JSON line per second for S seconds ("gst:
media sent {...}": encoded VP8 frames leaving vp8enc and audio samples
leaving audiotestsrc since the connection is up, key frames, webrtcbin's outbound-rtp stats with the
PLI/NACK/FIR it received), then "gst: media send done {...}" and a hang-up:
the pipeline goes to NULL, then exit (webrtcbin 1.22 sends no close_notify
then: the other side only sees the media and consent checks stop, so
run-media-in.sh lets rtcpeer hang up instead, with --keep-sending).
With --keep-sending the peer goes on after S seconds until the peer hangs
up, stdin ends or --hold passes, and prints "media send done" then.  Exit 0
when it connected.

Needs gstreamer1.0-plugins-{base,good,bad}, gstreamer1.0-nice, python3-gi,
gir1.2-gstreamer-1.0 and gir1.2-gst-plugins-bad-1.0.
"""

import argparse
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sdpio  # noqa: E402

try:
    import gi
    gi.require_version("Gst", "1.0")
    gi.require_version("GstSdp", "1.0")
    gi.require_version("GstWebRTC", "1.0")
    from gi.repository import Gst, GstSdp, GstWebRTC  # noqa: E402
except (ImportError, ValueError) as e:  # pragma: no cover
    sdpio.fail("GStreamer introspection not available: %s (packages python3-gi,"
               " gir1.2-gstreamer-1.0, gir1.2-gst-plugins-bad-1.0)" % e, 2)

AUDIO_BRANCH = """
audiotestsrc is-live=true wave=sine ! audioconvert ! audioresample
  ! queue ! opusenc ! rtpopuspay pt={pt}
  ! application/x-rtp,media=audio,encoding-name=OPUS,payload={pt} ! w.
"""
VIDEO_BRANCH = """
videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=15/1
  ! videoconvert ! queue ! vp8enc deadline=1 ! rtpvp8pay pt={pt}
  ! application/x-rtp,media=video,encoding-name=VP8,payload={pt} ! w.
"""
# --media-send: a moving picture and a tone, counted where they are encoded.
SEND_AUDIO_BRANCH = """
audiotestsrc is-live=true wave=sine freq={tone} name=asrc ! audioconvert ! audioresample
  ! queue ! opusenc ! rtpopuspay pt={pt}
  ! application/x-rtp,media=audio,encoding-name=OPUS,payload={pt} ! w.
"""
SEND_VIDEO_BRANCH = """
videotestsrc is-live=true pattern=smpte horizontal-speed=4
  ! video/x-raw,width={width},height={height},framerate={fps}/1
  ! videoconvert ! queue ! vp8enc deadline=1 name=venc ! rtpvp8pay pt={pt}
  ! application/x-rtp,media=video,encoding-name=VP8,payload={pt} ! w.
"""
WEBRTCBIN = "webrtcbin name=w bundle-policy={policy}"
NICE_STATES = {0: "disconnected", 1: "gathering", 2: "connecting",
               3: "connected", 4: "ready", 5: "failed"}


class Peer:
    def __init__(self, args, opus_pt=None, vp8_pt=None):
        self.args = args
        Gst.init(None)
        desc = bin_desc = WEBRTCBIN.format(policy=args.bundle_policy)
        self.opus_pt, self.vp8_pt = opus_pt, vp8_pt
        send = getattr(args, "media_send", 0)
        if opus_pt is not None:
            desc += (SEND_AUDIO_BRANCH.format(pt=opus_pt, tone=args.tone) if send
                     else AUDIO_BRANCH.format(pt=opus_pt))
        if vp8_pt is not None:
            if send:
                w, _, h = args.send_size.partition("x")
                desc += SEND_VIDEO_BRANCH.format(pt=vp8_pt, width=int(w), height=int(h),
                                                 fps=int(args.send_fps))
            else:
                desc += VIDEO_BRANCH.format(pt=vp8_pt)
        if desc == bin_desc:
            self.pipe = Gst.Pipeline.new("data")
            self.pipe.add(Gst.parse_launch(desc))
        else:
            self.pipe = Gst.parse_launch(desc)
        self.w = self.pipe.get_by_name("w")
        # Keep Python references to both objects for the whole run: the
        # bindings drop one reference too many on them when a wrapper dies
        # (the program ends with os._exit, so they never die).
        self.ice = self.w.get_property("ice-agent")
        self.agent = self.ice.get_property("agent")
        # UPnP IGD discovery would multicast SSDP on every interface.
        self.agent.set_property("upnp", False)
        # libnice's view (webrtcbin 1.22 leaves ice-connection-state at
        # "new" for a data-only session and has no stats for it).
        self.selected = None      # (local foundation, remote foundation)
        self.nice_state = None
        self.local_text = self.remote_text = ""
        self.agent.connect("new-selected-pair", self._on_selected_pair)
        self.agent.connect("component-state-changed", self._on_component_state)
        self.gathered = threading.Event()
        self.w.connect("notify::ice-gathering-state", self._on_gathering)
        bus = self.pipe.get_bus()
        bus.add_signal_watch()
        bus.enable_sync_message_emission()
        bus.connect("sync-message::error", self._on_error)

    def _on_selected_pair(self, agent, stream, component, lfound, rfound):
        if component == 1:
            self.selected = (lfound, rfound)

    def _on_component_state(self, agent, stream, component, state):
        if component == 1:
            self.nice_state = NICE_STATES.get(state, str(state))

    def _on_error(self, bus, msg):
        if getattr(self, "closing", False):
            return  # our own hang-up (--media-send) tears the pipeline down
        err, dbg = msg.parse_error()
        sdpio.fail("gst: pipeline error: %s (%s)" % (err.message, dbg))

    def _on_gathering(self, w, pspec):
        if w.get_property("ice-gathering-state") == GstWebRTC.WebRTCICEGatheringState.COMPLETE:
            self.gathered.set()

    def start(self):
        if self.pipe.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            sdpio.fail("gst: cannot start the pipeline")

    def wait_caps(self):
        """Wait until every webrtcbin sink pad has caps, so the offer
        carries each sender's SSRC and msid (otherwise it races)."""
        deadline = time.monotonic() + self.args.timeout
        while any(p.get_current_caps() is None for p in self.w.sinkpads):
            if time.monotonic() > deadline:
                sdpio.fail("gst: no caps on webrtcbin's sink pads after %gs"
                           % self.args.timeout)
            time.sleep(0.01)

    def call(self, signal, *args):
        """Emit a promise-returning action signal and wait for the reply."""
        done = threading.Event()
        p = Gst.Promise.new_with_change_func(lambda _p: done.set())
        self.w.emit(signal, *args, p)
        if not done.wait(self.args.timeout):
            sdpio.fail("gst: %s timed out after %gs" % (signal, self.args.timeout))
        if p.wait() != Gst.PromiseResult.REPLIED:
            sdpio.fail("gst: %s: promise not replied (%s)" % (signal, p.wait()))
        reply = p.get_reply()
        if reply is not None and reply.has_field("error"):
            err = reply.get_value("error")
            sdpio.fail("gst: %s failed: %s" % (signal, getattr(err, "message", err)))
        return reply

    def local_sdp(self):
        if not self.gathered.wait(self.args.timeout):
            sdpio.fail("gst: ICE gathering not complete after %gs" % self.args.timeout)
        self.local_text = self.w.get_property("local-description").sdp.as_text()
        return self.local_text

    def set_remote(self, text, sdp_type):
        self.remote_text = text
        if not self.args.connect:
            text = sdpio.strip_candidates(text)
        res, msg = GstSdp.SDPMessage.new_from_text(text)
        if res != GstSdp.SDPResult.OK:
            sdpio.fail("gst: cannot parse the %s: %s" % (sdp_type, res))
        t = (GstWebRTC.WebRTCSDPType.OFFER if sdp_type == "offer"
             else GstWebRTC.WebRTCSDPType.ANSWER)
        self.call("set-remote-description",
                  GstWebRTC.WebRTCSessionDescription.new(t, msg))


class MediaRecv:
    """--media-recv: decode what webrtcbin receives and count it."""

    def __init__(self, peer):
        self.peer = peer
        self.lock = threading.Lock()
        self.frames = 0
        self.size = None
        self.keyframes = 0
        self.to_decoder = 0
        self.samples = 0
        self.audio_buffers = 0
        self.audio_format = None
        self.streams = []
        self.errors = []
        peer.w.connect("pad-added", self.on_pad)

    def add_recvonly(self):
        """Offer side: recvonly Opus and VP8 transceivers."""
        rv = GstWebRTC.WebRTCRTPTransceiverDirection.RECVONLY
        # (encoding-params=2: RFC 7587's "opus/48000/2"; without it the
        # offer says "OPUS/48000", which answerers may refuse)
        for caps in ("application/x-rtp,media=audio,encoding-name=OPUS,payload=111,"
                     "clock-rate=48000,encoding-params=(string)2",
                     "application/x-rtp,media=video,encoding-name=VP8,payload=96,"
                     "clock-rate=90000"):
            if self.peer.w.emit("add-transceiver", rv, Gst.Caps.from_string(caps)) is None:
                sdpio.fail("gst: add-transceiver %s failed" % caps)

    def on_pad(self, w, pad):
        if pad.get_direction() != Gst.PadDirection.SRC:
            return
        caps = pad.get_current_caps() or pad.query_caps(None)
        st = caps.get_structure(0)
        media = st.get_string("media")
        enc = (st.get_string("encoding-name") or "").upper()
        self.streams.append("%s %s pt %s" % (media, enc, st.get_value("payload")
                                             if st.has_field("payload") else "?"))
        sys.stderr.write("gst: media: pad %s: %s\n" % (pad.get_name(), caps.to_string()))
        sys.stderr.flush()
        if media == "video" and enc == "VP8":
            desc = "queue ! rtpvp8depay name=depay ! vp8dec name=dec ! fakesink name=sink"
        elif media == "audio" and enc == "OPUS":
            desc = "queue ! rtpopusdepay ! opusdec name=dec ! fakesink name=sink"
        else:
            desc = "fakesink name=sink"
            self.errors.append("unexpected stream %s" % caps.to_string())
        b = Gst.parse_bin_from_description(desc, True)
        sink = b.get_by_name("sink")
        sink.set_property("sync", False)
        sink.set_property("async", False)
        sink.set_property("signal-handoffs", True)
        if media == "video":
            sink.connect("handoff", self.on_video)
            dec = b.get_by_name("dec")
            if dec is not None:
                dec.get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, self.on_encoded)
        else:
            sink.connect("handoff", self.on_audio)
        self.peer.pipe.add(b)
        b.sync_state_with_parent()
        if pad.link(b.get_static_pad("sink")) != Gst.PadLinkReturn.OK:
            self.errors.append("cannot link %s" % pad.get_name())

    def on_encoded(self, pad, info):
        buf = info.get_buffer()
        with self.lock:
            self.to_decoder += 1
            if not buf.has_flags(Gst.BufferFlags.DELTA_UNIT):
                self.keyframes += 1
        return Gst.PadProbeReturn.OK

    def on_video(self, sink, buf, pad):
        size = self.size
        if size is None or self.frames % 30 == 0:
            caps = pad.get_current_caps()
            if caps is not None:
                st = caps.get_structure(0)
                size = "%dx%d" % (st.get_value("width"), st.get_value("height"))
        with self.lock:
            self.frames += 1
            self.size = size

    def on_audio(self, sink, buf, pad):
        fmt = self.audio_format
        if fmt is None:
            caps = pad.get_current_caps()
            st = caps.get_structure(0)
            fmt = (st.get_string("format"), st.get_value("channels"), st.get_value("rate"))
        width = {"S16LE": 2, "S16BE": 2, "F32LE": 4, "S32LE": 4}.get(fmt[0], 2)
        with self.lock:
            self.audio_format = fmt
            self.audio_buffers += 1
            self.samples += buf.get_size() // (width * fmt[1])

    def inbound_stats(self):
        """webrtcbin's inbound-rtp stats, by kind (best effort)."""
        done = threading.Event()
        p = Gst.Promise.new_with_change_func(lambda _p: done.set())
        self.peer.w.emit("get-stats", None, p)
        out = {}
        if not done.wait(2) or p.wait() != Gst.PromiseResult.REPLIED:
            return out
        reply = p.get_reply()
        if reply is None:
            return out
        found = []

        def each(field_id, value, _data):
            if isinstance(value, Gst.Structure):
                found.append(value)
            return True
        reply.foreach(each, None)
        inbound = GstWebRTC.WebRTCStatsType.INBOUND_RTP
        for st in found:
            ok, typ = st.get_enum("type", GstWebRTC.WebRTCStatsType)
            if not ok or typ != inbound:
                continue
            o = {}
            for k in ("ssrc", "packets-received", "packets-lost", "jitter", "bytes-received",
                      "nack-count", "pli-count", "fir-count"):
                if st.has_field(k):
                    o[k] = st.get_value(k)
            # The kind: from the clock rate of the stream's codec entry.
            codec = st.get_string("codec-id") if st.has_field("codec-id") else None
            kind = None
            for c in found:
                if codec and c.has_field("id") and c.get_string("id") == codec \
                        and c.has_field("clock-rate"):
                    kind = "video" if c.get_value("clock-rate") == 90000 else "audio"
            out[kind or "stream%d" % len(out)] = o
        return out

    def sample(self, t):
        st = self.inbound_stats()
        with self.lock:
            return {
                "t": round(t, 1),
                "video": dict(st.get("video", {}), framesDecoded=self.frames, size=self.size,
                              framesToDecoder=self.to_decoder, keyFrames=self.keyframes),
                "audio": dict(st.get("audio", {}), samples=self.samples,
                              buffers=self.audio_buffers,
                              format=("%s %dch %d Hz" % self.audio_format)
                              if self.audio_format else None),
            }

    def run(self, args):
        def log(msg):
            sys.stderr.write("gst: %s\n" % msg)
            sys.stderr.flush()
        t0 = time.monotonic()
        first = self.sample(0)
        log("media " + json.dumps(first))
        last = first
        for i in range(1, int(args.media_recv) + 1):
            time.sleep(max(0, t0 + i - time.monotonic()))
            last = self.sample(time.monotonic() - t0)
            log("media " + json.dumps(last))
        secs = time.monotonic() - t0
        frames = last["video"]["framesDecoded"] - first["video"]["framesDecoded"]
        samples = last["audio"]["samples"] - first["audio"]["samples"]
        fps, sps = frames / secs, samples / secs
        problems = list(self.errors)
        if fps < args.min_ratio * args.expect_fps:
            problems.append("video decoded at %.1f fps < %.1f"
                            % (fps, args.min_ratio * args.expect_fps))
        if sps < args.min_ratio * 48000:
            problems.append("audio decoded at %d samples/s < %d"
                            % (sps, args.min_ratio * 48000))
        if args.expect_size != "any" and last["video"]["size"] != args.expect_size:
            problems.append("frame size %s, expected %s" % (last["video"]["size"],
                                                           args.expect_size))
        v, a = last["video"], last["audio"]
        verdict = {
            "seconds": round(secs, 2), "streams": self.streams,
            "video": {"framesDecoded": frames, "fps": round(fps, 2), "size": v["size"],
                      "keyFrames": v["keyFrames"], "framesToDecoder": v["framesToDecoder"],
                      "packetsReceived": v.get("packets-received"),
                      "packetsLost": v.get("packets-lost")},
            "audio": {"samples": samples, "samplesPerSecond": round(sps),
                      "format": a["format"], "packetsReceived": a.get("packets-received"),
                      "packetsLost": a.get("packets-lost")},
        }
        log("media verdict " + json.dumps(verdict))
        if problems:
            log("media FAILED: " + "; ".join(problems))
            return 1
        log("media ok: video %.1f fps %s (%d frames, %d key), audio %d samples/s in %.1f s"
            % (fps, v["size"], frames, v["keyFrames"], sps, secs))
        return 0


class MediaSend:
    """--media-send: count what leaves the encoders, and webrtcbin's
    outbound-rtp stats."""

    def __init__(self, peer, args):
        self.peer = peer
        self.args = args
        self.lock = threading.Lock()
        self.frames = 0
        self.keyframes = 0
        self.samples = 0
        self.frames0 = self.samples0 = 0
        self.wire_frames = self.wire_audio = self.wire_video = 0
        self.wired = []
        self.t0 = None
        enc = peer.pipe.get_by_name("venc")
        if enc is not None:
            enc.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, self.on_frame)
        src = peer.pipe.get_by_name("asrc")
        if src is not None:
            src.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, self.on_audio)

    def on_frame(self, pad, info):
        buf = info.get_buffer()
        with self.lock:
            self.frames += 1
            if not buf.has_flags(Gst.BufferFlags.DELTA_UNIT):
                self.keyframes += 1
        return Gst.PadProbeReturn.OK

    def on_audio(self, pad, info):
        buf = info.get_buffer()
        caps = pad.get_current_caps()
        n = 0
        if caps is not None:
            st = caps.get_structure(0)
            fmt = st.get_string("format") or "S16LE"
            width = {"S16LE": 2, "S16BE": 2, "F32LE": 4, "S32LE": 4, "F64LE": 8}.get(fmt, 2)
            ok, ch = st.get_int("channels")
            n = buf.get_size() // (width * (ch if ok and ch > 0 else 1))
        with self.lock:
            self.samples += n
        return Gst.PadProbeReturn.OK

    def watch_wire(self):
        """Count what really leaves: RTP packets entering webrtcbin's
        nicesink elements (SRTP leaves the header in clear), video frames by
        their marker bit, audio packets by payload type.  Installed before
        the connection is up, so frames queued until then count too."""
        self.wire_frames = self.wire_audio = self.wire_video = 0
        self.wired = []
        it = self.peer.w.iterate_recurse()
        while True:
            res, el = it.next()
            if res == Gst.IteratorResult.RESYNC:
                it.resync()
                continue
            if res != Gst.IteratorResult.OK:
                break
            f = el.get_factory()
            if f is None or f.get_name() != "nicesink" or el in self.wired:
                continue
            self.wired.append(el)
            el.get_static_pad("sink").add_probe(
                Gst.PadProbeType.BUFFER | Gst.PadProbeType.BUFFER_LIST, self.on_wire)
        return len(self.wired)

    def on_wire(self, pad, info):
        bufs = []
        if info.type & Gst.PadProbeType.BUFFER_LIST:
            lst = info.get_buffer_list()
            bufs = [lst.get(i) for i in range(lst.length())]
        else:
            bufs = [info.get_buffer()]
        for b in bufs:
            head = b.extract_dup(0, 2) if b.get_size() >= 12 else b""
            if len(head) < 2 or head[0] >> 6 != 2 or 64 <= (head[1] & 0x7F) <= 95:
                continue  # not RTP (DTLS, STUN, RTCP)
            pt = head[1] & 0x7F
            with self.lock:
                if pt == self.peer.vp8_pt:
                    self.wire_video += 1
                    if head[1] & 0x80:
                        self.wire_frames += 1
                elif pt == self.peer.opus_pt:
                    self.wire_audio += 1
        return Gst.PadProbeReturn.OK

    def set_direction(self, direction):
        """Offer side: the sending transceivers become `direction`."""
        d = (GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY if direction == "sendonly"
             else GstWebRTC.WebRTCRTPTransceiverDirection.SENDRECV)
        i = 0
        while True:
            t = self.peer.w.emit("get-transceiver", i)
            if t is None:
                break
            t.set_property("direction", d)
            i += 1

    def outbound_stats(self):
        """webrtcbin's outbound-rtp stats, by kind (best effort)."""
        done = threading.Event()
        p = Gst.Promise.new_with_change_func(lambda _p: done.set())
        self.peer.w.emit("get-stats", None, p)
        out = {}
        if not done.wait(2) or p.wait() != Gst.PromiseResult.REPLIED:
            return out
        reply = p.get_reply()
        if reply is None:
            return out
        found = []

        def each(field_id, value, _data):
            if isinstance(value, Gst.Structure):
                found.append(value)
            return True
        reply.foreach(each, None)
        outbound = GstWebRTC.WebRTCStatsType.OUTBOUND_RTP
        for st in found:
            ok, typ = st.get_enum("type", GstWebRTC.WebRTCStatsType)
            if not ok or typ != outbound:
                continue
            o = {}
            for k in ("ssrc", "packets-sent", "bytes-sent", "nack-count", "pli-count",
                      "fir-count"):
                if st.has_field(k):
                    o[k] = st.get_value(k)
            codec = st.get_string("codec-id") if st.has_field("codec-id") else None
            kind = None
            for c in found:
                if codec and c.has_field("id") and c.get_string("id") == codec \
                        and c.has_field("clock-rate"):
                    kind = "video" if c.get_value("clock-rate") == 90000 else "audio"
            out[kind or "stream%d" % len(out)] = o
        return out

    def sample(self):
        """What left on the wire (frames: marker packets; audio: 20 ms Opus
        packets, 960 samples each, as opusenc makes them), with the encoders'
        own counts (from the start of the pipeline)."""
        st = self.outbound_stats()
        t = time.monotonic() - self.t0 if self.t0 is not None else 0.0
        a = self.args
        with self.lock:
            return {
                "t": round(t, 1), "seconds": round(t, 2),
                "video": dict(st.get("video", {}), frames=self.wire_frames,
                              rtpPacketsOut=self.wire_video,
                              framesEncoded=self.frames,
                              framesBeforeConnected=self.frames0,
                              keyFramesEncoded=self.keyframes, size=a.send_size,
                              fps=a.send_fps),
                "audio": dict(st.get("audio", {}), samples=960 * self.wire_audio,
                              rtpPacketsOut=self.wire_audio,
                              sourceSamples=self.samples,
                              sampleRate=48000, toneHz=a.tone),
            }

    def report(self, what):
        sys.stderr.write("gst: %s %s\n" % (what, json.dumps(self.sample())))
        sys.stderr.flush()

    def run(self, args, hung_up):
        """Send for --media-send seconds, one JSON line a second; stop early
        when hung_up() says the peer is gone."""
        with self.lock:
            self.t0 = time.monotonic()
            self.frames0, self.samples0 = self.frames, self.samples
        self.report("media sent")
        for i in range(1, int(args.media_send) + 1):
            time.sleep(max(0, self.t0 + i - time.monotonic()))
            if hung_up():
                sys.stderr.write("gst: media send: the peer hung up after %.1f s\n"
                                 % (time.monotonic() - self.t0))
                break
            self.report("media sent")
        rest = args.media_send - int(args.media_send)
        if rest > 0 and not hung_up():
            time.sleep(rest)


def do_offer(args):
    if args.data_only or args.media_recv:
        peer = Peer(args)
    else:
        peer = Peer(args, opus_pt=96, vp8_pt=97)
    if args.media_recv:
        peer.media = MediaRecv(peer)
        peer.media.add_recvonly()
    if args.media_send:
        peer.sender = MediaSend(peer, args)
    peer.start()
    peer.wait_caps()
    if args.media_send:
        peer.sender.set_direction(args.send_direction)
    # The data channel must exist before the offer is created.
    if peer.w.emit("create-data-channel", "data", None) is None:
        sdpio.fail("gst: create-data-channel failed")
    reply = peer.call("create-offer", None)
    offer = reply.get_value("offer")
    peer.call("set-local-description", offer)
    sdpio.write_sdp(peer.local_sdp())
    try:
        answer = sdpio.read_sdp(args.timeout)
    except (sdpio.Timeout, ValueError) as e:
        sdpio.fail("gst: reading answer: %s" % e)
    peer.set_remote(answer, "answer")
    sys.stderr.write("ok\n")
    if args.connect:
        return stay_connected(peer, args)
    return 0


def offered_pt(sdp, kind, codec):
    """Payload type of the first `codec` rtpmap in the first m=`kind`."""
    in_kind = seen = False
    for line in sdp.splitlines():
        if line.startswith("m="):
            if seen:
                break
            in_kind = line.startswith("m=%s " % kind)
            seen = in_kind
        elif in_kind and line.startswith("a=rtpmap:"):
            pt, _, enc = line[len("a=rtpmap:"):].partition(" ")
            if enc.split("/")[0].upper() == codec and pt.isdigit():
                return int(pt)
    return None


def do_answer(args):
    try:
        offer = sdpio.read_sdp(args.timeout)
    except (sdpio.Timeout, ValueError) as e:
        sdpio.fail("gst: reading offer: %s" % e)
    # webrtcbin matches an offered m-line to a sending transceiver only when
    # the payload types agree, so send with the offer's own opus/VP8 types.
    if args.media_recv:
        # Nothing to send: webrtcbin makes a receiving transceiver for each
        # offered audio/video m-line.
        peer = Peer(args)
        peer.media = MediaRecv(peer)
    else:
        peer = Peer(args, opus_pt=offered_pt(offer, "audio", "OPUS"),
                    vp8_pt=offered_pt(offer, "video", "VP8"))
        if args.media_send:
            peer.sender = MediaSend(peer, args)
    peer.start()
    # Sink pads with caps make sendrecv transceivers that the offer's
    # audio/video m-lines are matched to.
    peer.wait_caps()
    peer.set_remote(offer, "offer")
    reply = peer.call("create-answer", None)
    answer = reply.get_value("answer")
    if answer is None:
        sdpio.fail("gst: create-answer gave no answer")
    peer.call("set-local-description", answer)
    sdpio.write_sdp(peer.local_sdp())
    if args.connect:
        return stay_connected(peer, args)
    return 0


def nick(value):
    """Short name of a GStreamer enum value ("connected")."""
    return getattr(value, "value_nick", str(value))


def dtls_encoders(w):
    """The dtlsenc elements inside webrtcbin (their connection-state is the
    DTLS state: webrtcbin 1.22's sctp-transport property is unusable from
    Python, and a data-only session has no transceiver)."""
    out = []
    it = w.iterate_recurse()
    while True:
        res, el = it.next()
        if res == Gst.IteratorResult.RESYNC:
            it.resync()
            out = []
            continue
        if res != Gst.IteratorResult.OK:
            break
        f = el.get_factory()
        if f is not None and f.get_name() == "dtlsenc":
            out.append(el)
    return out


def candidate_by_foundation(sdp, foundation):
    """ "host [fd00::2]:5000" for the first UDP component-1 candidate of
    `sdp` with that foundation."""
    for line in sdp.splitlines():
        if not line.startswith("a=candidate:"):
            continue
        f = line[len("a=candidate:"):].split()
        if len(f) >= 8 and f[0] == foundation and f[1] == "1" and f[2].upper() == "UDP":
            host, port = f[4], f[5]
            addr = ("[%s]:%s" % (host, port)) if ":" in host else ("%s:%s" % (host, port))
            typ = f[f.index("typ") + 1] if "typ" in f else "?"
            return "%s %s" % (typ, addr)
    return "foundation %s" % foundation


def selected_pair(peer):
    """The pair libnice selected, from its new-selected-pair signal."""
    if peer.selected is None:
        return "none selected yet"
    lf, rf = peer.selected
    return "%s <-> %s" % (candidate_by_foundation(peer.local_text, lf),
                          candidate_by_foundation(peer.remote_text, rf))


def stay_connected(peer, args):
    """Wait for the connection, report it, then stay up until the peer hangs
    up, stdin ends or --hold passes.  0 if connected, 1 otherwise."""
    w = peer.w
    t0 = time.monotonic()
    deadline = t0 + args.timeout

    def states():
        # (connection-state, ice-connection-state, DTLS state, dtlsenc)
        encs = dtls_encoders(w)
        enc = encs[0] if encs else None
        return (nick(w.get_property("connection-state")),
                nick(w.get_property("ice-connection-state")),
                nick(enc.get_property("connection-state")) if enc else "none", enc)

    def describe(st):
        return ("connection-state %s, ice-connection-state %s (libnice %s), DTLS %s"
                % (st[0], st[1], peer.nice_state, st[2]))

    while True:
        if args.media_send and not peer.sender.wired:
            peer.sender.watch_wire()
        st = states()
        if st[0] == "connected" or (st[1] in ("connected", "completed")
                                    and st[2] == "connected"):
            break
        # (dtlsenc reports "closed" before its handshake starts too)
        if "failed" in st[:3]:
            sys.stderr.write("gst: connection failed: %s\n" % describe(st))
            return 1
        if time.monotonic() > deadline:
            sys.stderr.write("gst: not connected after %gs: %s\n" % (args.timeout, describe(st)))
            return 1
        time.sleep(0.01)
    role = "?"
    if st[3] is not None:
        role = "client" if st[3].get_property("is-client") else "server"
    sys.stderr.write("gst: connected in %.1f ms: %s (DTLS %s), pair %s\n" % (
        (time.monotonic() - t0) * 1000, describe(st), role, selected_pair(peer)))
    sys.stderr.flush()
    code = 0
    if args.media_recv:
        code = peer.media.run(args)

    eof = threading.Event()
    if args.media_send:
        def hung_up():
            st = states()
            return st[2] in ("closed", "failed") or st[0] in ("closed", "failed")
        peer.sender.run(args, hung_up)
        if not args.keep_sending:
            peer.sender.report("media send done")
            sys.stderr.write("gst: hanging up after sending for %gs\n" % args.media_send)
            sys.stderr.flush()
            hang_up(peer)
            return 0

    def read_stdin():
        while True:
            try:
                if not os.read(sys.stdin.fileno(), 65536):
                    break
            except OSError:
                break
        eof.set()
    threading.Thread(target=read_stdin, daemon=True).start()
    end = time.monotonic() + args.hold
    reason = "hold time of %gs over" % args.hold
    eof_at = None
    while time.monotonic() < end:
        st = states()
        if st[2] in ("closed", "failed") or st[0] in ("closed", "failed"):
            reason = "peer hung up: %s" % describe(st)
            break
        # On stdin EOF, give the peer's close_notify half a second to show.
        if eof.is_set() and eof_at is None:
            eof_at = time.monotonic()
        if eof_at is not None and time.monotonic() > eof_at + 0.5:
            reason = "stdin EOF (%s)" % describe(st)
            break
        time.sleep(0.02)
    sys.stderr.write("gst: end after %.1f s connected: %s\n" % (time.monotonic() - t0, reason))
    if args.media_send and args.keep_sending:
        peer.sender.report("media send done")
    return code


def hang_up(peer):
    """End the session ourselves: the pipeline goes to NULL (bounded).  No
    close_notify leaves (seen from aiortc: its DTLS transport stays up)."""
    done = threading.Event()
    peer.closing = True

    def stop():
        peer.pipe.set_state(Gst.State.NULL)
        done.set()
    threading.Thread(target=stop, daemon=True).start()
    done.wait(3)


ELEMENTS = {
    "webrtcbin": "gstreamer1.0-plugins-bad", "nicesrc": "gstreamer1.0-nice",
    "audiotestsrc": "gstreamer1.0-plugins-base", "opusenc": "gstreamer1.0-plugins-base",
    "audioconvert": "gstreamer1.0-plugins-base", "audioresample": "gstreamer1.0-plugins-base",
    "videotestsrc": "gstreamer1.0-plugins-base", "videoconvert": "gstreamer1.0-plugins-base",
    "rtpopuspay": "gstreamer1.0-plugins-good", "vp8enc": "gstreamer1.0-plugins-good",
    "rtpvp8pay": "gstreamer1.0-plugins-good", "rtpvp8depay": "gstreamer1.0-plugins-good",
    "vp8dec": "gstreamer1.0-plugins-good", "rtpopusdepay": "gstreamer1.0-plugins-good",
    "opusdec": "gstreamer1.0-plugins-base", "fakesink": "gstreamer1.0 (core)",
}


def do_check():
    Gst.init(None)
    missing = ["%s (%s)" % (e, pkg) for e, pkg in ELEMENTS.items()
               if Gst.ElementFactory.find(e) is None]
    if missing:
        sdpio.fail("missing GStreamer elements: " + ", ".join(missing), 2)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["offer", "answer", "check"])
    ap.add_argument("--data-only", action="store_true",
                    help="offer only a data channel")
    ap.add_argument("--bundle-policy", default="max-bundle",
                    choices=["max-bundle", "max-compat", "balanced", "none"],
                    help="webrtcbin's bundle-policy (default max-bundle)")
    ap.add_argument("--timeout", type=float, default=10.0,
                    help="bound on every wait, seconds (default 10)")
    ap.add_argument("--connect", action="store_true",
                    help="run ICE + DTLS after signaling and stay connected")
    ap.add_argument("--hold", type=float, default=30.0,
                    help="with --connect: longest stay once connected (default 30)")
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
    ap.add_argument("--send-fps", type=int, default=30,
                    help="--media-send: video frame rate (default 30)")
    ap.add_argument("--tone", type=float, default=1000.0,
                    help="--media-send: audio tone in Hz (default 1000)")
    args = ap.parse_args()
    if args.media_send:
        if args.data_only or args.media_recv:
            ap.error("--media-send goes without --data-only and --media-recv")
        args.connect = True
    if args.media_recv:
        if args.data_only:
            ap.error("--media-recv goes without --data-only")
        args.connect = True
    if args.mode == "check":
        sys.exit(do_check())
    # Watchdog: whatever blocks, never outlive 3 timeouts (plus the hold).
    t = threading.Timer(3 * args.timeout + (args.hold if args.connect else 0) + args.media_recv
                        + args.media_send,
                        lambda: sdpio.fail("gst: %s timed out" % args.mode))
    t.daemon = True
    t.start()
    try:
        code = do_offer(args) if args.mode == "offer" else do_answer(args)
    except Exception as e:
        sdpio.fail("gst: %s: %s: %s" % (args.mode, type(e).__name__, e))
    sys.stdout.flush()
    sys.stderr.flush()
    # Exit at once: tearing the pipeline down is not part of the test.
    os._exit(code)


if __name__ == "__main__":
    main()
