#!/bin/bash
# Media interop, receiving side: real WebRTC stacks SEND VP8 video and Opus
# audio and rtcpeer receives, decodes and writes them (--video-out Y4M,
# --record-audio WAV).
#
#   run-media-in.sh RTCPEER [MEDIACHECK]
#
# What each peer sends (--media-send S in each peer, see there):
#   aiortc    640x480 moving pattern at 30 fps (aiortc's VP8) + a 1000 Hz sine
#             at 48 kHz (aiortc's Opus)
#   gstreamer videotestsrc 640x480@30 ! vp8enc deadline=1 ! rtpvp8pay and
#             audiotestsrc freq=1000 ! opusenc ! rtpopuspay into webrtcbin
#   chromium  getUserMedia() with the fake camera (640x480, 30 fps, moving)
#             and the fake microphone playing a 1000 Hz tone file; VP8 put
#             first with setCodecPreferences
# For every available stack, both roles:
#   peer offer --media-send S (sendonly audio+video, data)
#       -> rtcpeer answer --video-out v.y4m --record-audio a.wav --stats s.jsonl
#   rtcpeer offer --video-out v.y4m --record-audio a.wav (recvonly)
#       -> peer answer --media-send S (sendonly)
# Who hangs up: aiortc and Chromium hang up themselves after S seconds
# (close_notify; rtcpeer runs with --duration S+DURATION_SLACK as a bound and
# must end on "the peer hung up"); webrtcbin has no way to send close_notify,
# so with GStreamer rtcpeer hangs up after --duration S and the peer keeps
# sending until then (--keep-sending). Both ways, the peer prints what it sent
# when the session ends ("<stack>: media send done {...}").
#
# An exchange passes when rtcpeer exits 0 with "session established" and
#   - the Y4M holds >= MIN_RATIO (0.8) x the frames the peer says it sent
#     (aiortc: frames its track handed to the VP8 encoder; GStreamer: video
#     packets with the marker bit entering webrtcbin's nicesink; Chromium:
#     outbound-rtp framesSent), or x S x its nominal fps when it cannot tell,
#     and its pictures are the size the peer sent;
#   - the WAV is not silent (rms_dbfs > -40, silent_ratio < 0.5), its peak
#     is within 5 Hz of the tone sent, and it holds >= MIN_RATIO of the audio
#     seconds sent.
# One verdict line per exchange with the figures, then rtcpeer's inbound-rtp
# counters from its last --stats object (packets, lost, NACK/PLI sent, key
# frames, freezes) and the peer's own sending figures (key frames, PLI/NACK it
# received); a "note:" line when the peer sent below MIN_RATIO of its nominal
# frame rate (not a failure: the shortfall is the sender's, though its cause
# may be rtcpeer's feedback, as Chromium's targetBitrate shows). Frames are counted with MEDIACHECK (tests/tools/mediacheck:
# "video" -> frames, width, height; "audio" -> seconds, rms_dbfs, peak_hz,
# silent_ratio); without it, a small Python reading of the Y4M/WAV does the
# same.
#
# A stack whose packages are missing is skipped with "SKIP: <stack>:
# <reason>"; exit 77 when every stack is skipped, 1 when an exchange failed,
# 0 otherwise. Every program is bounded by `timeout -k 5`.
#
# Environment: PYTHON (default /usr/bin/python3), NODE (default node),
# STACKS (subset of "aiortc gstreamer chromium"; pion has no --media-send),
# MEDIA_SECONDS (S, default 8), DURATION_SLACK (default 8), HANGUP (auto,
# peer or rtcpeer: who ends the session; default auto as above), MIN_RATIO
# (0.8), EXCHANGE_TIMEOUT (seconds per program, default S + 40),
# PEER_TIMEOUT (the peers' --timeout, default 20), RTCPEER_ARGS (extra
# arguments to both rtcpeer modes, e.g. -vv), KEEP_TMP=1 (keep every SDP,
# stderr, stats, Y4M and WAV file).
# shellcheck disable=SC2094  # each exchange reads and writes its FIFO "back" on purpose
set -u

