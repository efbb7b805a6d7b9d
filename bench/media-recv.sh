#!/usr/bin/env bash
# CPU cost and glass-to-glass latency of receiving 640x480@30 VP8 at 1 Mbit/s + Opus, against the
# decoders alone and (latency only, for information) aiortc, all measured in the same run.
#
#   bench/media-recv.sh RTCPEER [RUNS]
#
# RUNS (default 1) rounds; each round runs, in an order that alternates between rounds:
#   - rtcpeer: a loopback call `rtcpeer offer --video test --audio test --duration D` ->
#     `rtcpeer answer --video-out /dev/null --record-video REC.ivf --record-audio /dev/null`,
#     signaling through two FIFOs. Measured: the ANSWER process's user+system CPU seconds (bash
#     `time`, i.e. getrusage of the waited-for child, all threads, start-up and hang-up
#     included), the CPU it had used when it logged "session established" (/proc/PID/stat), and
#     from its final --stats object framesDecoded, rtcpeerGlassToGlassMedianMs/P95Ms (the
#     capture time the sender draws into its test pattern against the time the decoded picture
#     is written; valid as both peers share CLOCK_MONOTONIC), the mean time a video frame waited
#     in the jitter buffer (jitterBufferDelay / jitterBufferEmittedCount), losses and freezes;
#     framesSent from the offerer's.
#   - decoders alone, paced (the reference): `decode_bench --paced --y4m /dev/null --wav
#     /dev/null REC.ivf D`: every VP8 frame rtcpeer recorded (in the last rtcpeer call so far)
#     decoded by libvpx at its IVF instant and D s of the same Opus stream (the 440 Hz test tone,
#     mono 32 kbit/s, encoded before timing) decoded to stereo every 20 ms, written to /dev/null
#     as Y4M and WAV like rtcpeer's outputs; its process CPU over the loop (sleeps and wake-ups
#     included).
#   - decoders alone, back to back (for information): the same without pacing, best of 2.
#   - aiortc (latency and CPU for information): the same rtcpeer offer answered by
#     bench/aiortc_recv.py, which decodes with aiortc's own decoders and reads the same digits.
# CPU is normalised to seconds per minute of media (x 60 / D for rtcpeer and aiortc; decode_bench
# normalises by its own media duration, the longer of the IVF's and D).
#
# Environment: BENCH_SECONDS=D media seconds per call (default 30), DECODE_BENCH (default
# DIR/bench/decode_bench next to RTCPEER), AIORTC_PYTHON (default /usr/bin/python3; without
# aiortc the aiortc rows are skipped).
#
# Output: one line per run with the load average before it, a table of medians [min..max], the
# ratio rtcpeer / paced decoders (target: within +15 %, reported, not enforced), glass-to-glass
# figures, frames decoded / sent, and "result ..." lines.
# Exit status 0; 1 if a run failed (the reason is printed); 2 on bad usage.
set -u

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $0 RTCPEER [RUNS]" >&2
	exit 2
