#!/usr/bin/env bash
# examples/media-quality on this machine: a clean call passes (exit 0), one through 3% loss
# still passes thanks to retransmissions, and a demand no call can meet fails with exit 16 and
# a line naming the value seen.
# Usage: example-media-quality.sh RTCPEER FIXTURES EXAMPLES
. "$(dirname "$0")/lib.sh"
EXAMPLES=${3:?usage: $0 RTCPEER FIXTURES EXAMPLES}
export RTCPEER
# Sanitizer builds run the codecs several times slower: the checks are relative to the rate.
export FPS=30
[ -n "${RTCPEER_SANITIZED:-}" ] && FPS=15
# On a loaded machine the test source falls behind its rate: the suite checks that the script
# works and judges, with room for that; the defaults are for a quiet machine.
export MIN_DECODED_PCT=60 MAX_FIRST_FRAME_MS=10000

run() {
	local name=$1 want=$2 pat=$3
	shift 3
	timeout 60 env "$@" "$EXAMPLES/media-quality" 3 >"$T/$name.out" 2>&1
	local rc=$?
	if [ "$rc" -eq "$want" ] && grep -q -- "$pat" "$T/$name.out"; then
		ok "$name: exit $rc: $(grep -- "$pat" "$T/$name.out" | head -1)"
	else
		not_ok "$name: exit $rc (want $want), output:"
		sed 's/^/    /' "$T/$name.out"
	fi
}

# A sanitizer build on a busy machine can stall its encoder once in a while (seen: one freeze).
clean_freezes=0
[ -n "${RTCPEER_SANITIZED:-}" ] && clean_freezes=1
run clean 0 'OK: [0-9]* frames decoded' SUMMARY_DIR="$T" MAX_FREEZES=$clean_freezes
python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
sys.exit(0 if s["passed"] and len(s["expect"]) == 4 and s["setup"]["firstFrameDecoded"] is not None else 1)
' "$T/answer.json" && ok "clean: the receiver's summary records 4 conditions passed" ||
	not_ok "clean summary: $(cut -c1-400 "$T/answer.json")"
# Under a sanitizer the encoder falls further behind its rate when it also retransmits.
lossy_pct=50
[ -n "${RTCPEER_SANITIZED:-}" ] && lossy_pct=35
run lossy 0 "OK: " IMPAIR=loss=3% MAX_FREEZES=3 MIN_DECODED_PCT=$lossy_pct
run demanding 16 'inbound-rtp.video.framesDecoded>=[0-9]* failed: the value is [0-9]' MIN_DECODED_PCT=500
finish
