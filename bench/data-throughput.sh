#!/usr/bin/env bash
# Data-channel throughput and setup time of rtcpeer beside aiortc and Chromium, measured in
# the same run on this machine.
#
#   bench/data-throughput.sh RTCPEER [RTCPEER_MB [AIORTC_MB [CHROMIUM_MB [N]]]]
#
# Defaults: 200 MB through rtcpeer, 50 MB through aiortc, 100 MB through Chromium (10^6
# bytes each), N = 20 setup runs per stack.
#
# Throughput, one direction, 64 KiB binary messages, reliable ordered channel:
#   rtcpeer   two processes, `rtcpeer offer --data` reading the bytes from a pipe
#             (head -c /dev/zero) and `rtcpeer answer --data` writing them to /dev/null,
#             signaling through two FIFOs (--signal-in/--signal-out). Each process runs
#             under /usr/bin/time: wall clock from both started to both exited (set-up and
#             hang-up included, about 0.1 s), user + system CPU of both processes, and each
#             one's peak RSS (ru_maxrss, the kernel's VmHWM at exit). The byte count is
#             checked in the receiver's "sent N bytes, received M bytes" line.
#   aiortc    bench/data_aiortc.py: both peers in one Python process; from channel open to
#             the last byte received; CPU of that process (both peers) from getrusage; its
#             peak RSS.
#   Chromium  bench/data_chromium.js: two RTCPeerConnections in one headless page; from the
#             first send to the last byte received; CPU of every Chromium process over the
#             transfer (/proc/PID/stat); peak of the sum of their VmRSS (polled every 100 ms)
#             and the peak of the largest one (the renderer that holds both peers).
# Reported: MB/s, CPU seconds per GB (both ends together for every stack), peak RSS, and the
# ratios rtcpeer/Chromium and rtcpeer/aiortc.
#
# Setup time, median over N runs: from the instant both descriptions are applied to the
# offerer's own data channel being open.
#   rtcpeer   `rtcpeer offer --data -v` with empty input: its line "data channel open in N
#             ms", timed by rtcpeer's monotonic clock from applying the answer (the clock of
#             its "DTLS connected in X ms" line, also reported) to opening its channel, the
#             moment its DATA_CHANNEL_OPEN goes out, as Chromium's channel opens.
#   aiortc / Chromium: from the call of the offerer's setRemoteDescription(answer) (the
#             answerer's descriptions are already applied) to its channel's "open" event, in
#             the same process / page. (Chromium can open the channel before that call's
#             promise resolves, so the clock starts at the call, as rtcpeer's starts when it
#             begins applying the answer.)
#
# Output: one block per stack, a table and "result ..." lines. A stack that cannot run prints
# "SKIP: <stack>: <reason>" and is left out of the ratios. Exit 0; 1 if an rtcpeer run
# failed; 2 on bad usage.
set -u

