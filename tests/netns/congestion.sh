#!/bin/bash
# Congestion control in a real call through a rate-limited link.
#
#   congestion.sh RTCPEER [MEDIACHECK]
#
#   hosta 10.73.1.2 ── a0 10.73.1.1  router  10.73.2.1 b0 ── 10.73.2.2 hostb
#    rtcpeer offer                   tbf on b0                rtcpeer answer
#
# `rtcpeer offer --video test --video-bitrate 5000 --audio test` in hosta sends
# to `rtcpeer answer --video-out Y4M --record-audio WAV` in hostb. The
# router's egress towards hostb (b0, so only offerer -> answerer) is shaped by
# tbf: RATES[0] Mbit/s (default 1) from before the call, then `tc qdisc
# change` to RATES[1] (3) PHASE seconds (30) after the session is established,
# and so on. The tbf queue holds QUEUE_MS (150) ms at the current rate (limit
# = rate x QUEUE_MS, recomputed at each change; burst 3 packets), what a
# broadband modem or a well-configured router buffers; the feedback path is
# not shaped.
#
# Checks, from both peers' --stats (one object a second):
#  1. rate: in each window [change + SETTLE, next change) (SETTLE = 10 s) the
#     offerer's mean send rate on the wire is within LOW..HIGH (85..100 %) of
#     the bottleneck, in the bottleneck's own units: candidate-pair bytesSent
#     (SRTP, RTCP, STUN, DTLS) + 42 bytes a packet (UDP, IPv4, Ethernet: what
#     tbf counts against its rate) per second. Beside it: the UDP payload
#     alone, and what tbf says it forwarded in the window (its byte counter,
#     read at the window's start and end), which checks the 42-byte model and
#     cannot exceed 100 %. The seconds outside the band are counted and shown.
#  2. loss: the answerer's inbound packetsLost / (received + lost), audio and
#     video, at the end of the call < MAX_LOSS (2 %); tbf's own drop counter is
#     shown beside it.
#  3. queueing delay: RTT (offerer's remote-inbound-rtp roundTripTime, from
#     the answerer's receiver reports) averaged over the last window is not
#     above its average over the first window by more than QUEUE_MS.
#  4. the decoded video keeps flowing: the answerer's inbound-rtp
#     framesDecoded rises in every one-second sample, and (with MEDIACHECK)
#     the largest capture-time gap between consecutive pictures of the Y4M
#     (max_gap_ms) stays under MAX_GAP_MS (2000: one lost key frame on a
#     loaded machine, re-requested and resent, takes over a second).
# Every figure is printed, the per-second series too (offerer send rate,
# estimate, BWE state, RTT; answerer frames).
#
# DATA=1: a bulk data transfer beside the call on the same path. The offerer
# also runs --data with endless input (/dev/zero) and the answerer --data, so
# video and data share the bottleneck; RATES defaults to "2" (one window);
# check 1 is on everything sent together (the wire rate above: RTP, SCTP and
# DTLS alike), and
#  5. shares: in each settled window the video send rate (outbound-rtp
#     bytesSent: payload, RTX included) and the data throughput (the
#     answerer's data-channel bytesReceived: payload) are each at least
#     MIN_SHARE (0.30) of the bottleneck; the RTT mean in the window is at most
#     the lowest RTT + MAX_QUEUE_MS (100), so data does not keep the queue full.
# The answerer exits 15 there (the offerer hangs up at --duration while its
# channel is still open: "the session broke"); that is expected.
#
# Needs root, `ip netns`, `tc` with tbf; otherwise "SKIP: <reason>", exit 77.
# Nothing has a route out of the namespaces; an EXIT trap kills what the
# script started and deletes them. About 65 s (35 s with DATA=1).
# With RTCPEER_SANITIZED set (the ASan build of tools/run-tests) the figures are reported but
# only the exit codes gate.
# The windows are 20 s long: the estimate saw-tooths with a period of 3 to 6 s, and the mean
# of a 10 s window (two periods, or three) varied by 8 % of the bottleneck between calls
# with nothing changed, by where in the period it began and ended.
# Environment: RATES ("1 3", Mbit/s), PHASE (30), SETTLE (10), QUEUE_MS (150),
# RETRY (1: a call whose only problem is a missed rate window, check 1, is run once more and
# the second call decides; 0: the first does),
# LOW (0.85), HIGH (1.00), MAX_LOSS (0.02), MAX_GAP_MS (2000), VIDEO_BITRATE
# (5000), VIDEO (the offerer's --video, default test; a .y4m is looped, but
# mediacheck reads frame numbers only from the test pattern), PYTHON
# (/usr/bin/python3), KEEP_TMP=1, DATA (0), MIN_SHARE (0.30), MAX_QUEUE_MS
# (100). RATES are whole Mbit/s.
set -u