here=$(cd "$(dirname "$0")" && pwd)
PYTHON=${PYTHON:-/usr/bin/python3}
NODE=${NODE:-node}
MEDIA_SECONDS=${MEDIA_SECONDS:-8}
DURATION_SLACK=${DURATION_SLACK:-8}
HANGUP=${HANGUP:-auto}
MIN_RATIO=${MIN_RATIO:-0.8}
EXCHANGE_TIMEOUT=${EXCHANGE_TIMEOUT:-$((${MEDIA_SECONDS%.*} + 40))}
PEER_TIMEOUT=${PEER_TIMEOUT:-20}
STACKS=${STACKS:-aiortc gstreamer chromium}

case ${1:-} in
    ""|-h|--help)
        echo "usage: $0 RTCPEER [MEDIACHECK]" >&2
        exit 2
        ;;
esac
rtcpeer=$1
if [ ! -x "$rtcpeer" ]; then
    echo "run-media-in: $rtcpeer is not an executable" >&2
    exit 2
fi
rtcpeer=$(cd "$(dirname "$rtcpeer")" && pwd)/$(basename "$rtcpeer")
mediacheck=${2:-$(dirname "$rtcpeer")/tests/tools/mediacheck}
[ -x "$mediacheck" ] || mediacheck=
read -r -a rtcpeer_args <<<"${RTCPEER_ARGS:-}"
case $HANGUP in
    auto|peer|rtcpeer) ;;
    *) echo "run-media-in: HANGUP must be auto, peer or rtcpeer" >&2; exit 2 ;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rtcpeer-media-in.XXXXXX")
