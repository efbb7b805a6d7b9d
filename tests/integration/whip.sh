#!/usr/bin/env bash
# HTTP signaling (WHIP, RFC 9725): curl against `rtcpeer answer --listen` (a Chromium offer from
# the shared samples gets 201 with Location, ETag and an answer; every class of bad request gets
# its status and a one-line reason), then rtcpeer <-> rtcpeer through --listen/--connect with data
# and media (WHIP publish and WHEP play), a request flood during a transfer, and the failures of
# --connect and --listen with their exit codes.
# Usage: whip.sh RTCPEER FIXTURES
. "$(dirname "$0")/lib.sh"
SAMPLES=${SAMPLES:-$(dirname "$0")/../../../shared/sdp-samples}
[ -d "$SAMPLES" ] || SAMPLES=$FIXTURES/sdp
if ! command -v curl >/dev/null; then
	echo "SKIP: curl is not installed"
	exit 77
fi

# listen NAME ARGS...: starts `rtcpeer answer --listen 127.0.0.1:0 ARGS` in the background with
# stdin from $T/NAME.in (or /dev/null), stdout to $T/NAME.out, and sets URL from its log line.
listen() {
	local name=$1
	shift
	local in=/dev/null
	[ -e "$T/$name.in" ] && in=$T/$name.in
	"$RTCPEER" answer --listen 127.0.0.1:0 "$@" <"$in" >"$T/$name.out" 2>"$T/$name.err" &
	LPID=$!
	URL=
	for _ in $(seq 100); do
		URL=$(grep -o 'https\?://127\.0\.0\.1:[0-9]*/whip' "$T/$name.err" 2>/dev/null | head -1)
		[ -n "$URL" ] && return 0
		kill -0 "$LPID" 2>/dev/null || break
		sleep 0.1
	done
	not_ok "$name: no listening line: $(cat "$T/$name.err")"
	return 1
}

# http NAME WANT_STATUS BODY_PATTERN CURL_ARGS...: one request, its status and reason body
http() {
	local name=$1 want=$2 pat=$3
	shift 3
	local got
	got=$(curl -s -o "$T/body" -D "$T/headers" -w '%{http_code}' --max-time 10 "$@")
	if [ "$got" = "$want" ] && { [ -z "$pat" ] || grep -q -- "$pat" "$T/body"; }; then
		ok "$name: $got $(head -c 100 "$T/body" | head -1)"
	else
		not_ok "$name: status $got (want $want), body: $(head -c 300 "$T/body")"
	fi
}

# --- curl against --listen -----------------------------------------------------------------
listen curl --token s3cret --timeout 60 || exit 1
base=${URL%/whip}
offer=$SAMPLES/chromium-offer-av-data.sdp
auth=(-H 'Authorization: Bearer s3cret')
http page 200 '<video' "$base/"
http no-token 401 'token' -X POST -H 'Content-Type: application/sdp' --data-binary @"$offer" "$URL"
grep -qi '^WWW-Authenticate: Bearer' "$T/headers" && ok "401 names the Bearer scheme" ||
	not_ok "401 without WWW-Authenticate: $(cat "$T/headers")"
http wrong-token 401 'token' -X POST "${auth[@]/s3cret/guess}" -H 'Content-Type: application/sdp' \
	--data-binary @"$offer" "$URL"
http content-type 415 'application/sdp' -X POST "${auth[@]}" -H 'Content-Type: text/plain' \
	--data-binary @"$offer" "$URL"
head -c 70000 /dev/zero | tr '\0' 'a' >"$T/big"
http too-large 413 '' -X POST "${auth[@]}" -H 'Content-Type: application/sdp' \
	--data-binary @"$T/big" "$URL"
http bad-sdp 400 'line' -X POST "${auth[@]}" -H 'Content-Type: application/sdp' \
	--data-binary $'v=0\r\nhello\r\n' "$URL"
http unknown-resource 404 '' -X DELETE "${auth[@]}" "$URL/0123456789abcdef"
http method 405 '' -X PUT "${auth[@]}" -H 'Content-Type: application/sdp' --data-binary x "$URL"
http options 204 '' -X OPTIONS "$URL"
grep -qi '^Accept-Post: application/sdp' "$T/headers" && ok "OPTIONS: Accept-Post" ||
	not_ok "OPTIONS headers: $(cat "$T/headers")"
http chromium-offer 201 '^a=fingerprint:sha-256' -X POST "${auth[@]}" \
	-H 'Content-Type: application/sdp' --data-binary @"$offer" "$URL"
