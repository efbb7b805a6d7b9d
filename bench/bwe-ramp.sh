#!/bin/bash
# Bandwidth-estimation ramp through a real bottleneck: rtcpeer -> rtcpeer beside
# Chromium -> Chromium (and Chromium -> rtcpeer), same link, same run.
#
#   bench/bwe-ramp.sh RTCPEER [ROUNDS]
#
#   hosta 10.74.1.2 ── a0  router  b0 ── 10.74.2.2 hostb
#     sender                tbf                receiver
#
# The router's egress towards hostb is a tbf of RATE_MBIT (3) Mbit/s with a
# QUEUE_MS (150) ms queue; nothing else is shaped. Each case is one call of
# CALL_SECONDS (30) s, sender in hosta, receiver in hostb, signaling through FIFOs
# (the namespaces share the filesystem):
#   rtcpeer:  rtcpeer offer --video CAMERA --video-bitrate 5000 --audio test
#             -> rtcpeer answer --video-out /dev/null --record-audio /dev/null
#   chromium: chromium_peer.js offer --media-send (fake camera playing CAMERA,
#             640x480, --send-max-kbps 5000) -> chromium_peer.js answer
#             --media-recv: two headless Chromium instances, one per
#             namespace, so their media crosses the bottleneck like ours
#             (two pages in one browser would talk over loopback);
#   chromium->rtcpeer: Chromium's sender and estimator with rtcpeer's
#             transport-cc feedback.
# CAMERA is a generated 640x480 30 fps Y4M of 3 s (a gradient under fresh +-16
# noise every frame), looped by both senders, so both encoders can fill any target:
# the measure is the estimator, not the content. Chromium's maxBitrate is
# raised to 5 Mbit/s because it caps 640x480 VP8 at 1.7 Mbit/s by default.
#
# Measured from packet logs taken on both ends of the link (bwe_pktlog.py,
# AF_PACKET, kernel time stamps; every namespace shares the host clock), the
# same way for every stack:
#   t90       time from the sender's first RTP packet until the send rate over
#             the last second (bytes on the link, Ethernet header included, as
#             tbf counts them) first reaches 90 % of the bottleneck;
#   steady    over the last 10 s of the call: send and delivered rate, and the
#             queueing delay of RTP packets (one-way delay minus the lowest
#             of the call): mean and 95th percentile; packets lost on the link.
# Ratios rtcpeer/chromium are printed for t90 and the queueing delay. Needs
# root, ip netns, tc (tbf), /usr/bin/python3, and for the Chromium cases
# node + /usr/bin/chromium + playwright-core (tests/interop/node); without
# Chromium only rtcpeer is measured ("SKIP: chromium ..."). About 2 min a round.
# Environment: RATE_MBIT (3), QUEUE_MS (150), CALL_SECONDS (30), CASES ("rtcpeer
# chromium chromium-rtcpeer"), PYTHON, NODE, KEEP_TMP=1.
set -u

RATE_MBIT=${RATE_MBIT:-3}
QUEUE_MS=${QUEUE_MS:-150}
CALL_SECONDS=${CALL_SECONDS:-30}
CASES=${CASES:-rtcpeer chromium chromium-rtcpeer}
PYTHON=${PYTHON:-/usr/bin/python3}
NODE=${NODE:-node}

