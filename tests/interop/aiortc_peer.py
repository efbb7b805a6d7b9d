#!/usr/bin/python3
"""aiortc peer for signaling interop tests.

  aiortc_peer.py offer [--data-only] [--timeout S]
      print an offer (audio + video + one data channel, or data only) and
      an empty line, read the answer from stdin, apply it.
  aiortc_peer.py answer [--timeout S]
      read an offer from stdin, print the answer and an empty line.
  aiortc_peer.py check
      exit 0 if aiortc can be imported (else exit 2 saying why).

Exit 0 when the remote description was accepted ("ok" on stderr), 1 with
the stack's error on stderr otherwise.  Host candidates only (no ICE
servers); no ICE checks are started and the program exits without waiting
for a connection.  Needs python3-aiortc; run with /usr/bin/python3.
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
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["offer", "answer", "check"])
    ap.add_argument("--data-only", action="store_true",
                    help="offer only a data channel")
    ap.add_argument("--timeout", type=float, default=10.0,
                    help="bound on every wait, seconds (default 10)")
    args = ap.parse_args()
    if args.mode == "check":
        sys.exit(0)  # the imports above succeeded
    coro = do_offer(args) if args.mode == "offer" else do_answer(args)
    try:
        code = asyncio.run(asyncio.wait_for(coro, 3 * args.timeout))
    except asyncio.TimeoutError:
        sdpio.fail("aiortc: %s timed out" % args.mode)
    except Exception as e:
        sdpio.fail("aiortc: %s: %s" % (type(e).__name__, e))
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip the orderly close: nothing was connected, and exiting at once
    # guarantees that no transport work is left running.
    os._exit(code)


if __name__ == "__main__":
    main()