loc=$(grep -i '^Location:' "$T/headers" | tr -d '\r' | cut -d' ' -f2)
ctype=$(grep -i '^Content-Type:' "$T/headers" | tr -d '\r' | cut -d' ' -f2)
if [[ $loc == /whip/* ]] && [ "$ctype" = application/sdp ] && grep -qi '^ETag:' "$T/headers" &&
	grep -q '^a=setup:active' "$T/body" && grep -q '^m=video' "$T/body"; then
	ok "201: Location $loc, application/sdp, ETag, an answer (setup:active, video section)"
else
	not_ok "201 reply: $(cat "$T/headers") $(head -c 300 "$T/body")"
fi
http second-offer 409 'in progress' -X POST "${auth[@]}" -H 'Content-Type: application/sdp' \
	--data-binary @"$offer" "$URL"
http patch-type 415 '' -X PATCH "${auth[@]}" -H 'Content-Type: application/sdp' \
	--data-binary x "$base$loc"
http patch 204 '' -X PATCH "${auth[@]}" -H 'Content-Type: application/trickle-ice-sdpfrag' \
	--data-binary $'a=candidate:1 1 udp 2122260223 127.0.0.1 9 typ host\r\na=end-of-candidates\r\n' \
	"$base$loc"
http ice-restart 422 'restart' -X PATCH "${auth[@]}" \
	-H 'Content-Type: application/trickle-ice-sdpfrag' \
	--data-binary $'a=ice-ufrag:zzzz\r\na=ice-pwd:zzzzzzzzzzzzzzzzzzzzzzzz\r\n' "$base$loc"
http delete 200 '' -X DELETE "${auth[@]}" "$base$loc"
wait "$LPID"
rc=$?
[ "$rc" -eq 0 ] && ok "DELETE ends the listener: exit 0" ||
	not_ok "listener after DELETE: exit $rc: $(cat "$T/curl.err")"

# --- rtcpeer <-> rtcpeer: data both ways, with a request flood during the transfer ----------
# The listener's input pauses half way, and 300 requests (50 at a time) hit the endpoint then.
head -c 1500000 /dev/urandom >"$T/d1a"
head -c 1500000 /dev/urandom >"$T/d1b"
cat "$T/d1a" "$T/d1b" >"$T/d1.in"
head -c 2000000 /dev/urandom >"$T/d2.in"
mkfifo "$T/dataL.in"
(cat "$T/d1a"; sleep 4; cat "$T/d1b") >"$T/dataL.in" &
listen dataL --data --timeout 60 || exit 1
"$RTCPEER" offer --connect "$URL" --data --timeout 60 <"$T/d2.in" >"$T/dataC.out" \
	2>"$T/dataC.err" &
cpid=$!
for _ in $(seq 100); do
	grep -q 'session established' "$T/dataL.err" && break
	sleep 0.1
done
codes=$(for i in $(seq 300); do
	curl -s -o /dev/null -w '%{http_code}\n' --max-time 5 -X POST \
		-H 'Content-Type: application/sdp' --data-binary x "$URL" &
	[ $((i % 50)) -eq 0 ] && wait
done
wait)
wait "$cpid"
crc=$?
wait "$LPID"
lrc=$?
n409=$(grep -c '^409$' <<<"$codes")
if [ "$crc" -eq 0 ] && [ "$lrc" -eq 0 ] && cmp -s "$T/d1.in" "$T/dataC.out" &&
	cmp -s "$T/d2.in" "$T/dataL.out"; then
	ok "data through --listen/--connect under 300 requests ($n409 got 409): 3 MB and 2 MB intact, both exit 0"
else
	not_ok "data: connect exit $crc, listen exit $lrc, $(wc -c <"$T/dataC.out") and $(wc -c <"$T/dataL.out") bytes"
	sed 's/^/    connect: /' "$T/dataC.err" | tail -5
	sed 's/^/    listen: /' "$T/dataL.err" | tail -5
fi
[ "$n409" -ge 30 ] && ok "the flood was answered (409 for $n409 of 300 during the session)" ||
	not_ok "flood answers: $(sort <<<"$codes" | uniq -c | tr '\n' ' ')"

# --- media: WHIP publish (offer --connect sends) and WHEP play (answer --connect receives) ---
listen pub --video-out "$T/pub.y4m" --expect 'inbound-rtp.video.framesDecoded>=30' --timeout 60 ||
	exit 1
"$RTCPEER" offer --connect "$URL" --video test --audio test --duration 3 -q \
	--expect 'outbound-rtp.video.framesEncoded>=60' 2>"$T/pubC.err"
crc=$?
wait "$LPID"
lrc=$?
frames=$(grep -c FRAME "$T/pub.y4m" 2>/dev/null)
[ "$crc" -eq 0 ] && [ "$lrc" -eq 0 ] && ok "WHIP publish: both exit 0, $frames frames decoded" ||
	not_ok "publish: connect $crc listen $lrc: $(tail -3 "$T/pubC.err" "$T/pub.err")"
listen play --video test --audio test --timeout 60 || exit 1
"$RTCPEER" answer --connect "$URL" --video-out "$T/play.y4m" --record-audio "$T/play.wav" \
	--duration 3 -q --expect 'inbound-rtp.video.framesDecoded>=30' \
	--expect 'inbound-rtp.audio.packetsReceived>=50' 2>"$T/playC.err"
crc=$?
wait "$LPID"
lrc=$?
[ "$crc" -eq 0 ] && [ "$lrc" -eq 0 ] &&
	ok "WHEP play: both exit 0, $(grep -c FRAME "$T/play.y4m") frames decoded" ||
	not_ok "play: connect $crc listen $lrc: $(tail -3 "$T/playC.err" "$T/play.err")"

# --- failures -----------------------------------------------------------------------------
"$RTCPEER" offer --connect http://127.0.0.1:1/whip -q --timeout 10 2>"$T/refused.err"
rc=$?
[ "$rc" -eq 8 ] && check_one_line "$T/refused.err" "connect: nobody listening (exit 8)" '127.0.0.1:1' ||
	not_ok "connect refused: exit $rc: $(cat "$T/refused.err")"
listen tok --token right --timeout 30 --duration 2 || exit 1
"$RTCPEER" offer --connect "$URL" --token wrong -q --timeout 10 2>"$T/tok.err"
rc=$?
[ "$rc" -eq 8 ] && check_one_line "$T/tok.err" "connect: wrong token (exit 8)" '401' ||
	not_ok "wrong token: exit $rc: $(cat "$T/tok.err")"
RTCPEER_TOKEN=right "$RTCPEER" offer --connect "$URL" -q --timeout 20 </dev/null \
	>/dev/null 2>"$T/tokok.err"
rc=$?
wait "$LPID"
lrc=$?
[ "$rc" -eq 0 ] && [ "$lrc" -eq 0 ] && ok "RTCPEER_TOKEN: accepted, both exit 0" ||
	not_ok "RTCPEER_TOKEN: connect $rc listen $lrc: $(cat "$T/tokok.err" "$T/tok.err")"
listen busy --timeout 30 || exit 1
port=${URL#http://127.0.0.1:}
port=${port%/whip}
"$RTCPEER" answer --listen "127.0.0.1:$port" -q --timeout 5 2>"$T/inuse.err"
rc=$?
[ "$rc" -eq 8 ] && check_one_line "$T/inuse.err" "listen: port in use (exit 8)" "$port" ||
	not_ok "port in use: exit $rc: $(cat "$T/inuse.err")"
kill -INT "$LPID"
wait "$LPID"
"$RTCPEER" answer --listen 127.0.0.1:0 -q --timeout 1 2>"$T/tmo.err"
rc=$?
[ "$rc" -eq 6 ] && check_one_line "$T/tmo.err" "listen: no offer in time (exit 6)" 'WHIP offer' ||
	not_ok "listen timeout: exit $rc: $(cat "$T/tmo.err")"
# Reachable from other hosts without a token: a warning (nothing connects; the wait times out).
"$RTCPEER" answer --listen 0.0.0.0:0 --timeout 1 2>"$T/public.err"
grep -q 'warning: --listen 0.0.0.0:0 is reachable from other hosts and no --token' "$T/public.err" &&
	ok "a public bind without a token warns" || not_ok "public bind: $(cat "$T/public.err")"
"$RTCPEER" answer --listen 0.0.0.0:0 --token t --timeout 1 2>"$T/public2.err"
grep -q warning "$T/public2.err" && not_ok "a public bind with a token warns: $(cat "$T/public2.err")" ||
	ok "a public bind with a token does not warn"
expect_exit 2 "offer --listen is a usage error" -- "$RTCPEER" offer --listen 8080 2>/dev/null
expect_exit 2 "--listen with a bad port" -- "$RTCPEER" answer --listen 127.0.0.1:99999 2>/dev/null
expect_exit 2 "--connect with a non-http URL" -- "$RTCPEER" offer --connect ftp://x 2>/dev/null
expect_exit 2 "--tls-cert without --tls-key" -- "$RTCPEER" answer --listen 0 --tls-cert x 2>/dev/null
expect_exit 2 "answer --connect without an output" -- "$RTCPEER" answer --connect http://x/ 2>/dev/null

# --- HTTPS with a certificate made by `rtcpeer identity` (key and certificate in one PEM) ---
"$RTCPEER" identity "$T/id.pem" >/dev/null
if listen tls --tls-cert "$T/id.pem" --tls-key "$T/id.pem" --timeout 30 &&
	TURL=$URL && [[ $TURL == https://* ]]; then
	http https-page 200 '<video' -k "${TURL%/whip}/"
	"$RTCPEER" offer --connect "$TURL" -q --timeout 10 2>"$T/untrusted.err"
	rc=$?
	[ "$rc" -eq 8 ] && check_one_line "$T/untrusted.err" "https: untrusted certificate (exit 8)" \
		'certificate' || not_ok "untrusted: exit $rc: $(cat "$T/untrusted.err")"
	kill -INT "$LPID"
	wait "$LPID"
else
	not_ok "https listener: $(cat "$T/tls.err")"
fi
finish
