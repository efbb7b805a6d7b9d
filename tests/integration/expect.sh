#!/usr/bin/env bash
# Scripted calls: --expect on every kind of stats name, true and false, with the exit codes
# (0, 16, and a failed call's own code); unknown names refused before the call (exit 2);
# --summary with the final stats and setup times; a --duration 3 call that ends on both sides
# with exit 0 within a second of its deadline.
. "$(dirname "$0")/lib.sh"

# call NAME "OFFER OPTIONS" "ANSWER OPTIONS": a media call between two processes through FIFOs.
# Exit codes land in $T/NAME.{o,a}.rc, the wall clock (ns) at each exit in .end, stderr in .err.
call() {
	local name=$1 oopts=$2 aopts=$3
	rm -f "$T/o2a" "$T/a2o" && mkfifo "$T/o2a" "$T/a2o"
	# shellcheck disable=SC2086 # the option strings are word lists
	(
		timeout 60 "$RTCPEER" offer -t 20 --signal-out "$T/o2a" --signal-in "$T/a2o" $oopts \
			</dev/null >/dev/null 2>"$T/$name.o.err"
		echo $? >"$T/$name.o.rc"
		date +%s%N >"$T/$name.o.end"
	) &
	local op=$!
	# shellcheck disable=SC2086
	(
		timeout 60 "$RTCPEER" answer -t 20 --signal-in "$T/o2a" --signal-out "$T/a2o" $aopts \
			</dev/null >/dev/null 2>"$T/$name.a.err"
		echo $? >"$T/$name.a.rc"
		date +%s%N >"$T/$name.a.end"
	) &
	local ap=$!
	wait "$op" "$ap"
}

rc_of() { cat "$T/$1.rc" 2>/dev/null || echo none; }

# 1. An unknown name is a usage error before anything happens: no description is written.
for bad in inbound-rtp.video.framesDecodd'>='1 inbound-rtp.audio.framesDecoded'>='1 \
	nosuchtype.x=1 setup.firstFrame'<'2000 transport.iceState'<'3; do
	start=$(date +%s%N)
	"$RTCPEER" offer --expect "$bad" </dev/null >"$T/out" 2>"$T/err"
	rc=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	if [ "$rc" -eq 2 ] && [ ! -s "$T/out" ] && [ "$ms" -lt 1000 ]; then
		check_one_line "$T/err" "--expect $bad refused up front (exit 2, nothing written)" "--expect"
	else
		not_ok "--expect $bad: exit $rc, $(wc -c <"$T/out") bytes on stdout, $ms ms"
	fi
done
"$RTCPEER" offer --expect 'inbound-rtp.video.framesDecodd>=1' </dev/null >/dev/null 2>"$T/err"
grep -q 'framesDecoded' "$T/err" && ok "the refusal lists the known names" || not_ok "no name list: $(cat "$T/err")"

# 2. A --duration 3 media call where every condition holds: exit 0 on both sides, on time.
VIDEO="--video test --fps 30 --audio test"
RECV="--video-out /dev/null --record-audio /dev/null"
call pass "$VIDEO --duration 3 --summary $T/pass.o.json --stats $T/pass.o.jsonl
	--expect transport.dtlsState!=failed
	--expect transport.srtpCipher=AES_CM_128_HMAC_SHA1_80
	--expect candidate-pair.selected.bytesSent>100000
	--expect candidate-pair.selected.local.candidateType=host
	--expect candidate-pair.selected.remote.candidateType!=relay
	--expect outbound-rtp.video.framesSent>=20
	--expect outbound-rtp.audio.packetsSent>100
	--expect remote-inbound-rtp.video.packetsLost<=5
	--expect setup.dtlsConnected<10000
	--expect setup.firstRtpSent<10000" \
	"$RECV --summary $T/pass.a.json
	--expect inbound-rtp.video.framesDecoded>=20
	--expect inbound-rtp.video.frameWidth=640
	--expect inbound-rtp.audio.packetsLost<50
	--expect inbound-rtp.audio.totalSamplesReceived>48000
	--expect setup.iceConnected>=0
	--expect setup.firstRtpReceived<10000
	--expect setup.firstFrameDecoded<10000"
if [ "$(rc_of pass.o)" = 0 ] && [ "$(rc_of pass.a)" = 0 ]; then
	ok "every condition holds: both exit 0"
else
	not_ok "passing call: exits $(rc_of pass.o)/$(rc_of pass.a)"
	sed 's/^/    offer: /' "$T/pass.o.err"
	sed 's/^/    answer: /' "$T/pass.a.err"
fi
grep -q 'error' "$T/pass.o.err" "$T/pass.a.err" && not_ok "error lines in a passing call" ||
	ok "no error line in a passing call"

python3 - "$T" <<'PY'
import json, sys
T = sys.argv[1]
ok = True
def check(cond, what):
    global ok
    print(("ok - " if cond else "not ok - ") + what)
    ok = ok and cond
