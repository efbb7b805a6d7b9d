#!/usr/bin/env bash
# --stats: JSON Lines with W3C webrtc-stats names, one object a second and a final one.
. "$(dirname "$0")/lib.sh"

head -c 2000000 /dev/urandom >"$T/in"
rm -f "$T/o2a" "$T/a2o" && mkfifo "$T/o2a" "$T/a2o"
"$RTCPEER" offer --data --stats "$T/o.jsonl" --signal-out "$T/o2a" --signal-in "$T/a2o" \
	< <(cat "$T/in"; sleep 2.5) >"$T/o.out" 2>"$T/o.err" &
op=$!
"$RTCPEER" answer --data --stats "$T/a.jsonl" --signal-in "$T/o2a" --signal-out "$T/a2o" \
	</dev/null >"$T/a.out" 2>"$T/a.err"
acode=$?
wait "$op"; ocode=$?
[ "$ocode" -eq 0 ] && [ "$acode" -eq 0 ] && ok "a --data call with --stats on both sides" ||
	{ not_ok "exits $ocode/$acode"; cat "$T/o.err" "$T/a.err"; }

python3 - "$T/o.jsonl" "$T/a.jsonl" <<'PY'
import json, sys
ok = True
def check(cond, what):
    global ok
    print(("ok - " if cond else "not ok - ") + what)
    ok = ok and cond
o = [json.loads(l) for l in open(sys.argv[1])]
a = [json.loads(l) for l in open(sys.argv[2])]
check(len(o) >= 3, f"offerer wrote {len(o)} lines (one a second and a final one)")
check(o[-1].get("final") is True and not any(x.get("final") for x in o[:-1]), "only the last line is final")
check(all(isinstance(x["timestamp"], int) for x in o), "every line has a timestamp")
last = {s["type"]: s for s in o[-1]["stats"]}
for t in ("transport", "candidate-pair", "local-candidate", "remote-candidate", "data-channel"):
    check(t in last, f"final object has a {t}")
tr, cp = last["transport"], last["candidate-pair"]
check(tr["dtlsState"] == "closed" and tr["iceState"] in ("connected", "completed", "closed"), f"transport states {tr['iceState']}/{tr['dtlsState']} at the end")
a_tr = {s["type"]: s for s in a[-1]["stats"]}["transport"]
check(a_tr["dtlsState"] == "closed", f"the answerer's transport ends {a_tr['dtlsState']} too")
check(tr.get("dtlsRole") in ("client", "server") and tr.get("srtpCipher") == "AES_CM_128_HMAC_SHA1_80", "dtlsRole and srtpCipher")
check(cp["nominated"] and cp["state"] == "succeeded" and cp["bytesSent"] > 2000000, f"candidate-pair nominated, bytesSent {cp['bytesSent']}")
check(last["local-candidate"]["candidateType"] == "host" and last["local-candidate"]["protocol"] == "udp", "local candidate host/udp")
ours = [s for s in o[-1]["stats"] if s["type"] == "data-channel" and s["label"] == "rtcpeer" and s["bytesSent"] > 0]
check(len(ours) == 1 and ours[0]["bytesSent"] == 2000000, "our data-channel counts the 2000000 bytes sent")
theirs = [s for s in a[-1]["stats"] if s["type"] == "data-channel" and s["bytesReceived"] > 0]
check(len(theirs) == 1 and theirs[0]["bytesReceived"] == 2000000 and theirs[0]["messagesReceived"] == ours[0]["messagesSent"], "the answerer counts the same bytes and messages received")
sys.exit(0 if ok else 1)
PY
[ $? -eq 0 ] && ok "stats content" || not_ok "stats content"

