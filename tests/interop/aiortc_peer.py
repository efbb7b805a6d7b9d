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

Needs python3-aiortc; run with /usr/bin/python3.
"""

import argparse
import asyncio
import os
import sys

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
    if not args.data_only:
        pc.addTrack(AudioStreamTrack())
        pc.addTrack(VideoStreamTrack())
    pc.createDataChannel("data")
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
    loop = asyncio.get_running_loop()
    try:
        offer = await loop.run_in_executor(None, sdpio.read_sdp, args.timeout)
    except (sdpio.Timeout, ValueError) as e:
        sdpio.fail("aiortc: reading offer: %s" % e)
    try:
        await asyncio.wait_for(
            pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer")),
            args.timeout)
        # Send on every audio/video m-line the offer has (sendrecv answer).
        for t in pc.getTransceivers():
            if t.kind == "audio":
                pc.addTrack(AudioStreamTrack())
            elif t.kind == "video":
                pc.addTrack(VideoStreamTrack())
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
    if dtls.state == "connected":
        try:  # hang up ourselves (close_notify), bounded
            await asyncio.wait_for(pc.close(), 2)
        except Exception:
            pass
    return 0


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
    args = ap.parse_args()
    if args.mode == "check":
        sys.exit(0)  # the imports above succeeded
    if not args.connect:
        signaling_only()
    coro = do_offer(args) if args.mode == "offer" else do_answer(args)
    bound = 3 * args.timeout + (args.hold if args.connect else 0)
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
