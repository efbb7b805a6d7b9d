#!/usr/bin/env bash
# The README's ssh recipe, for real: an sshd of the test's own on 127.0.0.1 (its own host key,
# an authorized key made for the test), and
#   mkfifo a; rtcpeer offer <a | ssh host rtcpeer answer >a
# must connect and hang up cleanly on both sides.
. "$(dirname "$0")/lib.sh"
# The remote shell starts in the home directory: give it the binary's absolute path.
RTCPEER=$(realpath "$RTCPEER")

SSHD=$(command -v sshd || echo /usr/sbin/sshd)
if [ ! -x "$SSHD" ] || ! command -v ssh >/dev/null || ! command -v ssh-keygen >/dev/null; then
	echo "SKIP: openssh-server and openssh-client are needed"
	exit 77
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: sshd needs root here (privilege separation directory)"
	exit 77
fi
mkdir -p /run/sshd

ssh-keygen -q -t ed25519 -N '' -f "$T/host_key" && ssh-keygen -q -t ed25519 -N '' -f "$T/user_key"
cp "$T/user_key.pub" "$T/authorized_keys"
chmod 600 "$T/authorized_keys"
port=$((30000 + RANDOM % 20000))
cat >"$T/sshd_config" <<EOS
Port $port
ListenAddress 127.0.0.1
HostKey $T/host_key
AuthorizedKeysFile $T/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
PidFile $T/sshd.pid
EOS
"$SSHD" -D -e -f "$T/sshd_config" 2>"$T/sshd.log" &
spid=$!
trap 'kill $spid 2>/dev/null; rm -rf "$T"' EXIT
ssh_cmd=(ssh -p "$port" -i "$T/user_key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
	-o BatchMode=yes -o LogLevel=ERROR root@127.0.0.1)
for _ in $(seq 50); do "${ssh_cmd[@]}" true 2>/dev/null && break; sleep 0.1; done
if ! "${ssh_cmd[@]}" true 2>"$T/ssh.err"; then
	echo "SKIP: the test's sshd does not accept logins: $(head -1 "$T/ssh.err")"
	exit 77
fi

mkfifo "$T/a"
timeout 30 "$RTCPEER" offer --duration 1 <"$T/a" 2>"$T/offer.err" |
	timeout 30 "${ssh_cmd[@]}" "$RTCPEER" answer 2>"$T/answer.err" >"$T/a"
codes=("${PIPESTATUS[@]}")
if [ "${codes[0]}" -eq 0 ] && [ "${codes[1]}" -eq 0 ] && grep -q "session established" "$T/offer.err" &&
	grep -q "the peer hung up" "$T/answer.err"; then
	ok "offer <a | ssh host rtcpeer answer >a: $(grep -o 'DTLS connected in [0-9.]* ms' "$T/offer.err")"
else
	not_ok "over ssh: exits ${codes[*]}"; cat "$T/offer.err" "$T/answer.err"
fi

# The same with compact tokens, as a person would paste them through a chat.
timeout 30 "$RTCPEER" offer -c --duration 1 <"$T/a" 2>"$T/offer.err" |
	timeout 30 "${ssh_cmd[@]}" "$RTCPEER" answer -c 2>"$T/answer.err" >"$T/a"
codes=("${PIPESTATUS[@]}")
[ "${codes[0]}" -eq 0 ] && [ "${codes[1]}" -eq 0 ] && ok "compact tokens over ssh" ||
	{ not_ok "compact over ssh: exits ${codes[*]}"; cat "$T/offer.err" "$T/answer.err"; }
finish
