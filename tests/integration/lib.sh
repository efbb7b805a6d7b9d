# Shared helpers for the integration scripts: a temp dir, checks that count, and a summary.
set -u
RTCPEER=${1:?usage: $0 RTCPEER FIXTURES}
FIXTURES=${2:?usage: $0 RTCPEER FIXTURES}
T=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT
passed=0
failed=0

ok() { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }

# expect_exit CODE NAME -- runs the rest, compares the exit code
expect_exit() {
	local want=$1 name=$2
	shift 3
	"$@"
	local got=$?
	if [ "$got" -eq "$want" ]; then ok "$name (exit $got)"; else not_ok "$name: exit $got, wanted $want"; fi
}

# check_one_line FILE NAME PATTERN: stderr has exactly one line, and it matches PATTERN
check_one_line() {
	local file=$1 name=$2 pat=$3
	local n
	n=$(wc -l <"$file")
	if [ "$n" -ne 1 ]; then
		not_ok "$name: stderr has $n lines, wanted 1:"
		sed 's/^/    /' "$file"
	elif ! grep -q -- "$pat" "$file"; then
		not_ok "$name: stderr does not match \"$pat\": $(cat "$file")"
	else
		ok "$name: $(cat "$file")"
	fi
}

finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}
