#!/usr/bin/env bash
# The documentation keeps up with the binary: every long option that `rtcpeer help offer` and
# `rtcpeer help answer` list is in the man page, the README and the bash, zsh and fish
# completions, and every exit code of src/core/exitcode.h is in the man page and the README.
# Usage: docs.sh RTCPEER SOURCE_ROOT
set -u
RTCPEER=${1:?usage: $0 RTCPEER SOURCE_ROOT}
ROOT=${2:?usage: $0 RTCPEER SOURCE_ROOT}
passed=0
failed=0
ok() { passed=$((passed + 1)); }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }

opts=$({ "$RTCPEER" help offer; "$RTCPEER" help answer; } | grep -o -- '--[a-z][a-z0-9-]*' |
	sort -u)
[ -n "$opts" ] || not_ok "no options in the help text"
for o in $opts; do
	name=${o#--}
	grep -q -- "\*$o\*\|$o\b" "$ROOT/man/rtcpeer.1.scd" && ok || not_ok "$o: not in the man page"
	grep -q -- "$o\b" "$ROOT/README.md" && ok || not_ok "$o: not in README.md"
	grep -q -- "$o\b" "$ROOT/completions/rtcpeer.bash" && ok ||
		not_ok "$o: not in completions/rtcpeer.bash"
	grep -q -- "$o\b" "$ROOT/completions/_rtcpeer" && ok || not_ok "$o: not in completions/_rtcpeer"
	grep -q -- "-l $name\b" "$ROOT/completions/rtcpeer.fish" && ok ||
		not_ok "$o: not in completions/rtcpeer.fish"
done
codes=$(grep -o '= [0-9]*,' "$ROOT/src/core/exitcode.h" | tr -dc '0-9\n')
for c in $codes; do
	grep -q "^\*$c\*$" "$ROOT/man/rtcpeer.1.scd" && ok || not_ok "exit code $c: not in the man page"
	grep -q "^| $c |" "$ROOT/README.md" && ok || not_ok "exit code $c: not in README.md"
done
echo "$(wc -w <<<"$opts") options and $(wc -w <<<"$codes") exit codes: $passed checks passed, $failed failed"
[ "$failed" -eq 0 ]
