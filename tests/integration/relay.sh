#!/usr/bin/env bash
# rtcpeer sessions through a real coturn on loopback with --ice-policy relay: the selected pair
# must be relay<->relay over TURN/UDP, TURN/TCP and TURN/TLS; wrong credentials, a closed port
# and a silent server end a relay-only call with exit 14 and one clear line; rtcpeer probe reads
# this host's mapping from the same server.
set -u
RTCPEER=${1:?usage: $0 RTCPEER}

. "$(dirname "$0")/coturn-lib.sh"

tls_port_arg=""
[ "$have_tls" -eq 1 ] && tls_port_arg=$TLS_PORT
start_turn main "$PORT" "$tls_port_arg" "${tls_args[@]}"

# call NAME URI: a relay-only call between two rtcpeer processes through URI
call() {
	local name=$1 uri=$2
	rm -f "$T/back" && mkfifo "$T/back"
	timeout 30 "$RTCPEER" offer --ice-policy relay --turn "$uri" --turn-ca "$T/cert.pem" \
		--duration 1 <"$T/back" 2>"$T/$name.offer.err" |
		timeout 30 "$RTCPEER" answer --ice-policy relay --turn "$uri" --turn-ca "$T/cert.pem" \
			2>"$T/$name.answer.err" >"$T/back"
	local st=("${PIPESTATUS[@]}")
	if [ "${st[0]}" -eq 0 ] && [ "${st[1]}" -eq 0 ] &&
		grep -q 'ICE connected .*: relay .* <-> relay ' "$T/$name.offer.err" &&
		grep -q 'session established' "$T/$name.offer.err" &&
		grep -q 'the peer hung up\|end of input: hanging up' "$T/$name.answer.err"; then
		ok "$name: $(grep -o 'DTLS connected in [0-9.]* ms' "$T/$name.offer.err") relay<->relay"
	else
		not_ok "$name: exits ${st[*]}"
		sed 's/^/    offer: /' "$T/$name.offer.err"
		sed 's/^/    answer: /' "$T/$name.answer.err"
	fi
}

call "TURN over UDP" "turn:$USER:$PASS@127.0.0.1:$PORT"
call "TURN over TCP" "turn:$USER:$PASS@127.0.0.1:$PORT?transport=tcp"
if [ "$have_tls" -eq 1 ]; then
	call "TURN over TLS" "turns:$USER:$PASS@localhost:$TLS_PORT"
else
	echo "SKIP: TURN over TLS: openssl cannot make a certificate here"
fi

# fail NAME PATTERN URI: a relay-only offer must end with exit 14 and one line matching PATTERN
fail() {
	local name=$1 pat=$2 uri=$3
	timeout 30 "$RTCPEER" offer --ice-policy relay --turn "$uri" --turn-ca "$T/cert.pem" \
		</dev/null >"$T/out" 2>"$T/err"
	local rc=$?
	if [ "$rc" -eq 14 ] && [ "$(grep -c 'error:' "$T/err")" -eq 1 ] && grep -q -- "$pat" "$T/err" &&
		[ ! -s "$T/out" ]; then
		ok "$name: exit 14: $(grep 'error:' "$T/err")"
	else
		not_ok "$name: exit $rc, stdout $(wc -c <"$T/out") bytes:"
		sed 's/^/    /' "$T/err"
	fi
}

fail "wrong password" "401 Unauthorized" "turn:$USER:wrong@127.0.0.1:$PORT"
CLOSED=$(free_port)
fail "closed TCP port" "Connection refused" "turn:$USER:$PASS@127.0.0.1:$CLOSED?transport=tcp"
fail "silent UDP server" "no answer from the TURN server" "turn:$USER:$PASS@127.0.0.1:$CLOSED"
if [ "$have_tls" -eq 1 ]; then
	# Without --turn-ca the self-signed certificate must not be trusted.
	timeout 30 "$RTCPEER" offer --ice-policy relay --turn "turns:$USER:$PASS@localhost:$TLS_PORT" \
		</dev/null >/dev/null 2>"$T/err"
	rc=$?
	[ "$rc" -eq 14 ] && grep -q "does not verify" "$T/err" &&
		ok "untrusted TLS certificate: exit 14: $(grep 'error:' "$T/err")" ||
		{ not_ok "untrusted TLS certificate: exit $rc"; sed 's/^/    /' "$T/err"; }
fi

# rtcpeer probe against the same server (as a STUN server): a mapping per IPv4 address, and a
# clear failure for a port nobody serves.
timeout 30 "$RTCPEER" probe --stun "stun:127.0.0.1:$PORT" >"$T/probe.out" 2>"$T/probe.err"
rc=$?
[ "$rc" -eq 0 ] && grep -q "public address .*, no NAT" "$T/probe.out" && grep -q "verdict:" "$T/probe.out" &&
	ok "probe: $(head -1 "$T/probe.out")" || { not_ok "probe: exit $rc"; cat "$T/probe.out" "$T/probe.err"; }
timeout 30 "$RTCPEER" probe --stun "stun:127.0.0.1:$CLOSED" >"$T/probe.out" 2>"$T/probe.err"
rc=$?
[ "$rc" -eq 10 ] && grep -q "did not answer" "$T/probe.err" && ok "probe without an answer: exit 10" ||
	{ not_ok "probe without an answer: exit $rc"; cat "$T/probe.err"; }

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