if [ $# -lt 1 ] || [ $# -gt 5 ]; then
	echo "usage: $0 RTCPEER [RTCPEER_MB [AIORTC_MB [CHROMIUM_MB [N]]]]" >&2
	exit 2
fi
RTCPEER=$1
R_MB=${2:-200}
A_MB=${3:-50}
C_MB=${4:-100}
N=${5:-20}
[ -x "$RTCPEER" ] || { echo "$0: $RTCPEER is not executable" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
PY=${AIORTC_PYTHON:-/usr/bin/python3}
NODE=${NODE:-node}
[ -x /usr/bin/time ] || { echo "$0: needs /usr/bin/time (package time)" >&2; exit 2; }

T=$(mktemp -d)
# shellcheck disable=SC2317 # called through the EXIT trap
cleanup() {
	local p
	for p in $(jobs -p); do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

die() {
	echo "FAIL: $*"
	exit 1
}
field() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }

# ---- rtcpeer throughput --------------------------------------------------------------------
rtcpeer_throughput() {
	local bytes d=$T/tp
	bytes=$(calc "%d" "$R_MB * 1000000")
	mkdir -p "$d"
	mkfifo "$d/o2a" "$d/a2o"
	local t0 t1
	t0=${EPOCHREALTIME/,/.}
	head -c "$bytes" /dev/zero |
		/usr/bin/time -o "$d/offer.time" -f '%e %U %S %M' \
			timeout 600 "$RTCPEER" offer --data -v --signal-out "$d/o2a" --signal-in "$d/a2o" \
			>/dev/null 2>"$d/offer.err" &
	/usr/bin/time -o "$d/answer.time" -f '%e %U %S %M' \
		timeout 600 "$RTCPEER" answer --data -v --signal-in "$d/o2a" --signal-out "$d/a2o" \
		</dev/null >/dev/null 2>"$d/answer.err"
	local arc=$?
	wait $!
	local orc=$?
	t1=${EPOCHREALTIME/,/.}
	[ $arc = 0 ] && [ $orc = 0 ] ||
		die "rtcpeer throughput: offer exit $orc, answer exit $arc: $(tail -n 3 "$d/offer.err" "$d/answer.err")"
	grep -q "sent 0 bytes, received $bytes bytes" "$d/answer.err" ||
		die "rtcpeer throughput: the receiver did not get $bytes bytes: $(grep -o 'sent.*bytes' "$d/answer.err")"
	# /usr/bin/time around timeout: timeout's own children are included (RUSAGE_CHILDREN)
	local ou os om au as am wall cpu
	read -r _ ou os om <"$d/offer.time"
	read -r _ au as am <"$d/answer.time"
	wall=$(calc "%.3f" "$t1 - $t0")
	cpu=$(calc "%.2f" "$ou + $os + $au + $as")
	r_bytes=$bytes r_secs=$wall r_cpu=$cpu r_rss_off=$om r_rss_ans=$am
	echo "rtcpeer throughput bytes=$bytes seconds=$wall cpu_s=$cpu (sender user $ou sys $os, receiver user $au sys $as) maxrss_kb sender=$om receiver=$am"
}

# ---- rtcpeer setup time --------------------------------------------------------------------
rtcpeer_setup_once() { # K
	local d=$T/setup$1
	mkdir -p "$d"
	mkfifo "$d/o2a" "$d/a2o"
	timeout 30 "$RTCPEER" offer --data -v --signal-out "$d/o2a" --signal-in "$d/a2o" \
		</dev/null >/dev/null 2>"$d/offer.err" &
	local op=$!
	timeout 30 "$RTCPEER" answer --data --signal-in "$d/o2a" --signal-out "$d/a2o" \
		</dev/null >/dev/null 2>"$d/answer.err"
	local arc=$?
	wait $op
	local orc=$?
	[ $arc = 0 ] && [ $orc = 0 ] || { echo "rtcpeer setup run $1: offer exit $orc, answer exit $arc" >&2; return 1; }
	awk '
		/DTLS connected in/ { for (i = 1; i <= NF; i++) if ($i == "in") { x = $(i + 1); break } }
		/data channel open in/ { for (i = 1; i <= NF; i++) if ($i == "in") { o = $(i + 1); break } }
		END { if (x == "" || o == "") exit 1; printf "%.1f %.1f\n", o, x }' "$d/offer.err"
}

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.1f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo "== throughput (one direction, 64 KiB messages, reliable ordered)"
rtcpeer_throughput

have_a=1
if ! "$PY" -c 'import aiortc' >/dev/null 2>&1; then
	echo "SKIP: aiortc: $PY cannot import aiortc (package python3-aiortc)"
	have_a=0
fi
have_c=1
if ! command -v "$NODE" >/dev/null 2>&1; then
	echo "SKIP: chromium: $NODE not found"
	have_c=0
fi

if [ $have_a = 1 ]; then
	line=$(timeout 900 "$PY" "$HERE/data_aiortc.py" throughput "$A_MB" 2>"$T/aiortc.err" | tail -n 1)
	echo "$line"
	case $line in "aiortc throughput"*) ;; *) echo "SKIP: aiortc: ${line:-no result} $(tail -n 2 "$T/aiortc.err")"; have_a=0 ;; esac
	a_tp=$line
fi
if [ $have_c = 1 ]; then
	line=$(timeout 900 "$NODE" "$HERE/data_chromium.js" throughput "$C_MB" 2>"$T/chromium.err" | tail -n 1)
	echo "$line"
	case $line in "chromium throughput"*) ;; *) echo "SKIP: chromium: ${line:-no result} $(tail -n 2 "$T/chromium.err")"; have_c=0 ;; esac
	c_tp=$line
fi

echo "== setup time: both descriptions applied -> the offerer's channel open, $N runs"
: >"$T/r_open"
: >"$T/r_dtls"
for ((k = 1; k <= N; k++)); do
	v=$(rtcpeer_setup_once "$k") || die "rtcpeer setup run $k failed"
	read -r o x <<<"$v"
	echo "rtcpeer setup run=$k open_ms=$o dtls_ms=$x"
	echo "$o" >>"$T/r_open"
	echo "$x" >>"$T/r_dtls"
