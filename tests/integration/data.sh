#!/usr/bin/env bash
# rtcpeer --data as a pipe between two processes: byte-exact both ways at once (100 MB each
# way by default, DATA_MB overrides), flat memory whatever the size, data that follows the
# description on stdin, empty input, a slow reader (backpressure), and a hang-up in the middle
# of a transfer reported with what was delivered.
. "$(dirname "$0")/lib.sh"
MB=${DATA_MB:-100}

# pair NAME OFFER_STDIN ANSWER_STDIN [extra options for both]: both sides with --data through
# signaling FIFOs; outputs in $T/NAME.{o,a}.out, errors in .err, exit codes in ocode/acode,
# and the largest resident set of either process (kB) in peak_kb.
pair() {
	local name=$1 oin=$2 ain=$3
	shift 3
	rm -f "$T/o2a" "$T/a2o" && mkfifo "$T/o2a" "$T/a2o"
	timeout 300 "$RTCPEER" offer --data -t 30 --signal-out "$T/o2a" --signal-in "$T/a2o" "$@" \
		<"$oin" >"$T/$name.o.out" 2>"$T/$name.o.err" &
	local op=$!
	timeout 300 "$RTCPEER" answer --data -t 30 --signal-in "$T/o2a" --signal-out "$T/a2o" "$@" \
		<"$ain" >"$T/$name.a.out" 2>"$T/$name.a.err" &
	local ap=$!
	peak_kb=0
	while kill -0 "$op" 2>/dev/null || kill -0 "$ap" 2>/dev/null; do
		for pid in $(pgrep -P "$op" rtcpeer) $(pgrep -P "$ap" rtcpeer); do
			local kb
			kb=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
			[ -n "$kb" ] && [ "$kb" -gt "$peak_kb" ] && peak_kb=$kb
		done
		sleep 0.2
	done
	wait "$op"; ocode=$?
	wait "$ap"; acode=$?
}

same() { [ "$(sha256sum <"$1" | cut -d' ' -f1)" = "$(sha256sum <"$2" | cut -d' ' -f1)" ]; }

