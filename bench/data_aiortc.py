#!/usr/bin/python3
"""aiortc reference for bench/data-throughput.sh: two RTCPeerConnections in one
process and one event loop, no ICE servers, offer and answer handed over in
memory (host candidates on this machine's addresses, real UDP sockets).

  data_aiortc.py throughput MB   the offerer's data channel sends MB megabytes
                                 (10^6 bytes) in 64 KiB binary messages to the
                                 answerer, with flow control on bufferedAmount
                                 (at most 4 MiB queued; resume below 1 MiB)
  data_aiortc.py setup N         N connections (after one discarded warm-up)

throughput prints one line:
  aiortc throughput bytes=.. seconds=.. cpu_s=.. maxrss_kb=..
    seconds: from the offerer's channel "open" to the last byte received
    cpu_s:   user + system CPU of the whole process (both peers) over the
             same interval (resource.getrusage)
    maxrss_kb: the process's peak RSS (ru_maxrss; both peers and Python)

setup prints one line per run and a median:
  aiortc setup run=K open_ms=..
    open_ms: from the call of the offerer's setRemoteDescription(answer)
    (the last description applied) to the offerer's own channel firing "open"
  aiortc setup median runs=N open_ms=..

Exit status 0; 1 on a failure or timeout; 77 when aiortc cannot be imported.
"""
import asyncio
import resource
import statistics
import sys
import time

try:
    from aiortc import RTCConfiguration, RTCPeerConnection
except ImportError as e:
    print("aiortc error: import: %s" % e, flush=True)
    sys.exit(77)

CHUNK = 65536


async def connect(on_datachannel=None):
    cfg = RTCConfiguration(iceServers=[])
    off = RTCPeerConnection(configuration=cfg)
    ans = RTCPeerConnection(configuration=cfg)
    if on_datachannel:
        ans.on("datachannel", on_datachannel)
    ch = off.createDataChannel("bench")
    opened = asyncio.Event()
    stamps = {}

    @ch.on("open")
    def on_open():
        stamps["open"] = time.perf_counter()
        opened.set()

    await off.setLocalDescription(await off.createOffer())
    await ans.setRemoteDescription(off.localDescription)
    await ans.setLocalDescription(await ans.createAnswer())
    t0 = time.perf_counter()
    await off.setRemoteDescription(ans.localDescription)
    await asyncio.wait_for(opened.wait(), 15)
    return off, ans, ch, (stamps["open"] - t0) * 1000


async def throughput(mb):
    total = int(mb * 1e6)
    got = {"n": 0}
    done = asyncio.Event()

    def on_dc(rch):
        @rch.on("message")
        def on_msg(m):
            got["n"] += len(m)
            if got["n"] >= total:
                done.set()

    off, ans, ch, _ = await connect(on_dc)
    low = asyncio.Event()
    ch.bufferedAmountLowThreshold = 1 << 20

    @ch.on("bufferedamountlow")
    def on_low():
        low.set()

    payload = bytes(CHUNK)
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    sent = 0
    while sent < total:
        if ch.bufferedAmount > (4 << 20):
            low.clear()
            await low.wait()
        n = min(CHUNK, total - sent)
        ch.send(payload[:n])
        sent += n
    await asyncio.wait_for(done.wait(), 600)
    t1 = time.perf_counter()
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    print("aiortc throughput bytes=%d seconds=%.3f cpu_s=%.3f maxrss_kb=%d"
          % (got["n"], t1 - t0, cpu, r1.ru_maxrss), flush=True)
    await off.close()
    await ans.close()


async def setup(n):
    vals = []
    for k in range(n + 1):
        off, ans, ch, ms = await connect()
        await off.close()
        await ans.close()
        if k == 0:
            continue  # warm-up
        vals.append(ms)
        print("aiortc setup run=%d open_ms=%.1f" % (k, ms), flush=True)
    print("aiortc setup median runs=%d open_ms=%.1f min=%.1f max=%.1f"
          % (n, statistics.median(vals), min(vals), max(vals)), flush=True)


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("throughput", "setup"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    try:
        if sys.argv[1] == "throughput":
            asyncio.run(throughput(float(sys.argv[2])))
        else:
            asyncio.run(setup(int(sys.argv[2])))
    except Exception as e:  # a timeout or the stack's error
        print("aiortc error: %s: %s" % (type(e).__name__, e), flush=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
