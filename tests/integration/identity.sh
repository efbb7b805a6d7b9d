#!/usr/bin/env bash
# rtcpeer identity FILE and --identity FILE: a key and certificate kept across runs, so that the
# fingerprint a peer pins stays the same.
. "$(dirname "$0")/lib.sh"

fp=$("$RTCPEER" identity "$T/id.pem" 2>"$T/err")
rc=$?
[ "$rc" -eq 0 ] && [[ $fp =~ ^sha-256\ ([0-9A-F]{2}:){31}[0-9A-F]{2}$ ]] && ok "identity created: $fp" ||
	not_ok "identity: exit $rc: $fp $(cat "$T/err")"
[ "$(stat -c %a "$T/id.pem")" = 600 ] && ok "identity file mode 600" || not_ok "mode $(stat -c %a "$T/id.pem")"
expect_exit 2 "an existing identity is not overwritten" -- "$RTCPEER" identity "$T/id.pem"
o1=$("$RTCPEER" offer -q --identity "$T/id.pem" </dev/null 2>/dev/null | grep '^a=fingerprint')
o2=$("$RTCPEER" offer -q --identity "$T/id.pem" </dev/null 2>/dev/null | grep '^a=fingerprint')
[ "$(echo "$o1" | tr -d '\r')" = "a=fingerprint:$fp" ] && [ "$o1" = "$o2" ] &&
	ok "two runs offer the identity's fingerprint" || not_ok "fingerprints: $o1 / $o2 / $fp"
"$RTCPEER" identity "$T/id2.pem" >/dev/null 2>&1
rm -f "$T/back" && mkfifo "$T/back"
"$RTCPEER" offer --identity "$T/id.pem" --duration 0.5 <"$T/back" 2>"$T/o.err" |
	"$RTCPEER" answer --identity "$T/id2.pem" 2>"$T/a.err" >"$T/back"
codes=("${PIPESTATUS[@]}")
[ "${codes[0]}" -eq 0 ] && [ "${codes[1]}" -eq 0 ] && grep -q "session established" "$T/o.err" &&
	ok "a session with identities on both sides" || { not_ok "session: ${codes[*]}"; cat "$T/o.err" "$T/a.err"; }

# Bad identity files: one line, exit 2.
cp "$T/id.pem" "$T/open.pem" && chmod 644 "$T/open.pem"
"$RTCPEER" offer --identity "$T/open.pem" </dev/null >/dev/null 2>"$T/err"
[ $? -eq 2 ] && check_one_line "$T/err" "world-readable identity refused" "chmod 600" || not_ok "open identity accepted"
printf 'not a key\n' >"$T/junk.pem" && chmod 600 "$T/junk.pem"
"$RTCPEER" offer --identity "$T/junk.pem" </dev/null >/dev/null 2>"$T/err"
[ $? -eq 2 ] && check_one_line "$T/err" "junk identity refused" "no PEM private key" || not_ok "junk identity accepted"
head -5 "$T/id.pem" >"$T/keyonly.pem" && chmod 600 "$T/keyonly.pem"
sed -n '/BEGIN CERT/,$p' "$T/id2.pem" >>"$T/keyonly.pem"
"$RTCPEER" offer --identity "$T/keyonly.pem" </dev/null >/dev/null 2>"$T/err"
[ $? -eq 2 ] && check_one_line "$T/err" "mismatched key and certificate refused" "not for the private key\|no PEM" ||
	not_ok "mismatched identity accepted"
"$RTCPEER" offer --identity "$T/missing.pem" </dev/null >/dev/null 2>"$T/err"
[ $? -eq 2 ] && check_one_line "$T/err" "missing identity refused" "No such file" || not_ok "missing identity"
finish
