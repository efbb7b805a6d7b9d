#!/bin/bash
# Data-channel interop between rtcpeer --data and real WebRTC stacks (aiortc,
# headless Chromium), both roles.
#
#   run-data.sh RTCPEER
#
# For every available stack:
#   rtcpeer offer --data        -> peer answer --data-test
#   peer offer --data-only --data-test -> rtcpeer answer --data
# Signaling goes through two FIFOs (rtcpeer's --signal-in/--signal-out, the
# peer's stdin/stdout), so rtcpeer's stdin and stdout carry only data.
#
# Each side opens one channel of its own and the other side's channel is the
# one it writes out, so "a channel the other side opened" is exercised both
# ways in every exchange:
#   - rtcpeer sends its standard input (INPUT_SIZE random bytes, default
#     1000003: not a multiple of its 64 KiB messages) and closes its channel at
#     the end of input;
#   - the peer (--data-test) sends a string message (UTF-8 text with non-ASCII
#     characters), an empty string, the 256 bytes 00..ff as one binary message,
#     an empty binary message, then PEER_SIZE random bytes (default 1 MiB) in
#     64 KiB binary messages, and closes its channel.
# An exchange passes when
#   - rtcpeer exits 0 and its standard output is exactly the peer's bytes
#     (text + 00..ff + the bulk data, concatenated: empty messages add nothing),
#   - the peer exits 0: it received exactly rtcpeer's input (sha256 given on
#     its command line; its copy is compared too), and both its own channel and
#     rtcpeer's channel ended closed,
#   - rtcpeer's log names the peer's channel and says "sent N bytes, received
#     M bytes" with the right N and M.
#
# A stack whose packages are missing prints "SKIP: <stack>: <reason>"; exit 77
# when every stack is skipped, 1 when an exchange failed, 0 otherwise. Every
# program is bounded by `timeout`.
#
# Environment: PYTHON (default /usr/bin/python3), NODE (default node), STACKS
# (subset of "aiortc chromium", default both), EXCHANGE_TIMEOUT (seconds per
# program, default 60), PEER_TIMEOUT (the peers' --timeout, default 20),
# INPUT_SIZE, PEER_SIZE (bytes), RTCPEER_ARGS (extra arguments to rtcpeer),
# REPEAT (run every exchange N times, default 1), KEEP_TMP=1.
set -u

here=$(cd "$(dirname "$0")" && pwd)
PYTHON=${PYTHON:-/usr/bin/python3}
NODE=${NODE:-node}
EXCHANGE_TIMEOUT=${EXCHANGE_TIMEOUT:-60}
PEER_TIMEOUT=${PEER_TIMEOUT:-20}
STACKS=${STACKS:-aiortc chromium}
INPUT_SIZE=${INPUT_SIZE:-1000003}
PEER_SIZE=${PEER_SIZE:-1048576}
REPEAT=${REPEAT:-1}

case ${1:-} in
    ""|-h|--help)
        echo "usage: $0 RTCPEER" >&2
        exit 2
        ;;
esac
rtcpeer=$1
if [ ! -x "$rtcpeer" ]; then
    echo "run-data: $rtcpeer is not an executable" >&2
    exit 2
