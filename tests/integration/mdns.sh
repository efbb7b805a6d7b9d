#!/usr/bin/env bash
# Remote candidates named "<uuid>.local", as browsers send them: rtcpeer resolves the name with
# a one-shot mDNS query and pairs the resolved address; a name nobody answers for is skipped
# after 3 s with one log line and the call still connects (through a peer-reflexive candidate).
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)

ip=$("$RTCPEER" offer -q -t 1 </dev/null 2>/dev/null |
	awk '/^a=candidate:/ && $5 !~ /:/ { print $5; exit }')
if [ -z "$ip" ]; then
	echo "SKIP: no IPv4 host candidate on this machine"
	exit 77
fi
name=rtcpeer-test-$RANDOM.local

# call DURATION: the answer's IPv4 candidates carry $name instead of the address; IPv6 ones go.
call() { # DURATION
	rm -f "$T/back" && mkfifo "$T/back"
	timeout 30 "$RTCPEER" offer -v --duration "$1" <"$T/back" 2>"$T/offer.err" |
		timeout 30 "$RTCPEER" answer 2>"$T/answer.err" |
		sed -u "s/ $ip / $name /; /^a=candidate:.* [0-9a-f]*:[0-9a-f:]* [0-9]* typ/d" >"$T/back"
	codes=("${PIPESTATUS[@]}")
}

python3 "$here/mdns_responder.py" "$name" "$ip" 20 >"$T/responder.log" 2>&1 &
rpid=$!
for _ in $(seq 50); do grep -q listening "$T/responder.log" && break; sleep 0.1; done
call 0.5
kill "$rpid" 2>/dev/null
if [ "${codes[0]}" -eq 0 ] && [ "${codes[1]}" -eq 0 ] &&
	grep -q "$name is $ip" "$T/offer.err" && grep -q "session established" "$T/offer.err"; then
	ok "mDNS name resolved and paired: $(grep -o "ICE connected in .*" "$T/offer.err")"
else
	not_ok "mDNS resolution: exits ${codes[*]}"; cat "$T/offer.err" "$T/responder.log"
fi

# Nobody answers: skipped with a line, no stall, still connects.
name=rtcpeer-silent-$RANDOM.local
call 3.5
if [ "${codes[0]}" -eq 0 ] && grep -q "remote candidate $name skipped: no answer" "$T/offer.err" &&
	grep -q "session established" "$T/offer.err"; then
	ok "unanswered mDNS name skipped, call connected: $(grep -o "ICE connected in .*" "$T/offer.err")"
else
	not_ok "unanswered mDNS name: exits ${codes[*]}"; cat "$T/offer.err"
fi

finish
