#!/bin/bash
# A real call from real device code paths: rtcpeer captures a V4L2 camera (the LD_PRELOAD
# shim of tests/fixtures, mmap streaming through the real ioctls) and an ALSA PCM (the paced
# plugin of tests/fixtures reading a tone file through alsa-lib), encodes VP8 and Opus, and
# aiortc receives and decodes them. The bound on the rate is loose (60%): the point here is the
# device code paths end to end; run-media.sh holds the rates to 80%.
#
#   run-devices.sh RTCPEER V4L2SHIM_SO ALSA_PLUGIN_DIR ALSA_CONF
set -u
RTCPEER=${1:?usage: $0 RTCPEER V4L2SHIM_SO ALSA_PLUGIN_DIR ALSA_CONF}
SHIM=${2:?}
PLUGIN_DIR=${3:?}
ALSA_CONF=${4:?}
here=$(cd "$(dirname "$0")" && pwd)
PYTHON=${PYTHON:-/usr/bin/python3}

if ! "$PYTHON" "$here/aiortc_peer.py" check >/dev/null 2>&1; then
	echo "SKIP: aiortc is not installed (python3-aiortc): nobody to receive the call"
	echo "devices: 0 passed, 0 failed, 1 skipped"
	exit 77
fi
T=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT

# Two seconds of a 440 Hz tone, raw S16_LE mono at 48 kHz, looped by the plugin.
"$PYTHON" - "$T/tone.raw" <<'PY'
import math, struct, sys
with open(sys.argv[1], "wb") as f:
    f.write(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / 48000)))
                     for i in range(2 * 48000)))
PY

mkfifo "$T/back"
# The shim goes into rtcpeer only: in a sanitizer build it needs the runtime that rtcpeer links.
timeout -k 5 60 env LD_PRELOAD="$SHIM" RTCPEER_V4L2SHIM_DEVICES=/dev/video-test \
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
	ALSA_CONFIG_PATH="/usr/share/alsa/alsa.conf:$ALSA_CONF" RTCPEER_ALSA_PLUGIN_DIR="$PLUGIN_DIR" \
	"$RTCPEER" offer --video /dev/video-test --video-size 640x480 --fps 30 \
	--audio "rtcpeer_paced_capture:INFILE=$T/tone.raw,LOOP=true" --duration 10 \
	--stats "$T/stats.jsonl" <"$T/back" 2>"$T/offer.err" |
	timeout -k 5 60 "$PYTHON" "$here/aiortc_peer.py" answer --media-recv 6 --expect-fps 30 --min-ratio 0.6 \
		>"$T/back" 2>"$T/answer.err"
codes=("${PIPESTATUS[@]}")
grep -h "video:\|audio:\|media ok\|media FAILED\|verdict" "$T/offer.err" "$T/answer.err" | sed 's/^/    /'
if [ "${codes[0]}" -eq 0 ] && [ "${codes[1]}" -eq 0 ] && grep -q "media ok" "$T/answer.err"; then
	echo "PASS: V4L2 camera + ALSA PCM -> rtcpeer -> aiortc decodes at the sent rate"
	echo "devices: 1 passed, 0 failed"
	exit 0
fi
echo "FAIL: exits ${codes[*]}"
sed 's/^/    offerer: /' "$T/offer.err" | tail -20
sed 's/^/    aiortc: /' "$T/answer.err" | tail -20
echo "devices: 0 passed, 1 failed"
exit 1