o = json.loads(open(f"{T}/pass.o.json").read())
a = json.loads(open(f"{T}/pass.a.json").read())
check(open(f"{T}/pass.o.json").read().count("\n") == 1, "the summary is one line")
check(o["role"] == "offer" and a["role"] == "answer", "roles")
check(o["exitCode"] == 0 and o["passed"] and len(o["expect"]) == 10 and all(e["passed"] for e in o["expect"]),
      "the offerer's summary: exit 0 and 10 conditions passed")
check(a["passed"] and len(a["expect"]) == 7, "the answerer's summary: 7 conditions passed")
e = {x["condition"]: x["value"] for x in a["expect"]}
check(e["inbound-rtp.video.frameWidth=640"] == 640 and e["inbound-rtp.video.framesDecoded>=20"] >= 20,
      f"values seen: frameWidth {e['inbound-rtp.video.frameWidth=640']}, framesDecoded {e['inbound-rtp.video.framesDecoded>=20']}")
last = open(f"{T}/pass.o.jsonl").read().splitlines()[-1]
check(json.loads(last) == o["stats"], "the summary's stats are the final --stats object")
for side, s in (("offer", o), ("answer", a)):
    st = s["setup"]
    check(all(st[k] is not None for k in ("gatheringDone", "iceConnected", "dtlsConnected", "srtpReady", "established")),
          f"{side}: setup times {st}")
    # DTLS starts on the first pair that works both ways (RFC 8445 12.1), not after the
    # nomination that iceConnected marks, so the nomination may come last.
    check(0 <= st["iceConnected"] < 10000 and 0 <= st["dtlsConnected"] <= st["established"] < 10000,
          f"{side}: ICE selected a pair; DTLS, then established: {st}")
    check(st["channelOpen"] is None, f"{side}: no data channel opened")
check(o["setup"]["firstRtpSent"] is not None and o["setup"]["firstRtpReceived"] is None and o["setup"]["firstFrameDecoded"] is None,
      "the offerer sends only")
check(a["setup"]["firstRtpSent"] is None and a["setup"]["firstRtpReceived"] <= a["setup"]["firstFrameDecoded"] < 10000,
      f"the answerer receives: first RTP at {a['setup']['firstRtpReceived']} ms, first frame decoded at {a['setup']['firstFrameDecoded']} ms")
# --duration 3: both sides end within a second of the offerer's deadline.
late_o = o["durationMs"] - o["setup"]["established"] - 3000
end_o, end_a = (int(open(f"{T}/pass.{s}.end").read()) / 1e6 for s in "oa")
deadline = end_o - late_o
late_a = end_a - deadline
check(0 <= late_o < 1000, f"--duration 3: the offerer hung up {late_o:.0f} ms after its deadline")
# The answerer leaves on the close_notify while the offerer lingers to repeat it: it may end a
# little before the offerer's exit, never much before the deadline (clock reads differ by a ms).
check(-50 <= late_a < 1000, f"--duration 3: the answerer exited {late_a:.0f} ms after that deadline")
sys.exit(0 if ok else 1)
PY
[ $? -eq 0 ] && ok "summary content" || not_ok "summary content"

# 3. The same call with conditions that do not hold: exit 16, one line each with the value seen.
call fail "$VIDEO --duration 2 --summary $T/fail.o.json
	--expect transport.dtlsState=failed
	--expect candidate-pair.selected.bytesSent<1000
	--expect candidate-pair.selected.local.candidateType=relay
	--expect outbound-rtp.video.framesSent>100000
	--expect remote-inbound-rtp.video.packetsLost>1000
	--expect inbound-rtp.video.framesDecoded>=1
	--expect setup.dtlsConnected<0
	--expect outbound-rtp.audio.packetsSent>0" \
	"$RECV --expect inbound-rtp.video.framesDecoded>=100000 --expect inbound-rtp.audio.packetsLost>=50
	--expect setup.firstFrameDecoded<0 --expect setup.channelOpen<100000
	--expect inbound-rtp.video.framesDecoded>0"
[ "$(rc_of fail.o)" = 16 ] && [ "$(rc_of fail.a)" = 16 ] && ok "failed conditions: both exit 16" ||
	not_ok "failing call: exits $(rc_of fail.o)/$(rc_of fail.a)"