done
r_open=$(median <"$T/r_open")
r_dtls=$(median <"$T/r_dtls")
r_open_rng="$(sort -g "$T/r_open" | head -n 1)..$(sort -g "$T/r_open" | tail -n 1)"
if [ $have_a = 1 ]; then
	timeout 300 "$PY" "$HERE/data_aiortc.py" setup "$N" >"$T/aiortc.setup" 2>>"$T/aiortc.err"
	cat "$T/aiortc.setup"
	a_setup=$(tail -n 1 "$T/aiortc.setup")
fi
if [ $have_c = 1 ]; then
	timeout 300 "$NODE" "$HERE/data_chromium.js" setup "$N" >"$T/chromium.setup" 2>>"$T/chromium.err"
	cat "$T/chromium.setup"
	c_setup=$(tail -n 1 "$T/chromium.setup")
fi

# ---- table ---------------------------------------------------------------------------------
mbps() { calc "%.1f" "$1 / 1000000 / $2"; }
cpugb() { calc "%.2f" "$2 / ($1 / 1000000000)"; }
r_mbps=$(mbps "$r_bytes" "$r_secs")
r_cpugb=$(cpugb "$r_bytes" "$r_cpu")
r_rss=$((r_rss_off + r_rss_ans))
echo
echo "== results"
printf '%-10s %10s %10s %12s %24s %16s\n' stack MB 'MB/s' 'CPU s/GB' 'peak RSS MB' 'setup open ms'
printf '%-10s %10s %10s %12s %24s %16s\n' rtcpeer "$R_MB" "$r_mbps" "$r_cpugb" \
	"$(calc "%.1f+%.1f" "$r_rss_off / 1024, $r_rss_ans / 1024")" "$r_open [$r_open_rng]"
echo "result rtcpeer mbps=$r_mbps cpu_s_per_gb=$r_cpugb rss_kb_sender=$r_rss_off rss_kb_receiver=$r_rss_ans setup_open_ms=$r_open setup_dtls_ms=$r_dtls"
if [ $have_a = 1 ]; then
	a_mbps=$(mbps "$(field "$a_tp" bytes)" "$(field "$a_tp" seconds)")
	a_cpugb=$(cpugb "$(field "$a_tp" bytes)" "$(field "$a_tp" cpu_s)")
	a_rss=$(field "$a_tp" maxrss_kb)
	a_open=$(field "${a_setup:-}" open_ms)
	printf '%-10s %10s %10s %12s %24s %16s\n' aiortc "$A_MB" "$a_mbps" "$a_cpugb" \
		"$(calc "%.1f (1 process)" "$a_rss / 1024")" "${a_open:-?} [$(field "${a_setup:-}" min)..$(field "${a_setup:-}" max)]"
	echo "result aiortc mbps=$a_mbps cpu_s_per_gb=$a_cpugb rss_kb=$a_rss setup_open_ms=${a_open:-?}"
fi
if [ $have_c = 1 ]; then
	c_mbps=$(mbps "$(field "$c_tp" bytes)" "$(field "$c_tp" seconds)")
	c_cpugb=$(cpugb "$(field "$c_tp" bytes)" "$(field "$c_tp" cpu_s)")
	c_rss=$(field "$c_tp" rss_peak_kb)
	c_rss1=$(field "$c_tp" renderer_rss_peak_kb)
	c_open=$(field "${c_setup:-}" open_ms)
	printf '%-10s %10s %10s %12s %24s %16s\n' chromium "$C_MB" "$c_mbps" "$c_cpugb" \
		"$(calc "%.0f (max 1 proc %.0f)" "$c_rss / 1024, $c_rss1 / 1024")" "${c_open:-?} [$(field "${c_setup:-}" min)..$(field "${c_setup:-}" max)]"
	echo "result chromium mbps=$c_mbps cpu_s_per_gb=$c_cpugb rss_kb_sum=$c_rss rss_kb_largest=$c_rss1 setup_open_ms=${c_open:-?}"
fi
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "?"; else printf "%.2f", a / b }'; }
if [ $have_c = 1 ]; then
	echo "rtcpeer/chromium: MB/s $(ratio "$r_mbps" "$c_mbps"), CPU s/GB $(ratio "$r_cpugb" "$c_cpugb"), peak RSS (rtcpeer both processes / chromium all processes) $(ratio "$r_rss" "$c_rss"), setup $(ratio "$r_open" "${c_open:-0}")"
fi
if [ $have_a = 1 ]; then
	echo "rtcpeer/aiortc: MB/s $(ratio "$r_mbps" "$a_mbps"), CPU s/GB $(ratio "$r_cpugb" "$a_cpugb"), peak RSS (rtcpeer both processes / aiortc process) $(ratio "$r_rss" "$a_rss"), setup $(ratio "$r_open" "${a_open:-0}")"
fi
exit 0