cleanup() {
    local p
    for p in $(jobs -p); do
        kill "$p" 2>/dev/null
    done
    wait 2>/dev/null
    if [ "${KEEP_TMP:-0}" = 1 ]; then
        echo "run-media-in: kept $tmp"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

UNSUPPORTED_STACKS=pion
UNSUPPORTED_REASON="pion_peer has no --media-send mode"
. "$here/stacks.sh"
find_stacks media-in
[ -n "$mediacheck" ] || echo "run-media-in: no mediacheck binary: reading the Y4M/WAV in Python"

passed=0
failed=0
n=0

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# mediacheck video|audio FILE: its JSON, or the same figures from Python.
check_media() {
    if [ -n "$mediacheck" ]; then
        "$mediacheck" "$1" "$2"
        return
    fi
    "$PYTHON" - "$1" "$2" <<'EOF'
import json, math, struct, sys
kind, path = sys.argv[1], sys.argv[2]
if kind == "video":
    data = open(path, "rb").read()
    nl = data.find(b"\n")
    head = data[:nl].split()
    if nl < 0 or head[:1] != [b"YUV4MPEG2"]:
        sys.exit("not a Y4M file")
    w = int([t for t in head if t.startswith(b"W")][0][1:])
    h = int([t for t in head if t.startswith(b"H")][0][1:])
    size = w * h + 2 * ((w + 1) // 2) * ((h + 1) // 2)
    pos, frames = nl + 1, 0
    while data.startswith(b"FRAME", pos):
        e = data.find(b"\n", pos)
        if e < 0 or e + 1 + size > len(data):
            break
        frames += 1
        pos = e + 1 + size
    print(json.dumps({"frames": frames, "readable": 0, "width": w, "height": h}))
else:
    import numpy as np
    data = open(path, "rb").read()
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        sys.exit("not a WAV file")
    pos, ch, rate, pcm = 12, 2, 48000, b""
    while pos + 8 <= len(data):
        cid, clen = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        body = data[pos + 8:pos + 8 + clen]
        if cid == b"fmt ":
            ch, rate = struct.unpack("<HI", body[2:8])
        elif cid == b"data":
            pcm = body
        pos += 8 + clen + (clen & 1)
    x = np.frombuffer(pcm[:len(pcm) // (2 * ch) * 2 * ch], "<i2").astype(float) / 32768
    frames = len(x) // ch
    if frames == 0:
        print(json.dumps({"frames": 0, "seconds": 0, "rms_dbfs": -120, "peak_hz": 0,
                          "silent_ratio": 1}))
        sys.exit(0)
    m = x.reshape(-1, ch)
    rms = math.sqrt(float(np.mean(x * x)))
    blk = rate // 100
    b = m[:frames // blk * blk].reshape(-1, blk * ch)
    bl = np.sqrt(np.mean(b * b, axis=1)) if len(b) else np.zeros(1)
    silent = float(np.mean(bl < 10 ** (-60 / 20)))
    mono = m.mean(axis=1)
    loud = np.nonzero(np.repeat(bl >= 10 ** (-60 / 20), blk))[0]
    seg = mono[loud[0]:loud[0] + rate] if len(loud) else mono[:rate]
    spec = np.abs(np.fft.rfft(seg * np.hanning(len(seg))))
    hz = np.fft.rfftfreq(len(seg), 1 / rate)
    band = (hz >= 50) & (hz <= 8000)
    peak = float(hz[band][np.argmax(spec[band])]) if band.any() and len(loud) else 0.0
    print(json.dumps({"frames": frames, "seconds": round(frames / rate, 3), "rate": rate,
                      "channels": ch, "rms_dbfs": round(20 * math.log10(max(rms, 1e-6)), 2),
                      "peak_hz": round(peak, 1), "silent_ratio": round(silent, 4)}))
EOF
}

# judge DIR STACK: the verdict line (first line PASS/FAIL), then details.
judge() {
    "$PYTHON" - "$1" "$2" "$MEDIA_SECONDS" "$MIN_RATIO" <<'EOF'
import json, sys
d, stack, secs_nominal, min_ratio = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
problems = []

def load(path):
    try:
        return json.load(open(path))
    except Exception as e:
        problems.append("%s unreadable (%s)" % (path.rsplit("/", 1)[-1], e))
        return {}

v, a = load(d + "/video.json"), load(d + "/audio.json")
# What the peer says it sent: its last "media send done" (else "media sent") line.
sent = {}
for line in open(d + "/peer.err", errors="replace"):
    for tag in (": media send done ", ": media sent "):
        if tag in line:
            try:
                o = json.loads(line.split(tag, 1)[1])
            except ValueError:
                continue
            if tag == ": media send done " or "done" not in sent:
                sent = dict(o, done=(tag == ": media send done "))
sv, sa = sent.get("video", {}), sent.get("audio", {})
fps = float(sv.get("fps") or 30)
secs = float(sent.get("seconds") or secs_nominal)
if sv.get("frames"):
    ref, ref_what = int(sv["frames"]), "sent"
else:
    ref, ref_what = int(round(secs * fps)), "nominal"
frames = int(v.get("frames", 0))
ratio = frames / ref if ref else 0.0
size = "%sx%s" % (v.get("width"), v.get("height"))
want_size = sv.get("size") or "640x480"
if not sent:
    problems.append("the peer printed no sending figures")
if ratio < min_ratio:
    problems.append("video: %d frames written, %.0f%% of %d %s (want >= %.0f%%)"
                    % (frames, 100 * ratio, ref, ref_what, 100 * min_ratio))
if frames and size != want_size:
    problems.append("video: pictures %s, the peer sent %s" % (size, want_size))
tone = sa.get("toneHz")
rms, peak, silent = a.get("rms_dbfs", -120), a.get("peak_hz", 0), a.get("silent_ratio", 1)
asecs = float(a.get("seconds", 0))
if rms <= -40:
    problems.append("audio: rms %.1f dBFS (want > -40)" % rms)
if silent >= 0.5:
    problems.append("audio: silent_ratio %.2f (want < 0.5)" % silent)
if tone and abs(peak - float(tone)) > 5:
    problems.append("audio: peak %.1f Hz, the peer sent %g Hz (want within 5)" % (peak, tone))
sent_secs = sa["samples"] / float(sa.get("sampleRate", 48000)) if sa.get("samples") else secs
if asecs < min_ratio * sent_secs:
    problems.append("audio: %.2f s written of %.2f s sent (want >= %.0f%%)"
                    % (asecs, sent_secs, 100 * min_ratio))
verdict = ("video %d/%d frames (%.0f%% of %s; peer sent %.1f fps over %.1f s) %s; "
           "audio %.2f/%.2f s, rms %.1f dBFS, peak %.1f Hz%s, silent %.2f"
           % (frames, ref, 100 * ratio, ref_what, (ref / secs) if secs else 0, secs, size,
              asecs, sent_secs, rms, peak, (" (sent %g)" % tone) if tone else "", silent))
print(("PASS " if not problems else "FAIL ") + verdict)
for p in problems:
    print("    problem: " + p)
# Not a failure of rtcpeer's receiving by itself, but worth seeing: a sender
# far below its nominal rate (its encoder starved, or its bandwidth estimate
# collapsed: Chromium's targetBitrate says which).
if sv.get("frames") and secs and ref / secs < min_ratio * fps:
    print("    note: %s sent only %.1f of its nominal %g fps%s" % (
        stack, ref / secs, fps,
        (" (targetBitrate %s bit/s, qualityLimitationReason %s)"
         % (sv.get("targetBitrate"), sv.get("qualityLimitationReason")))
        if "targetBitrate" in sv else ""))
# rtcpeer's inbound-rtp, from its last --stats object.
last = None
try:
    for line in open(d + "/stats.jsonl"):
        try:
            last = json.loads(line)
        except ValueError:
            pass
except OSError:
    pass
st = {s.get("id"): s for s in (last or {}).get("stats", []) if isinstance(s, dict)}
iv, ia = st.get("ITvideo"), st.get("ITaudio")
if iv:
    print("    rtcpeer inbound video: %s packets, %s lost, %s discarded, NACK %s (%s packets asked,"
          " %s retransmissions received), PLI %s, FIR %s; frames decoded %s (key %s), written"
          " %s, dropped %s, decode errors %s, %s freezes (%.2f s); %sx%s"
          % (iv.get("packetsReceived"), iv.get("packetsLost"), iv.get("packetsDiscarded"),
             iv.get("nackCount"), iv.get("rtcpeerNackRequested"),
             iv.get("retransmittedPacketsReceived"), iv.get("pliCount"), iv.get("firCount"),
             iv.get("framesDecoded"), iv.get("keyFramesDecoded"),
             iv.get("rtcpeerFramesWritten"), iv.get("framesDropped"),
             iv.get("rtcpeerDecodeErrors"), iv.get("freezeCount"),
             iv.get("totalFreezesDuration") or 0, iv.get("frameWidth"), iv.get("frameHeight")))
else:
    print("    rtcpeer inbound video: no inbound-rtp video in its --stats")
if ia:
    print("    rtcpeer inbound audio: %s packets, %s lost, %s samples (%s concealed, %s events),"
          " jitter %s s" % (ia.get("packetsReceived"), ia.get("packetsLost"),
                            ia.get("totalSamplesReceived"), ia.get("concealedSamples"),
                            ia.get("concealmentEvents"), ia.get("jitter")))
else:
    print("    rtcpeer inbound audio: no inbound-rtp audio in its --stats")
if sent:
    extra = {k: sv[k] for k in ("codec", "keyFramesEncoded", "pliCount",
                                "pli-count", "nackCount", "nack-count", "fir-count",
                                "qualityLimitationReason", "targetBitrate", "packetsSent",
                                "packets-sent") if k in sv}
    if "rtcpReceived" in sent:
        extra["rtcpReceived"] = sent["rtcpReceived"]
    print("    %s sent: %s%s" % (stack, json.dumps(extra, sort_keys=True),
                                 "" if sent.get("done") else " (no final figures)"))
sys.exit(1 if problems else 0)
EOF
}

show_logs() {
    local d=$1
    grep -v ' ice debug: ' "$d/rtcpeer.err" | sed 's/^/    rtcpeer| /' | tail -n 25
    grep -v -e ': media sent {' "$d/peer.err" | sed 's/^/    peer| /' | tail -n 12
    echo "    (KEEP_TMP=1 keeps every SDP, stderr, stats, Y4M and WAV file in $d)"
}

# exchange STACK ROLE PEER_CMD...
#   ROLE "answer": the peer offers sendonly audio+video (+data) and sends,
#   rtcpeer answers and receives; "offer": rtcpeer offers recvonly, the peer
#   answers sendonly and sends.
exchange() {
    local stack=$1 role=$2
    shift 2
    local -a peer=("$@")
    n=$((n + 1))
    local d=$tmp/$n
    mkdir -p "$d"
    mkfifo "$d/back"
    local hangup=$HANGUP
    if [ "$hangup" = auto ]; then
        hangup=peer
        [ "$stack" = gstreamer ] && hangup=rtcpeer
    fi
    local dur=$MEDIA_SECONDS
    local -a popts=(--media-send "$MEDIA_SECONDS" --timeout "$PEER_TIMEOUT"
        --hold $((${MEDIA_SECONDS%.*} + DURATION_SLACK + PEER_TIMEOUT)))
    if [ "$hangup" = peer ]; then
        dur=$((${MEDIA_SECONDS%.*} + DURATION_SLACK))
    else
        popts+=(--keep-sending)
    fi
    local -a ropts=(--video-out "$d/video.y4m" --record-audio "$d/audio.wav"
        --duration "$dur" --stats "$d/stats.jsonl" -v "${rtcpeer_args[@]}")
    local t0 t1 rc pc tmo=$EXCHANGE_TIMEOUT name
    t0=$(now_ms)
    if [ "$role" = offer ]; then
        name="rtcpeer offer (recvonly) -> $stack answer (sends)"
        timeout -k 5 "$tmo" "$rtcpeer" offer "${ropts[@]}" <"$d/back" 2>"$d/rtcpeer.err" \
            | tee "$d/offer.sdp" \
            | timeout -k 5 "$tmo" "${peer[@]}" answer "${popts[@]}" 2>"$d/peer.err" \
            | tee "$d/answer.sdp" >"$d/back"
        local st=("${PIPESTATUS[@]}")
        rc=${st[0]} pc=${st[2]}
    else
        name="$stack offer (sendonly) -> rtcpeer answer (receives)"
        timeout -k 5 "$tmo" "${peer[@]}" offer "${popts[@]}" <"$d/back" 2>"$d/peer.err" \
            | tee "$d/offer.sdp" \
            | timeout -k 5 "$tmo" "$rtcpeer" answer "${ropts[@]}" 2>"$d/rtcpeer.err" \
            | tee "$d/answer.sdp" >"$d/back"
        local st=("${PIPESTATUS[@]}")
        pc=${st[0]} rc=${st[2]}
    fi
    t1=$(now_ms)
    name="$name, $hangup hangs up"
    local ms=$((t1 - t0)) out ok=1 why=()
    if [ "$rc" != 0 ]; then
        ok=0
        why+=("rtcpeer exit $rc")
    fi
    if ! grep -q 'session established' "$d/rtcpeer.err"; then
        ok=0
        why+=("no \"session established\"")
    fi
    if [ "$hangup" = peer ] && [ "$rc" = 0 ] && ! grep -q 'the peer hung up' "$d/rtcpeer.err"; then
        why+=("(rtcpeer ended before the peer hung up)")
    fi
    [ "$pc" = 0 ] || why+=("(peer exit $pc)")
    check_media video "$d/video.y4m" >"$d/video.json" 2>"$d/video.check.err" ||
        echo '{"frames": 0}' >"$d/video.json"
    check_media audio "$d/audio.wav" >"$d/audio.json" 2>"$d/audio.check.err" ||
        echo '{"seconds": 0, "rms_dbfs": -120, "peak_hz": 0, "silent_ratio": 1}' >"$d/audio.json"
    out=$(judge "$d" "$stack") || ok=0
    local head rest
    head=$(printf '%s\n' "$out" | head -n 1)
    rest=$(printf '%s\n' "$out" | tail -n +2)
    head=${head#PASS }
    head=${head#FAIL }
    if [ "$ok" = 1 ]; then
        passed=$((passed + 1))
        echo "PASS: $name (${ms} ms): $head${why[*]:+ ${why[*]}}"
        printf '%s\n' "$rest"
        return 0
    fi
    failed=$((failed + 1))
    echo "FAIL: $name (${ms} ms): ${why[*]:+${why[*]}; }$head"
    printf '%s\n' "$rest"
    for f in video audio; do
        [ -s "$d/$f.check.err" ] && sed "s/^/    $f check: /" "$d/$f.check.err"
    done
    show_logs "$d"
    return 1
}

for s in "${available[@]}"; do
    read -r -a p <<<"${peer_cmd[$s]}"
    exchange "$s" answer "${p[@]}"
    exchange "$s" offer "${p[@]}"
done

echo "media-in: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
