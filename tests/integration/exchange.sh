#!/usr/bin/env bash
# Offer/answer between two rtcpeer processes: through a FIFO, with --compact, with
# --signal-in/--signal-out files and FIFOs (including one that appears later), and fd:N.
. "$(dirname "$0")/lib.sh"

valid_sdp() { # FILE: starts with v=0, has our fingerprint and a data section, ends with an empty line
	head -1 "$1" | grep -q '^v=0' && grep -q '^a=fingerprint:sha-256 ' "$1" &&
		grep -q '^m=application [0-9]* UDP/DTLS/SCTP webrtc-datachannel' "$1" &&
		[ -z "$(tail -1 "$1" | tr -d '\r')" ]
}

# An answerer whose offerer is gone: it writes the answer, then cannot connect. SIGTERM before
# the session is established must end it with exit 130.
answer_only() {
	timeout --preserve-status -s TERM 2 "$RTCPEER" answer -t 20 "$@"
	[ $? -eq 130 ]
}

# 1. Offer piped into answer, answer back through a FIFO.
mkfifo "$T/a"
"$RTCPEER" offer -t 20 --duration 0.5 <"$T/a" 2>"$T/offer.err" | tee "$T/offer.sdp" |
	"$RTCPEER" answer -t 20 2>"$T/answer.err" | tee "$T/answer.sdp" >"$T/a"
codes=("${PIPESTATUS[@]}")
if [ "${codes[0]}" -eq 0 ] && [ "${codes[2]}" -eq 0 ]; then ok "fifo exchange exits 0/0"; else
	not_ok "fifo exchange exits ${codes[*]}"; cat "$T/offer.err" "$T/answer.err"; fi
if valid_sdp "$T/offer.sdp" && valid_sdp "$T/answer.sdp"; then ok "offer and answer are framed SDP"; else
	not_ok "offer/answer not framed SDP"; fi
grep -q '^a=setup:actpass' "$T/offer.sdp" && grep -q '^a=setup:active' "$T/answer.sdp" &&
	ok "setup roles actpass/active" || not_ok "setup roles"
grep -q '^a=candidate:.* typ host' "$T/offer.sdp" && ok "offer has host candidates" || not_ok "no host candidates"
grep -q 'negotiated: ' "$T/offer.err" && ok "offerer reports the negotiated session" || not_ok "no report: $(cat "$T/offer.err")"

# The candidates are real: every announced UDP port is bound while the offerer runs.
mkfifo "$T/hold"
"$RTCPEER" offer -t 20 <"$T/hold" >"$T/live.sdp" 2>/dev/null &
pid=$!
exec 9>"$T/hold"
for _ in $(seq 50); do grep -q '^$' <(tr -d '\r' <"$T/live.sdp") 2>/dev/null && break; sleep 0.1; done
bad=0
while read -r ip port; do
	ss -uln | grep -q "[:.]$port " || { bad=1; echo "    port $ip $port not bound"; }
done < <(grep '^a=candidate:' "$T/live.sdp" | awk '{print $5, $6}')
[ "$bad" -eq 0 ] && ok "candidate ports are bound by the offerer" || not_ok "candidate ports not bound"
exec 9>&-
wait "$pid"
rc=$?
[ "$rc" -eq 5 ] && ok "offerer exits 5 when the answer FIFO closes empty" || not_ok "closed FIFO: exit $rc"
"$RTCPEER" offer -t 5 </dev/null >/dev/null 2>"$T/eof.err"
rc=$?
[ "$rc" -eq 5 ] && check_one_line "$T/eof.err" "offer with empty stdin exits 5" "input ended" ||
	not_ok "offer with empty stdin: exit $rc"

# 2. Compact tokens both ways.
rm -f "$T/a" && mkfifo "$T/a"
"$RTCPEER" offer -c -t 20 --duration 0.5 <"$T/a" 2>"$T/offer.err" | tee "$T/offer.tok" |
	"$RTCPEER" answer --compact -t 20 2>"$T/answer.err" | tee "$T/answer.tok" >"$T/a"
codes=("${PIPESTATUS[@]}")
[ "${codes[0]}" -eq 0 ] && [ "${codes[2]}" -eq 0 ] && ok "compact exchange exits 0/0" ||
	{ not_ok "compact exchange exits ${codes[*]}"; cat "$T/offer.err" "$T/answer.err"; }
