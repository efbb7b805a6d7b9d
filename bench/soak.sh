#!/usr/bin/env bash
# Soak: one long rtcpeer <-> rtcpeer call with audio, video and data both ways under 2 % loss,
# watching both processes' memory and file descriptors.
#
#   bench/soak.sh RTCPEER                       # SOAK_SECONDS=600 by default
#   SOAK_SECONDS=120 bench/soak.sh build/rtcpeer
#
# The call: `rtcpeer offer` and `rtcpeer answer`, each with --video test --audio test
# --video-out /dev/null --record-audio /dev/null --stats FILE --data, signaling through two
# FIFOs; the answerer adds --impair LOSS (default loss=2%: what it sends and what it receives).
# Each side's standard input is DATA_RATE bytes/s (default 20000) of random bytes, written
# by a paced writer (100 ms blocks) for SOAK_SECONDS, then closed; once both directions are
# finished both peers hang up by themselves (exit 0). Nothing else ends the call; a
# `timeout -k` of SOAK_SECONDS + 120 s is the bound.
# With root and `ip`, both processes run in a network namespace of their own (loopback and a
# veth pair inside it, 10.74.0.1 and .2); otherwise on this host's own addresses (their
# packets never leave the machine). Either way no traffic goes anywhere else.
#
# Every SAMPLE_EVERY s (default 10) from session establishment: VmRSS (/proc/PID/status) and
# the number of open fds (/proc/PID/fd) of both processes. Reported: every sample, then
# first/last/max of each; the first sample is taken SAMPLE_EVERY s after establishment, so
# the set-up allocations (codecs, buffers) are in it. Verdict "flat" when, for both processes,
# last - first RSS < 5 MB (RSS_SLACK_KB, default 5120) and the fd count is unchanged; "GROWING"
# otherwise. Also checked: both exit 0; each side's standard output has the sha256 of what
# the other one sent; each decoded at least 50 % of the video frames the other sent
# (framesDecoded / framesSent from the final --stats objects), with packetsLost, NACK, PLI,
# freeze counts shown. Sanitizer reports ("ERROR: AddressSanitizer", "runtime error:",
# "LeakSanitizer") in either log are counted and printed: run it on an ASan/UBSan build (see
# bench/README.md, "soak").
# Exit 0 when everything above holds, 1 otherwise, 2 on bad usage.
# Environment: SOAK_SECONDS, SAMPLE_EVERY, DATA_RATE, LOSS (an --impair spec), RSS_SLACK_KB,
# SOAK_NETNS=0 (run on the host even as root), KEEP_TMP=1, PYTHON (default python3).
set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
	echo "usage: $0 RTCPEER" >&2
	exit 2
