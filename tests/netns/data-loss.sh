#!/bin/bash
# Data channels under packet loss: two rtcpeer processes in network namespaces
# with a router namespace between them that drops 10 % of the packets it
# forwards, in both directions (iptables, raw table, PREROUTING).
#
#   data-loss.sh RTCPEER
#
#   hosta 10.71.1.2 ── 10.71.1.1 router 10.71.2.1 ── 10.71.2.2 hostb
#
# 1. reliable: `rtcpeer offer --data` in hosta sends DATA_SIZE (default 5 MB)
#    random bytes to `rtcpeer answer --data` in hostb (whose own channel sends
#    nothing): hostb's standard output must be byte-exact, both must exit 0
#    within RELIABLE_LIMIT seconds (default 120).
# 2. unreliable: `--unordered --max-retransmits 0` on the sender, whose
#    standard input is a SOCK_SEQPACKET socket carrying N = DATA_SIZE / 1000
#    self-describing 1000-byte records, one per packet, about 1 ms apart:
#    rtcpeer sends each read as one message, and on a partially reliable
#    channel no message is larger than one SCTP packet, so every record is
#    exactly one message in one DATA packet. Both must exit 0 within
#    UNRELIABLE_LIMIT seconds (default 60), no record may arrive damaged or
#    twice, and the number that arrive must lie in N*p +- 5*sqrt(N*p*(1-p)),
#    p = 1 - LOSS: the router drops each packet on its own with probability
#    LOSS and a dropped record is never sent again, so the count is binomial
#    (for N = 5000, LOSS = 0.1: 4393..4607 records, 87.9..92.1 %). Fewer means
#    records were lost beyond the network (receive buffers, misfiled or
#    abandoned messages, an aborted association); more means they were
#    retransmitted despite max-retransmits 0.
# The loss is on from the start (ICE, DTLS and SCTP set-up included), and is
# lifted once the receiver has logged "sent N bytes, received M bytes" so
# that the DTLS close_notify of the hang-up is not lost.
#
# Needs root, `ip netns`, iptables with the raw table and the statistic match;
# otherwise "SKIP: <reason>" and exit 77. Nothing has a route out of the
# namespaces; an EXIT trap kills what the script started and deletes them.
# Environment: DATA_SIZE, LOSS (probability, default 0.1), RELIABLE_LIMIT,
# UNRELIABLE_LIMIT, PYTHON (default /usr/bin/python3), KEEP_TMP=1.
# Case 2 used to stall in about one run of four (the sender's rate collapsed): a
# handshake packet lost under this loss left usrsctp's RTO at seconds, and it
# never measured the RTT again once PR-SCTP abandoned a timed chunk. The SCTP
# glue now gives it RTT samples by heartbeat (sctp_probe_rtt in src/sctp/sctp.c),
# and the case gates like the other.
set -u

LOSS=${LOSS:-0.1}
DATA_SIZE=${DATA_SIZE:-5000000}
RELIABLE_LIMIT=${RELIABLE_LIMIT:-120}
UNRELIABLE_LIMIT=${UNRELIABLE_LIMIT:-60}
PYTHON=${PYTHON:-/usr/bin/python3}

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 RTCPEER" >&2
    exit 2
fi
rtcpeer=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")

