#!/usr/bin/env bash
# Sessions between two rtcpeer processes after signaling: ICE and DTLS come up, hang-ups are
# orderly (SIGINT/SIGTERM send close_notify; the peer ends within 1 s), a killed peer is noticed
# through consent freshness (exit 10 within 30 s), and a tampered fingerprint is caught (exit 12)
# before anything flows.
. "$(dirname "$0")/lib.sh"

# start_pair OFFER_ARGS -- ANSWER_ARGS: runs both in the background through FIFOs; sets opid/apid
start_pair() {
	local -a oa=() aa=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do oa+=("$1"); shift; done
	shift
	aa=("$@")
	rm -f "$T/o2a" "$T/a2o"
	mkfifo "$T/o2a" "$T/a2o"
	"$RTCPEER" offer -t 20 --signal-out "$T/o2a" --signal-in "$T/a2o" "${oa[@]}" 2>"$T/offer.err" &
	opid=$!
	"$RTCPEER" answer -t 20 --signal-in "$T/o2a" --signal-out "$T/a2o" "${aa[@]}" 2>"$T/answer.err" &
	apid=$!
}

wait_for() { # FILE PATTERN SECONDS
	for _ in $(seq $(($3 * 10))); do grep -q -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}

ms_now() { echo $(($(date +%s%N) / 1000000)); }

# 1. Both sides establish; SIGINT on the offerer: both exit 0, the answerer within 1 s.
start_pair --
if wait_for "$T/offer.err" "session established" 10 && wait_for "$T/answer.err" "session established" 10; then
	ok "ICE and DTLS established: $(grep -o 'ICE connected in [0-9.]* ms' "$T/offer.err"), $(grep -o 'DTLS connected in [0-9.]* ms' "$T/offer.err")"
else
	not_ok "session not established"; cat "$T/offer.err" "$T/answer.err"
fi
t0=$(ms_now)
kill -INT "$opid"
wait "$opid"; orc=$?
wait "$apid"; arc=$?
t1=$(ms_now)
[ "$orc" -eq 0 ] && [ "$arc" -eq 0 ] && [ $((t1 - t0)) -lt 1000 ] &&
	grep -q "the peer hung up" "$T/answer.err" &&
	ok "SIGINT: close_notify, both exit 0, peer ended in $((t1 - t0)) ms" ||
	{ not_ok "SIGINT: exits $orc/$arc after $((t1 - t0)) ms"; cat "$T/offer.err" "$T/answer.err"; }

# 2. SIGTERM on the answerer this time.
start_pair --
wait_for "$T/answer.err" "session established" 10
kill -TERM "$apid"
wait "$apid"; arc=$?
wait "$opid"; orc=$?
[ "$orc" -eq 0 ] && [ "$arc" -eq 0 ] && ok "SIGTERM on the answerer: both exit 0" ||
	not_ok "SIGTERM: exits $orc/$arc"

# 3. The answerer is killed: the offerer must say "peer unreachable" and exit 10 within 30 s.
start_pair --
wait_for "$T/offer.err" "session established" 10
t0=$(ms_now)
kill -KILL "$apid"
wait "$apid" 2>/dev/null
wait "$opid"; orc=$?
t1=$(ms_now)
if [ "$orc" -eq 10 ] && [ $((t1 - t0)) -le 31000 ] &&
	grep -q "error: peer unreachable: consent expired" "$T/offer.err"; then
	ok "killed peer: exit 10 after $((t1 - t0)) ms: $(grep error: "$T/offer.err")"
else
	not_ok "killed peer: exit $orc after $((t1 - t0)) ms"; cat "$T/offer.err"
fi

# 4. The end of the answerer's standard input (which carried the offer) after the session is
#    established is a hang-up: close_notify, both exit 0.
rm -f "$T/o2a" "$T/a2o" && mkfifo "$T/o2a" "$T/a2o"
"$RTCPEER" offer -t 20 --signal-out "$T/o2a" --signal-in "$T/a2o" 2>"$T/offer.err" &
opid=$!
{ cat "$T/o2a"; sleep 1.5; } | "$RTCPEER" answer -t 20 --signal-out "$T/a2o" 2>"$T/answer.err"
arc=$?
wait "$opid"; orc=$?
[ "$orc" -eq 0 ] && [ "$arc" -eq 0 ] && grep -q "end of input: hanging up" "$T/answer.err" &&
	grep -q "the peer hung up" "$T/offer.err" && ok "end of input after establishment hangs up" ||
	{ not_ok "end of input: exits $orc/$arc"; cat "$T/offer.err" "$T/answer.err"; }

# 5. A man in the middle changes the fingerprint in the answer: the offerer must refuse with 12
#    and name both fingerprints; the session never becomes established on that side.
rm -f "$T/back" && mkfifo "$T/back"
"$RTCPEER" offer -t 20 <"$T/back" 2>"$T/offer.err" |
	"$RTCPEER" answer -t 20 2>"$T/answer.err" |
	perl -pe 'BEGIN { $| = 1 } s/^(a=fingerprint:sha-256 )(.)/$1 . ($2 eq "A" ? "B" : "A")/e' >"$T/back"
codes=("${PIPESTATUS[@]}")
if [ "${codes[0]}" -eq 12 ] && grep -q "fingerprint" "$T/offer.err" &&
	! grep -q "session established" "$T/offer.err"; then
	ok "tampered fingerprint: exit 12: $(grep error: "$T/offer.err" | cut -c1-160)..."
else
	not_ok "tampered fingerprint: exits ${codes[*]}"; cat "$T/offer.err"
fi
[ "${codes[1]}" -ne 0 ] && ok "the answerer does not report success either (exit ${codes[1]})" ||
	not_ok "the answerer exited 0 with a tampered fingerprint"

finish