fi
case $1 in /*) RTCPEER=$1 ;; *) RTCPEER=$PWD/$1 ;; esac
SOAK_SECONDS=${SOAK_SECONDS:-600}
SAMPLE_EVERY=${SAMPLE_EVERY:-10}
DATA_RATE=${DATA_RATE:-20000}
LOSS=${LOSS:-loss=2%}
RSS_SLACK_KB=${RSS_SLACK_KB:-5120}
PYTHON=${PYTHON:-python3}
command -v "$PYTHON" >/dev/null 2>&1 || { echo "$0: needs $PYTHON (the paced writer)" >&2; exit 2; }
command -v sha256sum >/dev/null 2>&1 || { echo "$0: needs sha256sum" >&2; exit 2; }

T=$(mktemp -d "${TMPDIR:-/tmp}/rtcpeer-soak.XXXXXX")
NS=""
PIDS=()
bad=0
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for f in "$T/offer.pid" "$T/answer.pid"; do
		[ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	if [ -n "$NS" ]; then
		for p in $(ip netns pids "$NS" 2>/dev/null); do kill "$p" 2>/dev/null; done
		sleep 0.3
		for p in $(ip netns pids "$NS" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		ip netns del "$NS" 2>/dev/null
	fi
	wait 2>/dev/null
	if [ "$bad" = 0 ] && [ "${KEEP_TMP:-0}" != 1 ]; then
		rm -rf "$T"
	else
		echo "files kept in $T"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

RUN=()
where="this host's own addresses"
if [ "${SOAK_NETNS:-1}" = 1 ] && [ "$(id -u)" = 0 ] && command -v ip >/dev/null 2>&1; then
	NS=rtcsoak-$$-$RANDOM
	if ip netns add "$NS" 2>/dev/null && ip -n "$NS" link set lo up &&
		ip -n "$NS" link add s0 type veth peer name s1 &&
		ip -n "$NS" addr add 10.74.0.1/24 dev s0 && ip -n "$NS" addr add 10.74.0.2/24 dev s1 &&
		ip -n "$NS" link set s0 up && ip -n "$NS" link set s1 up; then
		ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 2>/dev/null
		RUN=(ip netns exec "$NS")
		where="network namespace $NS (10.74.0.1, 10.74.0.2)"
	else
		ip netns del "$NS" 2>/dev/null
		NS=""
	fi
fi

total=$((SOAK_SECONDS * DATA_RATE))
head -c "$total" /dev/urandom >"$T/offer.in"
head -c "$total" /dev/urandom >"$T/answer.in"
# pace.py FILE RATE: copies FILE to stdout, RATE bytes/s in 100 ms blocks, on a fixed schedule
cat >"$T/pace.py" <<'EOF'
import os, sys, time
data = open(sys.argv[1], "rb").read()
step = max(1, int(sys.argv[2]) // 10)
t = time.monotonic()
for i in range(0, len(data), step):
    try:
        os.write(1, data[i:i + step])
    except OSError:
        sys.exit(1)
    t += 0.1
    d = t - time.monotonic()
    if d > 0:
        time.sleep(d)
EOF
mkfifo "$T/o2a" "$T/a2o"
limit=$((SOAK_SECONDS + 120))
MEDIA=(--video test --audio test --video-out /dev/null --record-audio /dev/null --data)

# side NAME ARGS...: one rtcpeer fed by the paced writer; its pid goes into $T/NAME.pid
side() {
	local name=$1
	shift
	(
		"$PYTHON" "$T/pace.py" "$T/$name.in" "$DATA_RATE" |
			timeout -k 5 "$limit" "${RUN[@]}" sh -c 'echo $$ >"$0"; exec "$@"' "$T/$name.pid" \
				"$RTCPEER" "$@" >"$T/$name.out" 2>"$T/$name.err"
		echo "${PIPESTATUS[1]}" >"$T/$name.rc"
	) &
	PIDS+=($!)
}

echo "# soak: ${SOAK_SECONDS} s call, audio + video both ways, data ${DATA_RATE} B/s each way, answerer --impair $LOSS; $where"
t0=$(date +%s)
side offer offer -v --timeout 30 --signal-out "$T/o2a" --signal-in "$T/a2o" "${MEDIA[@]}" \
	--stats "$T/offer.stats"
side answer answer -v --timeout 30 --signal-in "$T/o2a" --signal-out "$T/a2o" "${MEDIA[@]}" \
	--stats "$T/answer.stats" --impair "$LOSS"

for _ in $(seq 300); do
	grep -q 'session established' "$T/offer.err" 2>/dev/null &&
		grep -q 'session established' "$T/answer.err" 2>/dev/null && break
	[ -s "$T/offer.rc" ] && [ -s "$T/answer.rc" ] && break
	sleep 0.1
done
if ! grep -q 'session established' "$T/answer.err" 2>/dev/null; then
	bad=1
	echo "FAIL: the call was not established"
	tail -n 20 "$T/offer.err" "$T/answer.err"
	exit 1
fi
opid=$(cat "$T/offer.pid")
apid=$(cat "$T/answer.pid")
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }

printf '%8s %14s %12s %14s %12s\n' t_s offer_rss_kB offer_fds answer_rss_kB answer_fds
: >"$T/samples"
start=$(date +%s)
n=0
while :; do
	n=$((n + 1))
	# sleep to the next multiple of SAMPLE_EVERY since establishment, ending early if both end
	while [ $(($(date +%s) - start)) -lt $((n * SAMPLE_EVERY)) ]; do
		[ -s "$T/offer.rc" ] && [ -s "$T/answer.rc" ] && break 2
		sleep 0.5
	done
	ro=$(rss "$opid") ra=$(rss "$apid")
	[ -n "$ro" ] && [ -n "$ra" ] || break # one of them has ended
	fo=$(fds "$opid") fa=$(fds "$apid")
	echo "$((n * SAMPLE_EVERY)) $ro $fo $ra $fa" >>"$T/samples"
	printf '%8d %14d %12d %14d %12d\n' $((n * SAMPLE_EVERY)) "$ro" "$fo" "$ra" "$fa"
done
for _ in $(seq 1200); do
	[ -s "$T/offer.rc" ] && [ -s "$T/answer.rc" ] && break
	sleep 0.1
done
wall=$(($(date +%s) - t0))
rco=$(cat "$T/offer.rc" 2>/dev/null || echo none)
rca=$(cat "$T/answer.rc" 2>/dev/null || echo none)

why=()
[ "$rco" = 0 ] || why+=("offerer exit $rco")
[ "$rca" = 0 ] || why+=("answerer exit $rca")

# memory and fds
verdict=none
sum=""
if [ "$(wc -l <"$T/samples")" -ge 2 ]; then
	read -r sum verdict <<<"$(awk -v slack="$RSS_SLACK_KB" '
		NR == 1 { for (i = 2; i <= 5; i++) { first[i] = $i; max[i] = $i } }
		{ for (i = 2; i <= 5; i++) { last[i] = $i; if ($i > max[i]) max[i] = $i } }
		END {
			flat = 1
			if (last[2] - first[2] >= slack || last[4] - first[4] >= slack) flat = 0
			if (last[3] != first[3] || last[5] != first[5]) flat = 0
			printf "offer_rss_kB=%d/%d/%d,offer_fds=%d/%d/%d,answer_rss_kB=%d/%d/%d,answer_fds=%d/%d/%d %s\n",
				first[2], last[2], max[2], first[3], last[3], max[3],
				first[4], last[4], max[4], first[5], last[5], max[5], flat ? "flat" : "GROWING"
		}' "$T/samples")"
	echo "first/last/max: ${sum//,/  }"
	echo "verdict: $verdict (RSS last - first < $RSS_SLACK_KB kB and fds unchanged, both processes)"
	[ "$verdict" = flat ] || why+=("memory or fds not flat")
else
	why+=("fewer than 2 samples")
fi

# data: what each side received is what the other sent
for x in "offer.in:answer.out:offerer -> answerer" "answer.in:offer.out:answerer -> offerer"; do
	IFS=: read -r src dst name <<<"$x"
	hs=$(sha256sum <"$T/$src" | cut -c1-16)
	hd=$(sha256sum <"$T/$dst" | cut -c1-16)
	if [ "$hs" = "$hd" ]; then
		echo "data $name: $(wc -c <"$T/$dst") bytes intact (sha256 $hs...)"
	else
		echo "data $name: sent $(wc -c <"$T/$src") bytes sha256 $hs..., received $(wc -c <"$T/$dst") bytes sha256 $hd..."
		why+=("data $name damaged or incomplete")
	fi
done

# media, from the final --stats objects: field OBJECT_PATTERN NAME FILE
field() {
	tail -n 1 "$3" 2>/dev/null | grep -o "$1[^}]*\"$2\":[0-9.]*" | head -n 1 | grep -o '[0-9.]*$'
}
for x in "offer:answer" "answer:offer"; do
	rx=${x%%:*} tx=${x#*:}
	iv='"type":"inbound-rtp"[^}]*"kind":"video"'
	ia='"type":"inbound-rtp"[^}]*"kind":"audio"'
	ov='"type":"outbound-rtp"[^}]*"kind":"video"'
	dec=$(field "$iv" framesDecoded "$T/$rx.stats")
	sent=$(field "$ov" framesSent "$T/$tx.stats")
	echo "video ${tx}er -> ${rx}er: framesDecoded ${dec:-?} of framesSent ${sent:-?}," \
		"packetsLost $(field "$iv" packetsLost "$T/$rx.stats"), nack $(field "$iv" nackCount "$T/$rx.stats")," \
		"pli $(field "$iv" pliCount "$T/$rx.stats"), freezes $(field "$iv" freezeCount "$T/$rx.stats")," \
		"keyframes $(field "$iv" keyFramesDecoded "$T/$rx.stats");" \
		"audio packetsLost $(field "$ia" packetsLost "$T/$rx.stats"), concealedSamples $(field "$ia" concealedSamples "$T/$rx.stats")"
	if [ -z "${dec:-}" ] || [ -z "${sent:-}" ] || [ "${sent%.*}" -eq 0 ] ||
		[ $((${dec%.*} * 2)) -lt "${sent%.*}" ]; then
		why+=("video ${tx}er -> ${rx}er: ${dec:-?} of ${sent:-?} frames decoded")
	fi
done

# sanitizers
san=$(grep -h -e 'ERROR: AddressSanitizer' -e 'runtime error:' -e 'ERROR: LeakSanitizer' \
	-e 'SUMMARY: ' "$T/offer.err" "$T/answer.err" 2>/dev/null)
if [ -n "$san" ]; then
	echo "sanitizer reports:"
	echo "$san" | sort | uniq -c | sed 's/^/    /'
	why+=("sanitizer reports")
fi

echo "result soak seconds=$SOAK_SECONDS wall_s=$wall exit=$rco/$rca verdict=$verdict $sum"
if [ ${#why[@]} -eq 0 ]; then
	echo "PASS: soak of $SOAK_SECONDS s"
else
	bad=1
	echo "FAIL: $(IFS=';'; echo "${why[*]}" | sed 's/;/; /g')"
	for f in offer answer; do
		echo "    $f (exit $(cat "$T/$f.rc" 2>/dev/null)), last lines:"
		grep -v -e ' rtp debug: ' -e ' media debug: ' "$T/$f.err" | tail -n 15 | sed 's/^/      /'
	done
	exit 1
fi
