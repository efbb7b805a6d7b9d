#!/bin/bash
# Bandwidth estimation interop: headless Chromium sends video to rtcpeer, and
# its send-side estimator (GCC) is driven by the transport-wide feedback
# (RTCP transport-cc) rtcpeer generates for what it receives.
#
#   run-bwe.sh RTCPEER
#
# Two exchanges, each `chromium_peer.js offer --media-send S` (sendonly
# audio+video, VP8 640x480 at 30 fps, degradationPreference
# maintain-resolution) -> `rtcpeer answer --video-out /dev/null --stats`:
#   1. feedback on: Chromium's video send rate (outbound-rtp bytesSent per
#      second: media payload, no headers, probes or padding) must reach
#      RATE_MIN (1500 kbit/s) at 640x480 within REACH_S (15) seconds of the
#      connection, and stay at >= 90 % of it on average from then on.
#   2. RTCPEER_NO_TWCC_FEEDBACK=1 in rtcpeer's environment (rtcpeer(1): the
#      description still offers transport-cc, but no feedback is sent):
#      every second after the first must stay <= NOFB_MAX (500 kbit/s). This
#      shows that the first exchange measures our feedback and not
#      Chromium's start-up defaults.
# The fake camera plays a generated Y4M (a gradient under fresh +-16 noise
# every frame, --send-video-file): Chromium's own moving pattern is so easy to
# code that VP8 needs only ~0.8 Mbit/s for it at 640x480, whatever the
# estimate, so the send rate would show the content, not the estimator.
# Printed per second: Chromium's video send rate, its targetBitrate, the
# candidate pair's availableOutgoingBitrate (the estimate itself), the frame
# size and rate; rtcpeer's inbound video bytesReceived per second beside it.
#
# Chromium missing (stacks.sh: node, /usr/bin/chromium, playwright-core in
# tests/interop/node) -> "SKIP: chromium: ...", exit 77. About 40 s.
# Environment: PYTHON (/usr/bin/python3), NODE (node), FB_SECONDS (16),
# NOFB_SECONDS (10), RATE_MIN (1500), REACH_S (15), NOFB_MAX (500),
# KEEP_TMP=1.
set -u

here=$(cd "$(dirname "$0")" && pwd)
PYTHON=${PYTHON:-/usr/bin/python3}
NODE=${NODE:-node}
FB_SECONDS=${FB_SECONDS:-16}
NOFB_SECONDS=${NOFB_SECONDS:-10}
RATE_MIN=${RATE_MIN:-1500}
REACH_S=${REACH_S:-15}
NOFB_MAX=${NOFB_MAX:-500}
# shellcheck disable=SC2034  # read by stacks.sh (find_stacks)
STACKS=chromium

