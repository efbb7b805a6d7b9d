#!/usr/bin/env bash
# Bad input at the command line and in descriptions: one clear line on stderr and the
# documented exit code, never a crash or a hang.
. "$(dirname "$0")/lib.sh"

strip_mid() { sed 's/mid "[^"]*" //'; }

run() { # CODE NAME PATTERN STDIN -- ARGS...
	local want=$1 name=$2 pat=$3 input=$4
	shift 5
	timeout 20 "$RTCPEER" "$@" <"$input" >"$T/out" 2>"$T/err"
	local rc=$?
	if [ "$rc" -ne "$want" ]; then
		not_ok "$name: exit $rc, wanted $want: $(head -3 "$T/err")"
	else
		check_one_line "$T/err" "$name (exit $rc)" "$pat"
	fi
}

# Command line.
timeout 5 "$RTCPEER" >/dev/null 2>&1; [ $? -eq 2 ] && ok "no command exits 2" || not_ok "no command"
run 2 "unknown command" 'unknown command "frob"' /dev/null -- frob
run 2 "unknown option" "unknown option --frob" /dev/null -- offer --frob
run 2 "missing value" "option --timeout needs a value" /dev/null -- answer --timeout
run 2 "bad timeout" "--timeout wants seconds" /dev/null -- answer --timeout abc
run 2 "bad duration" "--duration wants seconds" /dev/null -- offer --duration 0
run 2 "bad ice policy" "--ice-policy wants all or relay" /dev/null -- offer --ice-policy some
run 2 "bad stun uri" "not a stun:host\[:port\] URI" /dev/null -- offer --stun turn:127.0.0.1
run 2 "bad turn uri" "not a turn:USER:PASS@HOST" /dev/null -- offer --turn turn:127.0.0.1
run 2 "bad turn transport" "not a turn:USER:PASS@HOST" /dev/null -- offer --turn "turn:u:p@127.0.0.1?transport=sctp"
run 2 "bad max-retransmits" "--max-retransmits wants a whole number" /dev/null -- offer --data --max-retransmits x
run 2 "negative max-lifetime" "--max-lifetime wants a whole number" /dev/null -- offer --data --max-lifetime -5
run 2 "both reliability limits" "not both" /dev/null -- offer --data --max-retransmits 1 --max-lifetime 5
run 2 "bad video size" "--video-size wants WIDTHxHEIGHT" /dev/null -- offer --video test --video-size 640x
run 2 "odd video size" "--video-size wants WIDTHxHEIGHT" /dev/null -- offer --video test --video-size 641x480
run 2 "bad fps" "--fps wants a number from 1 to 120" /dev/null -- offer --video test --fps 0
run 2 "bad video bitrate" "--video-bitrate (kbit/s) wants a number" /dev/null -- offer --video test --video-bitrate lots
run 13 "missing camera" "/dev/video-missing" /dev/null -- offer --video /dev/video-missing
run 13 "unknown ALSA PCM" "no-such-pcm" /dev/null -- offer --audio no-such-pcm
run 2 "bad stun port" "not a stun:host\[:port\] URI" /dev/null -- offer --stun stun:127.0.0.1:99999
run 2 "negative timeout" "--timeout wants seconds" /dev/null -- answer -t -1
run 2 "extra argument" 'unexpected argument "x"' /dev/null -- offer x
run 2 "same signal file" "must differ" /dev/null -- offer --signal-in f --signal-out f
run 2 "bad fd spec" "--signal-out wants fd:N" /dev/null -- answer --signal-in fd:x
run 13 "unknown ALSA playback PCM" "no-such-pcm" /dev/null -- offer --audio-out no-such-pcm
run 13 "unwritable --video-out" "/nonexistent/dir/v.y4m" /dev/null -- offer --video-out /nonexistent/dir/v.y4m
run 13 "unwritable --record-video" "/nonexistent/dir/v.ivf" /dev/null -- offer --record-video /nonexistent/dir/v.ivf
run 13 "unwritable --record-audio" "/nonexistent/dir/a.wav" /dev/null -- offer --record-audio /nonexistent/dir/a.wav
run 2 "two streams on stdout" "would both write to stdout" /dev/null -- offer --video-out - --record-audio -
run 2 "video on stdout with --data" "would both write to stdout" /dev/null -- offer --data --video-out -
run 2 "impair loss over 100%" "--impair" /dev/null -- offer --impair loss=150%
run 2 "impair unknown item" "--impair" /dev/null -- offer --impair lag=5ms
"$RTCPEER" --help | grep -q '^Usage: rtcpeer' && ok "--help" || not_ok "--help"
"$RTCPEER" help offer | grep -q -- '--signal-in' && ok "help offer" || not_ok "help offer"
"$RTCPEER" answer --help | grep -q -- '--compact' && ok "answer --help" || not_ok "answer --help"
"$RTCPEER" --version | grep -q '^rtcpeer [0-9]' && ok "--version" || not_ok "--version"