DATA=${DATA:-0}
if [ "$DATA" = 1 ]; then
    RATES=${RATES:-2}
fi
RATES=${RATES:-1 3}
PHASE=${PHASE:-30}
MIN_SHARE=${MIN_SHARE:-0.30}
MAX_QUEUE_MS=${MAX_QUEUE_MS:-100}
export DATA MIN_SHARE MAX_QUEUE_MS # for the checks below
SETTLE=${SETTLE:-10}
QUEUE_MS=${QUEUE_MS:-150}
LOW=${LOW:-0.85}
HIGH=${HIGH:-1.00}
MAX_LOSS=${MAX_LOSS:-0.02}
MAX_GAP_MS=${MAX_GAP_MS:-2000}
RETRY=${RETRY:-1}
attempt=${CONGESTION_ATTEMPT:-1}
VIDEO_BITRATE=${VIDEO_BITRATE:-5000}
VIDEO=${VIDEO:-test}
PYTHON=${PYTHON:-/usr/bin/python3}

if [ $# -lt 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 RTCPEER [MEDIACHECK]" >&2
    exit 2
fi
rtcpeer=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
mediacheck=${2:-$(dirname "$rtcpeer")/tests/tools/mediacheck}
[ -x "$mediacheck" ] || mediacheck=

skip() {
    echo "SKIP: $*"
    exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, tc)"
command -v ip >/dev/null 2>&1 || skip "no ip (package iproute2)"
command -v tc >/dev/null 2>&1 || skip "no tc (package iproute2)"
command -v timeout >/dev/null 2>&1 || skip "no timeout (coreutils)"
[ -x "$PYTHON" ] || skip "no $PYTHON (package python3)"

read -r -a rates <<<"$RATES"
nphase=${#rates[@]}
duration=$((nphase * PHASE + 1))

id=rtccc-$$-$RANDOM
A=$id-a
R=$id-r
B=$id-b
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rtcpeer-congestion.XXXXXX")
pids=()
failed=0
cleanup() {
    local p ns
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null
    done
    for ns in "$A" "$B"; do
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null; done
    done
    wait 2>/dev/null
    for ns in "$A" "$R" "$B"; do
        ip netns del "$ns" 2>/dev/null
    done
    if [ "${KEEP_TMP:-0}" = 1 ] || [ "$failed" != 0 ]; then
        echo "congestion: files kept in $tmp"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$A" 2>/dev/null || skip "cannot create network namespaces (ip netns add)"
ip netns add "$R" && ip netns add "$B" || { echo "FAIL: ip netns add"; failed=1; exit 1; }
setup() {
    local ns
    for ns in "$A" "$R" "$B"; do
        ip -n "$ns" link set lo up || return 1
    done
    ip -n "$A" link add veth0 type veth peer name a0 netns "$R" || return 1
    ip -n "$B" link add veth0 type veth peer name b0 netns "$R" || return 1
    ip -n "$A" addr add 10.73.1.2/24 dev veth0 &&
        ip -n "$R" addr add 10.73.1.1/24 dev a0 &&
        ip -n "$R" addr add 10.73.2.1/24 dev b0 &&
        ip -n "$B" addr add 10.73.2.2/24 dev veth0 || return 1
    for ns in "$A" "$B"; do
        ip -n "$ns" link set veth0 up || return 1
        # No IPv6: rtcpeer gathers only the 10.73.x.2 addresses.
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 2>/dev/null
    done
    ip -n "$R" link set a0 up && ip -n "$R" link set b0 up || return 1
    ip -n "$A" route replace default via 10.73.1.1 &&
        ip -n "$B" route replace default via 10.73.2.1 || return 1
    ip netns exec "$R" sysctl -qw net.ipv4.ip_forward=1 || return 1
}
setup || { echo "FAIL: setting up the namespaces"; failed=1; exit 1; }

# shape add|change MBIT: tbf on the router's b0 (towards the answerer).
shape() {
    local bps=$(($2 * 1000000))
    local limit=$((bps / 8 * QUEUE_MS / 1000))
    tc -n "$R" qdisc "$1" dev b0 root tbf rate "${2}mbit" burst 4500 limit "$limit"
}
shape add "${rates[0]}" 2>"$tmp/tc.err" || skip "tc tbf in a namespace: $(head -n 1 "$tmp/tc.err")"

now_ms() { echo $(($(date +%s%N) / 1000000)); }
# tbf_counts: "PACKETS-SENT PACKETS-DROPPED BYTES-SENT" of the bottleneck so far
tbf_counts() {
    tc -n "$R" -s qdisc show dev b0 |
        sed -n 's/.*Sent \([0-9]*\) bytes \([0-9]*\) pkt (dropped \([0-9]*\),.*/\2 \3 \1/p' |
        head -n 1
}
# sleep_until MS: until now_ms reaches MS
sleep_until() {
    local w=$(($1 - $(now_ms)))
    [ "$w" -gt 0 ] && sleep "$(awk -v m="$w" 'BEGIN { printf "%.3f", m / 1000 }')"
}
# tbf_mark: "MS:BYTES" of the bottleneck now, appended to tbf_marks
tbf_marks=()
tbf_mark() {
    local p d b
    read -r p d b <<<"$(tbf_counts)"
    tbf_marks+=("$(now_ms):${b:-0}")
}

mkfifo "$tmp/o2a" "$tmp/a2o"
data_opt=()
data_in=/dev/null
if [ "$DATA" = 1 ]; then
    data_opt=(--data)
    data_in=/dev/zero
fi
ip netns exec "$B" timeout -k 3 $((duration + 40)) "$rtcpeer" answer -v --timeout 20 \
    --signal-in "$tmp/o2a" --signal-out "$tmp/a2o" --video-out "$tmp/video.y4m" \
    --record-audio "$tmp/audio.wav" --stats "$tmp/answer.jsonl" "${data_opt[@]}" \
    </dev/null >/dev/null 2>"$tmp/answer.err" &
pa=$!
ip netns exec "$A" timeout -k 3 $((duration + 40)) "$rtcpeer" offer -v --timeout 20 \
    --signal-out "$tmp/o2a" --signal-in "$tmp/a2o" --video "$VIDEO" \
    --video-bitrate "$VIDEO_BITRATE" --audio test --duration "$duration" \
    --stats "$tmp/offer.jsonl" "${data_opt[@]}" <"$data_in" >/dev/null 2>"$tmp/offer.err" &
po=$!
pids=("$pa" "$po")
t_start=$(now_ms)

# Phase 0 starts when the session is established (the offerer says so).
t_est=
for _ in $(seq 600); do
    if grep -q 'session established' "$tmp/offer.err" 2>/dev/null; then
        t_est=$(now_ms)
        break
    fi
    kill -0 "$po" 2>/dev/null || break
    sleep 0.05
done
changes=()
phase_drops=()
if [ -n "$t_est" ]; then
    echo "# session established $((t_est - t_start)) ms after start; bottleneck ${rates[0]} Mbit/s," \
        "tbf queue $QUEUE_MS ms"
    changes+=("$t_est:${rates[0]}")
    # tbf's byte counter at the start and the end of each settled window (what it forwarded).
    sleep_until $((t_est + SETTLE * 1000))
    tbf_mark
    for ((i = 1; i < nphase; i++)); do
        sleep_until $((t_est + i * PHASE * 1000))
        tbf_mark
        read -r ps pd _ <<<"$(tbf_counts)"
        if shape change "${rates[i]}" 2>>"$tmp/tc.err"; then
            t=$(now_ms)
            changes+=("$t:${rates[i]}")
            phase_drops+=("${ps:-0}:${pd:-0}")
            echo "# t=$(((t - t_est) / 100 * 100 / 1000)).$((((t - t_est) / 100) % 10)) s:" \
                "bottleneck ${rates[i]} Mbit/s"
        else
            echo "FAIL: tc qdisc change to ${rates[i]} Mbit/s: $(cat "$tmp/tc.err")"
            failed=1
        fi
        sleep_until $((t + SETTLE * 1000))
        tbf_mark
    done
    # The last window ends a second before the call does.
    sleep_until $((t_est + (duration - 1) * 1000))
    tbf_mark
fi
wait "$po"
rc_o=$?
wait "$pa"
rc_a=$?
pids=()
tc -n "$R" -s qdisc show dev b0 >"$tmp/tc.stats"
read -r tbf_sent tbf_drops _ <<<"$(tbf_counts)"

if [ -z "$t_est" ]; then
    failed=1
    echo "FAIL: no session established (offer exit $rc_o, answer exit $rc_a)"
    tail -n 20 "$tmp/offer.err" | sed 's/^/    offer| /'
    tail -n 20 "$tmp/answer.err" | sed 's/^/    answer| /'
    exit 1
fi

if [ -n "$mediacheck" ]; then
    "$mediacheck" video "$tmp/video.y4m" >"$tmp/video.json" 2>"$tmp/video.err" || : >"$tmp/video.json"
fi
# ~0.5 GB of pictures: kept only when asked for (the figures above are in video.json)
[ "${KEEP_TMP:-0}" = 1 ] || rm -f "$tmp/video.y4m"

TBF_MARKS="${tbf_marks[*]}" "$PYTHON" - "$tmp" "$QUEUE_MS" "$SETTLE" "$LOW" "$HIGH" "$MAX_LOSS" "$MAX_GAP_MS" \
    "${tbf_drops:-0}" "${tbf_sent:-0}" "$((duration * 1000))" "${phase_drops[*]}" \
    "${changes[@]}" <<'EOF'
import json, os, sys
data_mode = os.environ.get("DATA", "0") == "1"
min_share = float(os.environ.get("MIN_SHARE", "0.30"))
max_queue = float(os.environ.get("MAX_QUEUE_MS", "100"))
d = sys.argv[1]
queue_ms, settle = float(sys.argv[2]), float(sys.argv[3])
low, high, max_loss, max_gap = map(float, sys.argv[4:8])
tbf_drops, tbf_sent, dur_ms = int(sys.argv[8]), int(sys.argv[9]), int(sys.argv[10])
# tbf's counters (sent, dropped) at each change, then at the end
marks = [tuple(map(int, m.split(":"))) for m in sys.argv[11].split()] + [(tbf_sent, tbf_drops)]
changes = [(int(c.split(":")[0]), float(c.split(":")[1])) for c in sys.argv[12:]]
# tbf's byte counter (ms:bytes) at the start and the end of each settled window, in turn
tbf_marks = [tuple(map(int, m.split(":"))) for m in os.environ.get("TBF_MARKS", "").split()]
t0 = changes[0][0]
problems = []
rate_problems = [] # check 1 alone: exit 3, so that the call can be run once more

def load(name):
    out = []
    try:
        for line in open(d + "/" + name):
            try:
                o = json.loads(line)
            except ValueError:
                continue
            out.append((o["timestamp"], {s.get("id"): s for s in o.get("stats", [])}, o))
    except OSError as e:
        problems.append("%s: %s" % (name, e))
    return out

def pair(st):
    for s in st.values():
        if s.get("type") == "candidate-pair" and s.get("nominated", True):
            return s
    return {}

off, ans = load("offer.jsonl"), load("answer.jsonl")
# Per-second series from the offerer: each interval between two samples.
series = []
for (ta, sa, _), (tb, sb, _) in zip(off, off[1:]):
    pa, pb = pair(sa), pair(sb)
    if "bytesSent" not in pa or "bytesSent" not in pb or tb <= ta:
        continue
    dt = (tb - ta) / 1000.0
    db = pb["bytesSent"] - pa["bytesSent"]
    dp = pb.get("packetsSent", 0) - pa.get("packetsSent", 0)
    ri = sb.get("RIvideo", {})
    def track(k):
        a, b = sa.get("OT" + k, {}).get("bytesSent"), sb.get("OT" + k, {}).get("bytesSent")
        return (b - a) * 8 / dt if a is not None and b is not None else 0
    series.append({"t": (tb - t0) / 1000.0, "t_end": tb, "rate": db * 8 / dt,
                   "video": track("video"), "audio": track("audio"),
                   "budget": pb.get("rtcpeerDataBudgetBitrate"),
                   "wire": (db + 42 * dp) * 8 / dt, "bwe": pb.get("availableOutgoingBitrate"),
                   "state": pb.get("rtcpeerBweState"), "loss": pb.get("rtcpeerBweLoss"),
                   "target": sb.get("OTvideo", {}).get("targetBitrate"),
                   "rtt": ri.get("roundTripTime"), "cprtt": pb.get("currentRoundTripTime")})

# Answerer: frames decoded per sample interval.
frames = []
for (ta, sa, _), (tb, sb, _) in zip(ans, ans[1:]):
    fa, fb = sa.get("ITvideo", {}).get("framesDecoded"), sb.get("ITvideo", {}).get("framesDecoded")
    if fa is None or fb is None:
        continue
    frames.append(((tb - t0) / 1000.0, fb - fa, (tb - ta) / 1000.0))

# Answerer: data received per sample interval (every channel's bytesReceived), bit/s.
def dc_bytes(st):
    return sum(s.get("bytesReceived", 0) for s in st.values() if s.get("type") == "data-channel")
drate = []
for (ta, sa, _), (tb, sb, _) in zip(ans, ans[1:]):
    if tb > ta:
        drate.append(((tb - t0) / 1000.0, tb, (dc_bytes(sb) - dc_bytes(sa)) * 8 / ((tb - ta) / 1e3)))

print("# per second (t from session established): offerer send rate kbit/s (payload / wire),"
      " estimate, target, BWE state, loss, RTT ms; answerer frames decoded")
fmap = {round(t): n for t, n, _ in frames}
dmap = {round(t): r for t, _, r in drate}
if data_mode:
    print("# DATA: per second also video and audio send rate, data budget and data received,"
          " kbit/s")
for s in series:
    extra = ""
    if data_mode:
        extra = "  video %5.0f audio %3.0f budget %5s data %5s" % (
            s["video"] / 1e3, s["audio"] / 1e3,
            "%.0f" % (s["budget"] / 1e3) if s["budget"] is not None else "-",
            "%.0f" % (dmap[round(s["t"])] / 1e3) if round(s["t"]) in dmap else "-")
    print("  t=%5.1f  %5.0f / %5.0f  est %5s  target %5s  %-8s loss %-6s rtt %5s  frames %s%s"
          % (s["t"], s["rate"] / 1e3, s["wire"] / 1e3,
             "%.0f" % (s["bwe"] / 1e3) if s["bwe"] else "-",
             "%.0f" % (s["target"] / 1e3) if s["target"] else "-", s["state"] or "-",
             "%.3f" % s["loss"] if s["loss"] is not None else "-",
             "%.0f" % (s["rtt"] * 1e3) if s["rtt"] is not None else "-",
             fmap.get(round(s["t"]), "-"), extra))

# 1. rate in each settled window
ends = [c[0] for c in changes[1:]] + [t0 + dur_ms - 1000]
windows = []
for (tc, mbit), tn in zip(changes, ends):
    lo, hi = tc + settle * 1000, tn
    w = [s for s in series if lo < s["t_end"] <= hi + 200]
    bn = mbit * 1e6
    windows.append((tc, mbit, w))
    if not w:
        problems.append("%.0f Mbit/s: no send-rate samples in [%.1f, %.1f) s"
                        % (mbit, (lo - t0) / 1e3, (hi - t0) / 1e3))
        continue
    mean = sum(s["rate"] for s in w) / len(w)
    wire = sum(s["wire"] for s in w) / len(w)
    out = [s for s in w if not low * bn <= s["wire"] <= high * bn]
    rtts = [s["rtt"] for s in w if s["rtt"] is not None]
    # A sender at exactly the bottleneck's rate measures up to a full queue (QUEUE_MS) above it
    # over the window, when the queue was empty at its start and full at its end: the bound
    # allows that much; more would be loss, which check 2 sees.
    span = (w[-1]["t_end"] - w[0]["t_end"]) / 1e3 + 1
    high_w = high + queue_ms / 1e3 / span
    ok = low * bn <= wire <= high_w * bn
    # What the bottleneck itself forwarded in the window, by its own byte counter (the same
    # units as its rate): the check on the 42-byte model of the wire rate.
    k = 2 * (len(windows) - 1)
    fwd = "-"
    if k + 1 < len(tbf_marks) and tbf_marks[k + 1][0] > tbf_marks[k][0]:
        (ta, ba), (tb, bb) = tbf_marks[k], tbf_marks[k + 1]
        fwd = "%.1f %%" % (100 * (bb - ba) * 8 / ((tb - ta) / 1e3) / bn)
    print("%s: %.0f Mbit/s, window [%.1f, %.1f) s: send rate on the wire %.0f kbit/s = %.1f %% of"
          " the bottleneck (bound %.0f-%.2f %%; UDP payload %.1f %%; forwarded by tbf %s), %d of"
          " %d seconds outside %.0f-%.0f %% (%s); RTT mean %s ms"
          % ("ok" if ok else "MISS", mbit, (lo - t0) / 1e3, (hi - t0) / 1e3, wire / 1e3,
             100 * wire / bn, 100 * low, 100 * high_w, 100 * mean / bn, fwd, len(out), len(w),
             100 * low, 100 * high,
             ", ".join("t=%.0f %.0f%%" % (s["t"], 100 * s["wire"] / bn) for s in out) or "none",
             "%.0f" % (1e3 * sum(rtts) / len(rtts)) if rtts else "-"))
    if not ok:
        rate_problems.append("%.0f Mbit/s: mean send rate on the wire %.1f %% of the"
                             " bottleneck, not %.0f-%.2f %%"
                             % (mbit, 100 * wire / bn, 100 * low, 100 * high_w))
    # time to settle: first second from which the rate stays >= LOW
    st = None
    for i, s in enumerate(series):
        if s["t_end"] <= tc or s["t_end"] > tn:
            continue
        if all(low * bn <= x["wire"] for x in series[i:] if x["t_end"] <= tn):
            st = (s["t_end"] - 1000 - tc) / 1e3
            break
    first = next(((s["t_end"] - 1000 - tc) / 1e3 for s in series
                  if tc < s["t_end"] <= tn and s["wire"] >= low * bn), None)
    print("    after the change: first second at >= %.0f %% of %g Mbit/s: %s; at or above it"
          " from then on: %s" % (100 * low, mbit,
                                 "%.0f s" % max(first, 0) if first is not None else "never",
                                 "%.0f s" % max(st, 0) if st is not None else "never"))

# 5. with DATA=1: video and data each get a fair share (together: check 1), and the queue
#    does not stay full
if data_mode:
    base_rtt = min((s["rtt"] for s in series if s["rtt"]), default=None)
    for tc, mbit, w in windows:
        if not w:
            continue
        bn = mbit * 1e6
        lo, hi = w[0]["t_end"] - 1000, w[-1]["t_end"]
        dw = [r for _, tb, r in drate if lo < tb <= hi + 200]
        video = sum(s["video"] for s in w) / len(w)
        audio = sum(s["audio"] for s in w) / len(w)
        data = sum(dw) / len(dw) if dw else 0
        rtts = [s["rtt"] for s in w if s["rtt"] is not None]
        rtt = sum(rtts) / len(rtts) if rtts else None
        ok_share = video >= min_share * bn and data >= min_share * bn
        ok_queue = rtt is not None and base_rtt is not None and rtt <= base_rtt + max_queue / 1e3
        print("%s: %.0f Mbit/s shared: video %.0f kbit/s (%.1f %%), data %.0f kbit/s (%.1f %%),"
              " audio %.0f kbit/s; payload together %.1f %% of the bottleneck (bound: each >="
              " %.0f %%); RTT mean %s ms, lowest %s ms (bound: lowest + %.0f ms)"
              % ("ok" if ok_share and ok_queue else "MISS", mbit, video / 1e3,
                 100 * video / bn, data / 1e3, 100 * data / bn, audio / 1e3,
                 100 * (video + audio + data) / bn, 100 * min_share,
                 "%.0f" % (1e3 * rtt) if rtt is not None else "-",
                 "%.0f" % (1e3 * base_rtt) if base_rtt is not None else "-", max_queue))
        if not ok_share:
            problems.append("%.0f Mbit/s: video %.1f %%, data %.1f %% of the bottleneck, not each"
                            " >= %.0f %%" % (mbit, 100 * video / bn, 100 * data / bn,
                                             100 * min_share))
        if not ok_queue:
            problems.append("%.0f Mbit/s shared: RTT mean %s ms above the lowest + %.0f ms"
                            % (mbit, "%.0f" % (1e3 * rtt) if rtt is not None else "-",
                               max_queue))

# 2. loss, from the answerer's last object (the final one)
lost = recv = 0
if ans:
    for k in ("ITvideo", "ITaudio"):
        s = ans[-1][1].get(k, {})
        lost += max(s.get("packetsLost", 0), 0)
        recv += s.get("packetsReceived", 0)
frac = lost / (recv + lost) if recv + lost else 1.0
prev, per = (0, 0), []
for (mbit_c, m) in zip([c[1] for c in changes], marks):
    sent_p, drop_p = m[0] - prev[0], m[1] - prev[1]
    per.append("%d of %d at %g Mbit/s" % (drop_p, sent_p + drop_p, mbit_c))
    prev = m
print("%s: loss %.2f %% after retransmission (answerer's inbound-rtp: %d lost, %d received,"
      " audio and video); on the link: tbf dropped %d of %d packets (%.2f %%: %s)"
      % ("ok" if frac < max_loss else "FAIL", 100 * frac, lost, recv, tbf_drops,
         tbf_sent + tbf_drops, 100.0 * tbf_drops / max(tbf_sent + tbf_drops, 1), "; ".join(per)))
if frac >= max_loss:
    problems.append("loss %.2f %% >= %.0f %%" % (100 * frac, 100 * max_loss))

# 3. queueing delay: last window's RTT vs the first window's
def rtt_mean(w):
    r = [s["rtt"] for s in w if s["rtt"] is not None]
    return sum(r) / len(r) if r else None
first, last = rtt_mean(windows[0][2]), rtt_mean(windows[-1][2])
base = min((s["rtt"] for s in series if s["rtt"]), default=None)
if first is None or last is None:
    problems.append("no RTT (remote-inbound-rtp roundTripTime) in a window")
    print("FAIL: queueing delay: no RTT samples")
else:
    ok = last <= first + queue_ms / 1e3
    print("%s: queueing delay: RTT mean %.0f ms in the first window, %.0f ms in the last"
          " (lowest %.0f ms; bound: first + %.0f ms queue)"
          % ("ok" if ok else "FAIL", 1e3 * first, 1e3 * last, 1e3 * base, queue_ms))
    if not ok:
        problems.append("RTT grew from %.0f to %.0f ms" % (1e3 * first, 1e3 * last))

# 4. video keeps flowing
body = [f for f in frames if 1.0 < f[0] <= dur_ms / 1e3 - 1.5]
stalls = [f for f in body if f[1] <= 0]
minfps = min((f[1] / f[2] for f in body), default=0)
fin = ans[-1][1].get("ITvideo", {}) if ans else {}
msg = ("decoded video: framesDecoded rose in %d of %d seconds (lowest %.1f fps); %s frames"
       " decoded, %s freezes (%.2f s)" % (len(body) - len(stalls), len(body), minfps,
                                          fin.get("framesDecoded"), fin.get("freezeCount"),
                                          fin.get("totalFreezesDuration") or 0))
if not body or stalls:
    problems.append("framesDecoded stalled at t=%s s" % ", ".join("%.0f" % f[0] for f in stalls))
try:
    v = json.load(open(d + "/video.json"))
    msg += "; Y4M: %d pictures, %d missing, max_gap_ms %.0f" % (v["frames"], v["missing"],
                                                                 v["max_gap_ms"])
    if v["max_gap_ms"] > max_gap:
        problems.append("video froze: max_gap_ms %.0f > %.0f" % (v["max_gap_ms"], max_gap))
except (OSError, ValueError, KeyError):
    msg += "; (no mediacheck figures)"
print(("ok: " if body and not stalls else "FAIL: ") + msg)
for p in problems + rate_problems:
    print("    problem: " + p)
sys.exit(1 if problems else 3 if rate_problems else 0)
EOF
verdict=$?
[ "$rc_o" = 0 ] || { echo "FAIL: offer exit $rc_o"; failed=1; }
# With DATA=1 the offerer hangs up with its channel open: the answerer says so and exits 15.
[ "$rc_a" = 0 ] || { [ "$DATA" = 1 ] && [ "$rc_a" = 15 ]; } ||
    { echo "FAIL: answer exit $rc_a"; failed=1; }
# A sanitizer build encodes several times slower than real time: at the low rates of the start
# (and of data's share) its encoder cannot keep up, key frames take seconds to leave, and the
# figures measure the build rather than congestion control. There the run still has to end
# cleanly (exit codes; the sanitizers abort on a finding), and the figures are only reported.
judged=""
if [ "$verdict" = 3 ] && [ "$failed" = 0 ] && [ -z "${RTCPEER_SANITIZED:-}" ] &&
    [ "$attempt" -le "$RETRY" ]; then
    # Only a rate window missed. The window's mean varies by a few percent from call to call
    # with nothing changed (see RETRY above), so one miss is run once more; the second call
    # decides. A real regression misses both.
    echo "RETRY: a rate window missed; the call is run once more (attempt $((attempt + 1)))"
    cleanup
    trap - EXIT
    CONGESTION_ATTEMPT=$((attempt + 1)) exec "$BASH" "$0" "$@"
fi
if [ "$verdict" != 0 ] && [ -n "${RTCPEER_SANITIZED:-}" ]; then
    echo "NOT JUDGED: the figures above (sanitizer build: RTCPEER_SANITIZED is set)"
    judged=" (exit codes only: a sanitizer build)"
elif [ "$verdict" != 0 ]; then
    failed=1
fi
if [ "$failed" != 0 ]; then
    echo "    offerer:"
    grep -v -e ' ice debug' -e ' net debug' "$tmp/offer.err" | tail -n 12 | sed 's/^/      /'
    echo "    answerer:"
    grep -v -e ' ice debug' -e ' net debug' "$tmp/answer.err" | tail -n 12 | sed 's/^/      /'
    echo "FAIL: congestion control through ${RATES// /, then } Mbit/s${data_opt:+ with data}"
    exit 1
fi
echo "PASS: congestion control through ${RATES// /, then } Mbit/s${data_opt:+ with data}$judged"