skip() {
    echo "SKIP: $*"
    exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
command -v ip >/dev/null 2>&1 || skip "no ip (package iproute2)"
command -v iptables >/dev/null 2>&1 || skip "no iptables (package iptables)"
[ -x "$PYTHON" ] || skip "no $PYTHON (package python3)"

id=rtcloss-$$-$RANDOM
A=$id-a
R=$id-r
B=$id-b
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rtcpeer-data-loss.XXXXXX")
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null
    done
    wait 2>/dev/null
    for ns in "$A" "$R" "$B"; do
        ip netns del "$ns" 2>/dev/null
    done
    if [ "${KEEP_TMP:-0}" = 1 ] || [ "${failed:-0}" != 0 ]; then
        echo "data-loss: files kept in $tmp"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$A" 2>/dev/null || skip "cannot create network namespaces (ip netns add)"
ip netns add "$R" && ip netns add "$B" || { echo "FAIL: ip netns add"; exit 1; }
setup() {
    local ns
    for ns in "$A" "$R" "$B"; do
        ip -n "$ns" link set lo up || return 1
    done
    ip -n "$A" link add veth0 type veth peer name a0 netns "$R" || return 1
    ip -n "$B" link add veth0 type veth peer name b0 netns "$R" || return 1
    ip -n "$A" addr add 10.71.1.2/24 dev veth0 &&
        ip -n "$R" addr add 10.71.1.1/24 dev a0 &&
        ip -n "$R" addr add 10.71.2.1/24 dev b0 &&
        ip -n "$B" addr add 10.71.2.2/24 dev veth0 || return 1
    for ns in "$A" "$B"; do
        ip -n "$ns" link set veth0 up || return 1
    done
    ip -n "$A" route replace default via 10.71.1.1 &&
        ip -n "$B" route replace default via 10.71.2.1 || return 1
    ip -n "$R" link set a0 up && ip -n "$R" link set b0 up || return 1
    ip netns exec "$R" sysctl -qw net.ipv4.ip_forward=1 || return 1
    # No IPv6 in the hosts: rtcpeer gathers only the 10.71.x.2 addresses.
    for ns in "$A" "$B"; do
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 2>/dev/null
    done
    return 0
}
setup || { echo "FAIL: setting up the namespaces"; exit 1; }
loss_on() {
    ip netns exec "$R" iptables -t raw -A PREROUTING -m statistic --mode random \
        --probability "$LOSS" -j DROP
}
loss_off() {
    ip netns exec "$R" iptables -t raw -F PREROUTING
}
loss_on 2>"$tmp/iptables.err" ||
    skip "iptables in a namespace cannot use the raw table / statistic match: $(head -n 1 "$tmp/iptables.err")"
loss_off

head -c "$DATA_SIZE" /dev/urandom >"$tmp/input"
failed=0

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# UDP counters of a namespace since it was made: "OUT IN RCVBUF-ERRORS SNDBUF-ERRORS"
udp_counts() {
    ip netns exec "$1" awk '/^Udp:/ { if (h) { print $5, $2, $6, $7 } else h = 1 }' /proc/net/snmp
}
# udp_delta BEFORE AFTER: what one transfer added to the counters
udp_delta() {
    awk -v b="$1" -v a="$2" 'BEGIN { split(b, x, " "); split(a, y, " ");
        printf "out %d in %d rcvbuf-errors %d sndbuf-errors %d", y[1] - x[1], y[2] - x[2], y[3] - x[3], y[4] - x[4] }'
}

# counters of the DROP rule: packets dropped
dropped() {
    ip netns exec "$R" iptables -t raw -L PREROUTING -v -x -n 2>/dev/null |
        awk '/DROP/ { print $1; exit }'
}

