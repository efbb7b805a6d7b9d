#!/bin/bash
# The web page of `rtcpeer answer --listen` (src/signal/page.html) in headless
# Chromium, used as a person would: a wrong token shows the server's 401 and
# starts nothing; with ?token= right, Call connects (WHIP POST, 201), the page
# decodes rtcpeer's test video, a message typed in the page reaches rtcpeer's
# stdout and a line on rtcpeer's stdin reaches the page, a second POST gets 409,
# and Hang up (DELETE) ends rtcpeer with exit 0; rtcpeer's --video-out then
# holds the frames it decoded from Chromium's fake camera.
#
#   run-whip-page.sh RTCPEER
#
# The steps and checks are in whip_page.js (one "ok:"/"FAIL:" line each).
# Chromium missing (node, /usr/bin/chromium, playwright-core in
# tests/interop/node: install-chromium.sh) -> "SKIP: chromium: ...", exit 77.
# About 15 s. Environment: NODE (node), MIN_FRAMES (30), HANGUP_S (8),
# TIMEOUT_S (20), WHIP_PAGE_VERBOSE=1, KEEP_TMP=1 (files are kept anyway when
# it fails).
set -u

here=$(cd "$(dirname "$0")" && pwd)
NODE=${NODE:-node}
page=$here/../../src/signal/page.html

if [ $# -lt 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 RTCPEER" >&2
    exit 2
fi
rtcpeer=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")

if ! command -v "$NODE" >/dev/null 2>&1; then
    echo "SKIP: chromium: $NODE not found (package nodejs; see install-chromium.sh)"
    exit 77
fi
if ! reason=$("$NODE" "$here/whip_page.js" check 2>&1); then
    echo "SKIP: chromium: ${reason:-cannot run whip_page.js} (see install-chromium.sh)"
    exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rtcpeer-whip-page.XXXXXX")
rc=1
# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
    if [ "${KEEP_TMP:-0}" = 1 ] || [ "$rc" != 0 ]; then
        echo "run-whip-page: files kept in $tmp"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t0=$(date +%s%N)
"$NODE" "$here/whip_page.js" "$rtcpeer" "$page" "$tmp"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
if [ "$rc" = 0 ]; then
    echo "PASS: whip-page: Chromium calls rtcpeer answer --listen from its page ($ms ms)"
else
    echo "FAIL: whip-page: exit $rc ($ms ms)"
fi
exit "$rc"