if [ $# -lt 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 RTCPEER [ROUNDS]" >&2
    exit 2
fi
rtcpeer=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
rounds=${2:-1}
here=$(cd "$(dirname "$0")" && pwd)
peerjs=$here/../tests/interop/chromium_peer.js

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (network namespaces, tc)"; exit 77; }
command -v tc >/dev/null 2>&1 || { echo "SKIP: no tc"; exit 77; }
[ -x "$PYTHON" ] || { echo "SKIP: no $PYTHON"; exit 77; }
have_chromium=1
if ! why=$("$NODE" "$peerjs" check 2>&1); then
    echo "SKIP: chromium: ${why:-cannot run chromium_peer.js}: measuring rtcpeer alone"
    have_chromium=0
fi

id=rtcbwe-$$-$RANDOM
A=$id-a
R=$id-r
B=$id-b
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rtcpeer-bwe-ramp.XXXXXX")
pids=()
cleanup() {
    local p ns
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for ns in "$A" "$B"; do
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null; done
    done
    wait 2>/dev/null
    for ns in "$A" "$R" "$B"; do ip netns del "$ns" 2>/dev/null; done
    if [ "${KEEP_TMP:-0}" = 1 ]; then echo "bwe-ramp: files kept in $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$A" 2>/dev/null || { echo "SKIP: cannot create network namespaces"; exit 77; }
ip netns add "$R" && ip netns add "$B" || exit 1
for ns in "$A" "$R" "$B"; do ip -n "$ns" link set lo up; done
ip -n "$A" link add veth0 type veth peer name a0 netns "$R"
ip -n "$B" link add veth0 type veth peer name b0 netns "$R"
ip -n "$A" addr add 10.74.1.2/24 dev veth0
ip -n "$R" addr add 10.74.1.1/24 dev a0
ip -n "$R" addr add 10.74.2.1/24 dev b0
ip -n "$B" addr add 10.74.2.2/24 dev veth0
for ns in "$A" "$B"; do
    ip -n "$ns" link set veth0 up
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
done
ip -n "$R" link set a0 up
ip -n "$R" link set b0 up
ip -n "$A" route add default via 10.74.1.1
ip -n "$B" route add default via 10.74.2.1
ip netns exec "$R" sysctl -qw net.ipv4.ip_forward=1
limit=$((RATE_MBIT * 1000000 / 8 * QUEUE_MS / 1000))
# shape: a fresh tbf (empty queue, counters at 0) before each case
shape() {
    tc -n "$R" qdisc del dev b0 root 2>/dev/null
    tc -n "$R" qdisc add dev b0 root tbf rate "${RATE_MBIT}mbit" burst 4500 limit "$limit"
}
shape || { echo "SKIP: tc tbf does not work in a namespace"; exit 77; }

"$PYTHON" - "$tmp/camera.y4m" <<'EOF'
import os, sys
w, h, n, amp = 640, 480, 90, 16  # 3 s, looped: each wrap makes both senders stall briefly
base = bytes(((x + y) // 5) % 200 + 28 for y in range(h) for x in range(w))
with open(sys.argv[1], "wb") as f:
    f.write(b"YUV4MPEG2 W%d H%d F30:1 Ip A1:1 C420jpeg\n" % (w, h))
    for i in range(n):
        r = os.urandom(w * h)
        y = bytes(max(0, min(255, b + v % (2 * amp + 1) - amp)) for b, v in zip(base, r))
        f.write(b"FRAME\n" + y + bytes([128]) * (w * h // 2))
EOF

sniff_start() {
    ip netns exec "$A" "$PYTHON" "$here/bwe_pktlog.py" veth0 "$1/snd.txt" &
    sniffers=($!)
    ip netns exec "$B" "$PYTHON" "$here/bwe_pktlog.py" veth0 "$1/rcv.txt" &
    sniffers+=($!)
    pids+=("${sniffers[@]}")
    sleep 0.5
}
sniff_stop() {
    kill -TERM "${sniffers[@]}" 2>/dev/null
    wait "${sniffers[@]}" 2>/dev/null
    pids=()
}

S=$CALL_SECONDS
tmo=$((S + 60))
run_case() {
    local name=$1 d=$2
    mkdir -p "$d"
    mkfifo "$d/o2a" "$d/a2o" "$d/back"
    shape
    sniff_start "$d"
    case $name in
    rtcpeer)
        ip netns exec "$B" timeout -k 3 "$tmo" "$rtcpeer" answer --signal-in "$d/o2a" \
            --signal-out "$d/a2o" --video-out /dev/null --record-audio /dev/null \
            --stats "$d/recv.jsonl" -v </dev/null >/dev/null 2>"$d/recv.err" &
        local p1=$!
        ip netns exec "$A" timeout -k 3 "$tmo" "$rtcpeer" offer --signal-out "$d/o2a" \
            --signal-in "$d/a2o" --video "$tmp/camera.y4m" --video-bitrate 5000 --audio test \
            --duration "$S" --stats "$d/send.jsonl" -v </dev/null >/dev/null 2>"$d/send.err"
        wait "$p1"
        ;;
    chromium)
        ip netns exec "$A" timeout -k 3 "$tmo" "$NODE" "$peerjs" offer --media-send "$S" \
            --send-video-file "$tmp/camera.y4m" --send-max-kbps 5000 --timeout 20 \
            --hold 10 <"$d/back" 2>"$d/send.err" |
            ip netns exec "$B" timeout -k 3 "$tmo" "$NODE" "$peerjs" answer --media-recv "$S" \
                --expect-size any --min-ratio 0.01 --timeout 20 --hold 10 \
                2>"$d/recv.err" >"$d/back"
        ;;
    chromium-rtcpeer)
        ip netns exec "$A" timeout -k 3 "$tmo" "$NODE" "$peerjs" offer --media-send "$S" \
            --send-video-file "$tmp/camera.y4m" --send-max-kbps 5000 --timeout 20 \
            --hold 10 <"$d/back" 2>"$d/send.err" |
            ip netns exec "$B" timeout -k 3 "$tmo" "$rtcpeer" answer --video-out /dev/null \
                --record-audio /dev/null --duration $((S + 8)) --stats "$d/recv.jsonl" -v \
                2>"$d/recv.err" >"$d/back"
        ;;
    esac
    sniff_stop
}

analyse() {
    "$PYTHON" - "$RATE_MBIT" "$@" <<'EOF'
import sys
cap = float(sys.argv[1]) * 1e6
for arg in sys.argv[2:]:
    name, d = arg.split("=", 1)
    def load(fn, ptype):
        out = []
        try:
            for line in open(d + "/" + fn):
                p = line.split()
                if len(p) >= 4 and p[1] == ptype:
                    out.append((float(p[0]), int(p[2]), (p[4], p[5]) if p[3] == "rtp" else None))
        except OSError:
            pass
        return out
    snd, rcv = load("snd.txt", "4"), load("rcv.txt", "0")
    rtp = [x for x in snd if x[2]]
    if len(rtp) < 100:
        print("result case=%s error=no_media sent_rtp=%d" % (name, len(rtp)))
        continue
    t0, t_end = rtp[0][0], rtp[-1][0]
    arr = {x[2]: x[0] for x in rcv if x[2]}
    # t90_first: first instant the last second's send rate reaches 90 % of the bottleneck
    # (a start-up overshoot counts); t90: the same, but no RTP packet sent in that second
    # was lost, i.e. 90 % of the link is used without overflowing its queue.
    t90_first = t90 = None
    j = 0
    lost_in = 0
    for i, x in enumerate(snd):
        if x[2] and x[2] not in arr:
            lost_in += 1
        while snd[j][0] <= x[0] - 1.0:
            if snd[j][2] and snd[j][2] not in arr:
                lost_in -= 1
            j += 1
        if x[0] - t0 < 1.0:
            continue
        if sum(y[1] for y in snd[j:i + 1]) * 8 >= 0.9 * cap:
            if t90_first is None:
                t90_first = x[0] - t0
            if lost_in == 0:
                t90 = x[0] - t0
                break
    # steady state: the last 10 s
    lo, hi = t_end - 10.0, t_end - 0.5
    sent_b = sum(x[1] for x in snd if lo <= x[0] < hi)
    recv_b = sum(x[1] for x in rcv if lo <= x[0] < hi)
    owd = [(x[0], arr[x[2]] - x[0]) for x in rtp if x[2] in arr]
    base = min(o for _, o in owd)
    q = sorted(o - base for t, o in owd if lo <= t < hi)
    st_rtp = [x for x in rtp if lo <= x[0] < hi]
    lost = sum(1 for x in st_rtp if x[2] not in arr)
    lost_all = sum(1 for x in rtp if x[2] not in arr)
    mean_q = sum(q) / len(q) if q else float("nan")
    p95 = q[int(0.95 * (len(q) - 1))] if q else float("nan")
    # per-second send rate for the record
    secs = int(t_end - t0) + 1
    per = [0] * secs
    for x in snd:
        k = int(x[0] - t0)
        if 0 <= k < secs:
            per[k] += x[1]
    print("series case=%s kbps=%s" % (name, ",".join("%.0f" % (b * 8 / 1e3) for b in per)))
    print("result case=%s t90_s=%s t90_first_s=%s steady_send_kbps=%.0f steady_delivered_kbps=%.0f"
          " queue_mean_ms=%.1f queue_p95_ms=%.1f steady_lost=%d/%d lost_all=%d/%d"
          % (name, "%.1f" % t90 if t90 is not None else "never",
             "%.1f" % t90_first if t90_first is not None else "never", sent_b * 8 / (hi - lo) / 1e3,
             recv_b * 8 / (hi - lo) / 1e3, 1e3 * mean_q, 1e3 * p95, lost, len(st_rtp),
             lost_all, len(rtp)))
EOF
}

cases=()
for c in $CASES; do
    case $c in
    chromium|chromium-rtcpeer) [ "$have_chromium" = 1 ] && cases+=("$c") ;;
    rtcpeer) cases+=("$c") ;;
    esac
done
echo "# bottleneck: tbf ${RATE_MBIT} Mbit/s, queue ${QUEUE_MS} ms ($limit bytes), calls of $S s;" \
    "cases: ${cases[*]}; $rounds round(s)"
dirs=()
for ((r = 1; r <= rounds; r++)); do
    order=("${cases[@]}")
    if ((r % 2 == 0)); then
        order=()
        for ((i = ${#cases[@]} - 1; i >= 0; i--)); do order+=("${cases[i]}"); done
    fi
    for c in "${order[@]}"; do
        d=$tmp/r$r-$c
        run_case "$c" "$d"
        dirs+=("$d")
        analyse "$c=$d" | sed "s/case=$c /case=$c round=$r /"
    done
done | tee "$tmp/results.txt"

"$PYTHON" - "$tmp/results.txt" "$RATE_MBIT" <<'EOF'
import collections, statistics, sys
cap = float(sys.argv[2]) * 1e3
res = collections.defaultdict(list)
for line in open(sys.argv[1]):
    if not line.startswith("result "):
        continue
    kv = dict(f.split("=", 1) for f in line.split()[1:])
    res[kv["case"]].append(kv)
def med(case, key):
    v = [float(r[key]) for r in res.get(case, []) if key in r and r[key] not in ("never",)]
    return statistics.median(v) if v else None
print("\nmedians            t90 (s)  first (s)  steady send/delivered kbit/s  queue mean/p95 ms"
      "  RTP lost per call")
for case in ("rtcpeer", "chromium", "chromium-rtcpeer"):
    if case not in res:
        continue
    rows = res[case]
    never = sum(1 for r in rows if r.get("t90_s") == "never")
    t90 = med(case, "t90_s")
    t90f = med(case, "t90_first_s")
    print("%-17s %7s%s  %8s  %6.0f / %6.0f (%3.0f %%)       %6.1f / %6.1f     %s" % (
        case, "%.1f" % t90 if t90 is not None else "never", " (%d never)" % never if never else "",
        "%.1f" % t90f if t90f is not None else "never",
        med(case, "steady_send_kbps") or 0, med(case, "steady_delivered_kbps") or 0,
        (med(case, "steady_delivered_kbps") or 0) / cap * 100,
        med(case, "queue_mean_ms") or 0, med(case, "queue_p95_ms") or 0,
        " ".join(r.get("lost_all", "?") for r in rows)))
for ref in ("chromium", "chromium-rtcpeer"):
    a, b = med("rtcpeer", "t90_s"), med(ref, "t90_s")
    qa, qb = med("rtcpeer", "queue_mean_ms"), med(ref, "queue_mean_ms")
    if a is not None and b:
        ua, ub = med("rtcpeer", "steady_delivered_kbps"), med(ref, "steady_delivered_kbps")
        print("ratio rtcpeer/%s: t90 %.2f" % (ref, a / b) +
              (", steady queueing delay %.2f" % (qa / qb) if qa is not None and qb else "") +
              (", steady throughput %.2f" % (ua / ub) if ua and ub else ""))
EOF
