#!/usr/bin/env bash
# examples/turn-check against a coturn of our own on loopback: a working server over UDP and TCP
# (exit 0, relay<->relay), wrong credentials (exit 14), and a setup-time limit no call can meet
# (exit 16 with the line naming the value seen).
# Usage: example-turn-check.sh RTCPEER EXAMPLES
set -u
RTCPEER=${1:?usage: $0 RTCPEER EXAMPLES}
EXAMPLES=${2:?usage: $0 RTCPEER EXAMPLES}
export RTCPEER

. "$(dirname "$0")/coturn-lib.sh"
start_turn main "$PORT" ""
CHECK=$EXAMPLES/turn-check

# run NAME WANT_RC PATTERN ARGS...: turn-check exits WANT_RC and its output matches PATTERN
run() {
	local name=$1 want=$2 pat=$3
	shift 3
	mkdir -p "$T/$name"
	SUMMARY_DIR=$T/$name timeout 60 "$CHECK" "$@" >"$T/$name/out" 2>&1
	local rc=$?
	if [ "$rc" -eq "$want" ] && grep -q -- "$pat" "$T/$name/out"; then
		ok "$name: exit $rc: $(grep -- "$pat" "$T/$name/out" | head -1)"
	else
		not_ok "$name: exit $rc (want $want), output:"
		sed 's/^/    /' "$T/$name/out"
	fi
}

# A generous limit: a loaded machine must not fail the suite; "too-slow" below shows it bites.
run udp 0 'OK: relay<->relay over udp, DTLS connected in [0-9.]* ms' "turn:$USER:$PASS@127.0.0.1:$PORT" 10000
# The verdict comes from rtcpeer's --expect, not from the script: the summary says so.
if grep -q '"condition":"candidate-pair.selected.local.candidateType=relay","passed":true,"value":"relay"' \
	"$T/udp/offer.json" && grep -q '"passed":true,"stats"' "$T/udp/answer.json"; then
	ok "udp: both summaries record the relay path and every condition passed"
else
	not_ok "udp summaries: $(cat "$T/udp/offer.json" "$T/udp/answer.json" 2>&1 | cut -c1-400)"
fi
run tcp 0 'OK: relay<->relay over tcp' "turn:$USER:$PASS@127.0.0.1:$PORT?transport=tcp" 10000
run password 14 'FAILED (exit 14' "turn:$USER:wrong@127.0.0.1:$PORT"
run too-slow 16 'setup.dtlsConnected<0 failed: the value is [0-9]' \
	"turn:$USER:$PASS@127.0.0.1:$PORT" 0
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
