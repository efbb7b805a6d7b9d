#!/bin/bash
# Media interop: rtcpeer sends VP8 video (test pattern, 640x480 at 30 fps)
# and Opus audio (440 Hz tone, 20 ms frames) over SRTP; real WebRTC stacks
# receive and decode them (aiortc, GStreamer webrtcbin, headless Chromium).
#
#   run-media.sh RTCPEER
#
# For every available stack:
#   rtcpeer offer --video test --audio test --duration 14 -> peer answer --media-recv 10
#   peer offer --media-recv 10 (recvonly audio+video, data) -> rtcpeer answer --video test --audio test --duration 14
# The peer samples what it decoded once a second for 10 s after connecting
# (see --media-recv in each peer) and passes when video frames were decoded
# at >= 80 % of 30 fps, audio samples at >= 80 % of 48000/s, and the frames
# are 640x480.  An exchange passes when the peer passes and exits 0 and
# rtcpeer exits 0 with "session established".  The script prints the peer's
# verdict and what rtcpeer says it sent (from its --stats JSON Lines): frames
# and audio packets per second, retransmissions, NACK/PLI/FIR received, and
# the longest gap between two of its once-a-second stats lines (a stalled
# event loop shows there).
#
# A stack whose packages are missing is skipped with "SKIP: <stack>:
# <reason>"; exit 77 when every stack is skipped, 1 when an exchange failed, 0
# otherwise.  Every program is bounded by `timeout -k 5` (KILL 5 s after the
# TERM: an rtcpeer whose event loop is starved does not see SIGTERM).
#
# Environment: PYTHON (default /usr/bin/python3), NODE (default node),
# RTCPEER_ARGS (extra arguments to both rtcpeer modes), STACKS (subset of
# "aiortc gstreamer chromium"; "pion" has no --media-recv and is skipped),
# MEDIA_SECONDS (default 10), DURATION (rtcpeer's --duration, default 14),
# EXCHANGE_TIMEOUT (seconds per program, default 60), PEER_TIMEOUT (the
# peers' --timeout, default 20), KEEP_TMP=1 (keep every SDP, stderr and
# stats file).
# shellcheck disable=SC2094  # each exchange reads and writes its FIFO "back" on purpose
set -u

here=$(cd "$(dirname "$0")" && pwd)
PYTHON=${PYTHON:-/usr/bin/python3}
NODE=${NODE:-node}
MEDIA_SECONDS=${MEDIA_SECONDS:-10}
DURATION=${DURATION:-14}
EXCHANGE_TIMEOUT=${EXCHANGE_TIMEOUT:-60}
PEER_TIMEOUT=${PEER_TIMEOUT:-20}
STACKS=${STACKS:-aiortc gstreamer chromium}

case ${1:-} in
    ""|-h|--help)
        echo "usage: $0 RTCPEER" >&2
        exit 2
        ;;
esac
rtcpeer=$1
if [ ! -x "$rtcpeer" ]; then
    echo "run-media: $rtcpeer is not an executable" >&2
    exit 2