want_line() {
	local side=$1 pat=$2
	if grep -q -- "error: --expect $pat" "$T/fail.$side.err"; then
		ok "$side: $(grep -- "error: --expect $pat" "$T/fail.$side.err" | sed 's/^rtcpeer: error: //')"
	else
		not_ok "$side: no line matches \"$pat\""
		sed 's/^/    /' "$T/fail.$side.err"
	fi
}
want_line o 'transport.dtlsState=failed failed: the value is "[a-z]*"$'
want_line o 'candidate-pair.selected.bytesSent<1000 failed: the value is [0-9]\{6,\}'
want_line o 'candidate-pair.selected.local.candidateType=relay failed: the value is "host"'
want_line o 'outbound-rtp.video.framesSent>100000 failed: the value is [0-9]'
want_line o 'remote-inbound-rtp.video.packetsLost>1000 failed: the value is 0'
want_line o 'inbound-rtp.video.framesDecoded>=1 failed: the final stats have no inbound-rtp.video.framesDecoded'
want_line o 'setup.dtlsConnected<0 failed: the value is [0-9.]*$'
want_line a 'inbound-rtp.video.framesDecoded>=100000 failed: the value is [0-9]'
want_line a 'inbound-rtp.audio.packetsLost>=50 failed: the value is 0'
want_line a 'setup.firstFrameDecoded<0 failed: the value is [0-9.]*$'
want_line a 'setup.channelOpen<100000 failed: the call never reached that stage'
n_o=$(grep -c 'error:' "$T/fail.o.err")
n_a=$(grep -c 'error:' "$T/fail.a.err")
[ "$n_o" -eq 7 ] && [ "$n_a" -eq 4 ] && ok "one error line per failed condition, none for those that hold" ||
	not_ok "error lines: $n_o (want 7) and $n_a (want 4)"
python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
r = [e["passed"] for e in s["expect"]]
sys.exit(0 if s["exitCode"] == 16 and s["exitReason"] == "expectation failed" and not s["passed"] and r == [False] * 7 + [True] else 1)
' "$T/fail.o.json" && ok "the summary records exit 16 and each result" || not_ok "summary of the failing call: $(cat "$T/fail.o.json")"

# 4. Data channels: counters summed over the channels, strings checked on each.
head -c 1500000 /dev/urandom >"$T/data.in"
rm -f "$T/o2a" "$T/a2o" && mkfifo "$T/o2a" "$T/a2o"
timeout 60 "$RTCPEER" offer --data -t 20 --signal-out "$T/o2a" --signal-in "$T/a2o" \
	--expect data-channel.bytesSent=1500000 --expect data-channel.label=rtcpeer \
	--expect setup.channelOpen'<'10000 --expect data-channel.state=closed \
	<"$T/data.in" >/dev/null 2>"$T/d.o.err" &
op=$!
timeout 60 "$RTCPEER" answer --data -t 20 --signal-in "$T/o2a" --signal-out "$T/a2o" \
	--expect data-channel.bytesReceived'>='1000000 --expect data-channel.messagesSent'>'0 \
	--expect data-channel.label=other --summary "$T/d.a.json" </dev/null >"$T/data.out" 2>"$T/d.a.err"
arc=$?
wait "$op"
orc=$?
[ "$orc" -eq 0 ] && ok "data: the offerer's conditions hold (exit 0)" || { not_ok "data offerer: exit $orc"; cat "$T/d.o.err"; }
if [ "$arc" -eq 16 ] && [ "$(grep -c 'error:' "$T/d.a.err")" -eq 2 ] &&
	grep -q 'data-channel.messagesSent>0 failed: the value is 0' "$T/d.a.err" &&
	grep -q 'data-channel.label=other failed: the value is "rtcpeer"' "$T/d.a.err" &&
	python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); sys.exit(0 if s["expect"][0] == {"condition": "data-channel.bytesReceived>=1000000", "passed": True, "value": 1500000} and s["setup"]["channelOpen"] is not None else 1)' "$T/d.a.json"; then
	ok "data: bytesReceived summed to 1500000; two failed conditions, exit 16"
else
	not_ok "data answerer: exit $arc"
	cat "$T/d.a.err" "$T/d.a.json"
fi

# 5. A call that fails for its own reason keeps its exit code; the summary still comes.
"$RTCPEER" offer --expect inbound-rtp.video.framesDecoded'>='1 --summary "$T/nodesc.json" \
	</dev/null >/dev/null 2>"$T/err"
rc=$?
if [ "$rc" -eq 5 ] && python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); sys.exit(0 if s["exitCode"] == 5 and s["stats"] is None and s["expect"][0]["passed"] is False and s["durationMs"] is None else 1)' "$T/nodesc.json"; then
	check_one_line "$T/err" "no answer: exit 5 (not 16), summary with exitCode 5" "ended before an answer"
else
	not_ok "no answer: exit $rc, summary $(cat "$T/nodesc.json" 2>/dev/null)"
fi

# 6. --summary like --stats: an unwritable path and a second stdout user are refused.
"$RTCPEER" offer --summary /nonexistent/dir/s.json </dev/null >/dev/null 2>"$T/err"
[ $? -eq 2 ] && check_one_line "$T/err" "unwritable --summary refused" "No such file" || not_ok "bad --summary path"
"$RTCPEER" offer --data --summary - </dev/null >/dev/null 2>"$T/err"
[ $? -eq 2 ] && check_one_line "$T/err" "--summary - with --data refused" "both write to stdout" || not_ok "--summary - --data accepted"
finish