fi
rtcpeer=$(cd "$(dirname "$rtcpeer")" && pwd)/$(basename "$rtcpeer")
read -r -a rtcpeer_args <<<"${RTCPEER_ARGS:-}"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rtcpeer-data.XXXXXX")
cleanup() {
    local p
    for p in $(jobs -p); do
        kill "$p" 2>/dev/null
    done
    wait 2>/dev/null
    if [ "${KEEP_TMP:-0}" = 1 ]; then
        echo "run-data: kept $tmp"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- which stacks are here -----------------------------------------------
UNSUPPORTED_STACKS="gstreamer pion"
UNSUPPORTED_REASON="no --data-test mode in its interop peer"
. "$here/stacks.sh"
find_stacks data

# ---- test data -------------------------------------------------------------
head -c "$INPUT_SIZE" /dev/urandom >"$tmp/rtcpeer.in"
head -c "$PEER_SIZE" /dev/urandom >"$tmp/peer.in"
rtcpeer_sha=$(sha256sum "$tmp/rtcpeer.in" | cut -c 1-64)
# 256 bytes 00..ff
printf "$(printf '\\%03o' $(seq 0 255))" >"$tmp/bytes256"
if [ "$(wc -c <"$tmp/bytes256")" != 256 ]; then
    echo "run-data: cannot make the 256-byte message" >&2
    exit 2
fi

passed=0
failed=0
n=0
now_ms() { echo $(($(date +%s%N) / 1000000)); }

show_logs() {
    local d=$1
    grep -v -e ' ice debug: ' -e ' net debug: ' "$d/rtcpeer.err" | sed 's/^/    rtcpeer: /' | tail -n 25
    sed 's/^/    peer: /' "$d/peer.err" | tail -n 15
    echo "    (KEEP_TMP=1 keeps every file in $d)"
}

# exchange STACK ROLE PEER_CMD...: ROLE "offer" (rtcpeer offers) or "answer"
# (the peer offers a data channel only).
exchange() {
    local stack=$1 role=$2
    shift 2
    local -a peer=("$@")
    n=$((n + 1))
    local d=$tmp/$n name
    mkdir -p "$d"
    mkfifo "$d/to_peer" "$d/to_rtcpeer"
    local text="héllo from $stack ✓ ($role)"
    { printf '%s' "$text"; cat "$tmp/bytes256" "$tmp/peer.in"; } >"$d/expected.out"
    local -a pargs=(--data-test --timeout "$PEER_TIMEOUT" --text "$text"
        --send-file "$tmp/peer.in" --recv-out "$d/peer.out" --expect-sha256 "$rtcpeer_sha")
    local t0 t1 rc pc
    t0=$(now_ms)
    if [ "$role" = offer ]; then
        name="rtcpeer offer -> $stack answer (rtcpeer DTLS server)"
        timeout "$EXCHANGE_TIMEOUT" "$rtcpeer" offer --data -v "${rtcpeer_args[@]}" \
            --signal-out "$d/to_peer" --signal-in "$d/to_rtcpeer" \
            <"$tmp/rtcpeer.in" >"$d/rtcpeer.out" 2>"$d/rtcpeer.err" &
        local rpid=$!
        timeout "$EXCHANGE_TIMEOUT" "${peer[@]}" answer "${pargs[@]}" \
            <"$d/to_peer" >"$d/to_rtcpeer" 2>"$d/peer.err"
        pc=$?
        wait "$rpid"
        rc=$?
    else
        name="$stack offer -> rtcpeer answer (rtcpeer DTLS client)"
        # 0<>: opening the FIFO read-write does not wait for rtcpeer.
        timeout "$EXCHANGE_TIMEOUT" "${peer[@]}" offer --data-only "${pargs[@]}" \
            0<>"$d/to_peer" >"$d/to_rtcpeer" 2>"$d/peer.err" &
        local ppid=$!
        timeout "$EXCHANGE_TIMEOUT" "$rtcpeer" answer --data -v "${rtcpeer_args[@]}" \
            --signal-in "$d/to_rtcpeer" --signal-out "$d/to_peer" \
            <"$tmp/rtcpeer.in" >"$d/rtcpeer.out" 2>"$d/rtcpeer.err"
        rc=$?
        wait "$ppid"
        pc=$?
    fi
    t1=$(now_ms)
    local ms=$((t1 - t0)) why=() exp_len got_len
    exp_len=$(wc -c <"$d/expected.out")
    got_len=$(wc -c <"$d/rtcpeer.out")
    [ "$rc" = 0 ] || why+=("rtcpeer exit $rc")
    [ "$pc" = 0 ] || why+=("peer exit $pc")
    if ! cmp -s "$d/expected.out" "$d/rtcpeer.out"; then
        why+=("rtcpeer's stdout ($got_len bytes) differs from what $stack sent ($exp_len bytes): $(cmp "$d/expected.out" "$d/rtcpeer.out" 2>&1 | head -n 1)")
    fi
    if [ ! -f "$d/peer.out" ] || ! cmp -s "$tmp/rtcpeer.in" "$d/peer.out"; then
        why+=("$stack received $(wc -c <"$d/peer.out" 2>/dev/null || echo no) bytes, not exactly rtcpeer's $INPUT_SIZE")
    fi
    if ! grep -q "the peer opened data channel \"[a-z]*\": writing it to standard output" "$d/rtcpeer.err"; then
        why+=("rtcpeer did not log the peer's channel")
    fi
    if ! grep -q "sent $INPUT_SIZE bytes, received $exp_len bytes" "$d/rtcpeer.err"; then
        why+=("rtcpeer did not log \"sent $INPUT_SIZE bytes, received $exp_len bytes\"")
    fi
    if [ ${#why[@]} -eq 0 ]; then
        passed=$((passed + 1))
        echo "PASS: $name (${ms} ms)"
        grep -o 'DTLS connected in [0-9.]* ms' "$d/rtcpeer.err" | head -n 1 | sed 's/^/    rtcpeer: /'
        grep -o 'sent [0-9]* bytes, received [0-9]* bytes' "$d/rtcpeer.err" | sed 's/^/    rtcpeer: /'
        grep -e 'data: received' -e 'data: sent' -e 'data: our channel' "$d/peer.err" | tr -d '\r' | sed 's/^/    /'
        return 0
    fi
    failed=$((failed + 1))
    echo "FAIL: $name (${ms} ms): $(IFS=';'; echo "${why[*]}" | sed 's/;/; /g')"
    show_logs "$d"
    return 1
}

for ((k = 0; k < REPEAT; k++)); do
    for s in "${available[@]}"; do
        read -r -a p <<<"${peer_cmd[$s]}"
        exchange "$s" offer "${p[@]}"
        exchange "$s" answer "${p[@]}"
    done
done

echo "data: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
