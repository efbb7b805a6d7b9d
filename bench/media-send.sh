#!/usr/bin/env bash
# CPU cost of sending 640x480@30 VP8 at 1 Mbit/s + Opus, against the codecs alone and aiortc,
# all measured in the same run.
#
#   bench/media-send.sh RTCPEER [ROUNDS]
#
# ROUNDS (default 2) rounds; each round runs, in an order that alternates between rounds:
#   - rtcpeer: `rtcpeer offer --video test --audio test --video-bitrate 1000 --duration D`
#     sending to bench/aiortc_send.py recv (an aiortc answerer that receives and discards,
#     without decoding). Measured: the offer process's user+system CPU seconds (bash `time`,
#     i.e. getrusage of the waited-for child, all threads, start-up and hang-up included), and
#     from the final --stats object the frames encoded, packets and bytes sent.
#   - codecs alone, paced (the reference for the target): `encode_bench --paced D` (libvpx VP8
#     and libopus called directly on the same pictures and tone, same settings, each frame
#     encoded at its real-time instant, video and audio interleaved in time order like a live
#     sender, D s of wall time; its process CPU over the loop, drawing and tone included).
#   - codecs alone, back to back (for information): encode_bench (the same encodes, 60 s of
#     media as fast as possible, best of 2 inside; the VP8 figure includes drawing the test
#     pattern, as rtcpeer's does).
#   - aiortc: bench/aiortc_send.py send (aiortc's own VP8/Opus sender, the same kind of
#     640x480@30 pattern and a 48 kHz tone, VP8 target pinned at 1000 kbit/s) to the same
#     discarding receiver in a second process; its CPU is measured like rtcpeer's.
# Both senders' CPU is normalised to seconds per minute of media (x 60 / D).
#
# Environment: BENCH_SECONDS=D media seconds per send (default 60), ENCODE_BENCH (default
# DIR/bench/encode_bench next to RTCPEER), AIORTC_PYTHON (default /usr/bin/python3).
#
# Output: one line per run, the load average before each, a table of medians [min..max], the
# overhead of rtcpeer over the paced codecs (target: at most 15 %) and, for information, over the
# back-to-back codecs, and "result ..." lines.
# Exit status 0; 1 if a run failed (the reason is printed); 2 on bad usage; 77 (skip) when
# aiortc, the only receiving peer, is not available.
set -u

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $0 RTCPEER [ROUNDS]" >&2
	exit 2