# transfer NAME LIMIT SENDER_ARGS...: hosta sends the input to hostb; with
# $feeder set ("SCRIPT ARGS"), the sender runs under `$PYTHON SCRIPT ARGS
# SENDER_LOG -- COMMAND`, which gives it its standard input. Sets rc_a, rc_b,
# secs, received (bytes), udp_a and udp_b (what this transfer added to each
# host's UDP counters) and leaves the files in $tmp/NAME.
transfer() {
    local name=$1 limit=$2
    shift 2
    local d=$tmp/$name
    mkdir -p "$d"
    mkfifo "$d/o2a" "$d/a2o"
    : >"$d/offer.err"
    loss_off
    loss_on
    local t0 t1 ua0 ub0
    ua0=$(udp_counts "$A")
    ub0=$(udp_counts "$B")
    t0=$(now_ms)
    local -a offer=(ip netns exec "$A" timeout "$limit" "$rtcpeer" offer --data "$@" -v
        --signal-out "$d/o2a" --signal-in "$d/a2o")
    if [ -n "${feeder:-}" ]; then
        local -a f
        read -r -a f <<<"$feeder"
        "$PYTHON" "${f[@]}" "$d/offer.err" -- "${offer[@]}" >/dev/null 2>>"$d/offer.err" &
    else
        "${offer[@]}" <"$tmp/input" >/dev/null 2>>"$d/offer.err" &
    fi
    local pa=$!
    ip netns exec "$B" timeout "$limit" "$rtcpeer" answer --data -v \
        --signal-in "$d/o2a" --signal-out "$d/a2o" </dev/null >"$d/output" 2>"$d/answer.err" &
    local pb=$!
    pids=("$pa" "$pb")
    # Lift the loss once the receiver has everything it will get (its
    # "sent/received" line), so the hang-up's close_notify gets through.
    local lifted=0
    while kill -0 "$pa" 2>/dev/null || kill -0 "$pb" 2>/dev/null; do
        if [ $lifted = 0 ] && grep -q 'sent [0-9]* bytes, received [0-9]* bytes' "$d/answer.err"; then
            drops=$(dropped)
            loss_off
            lifted=1
        fi
        sleep 0.05
    done
    [ $lifted = 1 ] || drops=$(dropped)
    wait "$pa"
    rc_a=$?
    wait "$pb"
    rc_b=$?
    pids=()
    t1=$(now_ms)
    # UDP drops inside the hosts (not the router's): receive/send buffer overflows
    udp_a=$(udp_delta "$ua0" "$(udp_counts "$A")")
    udp_b=$(udp_delta "$ub0" "$(udp_counts "$B")")
    loss_off
    secs=$(awk -v ms=$((t1 - t0)) 'BEGIN { printf "%.1f", ms / 1000 }')
    received=$(wc -c <"$d/output")
}

show() {
    local d=$tmp/$1
    echo "    UDP in hosta (sender): $udp_a; in hostb (receiver): $udp_b"
    echo "    offerer (sender):"
    grep -v -e ' ice debug' -e ' net debug' "$d/offer.err" | tail -n 12 | sed 's/^/      /'
    echo "    answerer (receiver):"
    grep -v -e ' ice debug' -e ' net debug' "$d/answer.err" | tail -n 12 | sed 's/^/      /'
}

# 1. reliable
transfer reliable "$RELIABLE_LIMIT"
why=()
[ "$rc_a" = 0 ] || why+=("sender exit $rc_a")
[ "$rc_b" = 0 ] || why+=("receiver exit $rc_b")
cmp -s "$tmp/input" "$tmp/reliable/output" ||
    why+=("receiver's output ($received bytes) is not the input ($DATA_SIZE bytes): $(cmp "$tmp/input" "$tmp/reliable/output" 2>&1 | head -n 1)")