# The live status line: on a terminal only (script(1) gives the answerer one), redrawn in place.
if command -v script >/dev/null; then
	rm -f "$T/o2a" "$T/a2o" && mkfifo "$T/o2a" "$T/a2o"
	"$RTCPEER" offer --video test:160x120@15 --duration 3 --signal-out "$T/o2a" --signal-in "$T/a2o" \
		</dev/null >/dev/null 2>"$T/o.err" &
	op=$!
	script -qec "$RTCPEER answer --video-out /dev/null --signal-in $T/o2a --signal-out $T/a2o </dev/null >/dev/null" \
		"$T/tty" >/dev/null 2>&1
	wait "$op"
	if grep -q $'\r\e\[Krtcpeer: ICE [a-z]* host<->host.*fps in' "$T/tty"; then
		ok "status line on a terminal: $(grep -ao $'rtcpeer: ICE [^\r]*fps in [0-9]*' "$T/tty" | tail -1)"
	else
		not_ok "no status line on a terminal: $(tr '\r\033' '|~' <"$T/tty" | tail -c 400)"
	fi
	grep -q $'\e\[K' "$T/o.err" && not_ok "status line drawn on a non-terminal stderr" ||
		ok "no status line when stderr is a file"

	# --preview draws the received pictures on the terminal in 24-bit colour half blocks.
	rm -f "$T/o2a" "$T/a2o" && mkfifo "$T/o2a" "$T/a2o"
	"$RTCPEER" offer --video test:160x120@15 --duration 2 --signal-out "$T/o2a" --signal-in "$T/a2o" \
		</dev/null >/dev/null 2>"$T/o.err" &
	op=$!
	script -qec "stty cols 80 rows 24; $RTCPEER answer --preview --signal-in $T/o2a --signal-out $T/a2o </dev/null" \
		"$T/tty" >/dev/null 2>&1
	wait "$op"
	cells=$(grep -ao '▀' "$T/tty" | wc -l)
	if [ "$cells" -gt 1000 ] && grep -aq $'\e\[48;2;[0-9]*;[0-9]*;[0-9]*m' "$T/tty"; then
		ok "--preview drew $cells half-block cells in 24-bit colour"
	else
		not_ok "--preview drew $cells cells"
	fi
fi

# RFC 8888 feedback between two rtcpeers: the offerer offers only ccfb (RTCPEER_FEEDBACK=ccfb),
# so neither side has transport-cc; the offerer's estimate must still follow a 600 kbit/s
# bottleneck on the answerer (without any transport feedback it would start at the configured
# 1650 kbit/s and only loss would bring it down).
rm -f "$T/o2a" "$T/a2o" && mkfifo "$T/o2a" "$T/a2o"
RTCPEER_FEEDBACK=ccfb "$RTCPEER" offer --video test:320x240@30 --video-bitrate 1500 --duration 8 \
	--stats "$T/co.jsonl" --signal-out "$T/o2a" --signal-in "$T/a2o" </dev/null >/dev/null 2>"$T/co.err" &
op=$!
"$RTCPEER" answer --record-video "$T/ca.ivf" --impair rate=600kbit,delay=20ms \
	--signal-in "$T/o2a" --signal-out "$T/a2o" </dev/null >/dev/null 2>"$T/ca.err"
acode=$?
wait "$op"; ocode=$?
if [ "$ocode" -eq 0 ] && [ "$acode" -eq 0 ]; then
	python3 - "$T/co.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
cps = [s for r in rows for s in r["stats"] if s["type"] == "candidate-pair" and "availableOutgoingBitrate" in s]
late = [s["availableOutgoingBitrate"] for s in cps[3:]]
kinds = {s.get("rtcpeerBweFeedback") for s in cps[1:]}
mean = sum(late) / len(late) if late else 0
good = kinds == {"ccfb"} and 200000 <= mean <= 900000
print(("ok - " if good else "not ok - ") + f"ccfb: feedback {sorted(map(str, kinds))}, availableOutgoingBitrate "
      f"{mean / 1e3:.0f} kbit/s from 3 s on (min {min(late or [0]) / 1e3:.0f}, max {max(late or [0]) / 1e3:.0f}) "
      "through a 600 kbit/s bottleneck")
sys.exit(0 if good else 1)
PY
	[ $? -eq 0 ] && passed=$((passed + 1)) || failed=$((failed + 1))
else
	not_ok "ccfb call exits $ocode/$acode"
	tail -3 "$T/co.err" "$T/ca.err"
fi

# "--stats -" would mix with --data on stdout.
"$RTCPEER" offer --data --stats - </dev/null >/dev/null 2>"$T/err"
[ $? -eq 2 ] && check_one_line "$T/err" "--stats - with --data refused" "would mix" || not_ok "--stats - --data accepted"
"$RTCPEER" offer --stats /nonexistent/dir/x.jsonl </dev/null >/dev/null 2>"$T/err"
[ $? -eq 2 ] && check_one_line "$T/err" "unwritable --stats file refused" "No such file" || not_ok "bad --stats path"
finish