fi
RTCPEER=$1
ROUNDS=${2:-2}
D=${BENCH_SECONDS:-60}
case $ROUNDS in '' | *[!0-9]* | 0) echo "$0: ROUNDS must be a positive integer" >&2; exit 2 ;; esac
case $D in '' | *[!0-9]* | 0) echo "$0: BENCH_SECONDS must be a positive integer" >&2; exit 2 ;; esac
[ -x "$RTCPEER" ] || { echo "$0: $RTCPEER is not executable" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
ENCODE_BENCH=${ENCODE_BENCH:-$(dirname "$RTCPEER")/bench/encode_bench}
[ -x "$ENCODE_BENCH" ] || { echo "$0: $ENCODE_BENCH is not executable (set ENCODE_BENCH)" >&2; exit 2; }
PY=${AIORTC_PYTHON:-/usr/bin/python3}
LIMIT=$((D + 90)) # seconds before a hung run is killed

if ! [ -x "$PY" ] || ! why=$("$PY" -c 'import aiortc, numpy' 2>&1); then
	echo "SKIP: aiortc: ${why:-$PY not found} (it is the receiving peer)" | tail -1
	exit 77
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

# Starts the discarding aiortc receiver on FIFOs $T/o2a (offer in) and $T/a2o (answer out).
start_receiver() {
	rm -f "$T/o2a" "$T/a2o" "$T/recv.err"
	mkfifo "$T/o2a" "$T/a2o" || die "mkfifo failed"
	"$PY" "$HERE/aiortc_send.py" recv --timeout "$LIMIT" <"$T/o2a" >"$T/a2o" 2>"$T/recv.err" &
	RECV_PID=$!
}
stop_receiver() { # the receiver ends on the sender's close_notify; give it 10 s
	local n=0
	while [ $n -lt 100 ] && kill -0 "$RECV_PID" 2>/dev/null; do
		sleep 0.1
		n=$((n + 1))
	done
	kill "$RECV_PID" 2>/dev/null
	wait "$RECV_PID" 2>/dev/null
	RECV_LINE=$(grep '^aiortc-recv: video_frames' "$T/recv.err" | tail -1)
}

# --- one rtcpeer send ---------------------------------------------------------------------------
rtcpeer_run() { # K
	local k=$1 rc l0 wall user sys
	l0=$(load)
	start_receiver
	rm -f "$T/stats.jsonl"
	{
		time timeout "$LIMIT" "$RTCPEER" offer --video test --audio test --video-bitrate 1000 \
			--duration "$D" -t 30 --stats "$T/stats.jsonl" \
			--signal-out "$T/o2a" --signal-in "$T/a2o" >/dev/null 2>"$T/offer.err"
		echo $? >"$T/offer.rc"
	} 2>"$T/offer.time" &
	local gpid=$! tpid="" opid="" est=""
	# The CPU time rtcpeer has used when it logs "session established" (start-up and set-up).
	while kill -0 "$gpid" 2>/dev/null; do
		[ -n "$tpid" ] || tpid=$(ps -o pid= --ppid "$gpid" 2>/dev/null | head -1 | tr -d ' ')
		[ -z "$tpid" ] || [ -n "$opid" ] || opid=$(ps -o pid= --ppid "$tpid" 2>/dev/null | head -1 | tr -d ' ')
		if [ -n "$opid" ] && grep -q "session established" "$T/offer.err" 2>/dev/null; then
			est=$(awk -v hz="$HZ" '{ printf "%.3f", ($14 + $15) / hz }' "/proc/$opid/stat" 2>/dev/null)
			break
		fi
		sleep 0.02
	done
	wait "$gpid"
	stop_receiver
	rc=$(cat "$T/offer.rc")
	[ "$rc" = 0 ] || { show "$T/offer.err" "$T/recv.err"; die "rtcpeer run $k: exit $rc (124: timed out)"; }
	[ -n "$RECV_LINE" ] || { show "$T/offer.err" "$T/recv.err"; die "rtcpeer run $k: no receiver report"; }
	read -r wall user sys <"$T/offer.time"
	local s
	s=$("$PY" - "$T/stats.jsonl" <<-'EOF'
		import json, sys
		final = [json.loads(l) for l in open(sys.argv[1]) if '"final"' in l][-1]
		o = {s["kind"]: s for s in final["stats"] if s["type"] == "outbound-rtp"}
		v, a = o.get("video", {}), o.get("audio", {})
		print(v.get("framesEncoded", 0), v.get("packetsSent", 0), v.get("bytesSent", 0),
		      v.get("retransmittedPacketsSent", 0), v.get("nackCount", 0), v.get("pliCount", 0),
		      a.get("packetsSent", 0), a.get("bytesSent", 0))
	EOF
	) || { show "$T/offer.err"; die "rtcpeer run $k: no final --stats object"; }
	local fr vp vb vrtx nack pli ap ab cpu
	read -r fr vp vb vrtx nack pli ap ab <<<"$s"
	cpu=$(calc %.3f "$user + $sys")
	[ -n "$est" ] || est=0
	echo "rtcpeer run=$k cpu_s=$cpu user_s=$user sys_s=$sys wall_s=$wall" \
		"cpu_s_per_min=$(calc %.3f "$cpu * 60 / $D") cpu_at_established_s=$est" \
		"established_cpu_s_per_min=$(calc %.3f "($cpu - $est) * 60 / $D") frames_encoded=$fr" \
		"video_packets=$vp video_kbps=$(calc %.0f "$vb * 8 / $D / 1000") rtx=$vrtx nack=$nack pli=$pli" \
		"audio_packets=$ap audio_kbps=$(calc %.1f "$ab * 8 / $D / 1000")" \
		"recv_video_frames=$(field "$RECV_LINE" video_frames) recv_video_lost=$(field "$RECV_LINE" video_lost)" \
		"load_before=${l0// /,}"
	calc %.3f "$cpu * 60 / $D" >>"$T/r_cpu"
	calc %.3f "($cpu - $est) * 60 / $D" >>"$T/r_est"
	echo "$fr" >>"$T/r_frames"
	calc %.0f "$vb * 8 / $D / 1000" >>"$T/r_kbps"
}

# --- codecs alone ---------------------------------------------------------------------------------
codecs_run() { # K
	local k=$1 l0 out vd vw od ow draw
	l0=$(load)
	out=$("$ENCODE_BENCH" 2>/dev/null) || die "codecs run $k: $ENCODE_BENCH failed"
	draw=$(printf '%s\n' "$out" | awk '/test pattern drawing alone/ { print $5 }')
	vd=$(printf '%s\n' "$out" | awk '/VP8 640x480@30 1 Mbit\/s direct/ { print $6 }')
	vw=$(printf '%s\n' "$out" | awk '/VP8 via videosrc/ { print $6 }')
	od=$(printf '%s\n' "$out" | awk '/Opus 48 kHz mono direct/ { print $6 }')
	ow=$(printf '%s\n' "$out" | awk '/Opus via audiosrc/ { print $6 }')
	if [ -z "$vd" ] || [ -z "$od" ] || [ -z "$vw" ] || [ -z "$ow" ]; then
		die "codecs run $k: unexpected encode_bench output: $out"
	fi
	echo "codecs run=$k vp8_direct_s=$vd opus_direct_s=$od codecs_s_per_min=$(calc %.3f "$vd + $od")" \
		"vp8_wrapped_s=$vw opus_wrapped_s=$ow draw_s=$draw load_before=${l0// /,}"
	calc %.3f "$vd + $od" >>"$T/c_cpu"
	calc %.3f "$vw + $ow" >>"$T/c_wrapped"
	echo "$vd" >>"$T/c_vp8"
	echo "$od" >>"$T/c_opus"
}

# --- codecs alone, paced like a live sender ----------------------------------------------------
paced_run() { # K
	local k=$1 l0 out v o tot late
	l0=$(load)
	out=$("$ENCODE_BENCH" --paced "$D" 2>/dev/null) || die "paced codecs run $k: $ENCODE_BENCH --paced failed"
	v=$(printf '%s\n' "$out" | awk '/VP8 640x480@30 1 Mbit\/s paced/ { print $6 }')
	o=$(printf '%s\n' "$out" | awk '/Opus 48 kHz mono paced/ { print $6 }')
	tot=$(printf '%s\n' "$out" | awk '/paced process total/ { print $4 }')
	late=$(printf '%s\n' "$out" | awk '/paced CPU per minute/ { print $15 }')
	if [ -z "$v" ] || [ -z "$o" ] || [ -z "$tot" ]; then
		die "paced codecs run $k: unexpected encode_bench --paced output: $out"
	fi
	echo "paced run=$k cpu_s=$tot cpu_s_per_min=$(calc %.3f "$tot * 60 / $D")" \
		"vp8_s_per_min=$(calc %.3f "$v * 60 / $D") opus_s_per_min=$(calc %.3f "$o * 60 / $D")" \
		"late_frames=$late load_before=${l0// /,}"
	calc %.3f "$tot * 60 / $D" >>"$T/p_cpu"
	calc %.3f "$v * 60 / $D" >>"$T/p_vp8"
	calc %.3f "$o * 60 / $D" >>"$T/p_opus"
}

# --- one aiortc send ------------------------------------------------------------------------------
aiortc_run() { # K
	local k=$1 rc l0 wall user sys line cpu
	l0=$(load)
	start_receiver
	{
		# stdout (o2a) first: the receiver opens o2a before a2o, so the same order here
		time timeout "$LIMIT" "$PY" "$HERE/aiortc_send.py" send --duration "$D" --bitrate 1000 \
			>"$T/o2a" <"$T/a2o" 2>"$T/send.err"
		echo $? >"$T/send.rc"
	} 2>"$T/send.time"
	stop_receiver
	rc=$(cat "$T/send.rc")
	line=$(grep '^aiortc-send: seconds' "$T/send.err" | tail -1)
	if [ "$rc" != 0 ] || [ -z "$line" ] || [ -z "$RECV_LINE" ]; then
		show "$T/send.err" "$T/recv.err"
		die "aiortc run $k: exit $rc (124: timed out)"
	fi
	read -r wall user sys <"$T/send.time"
	cpu=$(calc %.3f "$user + $sys")
	local m v o
	m=$(field "$line" media_cpu_s); v=$(field "$line" vp8_cpu_s); o=$(field "$line" opus_cpu_s)
	echo "aiortc run=$k cpu_s=$cpu user_s=$user sys_s=$sys wall_s=$wall" \
		"cpu_s_per_min=$(calc %.3f "$cpu * 60 / $D")" \
		"connected_cpu_s_per_min=$(calc %.3f "$m * 60 / $D")" \
		"vp8_s_per_min=$(calc %.3f "$v * 60 / $D") opus_s_per_min=$(calc %.3f "$o * 60 / $D")" \
		"frames_encoded=$(field "$line" video_frames_encoded)" \
		"video_packets=$(field "$line" video_packets)" \
		"video_kbps=$(calc %.0f "$(field "$line" video_bytes) * 8 / $D / 1000")" \
		"audio_kbps=$(calc %.1f "$(field "$line" audio_bytes) * 8 / $D / 1000")" \
		"vp8_target_kbps=$(field "$line" vp8_target_kbps) remb_count=$(field "$line" remb_count)" \
		"remb_last_kbps=$(field "$line" remb_last_kbps)" \
		"recv_video_frames=$(field "$RECV_LINE" video_frames) recv_video_lost=$(field "$RECV_LINE" video_lost)" \
		"load_before=${l0// /,}"
	calc %.3f "$cpu * 60 / $D" >>"$T/a_cpu"
	calc %.3f "$m * 60 / $D" >>"$T/a_conn"
	calc %.3f "($v + $o) * 60 / $D" >>"$T/a_codecs"
	field "$line" video_frames_encoded >>"$T/a_frames"
	calc %.0f "$(field "$line" video_bytes) * 8 / $D / 1000" >>"$T/a_kbps"
}

# --- the interleaved loop -----------------------------------------------------------------------
echo "# rtcpeer: $RTCPEER ($("$RTCPEER" --version 2>/dev/null | head -1)), encode_bench: $ENCODE_BENCH"
echo "# aiortc: $("$PY" -c 'import aiortc, av; print(aiortc.__version__, "(PyAV", av.__version__ + ")")')"
echo "# $ROUNDS rounds, $D s of media per send, $(nproc 2>/dev/null || echo '?') CPUs," \
	"load average $(load), $(date -u '+%Y-%m-%d %H:%M UTC')"
for k in $(seq "$ROUNDS"); do
	if [ $((k % 2)) -eq 1 ]; then
		rtcpeer_run "$k"; paced_run "$k"; codecs_run "$k"; aiortc_run "$k"
	else
		aiortc_run "$k"; codecs_run "$k"; paced_run "$k"; rtcpeer_run "$k"
	fi
done

# --- summary ------------------------------------------------------------------------------------
stats() { # FILE -> "median min max"
	sort -g "$1" | awk '{ v[NR] = $1 } END {
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.3f %.3f %.3f\n", m, v[1], v[NR] }'
}
cell() { printf '%.2f [%.2f..%.2f]' "$1" "$2" "$3"; }
row() { # LABEL FILE
	local m lo hi
	read -r m lo hi < <(stats "$2")
	printf '  %-46s %s\n' "$1" "$(cell "$m" "$lo" "$hi")"
}

echo
echo "CPU seconds per minute of media, $ROUNDS runs each: median [min..max]; load average now $(load)"
row "rtcpeer offer process (VP8 + Opus send)" "$T/r_cpu"
row "  rtcpeer from session established to exit" "$T/r_est"
row "codecs alone, paced (encode_bench --paced)" "$T/p_cpu"
row "  of which VP8 (incl. test pattern drawing)" "$T/p_vp8"
row "  of which Opus (incl. the tone)" "$T/p_opus"
row "codecs alone, back to back (encode_bench)" "$T/c_cpu"
row "  of which VP8 (incl. test pattern drawing)" "$T/c_vp8"
row "  of which Opus" "$T/c_opus"
row "encode_bench through rtcpeer's wrappers" "$T/c_wrapped"
row "aiortc sender process" "$T/a_cpu"
row "  aiortc from connected to hang-up" "$T/a_conn"
row "  aiortc inside its VP8 + Opus encode calls" "$T/a_codecs"
read -r rm rmin _ < <(stats "$T/r_cpu")
read -r pm pmin _ < <(stats "$T/p_cpu")
read -r cm cmin _ < <(stats "$T/c_cpu")
read -r em emin _ < <(stats "$T/r_est")
read -r am _ _ < <(stats "$T/a_cpu")
read -r fm _ _ < <(stats "$T/r_frames")
read -r afm _ _ < <(stats "$T/a_frames")
read -r km _ _ < <(stats "$T/r_kbps")
read -r akm _ _ < <(stats "$T/a_kbps")
ratio=$(calc %.3f "$rm / $pm")
ratio_min=$(calc %.3f "$rmin / $pmin")
over=$(calc %+.1f "($rm / $pm - 1) * 100")
over_min=$(calc %+.1f "($rmin / $pmin - 1) * 100")
over_est=$(calc %+.1f "($em / $pm - 1) * 100")
over_est_min=$(calc %+.1f "($emin / $pmin - 1) * 100")
over_b2b=$(calc %+.1f "($rm / $cm - 1) * 100")
over_b2b_min=$(calc %+.1f "($rmin / $cmin - 1) * 100")
met=$(awk -v o="$over" 'BEGIN { print (o <= 15) ? "met" : "NOT met" }')
echo "rtcpeer / paced codecs: $ratio (medians), $ratio_min (fastest runs):" \
	"outside the codecs $over % ($over_min %); target at most +15 %: $met"
echo "  counting rtcpeer from session established: $over_est % (medians), $over_est_min % (fastest runs)"
echo "  for information, against the back-to-back codecs: $(calc %.3f "$rm / $cm") (medians)," \
	"$over_b2b % ($over_b2b_min % fastest runs); paced / back to back: $(calc %.3f "$pm / $cm")"
echo "rtcpeer / aiortc: $(calc %.3f "$rm / $am") (medians)"
printf 'video frames encoded per send: rtcpeer %.0f, aiortc %.0f, expected %d; video kbit/s: rtcpeer %.0f, aiortc %.0f\n' \
	"$fm" "$afm" $((D * 30)) "$km" "$akm"
echo
echo "result cpu_s_per_min rtcpeer=$rm codecs_paced=$pm codecs_back_to_back=$cm aiortc=$am"
echo "result overhead rtcpeer_over_paced_codecs=$ratio percent=$over target_percent=15 target=${met// /_}"
echo "result overhead_back_to_back rtcpeer_over_codecs=$(calc %.3f "$rm / $cm") percent=$over_b2b"
echo "result overhead_established percent=$over_est"
echo "result rtcpeer_over_aiortc ratio=$(calc %.3f "$rm / $am")"
exit 0