if [ ${#why[@]} -eq 0 ]; then
    echo "PASS: reliable, $LOSS loss each way: $DATA_SIZE bytes byte-exact in $secs s ($drops packets dropped before the loss was lifted)"
    grep -o 'DTLS connected in [0-9.]* ms' "$tmp/reliable/offer.err" | head -n 1 | sed 's/^/    offerer: /'
else
    failed=1
    echo "FAIL: reliable, $LOSS loss each way, after $secs s: $(IFS=';'; echo "${why[*]}" | sed 's/;/; /g')"
    show reliable
fi

# 2. unreliable, unordered: the records go in through a SOCK_SEQPACKET socket
# (feed.py), which keeps each write a read of its own, so each is one message;
# on a partially reliable channel rtcpeer never makes a message larger than one
# packet. Each record is self-describing (magic, index, payload derived from
# the index), so the receiver's output is checked record by record.
records=$((DATA_SIZE / 1000))
"$PYTHON" - "$tmp/records" "$records" <<'EOF'
import hashlib, struct, sys
with open(sys.argv[1], "wb") as f:
    for i in range(int(sys.argv[2])):
        body = (hashlib.sha256(struct.pack(">I", i)).digest() * 31)[:992]
        f.write(b"RTCP" + struct.pack(">I", i) + body)
EOF
# feed.py RECORDS SENDER_LOG -- COMMAND...: runs COMMAND with a SOCK_SEQPACKET
# socket as its standard input; once the sender's channel is open, writes the
# records one per packet about 1 ms apart, then closes the socket (end of input).
cat >"$tmp/feed.py" <<'EOF'
import signal, socket, subprocess, sys, time
records, log = sys.argv[1], sys.argv[2]
cmd = sys.argv[sys.argv.index("--") + 1:]
ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
child = subprocess.Popen(cmd, stdin=theirs)
theirs.close()
def stop(*_):
    child.terminate()
    sys.exit(143)
signal.signal(signal.SIGTERM, stop)
deadline = time.monotonic() + 30
while time.monotonic() < deadline and child.poll() is None:
    try:
        if b"sending standard input" in open(log, "rb").read():
            break
    except OSError:
        pass
    time.sleep(0.01)
data = open(records, "rb").read()
for i in range(0, len(data), 1000):
    if child.poll() is not None:
        break
    try:
        ours.send(data[i:i + 1000])
    except OSError:
        break
    time.sleep(0.001)
ours.close()
sys.exit(child.wait())
EOF
feeder="$tmp/feed.py $tmp/records" transfer unreliable "$UNRELIABLE_LIMIT" --unordered --max-retransmits 0
why=()
[ "$rc_a" = 0 ] || why+=("sender exit $rc_a (124: still running after ${UNRELIABLE_LIMIT} s)")
[ "$rc_b" = 0 ] || why+=("receiver exit $rc_b (124: still running after ${UNRELIABLE_LIMIT} s)")
check=$("$PYTHON" - "$tmp/unreliable/output" "$records" 2>&1 <<'EOF'
import hashlib, struct, sys
out = open(sys.argv[1], "rb").read()
n = int(sys.argv[2])
seen, bad, pos = set(), 0, 0
while pos < len(out):
    rec = out[pos:pos + 1000]
    i = struct.unpack(">I", rec[4:8])[0] if len(rec) == 1000 else n
    if rec[:4] == b"RTCP" and i < n and i not in seen and \
            rec[8:] == (hashlib.sha256(struct.pack(">I", i)).digest() * 31)[:992]:
        seen.add(i)
        pos += 1000
        continue
    bad += 1  # damaged, cut or delivered twice: skip to the next magic
    nxt = out.find(b"RTCP", pos + 1)
    pos = len(out) if nxt < 0 else nxt
print(len(seen), bad)
EOF
)
read -r got bad <<<"$check"
case "$got$bad" in *[!0-9]*|"") why+=("cannot check the output: $check"); got=0 bad=0 ;; esac
# The binomial band described at the top: mean N*p, five standard deviations.
read -r lo hi <<<"$(awk -v n="$records" -v loss="$LOSS" 'BEGIN { p = 1 - loss;
    sd = sqrt(n * p * (1 - p)); print int(n * p - 5 * sd), int(n * p + 5 * sd + 0.999999) }')"
pct=$(awk -v r="$got" -v n="$records" 'BEGIN { printf "%.1f", 100 * r / n }')
if [ "$got" -lt "$lo" ]; then
    why+=("only $got of $records records ($pct %) arrived, expected $lo..$hi with $LOSS loss: records were lost beyond the network")
elif [ "$got" -gt "$hi" ]; then
    why+=("$got of $records records ($pct %) arrived, expected $lo..$hi with $LOSS loss: lost records were retransmitted")
fi
[ "$bad" = 0 ] || why+=("$bad damaged, cut or duplicated records")
if [ ${#why[@]} -eq 0 ]; then
    echo "PASS: unordered, max-retransmits 0, $LOSS loss each way: $got of $records 1000-byte records ($pct %, expected $lo..$hi) in $secs s, none damaged ($drops packets dropped)"
    echo "    UDP in hosta (sender): $udp_a; in hostb (receiver): $udp_b"
else
    failed=1
    echo "FAIL: unordered, max-retransmits 0, $LOSS loss each way, after $secs s: $(IFS=';'; echo "${why[*]}" | sed 's/;/; /g')"
    show unreliable
fi

[ "$failed" = 0 ]
