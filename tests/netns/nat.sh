#!/usr/bin/env bash
# Real NAT traversal: two private sites, each a host namespace behind an iptables NAT router
# namespace, meet on a "public" namespace that runs coturn (STUN, TURN over UDP/TCP/TLS).
# Each scenario is a real call between `rtcpeer offer` in site A and `rtcpeer answer` in
# site B; it checks both exit codes and the candidate pair that rtcpeer selected.
# Needs root, ip netns, iptables (with the nat table), coturn; otherwise a visible SKIP.
# All traffic stays inside the namespaces created here; the EXIT trap removes them.
set -u
RTCPEER=${1:?usage: $0 RTCPEER}
case $RTCPEER in /*) ;; *) RTCPEER=$PWD/$RTCPEER ;; esac

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces and iptables)"
command -v ip >/dev/null 2>&1 || skip "ip (iproute2) is not installed"
command -v iptables >/dev/null 2>&1 || skip "iptables is not installed"
command -v turnserver >/dev/null 2>&1 || skip "turnserver (coturn) is not installed"
command -v timeout >/dev/null 2>&1 || skip "timeout (coreutils) is not installed"
command -v ss >/dev/null 2>&1 || skip "ss (iproute2) is not installed"
[ -n "${EPOCHREALTIME:-}" ] || skip "bash 5 is needed (EPOCHREALTIME)"
[ -x "$RTCPEER" ] || { echo "not ok - $RTCPEER is not executable"; exit 1; }

T0=$(date +%s%N)
ID=$(printf '%04x%04x' $((RANDOM)) $((RANDOM)))
PUB=rtcnat-$ID-pub   # the "internet": coturn on 203.0.113.1 and .2 (TEST-NET-3)
SINK=rtcnat-$ID-sink # where the public side's default route leads: drops everything, silently
NAT_A=rtcnat-$ID-nata HOST_A=rtcnat-$ID-hosta # site A: 10.1.0.2 behind 203.0.113.10
NAT_B=rtcnat-$ID-natb HOST_B=rtcnat-$ID-hostb # site B: 10.2.0.2 behind 203.0.113.20
ALL_NS=("$HOST_A" "$HOST_B" "$NAT_A" "$NAT_B" "$PUB" "$SINK")
T=$(mktemp -d /tmp/rtcpeer-netns.XXXXXX)
PIDS=()
passed=0
failed=0

cleanup() {
	local pid ns
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	# Anything still running inside our own namespaces was started by this script.
	for ns in "${ALL_NS[@]}"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null; done
	done
	sleep 0.2
	for ns in "${ALL_NS[@]}"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	done
	if [ "$failed" -eq 0 ] && [ -z "${RTCPEER_NETNS_KEEP:-}" ]; then
		rm -rf "$T"
	else
		echo "logs kept in $T"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

# ---------------------------------------------------------------- topology
setup_fail() { echo "not ok - topology: $*"; failed=1; exit 1; }
must() { "$@" || setup_fail "$*"; }

for ns in "${ALL_NS[@]}"; do
	ip netns add "$ns" || skip "ip netns add failed (no network namespaces here?)"
	must ip -n "$ns" link set lo up
done
in_ns "$NAT_A" iptables -t nat -L POSTROUTING >/dev/null 2>&1 ||
	skip "iptables cannot use the nat table inside a namespace"

# veth A_NS A_IF B_NS B_IF: a veth pair created directly inside the two namespaces
veth() { ip -n "$1" link add "$2" type veth peer name "$4" netns "$3" || setup_fail "veth $2-$4"; }

# The public segment: a bridge in PUB, the two NAT routers plugged into it.
ip -n "$PUB" link add br0 type bridge || setup_fail "no bridge support"
must ip -n "$PUB" link set br0 up
must ip -n "$PUB" addr add 203.0.113.1/24 dev br0
must ip -n "$PUB" addr add 203.0.113.2/24 dev br0
# A default route into a namespace that drops everything without answering, so that coturn's
# relayed sends to the peers' private (host) addresses vanish instead of failing locally.
veth "$PUB" tosink "$SINK" eth0
must ip -n "$PUB" addr add 198.51.100.1/30 dev tosink
must ip -n "$SINK" addr add 198.51.100.2/30 dev eth0
must ip -n "$PUB" link set tosink up
must ip -n "$SINK" link set eth0 up
ip -n "$PUB" route add default via 198.51.100.2 || setup_fail "default route of $PUB"
must in_ns "$SINK" iptables -A INPUT -i eth0 -j DROP
# Neither of them forwards anything (whatever a new namespace inherits).
must in_ns "$PUB" sysctl -qw net.ipv4.ip_forward=0
must in_ns "$SINK" sysctl -qw net.ipv4.ip_forward=0

# site NAME NAT_NS HOST_NS LAN_PREFIX WAN_ADDR
site() {
	local name=$1 nat=$2 host=$3 lan=$4 wan=$5
	veth "$PUB" "port$name" "$nat" wan
	must ip -n "$PUB" link set "port$name" master br0
	must ip -n "$PUB" link set "port$name" up
	must ip -n "$nat" addr add "$wan/24" dev wan
	must ip -n "$nat" link set wan up
	# the router's own default route: the public side (which does not forward)
	must ip -n "$nat" route add default via 203.0.113.1
	veth "$nat" lan "$host" eth0
	must ip -n "$nat" addr add "$lan.1/24" dev lan
	must ip -n "$nat" link set lan up
	must ip -n "$host" addr add "$lan.2/24" dev eth0
	must ip -n "$host" link set eth0 up
	must ip -n "$host" route add default via "$lan.1"
	in_ns "$nat" sysctl -qw net.ipv4.ip_forward=1 || setup_fail "ip_forward in $nat"
	# Like a home router: nothing unsolicited gets in, neither to the router itself (a
	# leftover conntrack entry would make the next outgoing mapping take a new port) nor
	# to the private side.
	must in_ns "$nat" iptables -A INPUT -i wan -j DROP
	must in_ns "$nat" iptables -A FORWARD -i lan -o wan -j ACCEPT
	must in_ns "$nat" iptables -A FORWARD -i wan -o lan -m conntrack --ctstate ESTABLISHED,RELATED \
		-j ACCEPT
	must in_ns "$nat" iptables -P FORWARD DROP
	# Impairment and blocking rules go into these chains, flushed between scenarios.
	must in_ns "$nat" iptables -N SCENARIO
	must in_ns "$nat" iptables -I FORWARD 1 -j SCENARIO
	nat_type "$nat" eim
}

# nat_type NAT_NS eim|symmetric: MASQUERADE maps endpoint-independently and keeps the port;
# --random-fully picks a new port for every destination.
nat_type() {
	local nat=$1 kind=$2 extra=()
	[ "$kind" = symmetric ] && extra=(--random-fully)
	must in_ns "$nat" iptables -t nat -F POSTROUTING
	in_ns "$nat" iptables -t nat -A POSTROUTING -o wan -j MASQUERADE "${extra[@]}" ||
		setup_fail "MASQUERADE ${extra[*]} in $nat"
}

site A "$NAT_A" "$HOST_A" 10.1.0 203.0.113.10
site B "$NAT_B" "$HOST_B" 10.2.0 203.0.113.20

# Reachability check: each host reaches the public address through its NAT.
if command -v ping >/dev/null 2>&1; then
	for h in "$HOST_A" "$HOST_B"; do
		in_ns "$h" ping -c1 -W2 203.0.113.1 >/dev/null 2>&1 ||
			setup_fail "$h cannot reach 203.0.113.1 through its NAT"
	done
fi

# ---------------------------------------------------------------- coturn
TURN_USER=rtc
TURN_PASS=s3cret-$RANDOM
TURN_IP=203.0.113.1
tls_args=(--no-tls)
have_tls=0
if command -v openssl >/dev/null 2>&1 &&
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=$TURN_IP" \
		-addext "subjectAltName=IP:$TURN_IP" \
		-keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1; then
	tls_args=(--tls-listening-port=5349 --cert="$T/cert.pem" --pkey="$T/key.pem")
	have_tls=1
fi
# Two listening addresses and an alternate port: coturn answers RFC 5780 discovery too.
in_ns "$PUB" turnserver -n --listening-ip=203.0.113.1 --listening-ip=203.0.113.2 \
	--listening-port=3478 --alt-listening-port=3479 --relay-ip="$TURN_IP" \
	--min-port=49152 --max-port=49999 --lt-cred-mech --user="$TURN_USER:$TURN_PASS" \
	--realm=rtcpeer.test --no-dtls --no-cli --fingerprint --log-file=stdout --simple-log \
	--pidfile="$T/turnserver.pid" --userdb="$T/turnserver.db" "${tls_args[@]}" \
	>"$T/turnserver.log" 2>&1 &
PIDS+=($!)
up=0
for _ in $(seq 100); do
	if in_ns "$PUB" ss -Hlun "( sport = :3478 )" | grep -q . &&
		in_ns "$PUB" ss -Hltn "( sport = :3478 )" | grep -q . &&
		{ [ "$have_tls" -eq 0 ] || in_ns "$PUB" ss -Hltn "( sport = :5349 )" | grep -q .; }; then
		up=1
		break
	fi
	sleep 0.1
done
if [ "$up" -ne 1 ]; then
	echo "not ok - turnserver did not come up in $PUB; its log:"
	tail -30 "$T/turnserver.log" | sed 's/^/    /'
	failed=1
	exit 1
fi
STUN="stun:$TURN_IP:3478"
TURN_UDP="turn:$TURN_USER:$TURN_PASS@$TURN_IP:3478"
TURN_TCP="turn:$TURN_USER:$TURN_PASS@$TURN_IP:3478?transport=tcp"
TURN_TLS="turns:$TURN_USER:$TURN_PASS@$TURN_IP:5349"
echo "# topology up in $(ms_since "$T0") ms: $HOST_A (10.1.0.2) -> $NAT_A (203.0.113.10)" \
	"-> $PUB (coturn 203.0.113.1,.2) <- $NAT_B (203.0.113.20) <- $HOST_B (10.2.0.2)"

# reset_scenario: both NATs endpoint-independent, no blocking, no loss, no old mappings.
reset_scenario() {
	local nat
	for nat in "$NAT_A" "$NAT_B"; do
		nat_type "$nat" eim
		in_ns "$nat" iptables -F SCENARIO
		in_ns "$nat" iptables -t raw -F PREROUTING
		command -v conntrack >/dev/null 2>&1 && in_ns "$nat" conntrack -F >/dev/null 2>&1
	done
}

# ---------------------------------------------------------------- calls
pair() { grep -o 'ICE connected in .*' "$1" | tail -1 | sed 's/^ICE connected in [0-9.]* ms: //'; }
ice_ms() { grep -o 'ICE connected in [0-9.]*' "$1" | tail -1 | grep -o '[0-9.]*$'; }
dtls_ms() { grep -o 'DTLS connected in [0-9.]*' "$1" | tail -1 | grep -o '[0-9.]*$'; }

show_logs() {
	local d=$1
	echo "    --- offer (site A) stderr:"
	sed 's/^/    | /' "$d/offer.err"
	echo "    --- answer (site B) stderr:"
	sed 's/^/    | /' "$d/answer.err"
}

# stamp T0_US: copies stdin to stdout, each line prefixed by the milliseconds since T0_US
# (microseconds since the epoch), so that the logs show when things happened.
stamp() {
	local t0=$1 line
	while IFS= read -r line; do
		printf '%6d ms  %s\n' $(((${EPOCHREALTIME//[.,]/} - t0) / 1000)) "$line"
	done
}

# start_call DIR OFFER_ARGS... -- ANSWER_ARGS...: offer in site A, answer in site B, signaling
# through two FIFOs in DIR, stderr (-v) time-stamped into DIR/offer.err and DIR/answer.err;
# sets OFFER_PID and ANSWER_PID (each exits with its rtcpeer's status) and CALL_T0.
start_call() {
	local d=$1
	shift
	local oargs=() aargs=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do oargs+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	aargs=("$@")
	mkdir -p "$d"
	mkfifo "$d/o2a" "$d/a2o"
	local t0us=${EPOCHREALTIME//[.,]/}
	CALL_T0=$((t0us * 1000))
	(
		timeout -k 3 45 ip netns exec "$HOST_A" "$RTCPEER" offer -v --timeout 20 \
			--signal-out "$d/o2a" --signal-in "$d/a2o" "${oargs[@]}" \
			</dev/null 2>&1 >"$d/offer.out" | stamp "$t0us" >>"$d/offer.err"
		exit "${PIPESTATUS[0]}"
	) &
	OFFER_PID=$!
	(
		timeout -k 3 45 ip netns exec "$HOST_B" "$RTCPEER" answer -v --timeout 20 \
			--signal-in "$d/o2a" --signal-out "$d/a2o" "${aargs[@]}" \
			</dev/null 2>&1 >"$d/answer.out" | stamp "$t0us" >>"$d/answer.err"
		exit "${PIPESTATUS[0]}"
	) &
	ANSWER_PID=$!
	PIDS+=("$OFFER_PID" "$ANSWER_PID")
}

# wait_established DIR SECONDS: both sides logged "session established" (0), or not in time, or
# the offerer is gone (1).
wait_established() {
	local d=$1 n=$(($2 * 10))
	for _ in $(seq "$n"); do
		if grep -q 'session established' "$d/offer.err" 2>/dev/null &&
			grep -q 'session established' "$d/answer.err" 2>/dev/null; then
			return 0
		fi
		kill -0 "$OFFER_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# stop_call: ends whatever is left of a call (processes inside the two host namespaces are ours).
stop_call() {
	local ns pid
	for ns in "$HOST_A" "$HOST_B"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null; done
	done
	wait "$OFFER_PID" "$ANSWER_PID" 2>/dev/null
}

# when FILE PATTERN: the time stamp (ms since the call started) of the first line with PATTERN
when() { grep -m1 -- "$2" "$1" | awk '{print $1}'; }

# call NAME PAIR_CHECK OFFER_ARGS... -- ANSWER_ARGS...: a whole call that hangs up one second
# after it is established (see finish_call).
call() {
	local name=$1 check=$2
	shift 2
	local d=$T/$((++CALLS))_${name//[^A-Za-z0-9]/_}
	start_call "$d" --duration 1 "$@"
	finish_call "$name" "$check" "$d"
}

# finish_call NAME PAIR_CHECK DIR: waits for a call started with --duration; both must exit 0,
# both must have logged "session established", the answerer "the peer hung up", and the
# offerer's selected pair must satisfy PAIR_CHECK ("relay": contains relay, "direct": contains
# no relay, "local-relay": the offerer's own candidate is a relay, "any": some pair).
finish_call() {
	local name=$1 check=$2 d=$3
	wait "$OFFER_PID"
	local orc=$?
	wait "$ANSWER_PID"
	local arc=$?
	local wall p pair_ok=0
	wall=$(ms_since "$CALL_T0")
	p=$(pair "$d/offer.err")
	case $check in
	relay) [[ $p == *relay* ]] && pair_ok=1 ;;
	direct) [ -n "$p" ] && [[ $p != *relay* ]] && pair_ok=1 ;;
	local-relay) [[ $p == relay* ]] && pair_ok=1 ;;
	any) [ -n "$p" ] && pair_ok=1 ;;
	esac
	if [ "$orc" -eq 0 ] && [ "$arc" -eq 0 ] && [ "$pair_ok" -eq 1 ] &&
		grep -q 'session established' "$d/offer.err" &&
		grep -q 'session established' "$d/answer.err" &&
		grep -q 'the peer hung up' "$d/answer.err"; then
		ok "$name: $p; established $(when "$d/offer.err" 'session established') ms after" \
			"start (ICE $(ice_ms "$d/offer.err") ms, DTLS $(dtls_ms "$d/offer.err") ms after the" \
			"answer; answerer $(dtls_ms "$d/answer.err") ms), call $wall ms"
	else
		not_ok "$name: offer exit $orc, answer exit $arc, pair '${p:-none}' (wanted $check)," \
			"call $wall ms"
		show_logs "$d"
	fi
}

# probe NAME HOST_NS WANT_EXIT PATTERN...: `rtcpeer probe` (RFC 5780 discovery against coturn's two
# addresses) must exit WANT_EXIT and print every PATTERN.
probe() {
	local name=$1 ns=$2 want=$3
	shift 3
	local d=$T/$((++CALLS))_probe_${name//[^A-Za-z0-9]/_}
	mkdir -p "$d"
	local t0
	t0=$(date +%s%N)
	timeout -k 3 30 ip netns exec "$ns" "$RTCPEER" probe -v --stun "$STUN" \
		</dev/null >"$d/out" 2>"$d/err"
	local rc=$? wall
	wall=$(ms_since "$t0")
	local pat missing=()
	for pat in "$@"; do grep -q -- "$pat" "$d/out" || missing+=("$pat"); done
	if [ "$rc" -eq "$want" ] && [ ${#missing[@]} -eq 0 ]; then
		ok "probe, $name: exit $rc in $wall ms: $(grep -v '^[0-9a-f.:]* (lo)' "$d/out" | tr -s ' \n' ' ')"
	else
		not_ok "probe, $name: exit $rc (wanted $want), missing: ${missing[*]:-nothing}"
		sed 's/^/    | out: /' "$d/out"
		sed 's/^/    | err: /' "$d/err"
	fi
}

# ---------------------------------------------------------------- scenarios
s0() {
	echo "# 0. NAT behaviour discovery: rtcpeer probe against coturn's two addresses"
	probe "endpoint-independent NAT" "$HOST_A" 0 "public address 203.0.113.10:" \
		"mapping: endpoint-independent" "filtering: address and port-dependent"
	nat_type "$NAT_B" symmetric
	probe "symmetric NAT" "$HOST_B" 0 "public address 203.0.113.20:" \
		"mapping: address and port-dependent" "verdict: symmetric NAT"
	in_ns "$NAT_A" iptables -A SCENARIO -i lan -p udp -j DROP
	probe "UDP blocked" "$HOST_A" 10 "no answer"
}

s1() {
	echo "# 1. endpoint-independent NATs on both sides: a direct srflx/prflx path, no relay"
	call "EIM/EIM with STUN and TURN available" direct \
		--stun "$STUN" --turn "$TURN_UDP" -- --stun "$STUN" --turn "$TURN_UDP"
}

s2() {
	echo "# 2. symmetric NATs (MASQUERADE --random-fully) on both sides: only a relay works"
	nat_type "$NAT_A" symmetric
	nat_type "$NAT_B" symmetric
	call "symmetric/symmetric through TURN/UDP" relay \
		--stun "$STUN" --turn "$TURN_UDP" -- --stun "$STUN" --turn "$TURN_UDP"
}

s3() {
	echo "# 3. UDP blocked at site A's NAT: TURN over TCP and over TLS"
	in_ns "$NAT_A" iptables -A SCENARIO -i lan -p udp -j DROP
	call "UDP blocked at A, TURN over TCP" local-relay \
		--stun "$STUN" --turn "$TURN_TCP" -- --stun "$STUN" --turn "$TURN_UDP"
	if [ "$have_tls" -eq 1 ]; then
		call "UDP blocked at A, TURN over TLS" local-relay \
			--stun "$STUN" --turn "$TURN_TLS" --turn-ca "$T/cert.pem" -- \
			--stun "$STUN" --turn "$TURN_UDP"
	else
		echo "SKIP: TURN over TLS: openssl cannot make a certificate here"
	fi
}

s4() {
	echo "# 4. --ice-policy relay on both sides behind endpoint-independent NATs"
	call "relay-only policy on both sides" relay \
		--ice-policy relay --stun "$STUN" --turn "$TURN_UDP" -- \
		--ice-policy relay --stun "$STUN" --turn "$TURN_UDP"
}

s5() {
	echo "# 5. site B drops off the network mid-call: A must give up with exit 10 within 30 s"
	local d=$T/$((++CALLS))_unreachable
	start_call "$d" --stun "$STUN" -- --stun "$STUN"
	if ! wait_established "$d" 20; then
		not_ok "peer unreachable: the call did not establish"
		stop_call
		show_logs "$d"
		return
	fi
	sleep 1 # a second of established call
	# Site B's router now drops everything, both ways (like a pulled cable behind the NAT).
	in_ns "$NAT_B" iptables -A SCENARIO -i lan -j DROP
	in_ns "$NAT_B" iptables -A SCENARIO -o lan -j DROP
	local cut orc arc gone_ms
	cut=$(date +%s%N)
	printf "%6d ms  (test) site B cut off\n" "$(ms_since "$CALL_T0")" >>"$d/offer.err"
	wait "$OFFER_PID"
	orc=$?
	gone_ms=$(ms_since "$cut")
	# B cannot reach A either and must come to the same end (bounded by its timeout).
	wait "$ANSWER_PID"
	arc=$?
	# Consent expires 30 s after the last answered check (RFC 7675), which came before the cut.
	if [ "$orc" -eq 10 ] && grep -q 'error: peer unreachable' "$d/offer.err" &&
		[ "$gone_ms" -le 30000 ] && [ "$arc" -eq 10 ]; then
		local disc cutms
		disc=$(when "$d/offer.err" 'ICE disconnected')
		cutms=$(when "$d/offer.err" 'site B cut off')
		ok "peer unreachable: $(pair "$d/offer.err") established" \
			"$(when "$d/offer.err" 'session established') ms after start; A said" \
			"'ICE disconnected' $((${disc:-0} - ${cutms:-0})) ms after the cut and exited 10" \
			"after ${gone_ms} ms: $(grep -o 'error: .*' "$d/offer.err" | tail -1); B exited 10 too"
	else
		not_ok "peer unreachable: A exited $orc ${gone_ms} ms after the cut (wanted 10 within" \
			"30000 ms), B exited $arc (wanted 10)"
		show_logs "$d"
	fi
}

s6() {
	echo "# 6. 10% random loss each way through site A's router (raw table): the call still connects"
	in_ns "$NAT_A" iptables -t raw -A PREROUTING -m statistic --mode random --probability 0.1 \
		-j DROP
	local name="10% loss each way at A" d=$T/$((++CALLS))_loss
	# Long enough for the DTLS client to retransmit its last flight if the server's is lost.
	start_call "$d" --duration 5 --stun "$STUN" --turn "$TURN_UDP" -- \
		--stun "$STUN" --turn "$TURN_UDP"
	wait_established "$d" 30
	# The hang-up (one DTLS close_notify) is not retransmitted: it goes over a clean link.
	in_ns "$NAT_A" iptables -t raw -F PREROUTING
	printf "%6d ms  (test) loss off\n" "$(ms_since "$CALL_T0")" >>"$d/offer.err"
	finish_call "$name" any "$d"
}

s7() {
	echo "# 7. both sites number their LAN 10.1.0.0/24: each peer's host address is also the other's"
	# Renumber site B like site A (as two home routers with the same default LAN would be).
	must ip -n "$HOST_B" addr flush dev eth0
	must ip -n "$NAT_B" addr flush dev lan
	must ip -n "$NAT_B" addr add 10.1.0.1/24 dev lan
	must ip -n "$HOST_B" addr add 10.1.0.2/24 dev eth0
	must ip -n "$HOST_B" route replace default via 10.1.0.1
	call "same private addresses at both sites" direct \
		--stun "$STUN" --turn "$TURN_UDP" -- --stun "$STUN" --turn "$TURN_UDP"
	must ip -n "$HOST_B" addr flush dev eth0
	must ip -n "$NAT_B" addr flush dev lan
	must ip -n "$NAT_B" addr add 10.2.0.1/24 dev lan
	must ip -n "$HOST_B" addr add 10.2.0.2/24 dev eth0
	must ip -n "$HOST_B" route replace default via 10.2.0.1
}

# RTCPEER_NETNS_ONLY="1 5" runs only those scenarios; RTCPEER_NETNS_REPEAT=N runs them N times.
CALLS=0
for _ in $(seq "${RTCPEER_NETNS_REPEAT:-1}"); do
	for n in ${RTCPEER_NETNS_ONLY:-0 1 2 3 4 5 6 7}; do
		reset_scenario
		"s$n"
	done
done

echo "# whole script: $(ms_since "$T0") ms"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
