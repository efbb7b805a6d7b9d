#!/usr/bin/python3
"""Connection setup time of aiortc, the reference for bench/setup-time.sh.

Two aiortc RTCPeerConnections in one process and one event loop, no ICE servers, one data
channel (rtcpeer offers only a data section), offer and answer handed over in memory. Per run:

  t0      the instant the offerer's setRemoteDescription(answer) returns: both descriptions
          are applied on both sides (the second setRemoteDescription of the exchange).
  t_ans0  the instant the answerer's setRemoteDescription(offer) returns: the answerer's own
          "peer's description applied" moment, which is where rtcpeer's answerer starts its clock.

and, from each peer's state-change events (time.perf_counter() in the handler; aiortc emits them
synchronously):

  ice     iceConnectionState becomes "completed" or "connected" (aiortc 1.4 only has "completed")
  dtls    connectionState becomes "connected" (ICE completed and DTLS handshake done)

Printed per run, one line each (all values in milliseconds):

  aiortc run=K ice_ms=.. dtls_ms=.. off_ice_ms=.. off_dtls_ms=.. ans_ice_ms=.. ans_dtls_ms=..

  ice_ms, dtls_ms          later of the two peers, both measured from t0
  off_ice_ms, off_dtls_ms  the offerer alone, from t0 (like rtcpeer's offerer, whose clock starts
                           when it applied the answer)
  ans_ice_ms, ans_dtls_ms  the answerer alone, from t_ans0 (like rtcpeer's answerer)

and at the end (standalone mode) one line of medians:

  aiortc median runs=N ice_ms=.. dtls_ms=.. off_ice_ms=.. ...

Modes:
  aiortc_setup.py [N]        N runs (default 20) after one discarded warm-up run
  aiortc_setup.py --serve    one warm-up run, then one run per line read on stdin (the
                             benchmark script interleaves these with rtcpeer runs); prints
                             "aiortc ready" after the warm-up
Exit status: 0, 1 if a run failed or timed out (the reason goes to stderr and stdout as
"aiortc error: ..."), 77 if aiortc is not importable.
"""
import asyncio
import statistics
import sys
import time

try:
    from aiortc import RTCConfiguration, RTCPeerConnection
except ImportError as e:  # the caller prints SKIP
    print(f"aiortc error: import: {e}", flush=True)
    sys.exit(77)

RUN_TIMEOUT = 15.0
KEYS = ("ice_ms", "dtls_ms", "off_ice_ms", "off_dtls_ms", "ans_ice_ms", "ans_dtls_ms")


async def one_run():
    cfg = RTCConfiguration(iceServers=[])
    off = RTCPeerConnection(configuration=cfg)
    ans = RTCPeerConnection(configuration=cfg)
    stamps = {}  # (side, what) -> perf_counter
    all_up = asyncio.Event()

    def watch(pc, side):
        @pc.on("iceconnectionstatechange")
        def _ice():
            if pc.iceConnectionState in ("completed", "connected"):
                stamps.setdefault((side, "ice"), time.perf_counter())

        @pc.on("connectionstatechange")
        def _conn():
            st = pc.connectionState
            if st == "connected":
                stamps.setdefault((side, "dtls"), time.perf_counter())
                if ("off", "dtls") in stamps and ("ans", "dtls") in stamps:
                    all_up.set()
            elif st in ("failed", "closed"):
                stamps.setdefault((side, "failed"), st)
                all_up.set()

    watch(off, "off")
    watch(ans, "ans")
    try:
        off.createDataChannel("bench")
        await off.setLocalDescription(await off.createOffer())
        await ans.setRemoteDescription(off.localDescription)
        t_ans0 = time.perf_counter()
        await ans.setLocalDescription(await ans.createAnswer())
        await off.setRemoteDescription(ans.localDescription)
        t0 = time.perf_counter()
        try:
            await asyncio.wait_for(all_up.wait(), RUN_TIMEOUT)
        except asyncio.TimeoutError:
            return None, f"not connected within {RUN_TIMEOUT:.0f} s (states: offerer " \
                f"{off.iceConnectionState}/{off.connectionState}, answerer " \
                f"{ans.iceConnectionState}/{ans.connectionState})"
        failed = [k for k in stamps if k[1] == "failed"]
        if failed:
            return None, "connection " + ", ".join(f"{s}: {stamps[(s, w)]}" for s, w in failed)
        # ICE "completed" always precedes "connected"; a missing ICE stamp is a bug here.
        for k in (("off", "ice"), ("ans", "ice")):
            if k not in stamps:
                return None, f"no ICE completed event on the {'offerer' if k[0] == 'off' else 'answerer'}"

        def ms(a, b):
            return (a - b) * 1000.0

        r = {
            "ice_ms": ms(max(stamps[("off", "ice")], stamps[("ans", "ice")]), t0),
            "dtls_ms": ms(max(stamps[("off", "dtls")], stamps[("ans", "dtls")]), t0),
            "off_ice_ms": ms(stamps[("off", "ice")], t0),
            "off_dtls_ms": ms(stamps[("off", "dtls")], t0),
            "ans_ice_ms": ms(stamps[("ans", "ice")], t_ans0),
            "ans_dtls_ms": ms(stamps[("ans", "dtls")], t_ans0),
        }
        return r, None
    finally:
        await off.close()
        await ans.close()


def fmt(prefix, r):
    return prefix + " " + " ".join(f"{k}={r[k]:.1f}" for k in KEYS)


def fail(why):
    print(f"aiortc error: {why}", flush=True)
    print(f"aiortc_setup.py: {why}", file=sys.stderr, flush=True)
    sys.exit(1)


async def main(argv):
    serve = "--serve" in argv
    args = [a for a in argv if a != "--serve"]
    n = int(args[0]) if args else 20

    # Warm-up: the first connection in a process pays one-off costs (lazy imports, OpenSSL
    # initialisation) that a long-running application pays once; not counted.
    _, err = await one_run()
    if err:
        fail(f"warm-up run: {err}")

    if serve:
        print("aiortc ready", flush=True)
        k = 0
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                return
            k += 1
            r, err = await one_run()
            if err:
                fail(f"run {k}: {err}")
            print(fmt(f"aiortc run={k}", r), flush=True)

    runs = []
    for k in range(1, n + 1):
        r, err = await one_run()
        if err:
            fail(f"run {k}: {err}")
        runs.append(r)
        print(fmt(f"aiortc run={k}", r), flush=True)
    med = {key: statistics.median(r[key] for r in runs) for key in KEYS}
    print(fmt(f"aiortc median runs={n}", med), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
