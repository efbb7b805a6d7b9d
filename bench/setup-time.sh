#!/usr/bin/env bash
# Connection setup time of rtcpeer against aiortc measured in the same run.
#
#   bench/setup-time.sh RTCPEER [N]
#
# N (default 20) rounds; each round makes one rtcpeer<->rtcpeer call on this machine (signaling
# through two FIFOs, --duration 0.2 on the offerer) and one aiortc<->aiortc connection
# (bench/aiortc_setup.py, kept running as a co-process and warmed up once). The order inside a
# round alternates, so machine noise and ordering effects hit both the same way.
#
# Per rtcpeer call it reads "ICE connected in X ms" and "DTLS connected in Y ms" from both
# peers' stderr. Each peer's clock starts when that peer applied the other's description (the
# answerer's therefore starts earlier, before the answer has even reached the offerer), so the
# table shows the later of the two peers and the offerer alone. aiortc figures are measured
# the same way (see aiortc_setup.py). Also reported: the wall-clock time of a whole rtcpeer call,
# both processes started to both exited (this includes the 0.2 s --duration hold).
#
# Output: one line per run, then a table of medians with min..max, the ratio rtcpeer/aiortc of
# the medians, and machine-readable "result ..." lines. Exit status 0; 1 if a run failed (the
# reason is printed); 2 on bad usage. Without aiortc it prints "SKIP: aiortc: ..." and reports
# rtcpeer alone.
set -u

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $0 RTCPEER [N]" >&2
	exit 2
fi
RTCPEER=$1
N=${2:-20}
case $N in '' | *[!0-9]* | 0) echo "$0: N must be a positive integer" >&2; exit 2 ;; esac
[ -x "$RTCPEER" ] || { echo "$0: $RTCPEER is not executable" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
PY=${AIORTC_PYTHON:-/usr/bin/python3}
DURATION=0.2

T=$(mktemp -d)
AIO_PID=
# shellcheck disable=SC2317 # called through the EXIT trap
cleanup() {
	if [ -n "$AIO_PID" ]; then
		kill "$AIO_PID" 2>/dev/null
		wait "$AIO_PID" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT

die() {
	echo "FAIL: $*"
	exit 1
}

now_ms() { # wall clock in ms with µs resolution, from bash's EPOCHREALTIME
	local t=${EPOCHREALTIME/,/.}
	echo "${t%.*}${t#*.}" | awk '{ printf "%.1f", $1 / 1000 }'
}

# Pull "KEY=VALUE" out of an aiortc result line.
field() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

max() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 > b + 0) ? a : b }'; }

# --- aiortc co-process --------------------------------------------------------------------------
have_aiortc=1
if ! [ -x "$PY" ]; then
	echo "SKIP: aiortc: $PY not found; reporting rtcpeer alone"
	have_aiortc=0
elif ! why=$("$PY" -c 'import aiortc' 2>&1); then
	echo "SKIP: aiortc: $(printf '%s' "$why" | tail -1); reporting rtcpeer alone"
	have_aiortc=0
fi
if [ $have_aiortc -eq 1 ]; then
	coproc AIO { exec "$PY" "$HERE/aiortc_setup.py" --serve 2>"$T/aiortc.err"; }
	if ! read -t 60 -r line <&"${AIO[0]}" || [ "$line" != "aiortc ready" ]; then
		die "aiortc warm-up: ${line:-no answer within 60 s} $(tail -3 "$T/aiortc.err" 2>/dev/null)"
	fi
fi

aiortc_run() { # K: one aiortc connection, appends to the aiortc columns
	local k=$1 line
	echo go >&"${AIO[1]}"
	if ! read -t 60 -r line <&"${AIO[0]}"; then
		die "aiortc run $k: no result within 60 s: $(tail -3 "$T/aiortc.err")"
	fi
	case $line in
	"aiortc run=$k "*) ;;
	*) die "aiortc run $k: $line $(tail -3 "$T/aiortc.err")" ;;
	esac
	echo "$line"
	local oi od ai ad
	oi=$(field "$line" off_ice_ms); od=$(field "$line" off_dtls_ms)
	ai=$(field "$line" ans_ice_ms); ad=$(field "$line" ans_dtls_ms)
	max "$oi" "$ai" >>"$T/a_ice"
	max "$od" "$ad" >>"$T/a_dtls"
	echo "$oi" >>"$T/a_off_ice"
	echo "$od" >>"$T/a_off_dtls"
	field "$line" ice_ms >>"$T/a_t0_ice"
	field "$line" dtls_ms >>"$T/a_t0_dtls"
}

# --- one rtcpeer call ---------------------------------------------------------------------------
grab() { # FILE WHAT: the number in "WHAT connected in X ms"
	grep -o "$2 connected in [0-9.]* ms" "$1" | head -1 | awk '{ print $4 }'
}

