#!/usr/bin/env bash
# examples/whip-smoke against `rtcpeer answer --listen` as the WHIP endpoint: a working endpoint
# (exit 0, the receiver decoded the stream), a token it refuses (exit 8 with the status), and
# nobody listening (exit 8).
# Usage: example-whip-smoke.sh RTCPEER EXAMPLES
set -u
RTCPEER=${1:?usage: $0 RTCPEER EXAMPLES}
EXAMPLES=${2:?usage: $0 RTCPEER EXAMPLES}
export RTCPEER
T=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }

# endpoint NAME ARGS...: an rtcpeer WHIP endpoint on a free port; sets URL and EPID
endpoint() {
	local name=$1
	shift
	"$RTCPEER" answer --listen 127.0.0.1:0 --timeout 30 "$@" </dev/null >/dev/null \
		2>"$T/$name.err" &
	EPID=$!
	URL=
	for _ in $(seq 100); do
		URL=$(grep -o 'http://127\.0\.0\.1:[0-9]*/whip' "$T/$name.err" | head -1)
		[ -n "$URL" ] && return 0
		sleep 0.1
	done
	return 1
}

# run NAME WANT_RC PATTERN ARGS...: whip-smoke exits WANT_RC and its output matches PATTERN
run() {
	local name=$1 want=$2 pat=$3
	shift 3
	timeout 60 "$EXAMPLES/whip-smoke" "$@" >"$T/$name.out" 2>&1
	local rc=$?
	if [ "$rc" -eq "$want" ] && grep -q -- "$pat" "$T/$name.out"; then
		ok "$name: exit $rc: $(grep -- "$pat" "$T/$name.out" | head -1)"
	else
		not_ok "$name: exit $rc (want $want), output:"
		sed 's/^/    /' "$T/$name.out"
	fi
}

endpoint ok --video-out "$T/got.y4m" --record-audio "$T/got.wav" --expect 'inbound-rtp.video.framesDecoded>=30' ||
	not_ok "no endpoint: $(cat "$T/ok.err")"
run working 0 'whip-smoke: OK: DTLS connected in [0-9.]* ms' "$URL" 3
wait "$EPID"
rc=$?
[ "$rc" -eq 0 ] && ok "the endpoint decoded the stream ($(grep -c FRAME "$T/got.y4m") frames) and exited 0" ||
	not_ok "endpoint: exit $rc: $(tail -3 "$T/ok.err")"
endpoint tok --token right || not_ok "no endpoint: $(cat "$T/tok.err")"
RTCPEER_TOKEN=wrong run token 8 'FAILED (exit 8' "$URL" 2
grep -q 401 "$T/token.out" && ok "token: the line quotes the 401" ||
	not_ok "token: $(cat "$T/token.out")"
kill -INT "$EPID" 2>/dev/null
wait "$EPID"
run nobody 8 'FAILED (exit 8' http://127.0.0.1:1/whip 2
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