# 1. Both ways at once, random bytes.
head -c $((MB * 1000000)) /dev/urandom >"$T/o.in"
head -c $((MB * 1000000)) /dev/urandom >"$T/a.in"
t0=$(date +%s%N)
pair bulk "$T/o.in" "$T/a.in"
t1=$(date +%s%N)
secs=$(awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.1f", ns / 1e9 }')
if [ "$ocode" -eq 0 ] && [ "$acode" -eq 0 ] && same "$T/o.in" "$T/bulk.a.out" && same "$T/a.in" "$T/bulk.o.out"; then
	ok "$MB MB each way at once, sha256 equal on both ends, both exit 0 ($secs s, peak RSS $((peak_kb / 1024)) MB)"
else
	not_ok "bulk: exits $ocode/$acode, sizes $(stat -c %s "$T/bulk.a.out") / $(stat -c %s "$T/bulk.o.out")"
	tail -5 "$T/bulk.o.err" "$T/bulk.a.err"
fi
# Sanitizer builds keep freed memory in quarantine: their RSS says nothing about ours.
if [ -n "${RTCPEER_SANITIZED:-}" ]; then
	echo "SKIP: peak RSS check in a sanitizer build (peak $((peak_kb / 1024)) MB)"
elif [ "$peak_kb" -gt 0 ] && [ "$peak_kb" -lt $((64 * 1024)) ]; then
	ok "memory stays flat: peak RSS $((peak_kb / 1024)) MB < 64 MB"
else
	not_ok "peak RSS $peak_kb kB"
fi
rm -f "$T/bulk.a.out" "$T/bulk.o.out"

# 2. Nothing to send either way: both directions end at once, exit 0, empty outputs.
pair empty /dev/null /dev/null
[ "$ocode" -eq 0 ] && [ "$acode" -eq 0 ] && [ ! -s "$T/empty.o.out" ] && [ ! -s "$T/empty.a.out" ] &&
	ok "empty input both ways: exit 0, empty outputs" || { not_ok "empty: $ocode/$acode"; cat "$T/empty.o.err"; }

# 3. The answerer reads the offer and then its data from one stdin (framing).
head -c 3000000 /dev/urandom >"$T/small.in"
rm -f "$T/o2a" "$T/a2o" && mkfifo "$T/o2a" "$T/a2o"
"$RTCPEER" offer --data -t 30 --signal-out "$T/o2a" --signal-in "$T/a2o" </dev/null >"$T/f.o.out" 2>"$T/f.o.err" &
op=$!
{ cat "$T/o2a"; cat "$T/small.in"; } | "$RTCPEER" answer --data -t 30 --signal-out "$T/a2o" >"$T/f.a.out" 2>"$T/f.a.err"
acode=$?
wait "$op"; ocode=$?
[ "$ocode" -eq 0 ] && [ "$acode" -eq 0 ] && same "$T/small.in" "$T/f.o.out" &&
	ok "data after the description on the same stdin arrives byte-exact" ||
	{ not_ok "framing: $ocode/$acode"; cat "$T/f.o.err" "$T/f.a.err"; }

# 4. A slow reader: the receiver's stdout is not read for 2 s. Backpressure holds memory flat
#    on both sides and nothing is lost.
head -c 30000000 /dev/urandom >"$T/slow.in"
rm -f "$T/o2a" "$T/a2o" "$T/slowout" && mkfifo "$T/o2a" "$T/a2o" "$T/slowout"
{ sleep 2; cat "$T/slowout" >"$T/slow.a.out"; } &
rp=$!
"$RTCPEER" offer --data -t 30 --signal-out "$T/o2a" --signal-in "$T/a2o" <"$T/slow.in" >/dev/null 2>"$T/s.o.err" &
op=$!
"$RTCPEER" answer --data -t 30 --signal-in "$T/o2a" --signal-out "$T/a2o" </dev/null >"$T/slowout" 2>"$T/s.a.err" &
ap=$!
peak_kb=0
while kill -0 "$op" 2>/dev/null || kill -0 "$ap" 2>/dev/null; do
	for pid in $op $ap; do
		kb=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
		[ -n "$kb" ] && [ "$kb" -gt "$peak_kb" ] && peak_kb=$kb
	done
	sleep 0.2
done
wait "$op"; ocode=$?
wait "$ap"; acode=$?
wait "$rp"
limit_kb=$((64 * 1024))
[ -n "${RTCPEER_SANITIZED:-}" ] && limit_kb=$((1024 * 1024))
[ "$ocode" -eq 0 ] && [ "$acode" -eq 0 ] && same "$T/slow.in" "$T/slow.a.out" && [ "$peak_kb" -lt "$limit_kb" ] &&
	ok "slow reader: nothing lost, peak RSS $((peak_kb / 1024)) MB" ||
	{ not_ok "slow reader: $ocode/$acode, peak $peak_kb kB"; cat "$T/s.o.err" "$T/s.a.err"; }

# 5. The receiver is interrupted in the middle: the sender must not claim success, and must
#    say how much was delivered.
head -c 200000000 /dev/zero >"$T/big.in" 2>/dev/null || true
rm -f "$T/o2a" "$T/a2o" && mkfifo "$T/o2a" "$T/a2o"
"$RTCPEER" offer --data -t 30 --signal-out "$T/o2a" --signal-in "$T/a2o" <"$T/big.in" >/dev/null 2>"$T/i.o.err" &
op=$!
"$RTCPEER" answer --data -t 30 --signal-in "$T/o2a" --signal-out "$T/a2o" </dev/null >/dev/null 2>"$T/i.a.err" &
ap=$!
for _ in $(seq 100); do grep -q "writing it to standard output" "$T/i.a.err" && break; sleep 0.1; done
sleep 0.5
kill -INT "$ap"
wait "$ap"
wait "$op"; ocode=$?
if [ "$ocode" -eq 15 ] && grep -q "bytes read from stdin were delivered" "$T/i.o.err"; then
	ok "peer hung up mid-transfer: exit 15: $(grep 'were delivered' "$T/i.o.err" | cut -c1-120)"
else
	not_ok "interrupted transfer: exit $ocode"; cat "$T/i.o.err"
fi
rm -f "$T"/*.in

finish