fi
RTCPEER=$1
ROUNDS=${2:-1}
D=${BENCH_SECONDS:-30}
case $ROUNDS in '' | *[!0-9]* | 0) echo "$0: RUNS must be a positive integer" >&2; exit 2 ;; esac
case $D in '' | *[!0-9]* | 0) echo "$0: BENCH_SECONDS must be a positive integer" >&2; exit 2 ;; esac
[ -x "$RTCPEER" ] || { echo "$0: $RTCPEER is not executable" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
DECODE_BENCH=${DECODE_BENCH:-$(dirname "$RTCPEER")/bench/decode_bench}
[ -x "$DECODE_BENCH" ] || { echo "$0: $DECODE_BENCH is not executable (set DECODE_BENCH)" >&2; exit 2; }
PY=${AIORTC_PYTHON:-/usr/bin/python3}
LIMIT=$((D + 90)) # seconds before a hung run is killed
JSONPY=python3
command -v "$JSONPY" >/dev/null || JSONPY=$PY

AIORTC=1
if ! [ -x "$PY" ] || ! why=$("$PY" -c 'import aiortc, numpy' 2>&1); then
	echo "SKIP: aiortc: ${why:-$PY not found} (the aiortc rows are left out)" | tail -1
	AIORTC=0
fi

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
TIMEFORMAT='%3R %3U %3S' # bash `time`: wall, user, system seconds of the timed command
HZ=$(getconf CLK_TCK)

die() {
	echo "FAIL: $*"
	exit 1
}
show() { # FILE...: print files under a heading each
	for f in "$@"; do echo "--- $(basename "$f")"; tail -20 "$f"; done
}
field() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1; }
calc() { awk "BEGIN { printf \"$1\\n\", $2 }"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
fifos() {
	rm -f "$T/o2a" "$T/a2o"
	mkfifo "$T/o2a" "$T/a2o" || die "mkfifo failed"
}
# The sending side of every call: rtcpeer's test pattern (which carries its capture time) and tone.
start_offer() { # STATS
	"$RTCPEER" offer --video test --audio test --duration "$D" -t 30 --stats "$1" \
		--signal-out "$T/o2a" --signal-in "$T/a2o" </dev/null >/dev/null 2>"$T/offer.err" &
	OFFER_PID=$!
}

# --- one rtcpeer call -------------------------------------------------------------------------
rtcpeer_run() { # K
	local k=$1 rc orc l0 wall user sys
	l0=$(load)
	fifos
	rm -f "$T/a.jsonl" "$T/o.jsonl" "$T/rec.ivf"
	start_offer "$T/o.jsonl"
	{
		time timeout "$LIMIT" "$RTCPEER" answer --video-out /dev/null --record-video "$T/rec.ivf" \
			--record-audio /dev/null -t 30 --stats "$T/a.jsonl" \
			--signal-in "$T/o2a" --signal-out "$T/a2o" </dev/null >/dev/null 2>"$T/answer.err"
		echo $? >"$T/answer.rc"
	} 2>"$T/answer.time" &
	local gpid=$! tpid="" apid="" est=""
	# The CPU time the answerer has used when it logs "session established" (start-up and set-up).
	while kill -0 "$gpid" 2>/dev/null; do
		[ -n "$tpid" ] || tpid=$(ps -o pid= --ppid "$gpid" 2>/dev/null | head -1 | tr -d ' ')
		[ -z "$tpid" ] || [ -n "$apid" ] || apid=$(ps -o pid= --ppid "$tpid" 2>/dev/null | head -1 | tr -d ' ')
		if [ -n "$apid" ] && grep -q "session established" "$T/answer.err" 2>/dev/null; then
			est=$(awk -v hz="$HZ" '{ printf "%.3f", ($14 + $15) / hz }' "/proc/$apid/stat" 2>/dev/null)
			break
		fi
		sleep 0.02
	done
	wait "$gpid"
	wait "$OFFER_PID"
	orc=$?
	rc=$(cat "$T/answer.rc")
	if [ "$rc" != 0 ] || [ "$orc" != 0 ]; then
		show "$T/offer.err" "$T/answer.err"
		die "rtcpeer run $k: answer exit $rc, offer exit $orc (124: timed out)"
	fi
	read -r wall user sys <"$T/answer.time"
	local s
	s=$("$JSONPY" - "$T/a.jsonl" "$T/o.jsonl" <<-'EOF'
		import json, sys
		def final(path):
		    last = [json.loads(l) for l in open(path) if l.strip()][-1]
		    return {(s["type"], s.get("kind")): s for s in last["stats"]}
		a, o = final(sys.argv[1]), final(sys.argv[2])
		v, au = a.get(("inbound-rtp", "video"), {}), a.get(("inbound-rtp", "audio"), {})
		ov = o.get(("outbound-rtp", "video"), {})
		g = lambda d, k: d.get(k, "na")
		print(g(v, "framesDecoded"), g(ov, "framesSent"), g(v, "rtcpeerGlassToGlassMedianMs"),
		      g(v, "rtcpeerGlassToGlassP95Ms"), g(v, "framesDropped"), g(v, "packetsLost"),
		      g(v, "nackCount"), g(v, "pliCount"), g(v, "freezeCount"), g(v, "rtcpeerDecodeErrors"),
		      g(v, "rtcpeerFramesWritten"), g(au, "packetsReceived"), g(au, "concealedSamples"),
		      "%.1f" % (1000 * v["jitterBufferDelay"] / v["jitterBufferEmittedCount"])
		      if v.get("jitterBufferEmittedCount") else "na")
	EOF
	) || { show "$T/answer.err"; die "rtcpeer run $k: no --stats objects"; }
	local dec sent med p95 drop lost nack pli frz derr wr ap conc jb cpu
	read -r dec sent med p95 drop lost nack pli frz derr wr ap conc jb <<<"$s"
	cpu=$(calc %.3f "$user + $sys")
	[ -n "$est" ] || est=0
	echo "rtcpeer run=$k cpu_s=$cpu user_s=$user sys_s=$sys wall_s=$wall" \
		"cpu_s_per_min=$(calc %.3f "$cpu * 60 / $D") cpu_at_established_s=$est" \
		"established_cpu_s_per_min=$(calc %.3f "($cpu - $est) * 60 / $D")" \
		"frames_decoded=$dec frames_sent=$sent frames_written=$wr g2g_median_ms=$med g2g_p95_ms=$p95" \
		"jitter_buffer_ms=$jb frames_dropped=$drop packets_lost=$lost nack=$nack pli=$pli freezes=$frz decode_errors=$derr" \
		"audio_packets=$ap concealed_samples=$conc load_before=${l0// /,}"
	cp "$T/rec.ivf" "$T/last.ivf"
	calc %.3f "$cpu * 60 / $D" >>"$T/r_cpu"
	calc %.3f "($cpu - $est) * 60 / $D" >>"$T/r_est"
	echo "$dec $sent" >>"$T/r_frames"
	[ "$med" = na ] || echo "$med" >>"$T/r_g2g"
	[ "$p95" = na ] || echo "$p95" >>"$T/r_g2g95"
	[ "$jb" = na ] || echo "$jb" >>"$T/r_jb"
}

# --- decoders alone -------------------------------------------------------------------------------
decode_run() { # K paced|back_to_back
	local k=$1 mode=$2 l0 out s
	l0=$(load)
	[ -s "$T/last.ivf" ] || die "decode run $k: no IVF recorded yet"
	local args=(--y4m /dev/null --wav /dev/null "$T/last.ivf" "$D")
	[ "$mode" = paced ] && args=(--paced "${args[@]}")
	out=$("$DECODE_BENCH" "${args[@]}" 2>"$T/decode.err") || { show "$T/decode.err"; die "decode run $k: $DECODE_BENCH ${args[*]} failed: $out"; }
	s=$(printf '%s\n' "$out" | "$JSONPY" -c '
import json, sys
j = json.loads(sys.stdin.readline())
print(" ".join(str(j[k]) for k in ("cpu_s", "cpu_s_per_min", "vp8_s_per_min", "y4m_s_per_min",
      "opus_s_per_min", "wav_s_per_min", "frames_decoded", "video_frames", "media_s", "late_frames",
      "max_late_ms")))') || die "decode run $k: unexpected output: $out"
	local cpu pm vp y4 op wv fd vf ms late maxl
	read -r cpu pm vp y4 op wv fd vf ms late maxl <<<"$s"
	local tag=paced
	[ "$mode" = paced ] || tag=decoders
	echo "$tag run=$k cpu_s=$cpu cpu_s_per_min=$pm vp8_s_per_min=$vp y4m_s_per_min=$y4" \
		"opus_s_per_min=$op wav_s_per_min=$wv frames_decoded=$fd ivf_frames=$vf media_s=$ms" \
		"late_frames=$late max_late_ms=$maxl load_before=${l0// /,}"
	echo "$pm" >>"$T/${tag}_cpu"
	echo "$vp" >>"$T/${tag}_vp8"
	echo "$y4" >>"$T/${tag}_y4m"
	echo "$op" >>"$T/${tag}_opus"
}

# --- one call answered by aiortc ------------------------------------------------------------------
aiortc_run() { # K
	local k=$1 l0 rc orc wall user sys line
	l0=$(load)
	fifos
	rm -f "$T/ao.jsonl"
	start_offer "$T/ao.jsonl"
	{
		time timeout "$LIMIT" "$PY" "$HERE/aiortc_recv.py" --timeout "$LIMIT" \
			<"$T/o2a" >"$T/a2o" 2>"$T/aiortc.err"
		echo $? >"$T/aiortc.rc"
	} 2>"$T/aiortc.time"
	wait "$OFFER_PID"
	orc=$?
	rc=$(cat "$T/aiortc.rc")
	line=$(grep '^aiortc-recv: video_frames' "$T/aiortc.err" | tail -1)
	if [ "$rc" != 0 ] || [ "$orc" != 0 ] || [ -z "$line" ]; then
		show "$T/offer.err" "$T/aiortc.err"
		die "aiortc run $k: aiortc exit $rc, offer exit $orc (124: timed out)"
	fi
	read -r wall user sys <"$T/aiortc.time"
	local cpu sent med p95
	cpu=$(calc %.3f "$user + $sys")
	sent=$("$JSONPY" -c '
import json, sys
last = [json.loads(l) for l in open(sys.argv[1]) if l.strip()][-1]
print(next((s.get("framesSent", "na") for s in last["stats"]
            if s["type"] == "outbound-rtp" and s.get("kind") == "video"), "na"))' "$T/ao.jsonl")
	med=$(field "$line" g2g_median_ms)
	p95=$(field "$line" g2g_p95_ms)
	echo "aiortc run=$k cpu_s=$cpu user_s=$user sys_s=$sys wall_s=$wall" \
		"cpu_s_per_min=$(calc %.3f "$cpu * 60 / $D")" \
		"connected_cpu_s_per_min=$(calc %.3f "$(field "$line" connected_cpu_s) * 60 / $D")" \
		"frames_decoded=$(field "$line" video_frames) frames_sent=$sent" \
		"g2g_frames=$(field "$line" g2g_frames) g2g_median_ms=$med g2g_p95_ms=$p95" \
		"unreadable=$(field "$line" unreadable) audio_frames=$(field "$line" audio_frames)" \
		"load_before=${l0// /,}"
	calc %.3f "$cpu * 60 / $D" >>"$T/a_cpu"
	calc %.3f "$(field "$line" connected_cpu_s) * 60 / $D" >>"$T/a_conn"
	echo "$(field "$line" video_frames) $sent" >>"$T/a_frames"
	[ "$med" = None ] || echo "$med" >>"$T/a_g2g"
	[ "$p95" = None ] || echo "$p95" >>"$T/a_g2g95"
}

# --- the interleaved loop -----------------------------------------------------------------------
echo "# rtcpeer: $RTCPEER ($("$RTCPEER" --version 2>/dev/null | head -1)), decode_bench: $DECODE_BENCH"
[ "$AIORTC" = 1 ] && echo "# aiortc: $("$PY" -c 'import aiortc, av; print(aiortc.__version__, "(PyAV", av.__version__ + ")")')"
echo "# $ROUNDS rounds, $D s of media per call, $(nproc 2>/dev/null || echo '?') CPUs," \
	"load average $(load), $(date -u '+%Y-%m-%d %H:%M UTC')"
for k in $(seq "$ROUNDS"); do
	# The decoders need an IVF, so the first round starts with rtcpeer; later even rounds decode
	# the previous round's recording before their own call.
	if [ $((k % 2)) -eq 1 ]; then
		rtcpeer_run "$k"; decode_run "$k" paced; decode_run "$k" back_to_back
		[ "$AIORTC" = 1 ] && aiortc_run "$k"
	else
		[ "$AIORTC" = 1 ] && aiortc_run "$k"
		decode_run "$k" back_to_back; decode_run "$k" paced; rtcpeer_run "$k"
	fi
done

# --- summary ------------------------------------------------------------------------------------
stats() { # FILE -> "median min max"
	sort -g "$1" | awk '{ v[NR] = $1 } END {
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.3f %.3f %.3f\n", m, v[1], v[NR] }'
}
row() { # LABEL FILE [UNIT-FORMAT]
	local m lo hi
	[ -s "$2" ] || { printf '  %-50s %s\n' "$1" "n/a"; return; }
	read -r m lo hi < <(stats "$2")
	printf '  %-50s %.2f [%.2f..%.2f]\n' "$1" "$m" "$lo" "$hi"
}

echo
echo "CPU seconds per minute of media, $ROUNDS runs each: median [min..max]; load average now $(load)"
row "rtcpeer answer process (VP8 + Opus receive)" "$T/r_cpu"
row "  rtcpeer from session established to exit" "$T/r_est"
row "decoders alone, paced (decode_bench --paced)" "$T/paced_cpu"
row "  of which VP8 decode" "$T/paced_vp8"
row "  of which Y4M to /dev/null" "$T/paced_y4m"
row "  of which Opus decode" "$T/paced_opus"
row "decoders alone, back to back (decode_bench)" "$T/decoders_cpu"
row "  of which VP8 decode" "$T/decoders_vp8"
[ "$AIORTC" = 1 ] && row "aiortc answer process (decoding, for information)" "$T/a_cpu"
[ "$AIORTC" = 1 ] && row "  aiortc from connected to hang-up" "$T/a_conn"
read -r rm rmin _ < <(stats "$T/r_cpu")
read -r em _ _ < <(stats "$T/r_est")
read -r pm pmin _ < <(stats "$T/paced_cpu")
read -r cm _ _ < <(stats "$T/decoders_cpu")
ratio=$(calc %.3f "$rm / $pm")
over=$(calc %+.1f "($rm / $pm - 1) * 100")
met=$(awk -v o="$over" 'BEGIN { print (o <= 15) ? "within" : "NOT within" }')
echo "rtcpeer / paced decoders: $ratio (medians), $(calc %.3f "$rmin / $pmin") (fastest runs):" \
	"outside the decoders $over %; target +15 %: $met"
echo "  counting rtcpeer from session established: $(calc %+.1f "($em / $pm - 1) * 100") %;" \
	"against the back-to-back decoders: $(calc %.3f "$rm / $cm") (for information)"
echo
echo "glass to glass, ms (capture drawn by the sender to the decoded picture), median of runs:"
row "rtcpeer median" "$T/r_g2g"
row "rtcpeer p95" "$T/r_g2g95"
row "  of which in rtcpeer's jitter buffer (mean)" "$T/r_jb"
if [ "$AIORTC" = 1 ]; then
	row "aiortc median (recv() returned the picture)" "$T/a_g2g"
	row "aiortc p95" "$T/a_g2g95"
fi
awk '{ printf "rtcpeer frames decoded / sent: %s / %s\n", $1, $2 }' "$T/r_frames"
[ "$AIORTC" = 1 ] && awk '{ printf "aiortc frames decoded / sent: %s / %s\n", $1, $2 }' "$T/a_frames"
echo
g2g=na g2g95=na ag2g=na
[ -s "$T/r_g2g" ] && read -r g2g _ _ < <(stats "$T/r_g2g")
[ -s "$T/r_g2g95" ] && read -r g2g95 _ _ < <(stats "$T/r_g2g95")
[ -s "$T/a_g2g" ] && read -r ag2g _ _ < <(stats "$T/a_g2g")
echo "result cpu_s_per_min rtcpeer=$rm decoders_paced=$pm decoders_back_to_back=$cm"
echo "result overhead rtcpeer_over_paced_decoders=$ratio percent=$over target_percent=15"
echo "result glass_to_glass_ms rtcpeer_median=$g2g rtcpeer_p95=$g2g95 aiortc_median=$ag2g"
exit 0
