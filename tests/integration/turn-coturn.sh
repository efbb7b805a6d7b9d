#!/usr/bin/env bash
# The TURN client against a real coturn on loopback: allocation, Send/Data indications and
# ChannelData through the relay to a UDP echo peer (turn_probe), over UDP, TCP and TLS; wrong
# credentials must fail with one clear line; and against a second coturn granting 4 s lifetimes
# with 2 s nonces, the allocation must survive 7 s of traffic through refreshes and 438 retries.
set -u
PROBE=${1:?usage: $0 TURN_PROBE}

. "$(dirname "$0")/coturn-lib.sh"

tls_port_arg=""
[ "$have_tls" -eq 1 ] && tls_port_arg=$TLS_PORT
start_turn main "$PORT" "$tls_port_arg" "${tls_args[@]}"
ok "turnserver $(turnserver --version 2>/dev/null | head -1) listening on 127.0.0.1:$PORT"

# probe NAME EXPECTED_EXIT ARGS...: runs turn_probe with a bound, keeps its output in $T/NAME.*
probe() {
	local name=$1 want=$2
	shift 2
	timeout 60 "$PROBE" "$@" >"$T/$name.out" 2>"$T/$name.err"
	local rc=$?
	sed 's/^/    /' "$T/$name.out"
	if [ "$rc" -ne "$want" ]; then
		not_ok "$name: exit $rc, wanted $want"
		sed 's/^/    stderr: /' "$T/$name.err"
		return 1
	fi
	return 0
}

for tr in udp tcp tls; do
	if [ "$tr" = tls ] && [ "$have_tls" -eq 0 ]; then
		echo "SKIP: tls (openssl could not make a certificate)"
		continue
	fi
	port=$PORT
	extra=()
	if [ "$tr" = tls ]; then
		port=$TLS_PORT
		extra=("$T/cert.pem")
	fi
	if probe "$tr" 0 "127.0.0.1:$port" "$tr" "$USER" "$PASS" "${extra[@]}"; then
		if grep -q '^ok - echo through Send and Data indications' "$T/$tr.out" &&
			grep -q '^ok - echo over ChannelData' "$T/$tr.out" &&
			grep -q '^ok - 1201-byte echo over ChannelData' "$T/$tr.out" &&
			grep -q '^ok - allocation released' "$T/$tr.out" &&
			grep -q '^ok - allocated relayed 127.0.0.1:' "$T/$tr.out"; then
			ok "$tr: allocate, indication echo, channel echo, release"
		else
			not_ok "$tr: steps missing from the probe output"
		fi
	fi
done

# Wrong password and unknown user: the allocation fails at once with one clear line.
for tr in udp tcp; do
	if probe "badpass-$tr" 2 "127.0.0.1:$PORT" "$tr" "$USER" wrong-password; then
		line=$(cat "$T/badpass-$tr.err")
		if [ "$(wc -l <"$T/badpass-$tr.err")" -eq 1 ] &&
			grep -q "^FAILED: TURN server 127.0.0.1:$PORT refused the allocation: 401 .*\"$USER\"" \
				"$T/badpass-$tr.err"; then
			ok "$tr: wrong password: $line"
		else
			not_ok "$tr: wrong password message: $line"
		fi
	fi
done
if probe baduser 2 "127.0.0.1:$PORT" udp nobody "$PASS"; then
	if grep -q "^FAILED: TURN server 127.0.0.1:$PORT refused the allocation: 401" "$T/baduser.err"; then
		ok "unknown user: $(cat "$T/baduser.err")"
	else
		not_ok "unknown user message: $(cat "$T/baduser.err")"
	fi
fi

# Short lifetimes: coturn grants at most 4 s and rotates its nonce every 2 s. The probe keeps the
# allocation 7 s with pings every 250 ms over the channel; every ping must come back, which needs
# the refreshes at half the lifetime and the 438 retries to work.
SHORT_PORT=$(free_port) || { echo "SKIP: no free port found"; exit 77; }
start_turn short "$SHORT_PORT" "" --no-tls --max-allocate-lifetime=4 --stale-nonce=2
for tr in udp tcp; do
	if TURN_PROBE_HOLD_S=7 TURN_PROBE_DEBUG=1 probe "short-$tr" 0 "127.0.0.1:$SHORT_PORT" "$tr" \
		"$USER" "$PASS"; then
		refreshes=$(grep -c 'allocation refreshed' "$T/short-$tr.err")
		stale=$(grep -c 'Refresh: 438, asking again with a new nonce' "$T/short-$tr.err")
		if grep -q '^ok - held the allocation 7.0 s (granted lifetime 4 s)' "$T/short-$tr.out" &&
			[ "$refreshes" -ge 3 ] && [ "$stale" -ge 1 ]; then
			ok "$tr: 7 s on a 4 s allocation: $refreshes refreshes, $stale stale-nonce retries"
		else
			not_ok "$tr: short lifetime: $refreshes refreshes, $stale stale-nonce retries"
			sed 's/^/    stderr: /' "$T/short-$tr.err" | tail -20
		fi
	fi
done

for pid in "${TURN_PIDS[@]}"; do
	kill -0 "$pid" 2>/dev/null || not_ok "a turnserver died during the test"
done

echo "$passed passed, $failed failed"
if [ "$failed" -ne 0 ]; then
	echo "turnserver logs (last 20 lines each):"
	tail -20 "$T/main.log" "$T/short.log" 2>/dev/null | sed 's/^/    /'
fi
[ "$failed" -eq 0 ]