fi
rtcpeer=$(cd "$(dirname "$rtcpeer")" && pwd)/$(basename "$rtcpeer")
read -r -a rtcpeer_args <<<"${RTCPEER_ARGS:-}"
media=(--video test --audio test)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rtcpeer-media.XXXXXX")
cleanup() {
    # Every child is bounded by timeout; make sure none outlives the script.
    local p
    for p in $(jobs -p); do
        kill "$p" 2>/dev/null
    done
    wait 2>/dev/null
    if [ "${KEEP_TMP:-0}" = 1 ]; then
        echo "run-media: kept $tmp"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- which stacks are here -----------------------------------------------
UNSUPPORTED_STACKS=pion
UNSUPPORTED_REASON="pion_peer has no --media-recv mode"
. "$here/stacks.sh"
find_stacks media

passed=0
failed=0
n=0

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# What rtcpeer says it sent, from its --stats JSON Lines (one object a
# second: {"timestamp": ms, "stats": [...]}, outbound-rtp "OTaudio"/"OTvideo").
sent_summary() {
    "$PYTHON" - "$1" <<'EOF' 2>/dev/null || echo "rtcpeer sent: no usable --stats output"
import json, sys
rows = []
for line in open(sys.argv[1]):
    try:
        o = json.loads(line)
    except ValueError:
        continue
    d = {s.get("id"): s for s in o.get("stats", []) if isinstance(s, dict)}
    rows.append((o.get("timestamp", 0), d.get("OTaudio", {}), d.get("OTvideo", {})))
if len(rows) < 2:
    print("rtcpeer sent: fewer than two stats lines")
    sys.exit(0)
# The once-a-second lines while the session was up (the last one is the
# final object written at exit).
body = rows[:-1] if len(rows) > 2 else rows
t0, a0, v0 = body[0]
t1, a1, v1 = body[-1]
secs = max((t1 - t0) / 1000.0, 0.001)
gap = max(b[0] - a[0] for a, b in zip(rows, rows[1:]))
_, af, vf = rows[-1]
print("rtcpeer sent: video %.1f fps (%d frames, %d packets, %d retransmitted; NACK %d, PLI %d,"
      " FIR %d received), audio %.1f packets/s (%d packets) over %.1f s; longest gap between"
      " stats lines %d ms"
      % ((v1.get("framesSent", 0) - v0.get("framesSent", 0)) / secs,
         vf.get("framesSent", 0), vf.get("packetsSent", 0),
         vf.get("retransmittedPacketsSent", 0), vf.get("nackCount", 0), vf.get("pliCount", 0),
         vf.get("firCount", 0), (a1.get("packetsSent", 0) - a0.get("packetsSent", 0)) / secs,
         af.get("packetsSent", 0), secs, gap))
fps = (v1.get("framesSent", 0) - v0.get("framesSent", 0)) / secs
pps = (a1.get("packetsSent", 0) - a0.get("packetsSent", 0)) / secs
if fps < 24 or pps < 40:
    print("rtcpeer itself sent below 80 % of 30 fps / 50 audio packets/s: the shortfall is"
          " on the sending side (see the gaps above; a busy machine starves its event loop)")
EOF
}

show_logs() {
    local d=$1
    grep -v ' ice debug: ' "$d/rtcpeer.err" | sed 's/^/    /' | tail -n 20
    grep -v ': media {' "$d/peer.err" | sed 's/^/    /' | tail -n 12
    echo "    (KEEP_TMP=1 keeps every SDP, stderr and stats file in $d)"
}

# exchange NAME ROLE PEER_CMD...
#   ROLE "offer": rtcpeer offers and sends, the peer answers and receives;
#   "answer": the peer offers recvonly audio+video (+data), rtcpeer answers
#   and sends.
exchange() {
    local name=$1 role=$2
    shift 2
    local -a peer=("$@")
    n=$((n + 1))
    local d=$tmp/$n
    mkdir -p "$d"
    mkfifo "$d/back"
    local t0 t1 rc pc tmo=$EXCHANGE_TIMEOUT
    local -a popts=(--media-recv "$MEDIA_SECONDS" --timeout "$PEER_TIMEOUT"
        --hold $((DURATION + PEER_TIMEOUT)))
    local -a ropts=("${media[@]}" --duration "$DURATION" --stats "$d/stats.jsonl" -v
        "${rtcpeer_args[@]}")
    t0=$(now_ms)
    if [ "$role" = offer ]; then
        timeout -k 5 "$tmo" "$rtcpeer" offer "${ropts[@]}" <"$d/back" 2>"$d/rtcpeer.err" \
            | tee "$d/offer.sdp" \
            | timeout -k 5 "$tmo" "${peer[@]}" answer "${popts[@]}" 2>"$d/peer.err" \
            | tee "$d/answer.sdp" >"$d/back"
        local st=("${PIPESTATUS[@]}")
        rc=${st[0]} pc=${st[2]}
    else
        timeout -k 5 "$tmo" "${peer[@]}" offer "${popts[@]}" <"$d/back" 2>"$d/peer.err" \
            | tee "$d/offer.sdp" \
            | timeout -k 5 "$tmo" "$rtcpeer" answer "${ropts[@]}" 2>"$d/rtcpeer.err" \
            | tee "$d/answer.sdp" >"$d/back"
        local st=("${PIPESTATUS[@]}")
        pc=${st[0]} rc=${st[2]}
    fi
    t1=$(now_ms)
    local ms=$((t1 - t0))
    local verdict result
    verdict=$(grep -m 1 ': media verdict ' "$d/peer.err" | tr -d '\r' | sed 's/^[a-z]*: media verdict //')
    result=$(grep -m 1 -E ': media (ok|FAILED)' "$d/peer.err" | tr -d '\r')
    if [ "$rc" = 0 ] && grep -q 'session established' "$d/rtcpeer.err" &&
        [ "$pc" = 0 ] && [ -n "$result" ] && [ "${result#*media ok}" != "$result" ]; then
        passed=$((passed + 1))
        echo "PASS: $name (${ms} ms)"
        echo "    $result"
        sent_summary "$d/stats.jsonl" | sed 's/^/    /'
        echo "    verdict: $verdict"
        return 0
    fi
    failed=$((failed + 1))
    echo "FAIL: $name (${ms} ms): rtcpeer exit $rc, peer exit $pc (124 = timeout)"
    echo "    ${result:-peer printed no media verdict}"
    sent_summary "$d/stats.jsonl" | sed 's/^/    /'
    [ -n "$verdict" ] && echo "    verdict: $verdict"
    show_logs "$d"
    return 1
}

for s in "${available[@]}"; do
    read -r -a p <<<"${peer_cmd[$s]}"
    exchange "rtcpeer offer (sends VP8+Opus) -> $s answer (receives)" offer "${p[@]}"
    exchange "$s offer (recvonly audio+video) -> rtcpeer answer (sends VP8+Opus)" answer "${p[@]}"
done

echo "media: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
