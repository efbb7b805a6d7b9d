# Shared by the scripts that need a real TURN server: a temp dir, test counters, free ports,
# a self-signed certificate for TLS, and start_turn, which runs coturn on loopback with
# long-term credentials and waits (bounded) until it listens. Sourcing scripts stop every
# coturn in their EXIT trap through cleanup().
if ! command -v turnserver >/dev/null 2>&1; then
	echo "SKIP: turnserver (coturn) is not installed"
	exit 77
fi
if ! command -v ss >/dev/null 2>&1; then
	echo "SKIP: ss (iproute2) is needed to find free ports"
	exit 77
fi

T=$(mktemp -d)
TURN_PIDS=()
cleanup() {
	local pid
	for pid in "${TURN_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }

port_free() { [ -z "$(ss -Htuan "( sport = :$1 )" 2>/dev/null)" ]; }
free_port() {
	local p
	for _ in $(seq 200); do
		p=$((20000 + RANDOM % 30000))
		if port_free "$p"; then echo "$p"; return 0; fi
	done
	return 1
}

PORT=$(free_port) || { echo "SKIP: no free port found"; exit 77; }
TLS_PORT=$(free_port) || { echo "SKIP: no free port found"; exit 77; }
RELAY_MIN=$((50000 + RANDOM % 10000))
USER=rtc
PASS=s3cret-$RANDOM

# A throwaway CA-less self-signed certificate for TLS, valid for localhost and 127.0.0.1.
tls_args=(--no-tls)
have_tls=0
if command -v openssl >/dev/null 2>&1 &&
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
		-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
		-keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1; then
	tls_args=(--tls-listening-port="$TLS_PORT" --cert="$T/cert.pem" --pkey="$T/key.pem")
	have_tls=1
fi

# start_turn NAME PORT EXTRA_TCP_PORT ARGS...: runs coturn with our common flags and waits (bounded)
# until it listens on PORT (UDP and TCP) and EXTRA_TCP_PORT (TLS, or "" for none).
start_turn() {
	local name=$1 port=$2 tls_port=$3
	shift 3
	# Each server gets its own relay port range.
	local rmin=$((RELAY_MIN + ${#TURN_PIDS[@]} * 250))
	turnserver -n --listening-ip=127.0.0.1 --listening-port="$port" --relay-ip=127.0.0.1 \
		--min-port="$rmin" --max-port="$((rmin + 200))" --lt-cred-mech --user="$USER:$PASS" \
		--realm=rtcpeer.test --allow-loopback-peers --no-dtls --no-cli --fingerprint \
		--log-file=stdout --simple-log --pidfile="$T/$name.pid" --userdb="$T/$name.db" \
		"$@" >"$T/$name.log" 2>&1 &
	local pid=$!
	TURN_PIDS+=("$pid")
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		if [ -n "$(ss -Hlun "( sport = :$port )")" ] && [ -n "$(ss -Hltn "( sport = :$port )")" ] &&
			{ [ -z "$tls_port" ] || [ -n "$(ss -Hltn "( sport = :$tls_port )")" ]; }; then
			return 0
		fi
		sleep 0.1
	done
	echo "not ok - turnserver $name did not come up on 127.0.0.1:$port; its log:"
	tail -30 "$T/$name.log" | sed 's/^/    /'
	exit 1
}