rtcpeer_run() { # K
	local k=$1 opid apid orc arc oend aend t0 t1
	rm -f "$T/o2a" "$T/a2o" "$T/offer.end" "$T/answer.end"
	mkfifo "$T/o2a" "$T/a2o" || die "mkfifo failed"
	t0=$(now_ms)
	# Each side records its exit status and the instant it exited.
	{
		timeout 30 "$RTCPEER" offer -t 20 --duration "$DURATION" \
			--signal-out "$T/o2a" --signal-in "$T/a2o" >/dev/null 2>"$T/offer.err"
		echo "$? $EPOCHREALTIME" >"$T/offer.end"
	} &
	opid=$!
	{
		timeout 30 "$RTCPEER" answer -t 20 \
			--signal-in "$T/o2a" --signal-out "$T/a2o" >/dev/null 2>"$T/answer.err"
		echo "$? $EPOCHREALTIME" >"$T/answer.end"
	} &
	apid=$!
	wait "$opid"
	wait "$apid"
	read -r orc oend <"$T/offer.end" || orc="unknown"
	read -r arc aend <"$T/answer.end" || arc="unknown"
	t1=$(now_ms)
	if [ "$orc" != 0 ] || [ "$arc" != 0 ]; then
		echo "FAIL: rtcpeer run $k: offerer exit $orc, answerer exit $arc (124 means timed out)"
		echo "--- offerer stderr"; cat "$T/offer.err"
		echo "--- answerer stderr"; cat "$T/answer.err"
		exit 1
	fi
	local oi od ai ad
	oi=$(grab "$T/offer.err" ICE); od=$(grab "$T/offer.err" DTLS)
	ai=$(grab "$T/answer.err" ICE); ad=$(grab "$T/answer.err" DTLS)
	if [ -z "$oi" ] || [ -z "$od" ] || [ -z "$ai" ] || [ -z "$ad" ]; then
		echo "FAIL: rtcpeer run $k: no \"ICE/DTLS connected in X ms\" line on both peers"
		echo "--- offerer stderr"; cat "$T/offer.err"
		echo "--- answerer stderr"; cat "$T/answer.err"
		exit 1
	fi
	local wall oexit aexit
	wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
	# When each process exited, from the start of the call (their sum is not the wall time).
	oexit=$(awk -v a="$t0" -v b="${oend/,/.}" 'BEGIN { printf "%.1f", b * 1000 - a }')
	aexit=$(awk -v a="$t0" -v b="${aend/,/.}" 'BEGIN { printf "%.1f", b * 1000 - a }')
	echo "rtcpeer run=$k ice_ms=$(max "$oi" "$ai") dtls_ms=$(max "$od" "$ad") off_ice_ms=$oi off_dtls_ms=$od ans_ice_ms=$ai ans_dtls_ms=$ad wall_ms=$wall off_exit_ms=$oexit ans_exit_ms=$aexit"
	max "$oi" "$ai" >>"$T/r_ice"
	max "$od" "$ad" >>"$T/r_dtls"
	echo "$oi" >>"$T/r_off_ice"
	echo "$od" >>"$T/r_off_dtls"
	echo "$wall" >>"$T/r_wall"
}

# --- the interleaved loop -----------------------------------------------------------------------
echo "# rtcpeer: $RTCPEER ($("$RTCPEER" --version 2>/dev/null | head -1))"
[ $have_aiortc -eq 1 ] &&
	echo "# aiortc: $("$PY" -c 'import aiortc, aioice; print(aiortc.__version__, "(aioice", aioice.__version__ + ")")')"
echo "# rounds: $N, $(nproc 2>/dev/null || echo '?') CPUs, $(date -u '+%Y-%m-%d %H:%M UTC')"
for k in $(seq "$N"); do
	if [ $have_aiortc -eq 1 ] && [ $((k % 2)) -eq 0 ]; then
		aiortc_run "$k"
		rtcpeer_run "$k"
	else
		rtcpeer_run "$k"
		[ $have_aiortc -eq 1 ] && aiortc_run "$k"
	fi
done

# --- summary ------------------------------------------------------------------------------------
stats() { # FILE -> "median min max"
	sort -g "$1" | awk '{ v[NR] = $1 } END {
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.1f %.1f %.1f\n", m, v[1], v[NR] }'
}
cell() { printf '%.1f [%.1f..%.1f]' "$1" "$2" "$3"; }

echo
echo "setup time, $N runs each, ms: median [min..max]"
printf '%-32s %-22s %-22s %s\n' "" rtcpeer aiortc rtcpeer/aiortc
for row in "ICE, later of both peers:ice" "DTLS, later of both peers:dtls" \
	"ICE, offerer:off_ice" "DTLS, offerer:off_dtls"; do
	label=${row%%:*} key=${row##*:}
	read -r rm rmin rmax < <(stats "$T/r_$key")
	if [ $have_aiortc -eq 1 ]; then
		read -r am amin amax < <(stats "$T/a_$key")
		ratio=$(awk -v a="$rm" -v b="$am" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')
		printf '%-32s %-22s %-22s %s\n' "$label" "$(cell "$rm" "$rmin" "$rmax")" \
			"$(cell "$am" "$amin" "$amax")" "$ratio"
		echo "result $key rtcpeer_ms=$rm aiortc_ms=$am ratio=$ratio" >>"$T/results"
	else
		printf '%-32s %-22s %-22s %s\n' "$label" "$(cell "$rm" "$rmin" "$rmax")" "-" "-"
		echo "result $key rtcpeer_ms=$rm" >>"$T/results"
	fi
done
if [ $have_aiortc -eq 1 ]; then
	read -r im _ _ < <(stats "$T/a_t0_ice")
	read -r dm _ _ < <(stats "$T/a_t0_dtls")
	echo "aiortc, both peers from the instant both descriptions are applied: ICE $im ms, DTLS $dm ms"
fi
read -r wm wmin wmax < <(stats "$T/r_wall")
echo "rtcpeer whole call, both processes started to both exited (incl. --duration $DURATION): $(cell "$wm" "$wmin" "$wmax") ms"
echo "result wall rtcpeer_ms=$wm" >>"$T/results"
echo
cat "$T/results"
exit 0