# Input that is not a description.
run 5 "empty stdin" "input ended before an offer" /dev/null -- answer
printf '\n\n   \n' >"$T/blank"
run 5 "only blank lines" "input ended before an offer" "$T/blank" -- answer
head -c 2000000 /dev/zero | tr '\0' 'a' >"$T/huge"
run 3 "2 MB without a line break" "larger than" "$T/huge" -- answer
run 3 "a pasted answer that is not one" "answer" "$FIXTURES/sdp/chromium-offer-data.sdp" -- offer -t 5
run 1 "unreadable --signal-in" "cannot read the offer from fd:99" /dev/null -- answer --signal-in fd:99

# Every malformed description of the fixture set: exit 3 and the line number in the message.
while IFS=$'\t' read -r file line msg; do
	case $file in '#'* | '') continue ;; esac
	f=$FIXTURES/sdp-bad/$file
	if ! grep -q '[^[:space:]]' "$f"; then
		# Nothing but whitespace is no description at all, not a malformed one.
		run 5 "bad sdp $file" "input ended before an offer" "$f" -- answer -t 5
		continue
	fi
	if [ "$line" -gt 0 ] 2>/dev/null; then pat="offer line $line: "; else pat="offer"; fi
	run 3 "bad sdp $file" "$pat" "$f" -- answer -t 5
	# The command line enables data only, so a message may name another section than the
	# unit test (which enables everything) expects: compare without the mid.
	strip=cat
	[ "$line" = answer ] && strip=strip_mid
	msg=$(printf '%s' "$msg" | $strip)
	$strip <"$T/err" | grep -qF -- "$msg" ||
		not_ok "bad sdp $file: message lacks \"$msg\": $(cat "$T/err")"
done <"$FIXTURES/sdp-bad/cases.tsv"

# Valid descriptions with nothing acceptable: exit 4.
while IFS=$'\t' read -r file _; do
	case $file in '#'* | '') continue ;; esac
	# The reasons per section depend on what is enabled; the verdict does not.
	run 4 "unacceptable $file" "nothing rtcpeer can accept\|has no m= sections" "$FIXTURES/sdp-unacceptable/$file" -- answer -t 5
done <"$FIXTURES/sdp-unacceptable/cases.tsv"

# Every real offer in the fixtures gets a valid answer.
for f in "$FIXTURES"/sdp/*offer*.sdp; do
	run_ok=0
	# The offer's candidates are not alive: stop the session attempt after the answer is out.
	timeout --preserve-status -s TERM 1 "$RTCPEER" answer -q -t 5 <"$f" >"$T/ans" 2>"$T/err"
	[ $? -eq 130 ] && run_ok=1
	if [ $run_ok -eq 1 ] && head -1 "$T/ans" | grep -q '^v=0' && grep -q '^a=setup:active' "$T/ans"; then
		ok "answer to $(basename "$f")"
	else
		not_ok "answer to $(basename "$f"): $(cat "$T/err")"
	fi
done

finish