if [ $# -lt 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 RTCPEER" >&2
    exit 2
fi
rtcpeer=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rtcpeer-bwe.XXXXXX")
failed=0
cleanup() {
    local p
    for p in $(jobs -p); do
        kill "$p" 2>/dev/null
    done
    wait 2>/dev/null
    if [ "${KEEP_TMP:-0}" = 1 ] || [ "$failed" != 0 ]; then
        echo "run-bwe: files kept in $tmp"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

. "$here/stacks.sh"
find_stacks bwe
[ -x "$PYTHON" ] || { echo "SKIP: no $PYTHON"; exit 77; }

# 1 s of 640x480 frames, looped by Chromium: hard enough to code that VP8 sits
# at its target bitrate, as with a real camera in a busy scene.
"$PYTHON" - "$tmp/camera.y4m" <<'EOF' || { echo "run-bwe: cannot write the camera file"; exit 1; }
import os, sys
w, h, n, amp = 640, 480, 30, 16
base = bytes(((x + y) // 5) % 200 + 28 for y in range(h) for x in range(w))
with open(sys.argv[1], "wb") as f:
    f.write(b"YUV4MPEG2 W%d H%d F30:1 Ip A1:1 C420jpeg\n" % (w, h))
    for i in range(n):
        r = os.urandom(w * h)
        y = bytes(max(0, min(255, b + v % (2 * amp + 1) - amp)) for b, v in zip(base, r))
        f.write(b"FRAME\n" + y + bytes([128]) * (w * h // 2))
EOF

# shellcheck disable=SC2154  # peer_cmd comes from stacks.sh
read -r -a chromium <<<"${peer_cmd[chromium]}"

# exchange NAME SECONDS [ENV...]: Chromium sends for SECONDS, rtcpeer answers
# with ENV in its environment; files in $tmp/NAME.
exchange() {
    local name=$1 secs=$2
    shift 2
    local d=$tmp/$name
    mkdir -p "$d"
    mkfifo "$d/back"
    local tmo=$((secs + 40))
    timeout -k 5 "$tmo" "${chromium[@]}" offer --media-send "$secs" \
        --send-video-file "$tmp/camera.y4m" --timeout 20 --hold $((secs + 20)) \
        <"$d/back" 2>"$d/peer.err" |
        env "$@" timeout -k 5 "$tmo" "$rtcpeer" answer --video-out /dev/null \
            --record-audio /dev/null --duration $((secs + 8)) --stats "$d/stats.jsonl" -v \
            2>"$d/rtcpeer.err" >"$d/back"
    local st=("${PIPESTATUS[@]}")
    echo "${st[0]} ${st[1]}" >"$d/rc"
}

# judge NAME MODE: MODE fb (must reach RATE_MIN) or nofb (must stay under NOFB_MAX)
judge() {
    "$PYTHON" - "$tmp/$1" "$2" "$RATE_MIN" "$REACH_S" "$NOFB_MAX" <<'EOF'
import json, sys
d, mode = sys.argv[1], sys.argv[2]
rate_min, reach_s, nofb_max = float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
problems = []
samples = []
for line in open(d + "/peer.err", errors="replace"):
    if ": media sent " in line:
        try:
            samples.append(json.loads(line.split(": media sent ", 1)[1]))
        except ValueError:
            pass
rc = open(d + "/rc").read().split()
if rc[0] != "0":
    problems.append("chromium_peer exit %s" % rc[0])
if rc[1] != "0":
    problems.append("rtcpeer exit %s" % rc[1])
# rtcpeer's inbound video bytes per stats second, by wall clock
recv = []
prev = None
try:
    for line in open(d + "/stats.jsonl"):
        try:
            o = json.loads(line)
        except ValueError:
            continue
        v = {s.get("id"): s for s in o.get("stats", [])}.get("ITvideo", {})
        if "bytesReceived" in v:
            if prev:
                recv.append((o["timestamp"], (v["bytesReceived"] - prev[1]) * 8 / (o["timestamp"] - prev[0])))
            prev = (o["timestamp"], v["bytesReceived"])
except OSError:
    pass
rows = []
for a, b in zip(samples, samples[1:]):
    va, vb = a.get("video") or {}, b.get("video") or {}
    dt = b["t"] - a["t"]
    if dt <= 0 or "bytesSent" not in vb:
        continue
    rate = (vb["bytesSent"] - va.get("bytesSent", 0)) * 8 / dt / 1000
    pair = b.get("pair") or {}
    est = pair.get("availableOutgoingBitrate")
    rows.append({"t": b["t"], "rate": rate, "target": vb.get("targetBitrate"), "est": est,
                 "size": vb.get("size"), "fps": vb.get("framesPerSecond"),
                 "qlr": vb.get("qualityLimitationReason")})
for i, r in enumerate(rows):
    rr = recv[i][1] if i < len(recv) else None
    print("    t=%5.2f chromium video %5.0f kbit/s, target %5s, estimate %5s, %s at %s fps (%s);"
          " rtcpeer received %s kbit/s"
          % (r["t"], r["rate"], "%.0f" % (r["target"] / 1e3) if r["target"] else "-",
             "%.0f" % (r["est"] / 1e3) if r["est"] else "-", r["size"], r["fps"], r["qlr"],
             "%.0f" % rr if rr is not None else "-"))
if not rows:
    problems.append("no per-second sending figures from Chromium")
if mode == "fb":
    hit = next((i for i, r in enumerate(rows)
                if r["rate"] >= rate_min and r["size"] == "640x480"), None)
    if hit is None or rows[hit]["t"] > reach_s + 0.5:
        best = max((r["rate"] for r in rows), default=0)
        problems.append("video never reached %.0f kbit/s at 640x480 within %.0f s (best %.0f)"
                        % (rate_min, reach_s, best))
        verdict = "did not reach %.0f kbit/s (best %.0f)" % (rate_min, best)
    else:
        after = [r["rate"] for r in rows[hit:]]
        mean = sum(after) / len(after)
        est1 = next((r["t"] for r in rows if r["est"] and r["est"] >= rate_min * 1e3), None)
        verdict = ("video >= %.0f kbit/s at 640x480 after %.1f s, %.0f kbit/s on average from"
                   " then on; Chromium's estimate >= %.0f kbit/s after %s s, %s kbit/s at the end"
                   % (rate_min, rows[hit]["t"], mean, rate_min,
                      "%.1f" % est1 if est1 is not None else "never",
                      "%.0f" % (rows[-1]["est"] / 1e3) if rows[-1]["est"] else "-"))
        if mean < 0.9 * rate_min:
            problems.append("after reaching it, only %.0f kbit/s on average (< 90 %% of %.0f)"
                            % (mean, rate_min))
else:
    body = rows[1:]
    worst = max((r["rate"] for r in body), default=0)
    mean = sum(r["rate"] for r in body) / len(body) if body else 0
    verdict = ("without feedback: video %.0f kbit/s on average after the first second, at most"
               " %.0f; Chromium's estimate %s kbit/s at the end"
               % (mean, worst, "%.0f" % (rows[-1]["est"] / 1e3) if rows and rows[-1]["est"] else "-"))
    if worst > nofb_max:
        problems.append("video at %.0f kbit/s without feedback (> %.0f): the feedback exchange"
                        " does not measure our feedback" % (worst, nofb_max))
print(("PASS " if not problems else "FAIL ") + verdict)
for p in problems:
    print("    problem: " + p)
sys.exit(1 if problems else 0)
EOF
}

run() {
    local name=$1 mode=$2 secs=$3 what=$4
    shift 4
    local t0 t1 out
    t0=$(date +%s%N)
    exchange "$name" "$secs" "$@"
    t1=$(date +%s%N)
    out=$(judge "$name" "$mode")
    local rc=$?
    local head
    head=$(printf '%s\n' "$out" | grep -E '^(PASS|FAIL) ' | tail -n 1)
    printf '%s\n' "$out" | grep -v -E '^(PASS|FAIL) '
    if [ "$rc" = 0 ]; then
        echo "PASS: chromium -> rtcpeer, $what ($(((t1 - t0) / 1000000)) ms): ${head#PASS }"
    else
        failed=1
        echo "FAIL: chromium -> rtcpeer, $what ($(((t1 - t0) / 1000000)) ms): ${head#FAIL }"
        grep -v -e ' ice debug: ' -e ' media debug: ' "$tmp/$name/rtcpeer.err" | tail -n 12 |
            sed 's/^/    rtcpeer| /'
        grep -v ': media sent {' "$tmp/$name/peer.err" | tail -n 8 | sed 's/^/    chromium| /'
    fi
}

run feedback fb "$FB_SECONDS" "rtcpeer sends transport-cc feedback"
run no-feedback nofb "$NOFB_SECONDS" "RTCPEER_NO_TWCC_FEEDBACK=1" RTCPEER_NO_TWCC_FEEDBACK=1

[ "$failed" = 0 ] && echo "bwe: 2 passed" || echo "bwe: failed"
[ "$failed" = 0 ]