[ "$(wc -l <"$T/offer.tok")" -eq 2 ] && grep -q '^rtcpeer1\.[A-Za-z0-9_-]*$' "$T/offer.tok" &&
	ok "compact offer is one token line + empty line" || not_ok "compact offer format"

# A token with line breaks pasted into it, and plain SDP read by a --compact answerer.
tok=$(head -1 "$T/offer.tok")
printf '  %s\n%s\n%s  \n' "${tok:0:20}" "${tok:20:30}" "${tok:50}" >"$T/broken.tok"
answer_only <"$T/broken.tok" >"$T/ans2.sdp" 2>"$T/ans2.err" &&
	valid_sdp "$T/ans2.sdp" && ok "token broken over lines is accepted" || not_ok "broken token: $(cat "$T/ans2.err")"
head -c 60 "$T/offer.tok" >"$T/trunc.tok"
"$RTCPEER" answer -t 5 <"$T/trunc.tok" >/dev/null 2>"$T/trunc.err"
rc=$?
[ "$rc" -eq 3 ] && check_one_line "$T/trunc.err" "truncated token exits 3" "damaged compact token" ||
	not_ok "truncated token: exit $rc"

# 3. --signal-in / --signal-out with files, one of which appears only later.
rm -f "$T/o.sdp" "$T/r.sdp"
"$RTCPEER" offer -t 20 --duration 0.5 --signal-out "$T/o.sdp" --signal-in "$T/r.sdp" 2>"$T/offer.err" &
opid=$!
sleep 1 # the answerer starts late: the offerer waits for r.sdp to appear
"$RTCPEER" answer -t 20 --signal-in "$T/o.sdp" --signal-out "$T/r.sdp" 2>"$T/answer.err"
arc=$?
wait "$opid"
orc=$?
[ "$orc" -eq 0 ] && [ "$arc" -eq 0 ] && ok "file signaling, answer file appears later" ||
	{ not_ok "file signaling: $orc/$arc"; cat "$T/offer.err" "$T/answer.err"; }

# 4. Two FIFOs named by --signal-in/--signal-out, stdout left free.
mkfifo "$T/f1" "$T/f2"
"$RTCPEER" answer -t 20 --signal-in "$T/f1" --signal-out "$T/f2" >"$T/answer.stdout" 2>"$T/answer.err" &
apid=$!
"$RTCPEER" offer -t 20 --duration 0.5 --signal-out "$T/f1" --signal-in "$T/f2" >"$T/offer.stdout" 2>"$T/offer.err"
orc=$?
wait "$apid"
arc=$?
[ "$orc" -eq 0 ] && [ "$arc" -eq 0 ] && [ ! -s "$T/offer.stdout" ] && [ ! -s "$T/answer.stdout" ] &&
	ok "FIFO signaling keeps stdout empty" || { not_ok "FIFO signaling: $orc/$arc"; cat "$T/offer.err" "$T/answer.err"; }

# 5. fd:N
"$RTCPEER" offer -t 5 --signal-out fd:7 7>"$T/fd.sdp" </dev/null 2>/dev/null
valid_sdp "$T/fd.sdp" && ok "--signal-out fd:7 writes the offer there" || not_ok "fd:7 output"
answer_only --signal-in fd:8 8<"$T/fd.sdp" </dev/null >"$T/fd.ans" 2>"$T/fd.err" &&
	valid_sdp "$T/fd.ans" && ok "--signal-in fd:8 reads the offer there" || not_ok "fd:8 input: $(cat "$T/fd.err")"

# 6. Patience: a slow paste (lines arriving over 2 s) and a timeout when nothing comes.
(
	while IFS= read -r line; do printf '%s\n' "$line"; sleep 0.05; done <"$T/offer.sdp"
) | answer_only >"$T/slow.ans" 2>"$T/slow.err" && valid_sdp "$T/slow.ans" &&
	ok "slow paste is accepted" || not_ok "slow paste: $(cat "$T/slow.err")"
sleep 5 | "$RTCPEER" answer -t 0.5 >/dev/null 2>"$T/to.err"
rc=${PIPESTATUS[1]}
[ "$rc" -eq 6 ] && check_one_line "$T/to.err" "timeout exits 6" "no offer within 0.5 s" || not_ok "timeout: exit $rc"

finish
