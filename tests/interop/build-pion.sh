#!/bin/sh
# Build the Pion interop peer offline from Debian's Go sources.
#   tests/interop/build-pion.sh OUTDIR      -> OUTDIR/pion_peer
# Needs golang-go and golang-github-pion-webrtc.v3-dev (see packages.txt).
#
# Debian ships Pion as GOPATH sources under /usr/share/gocode, with no
# github.com/pion/webrtc/v3 directory.  GOPATH mode resolves the ".../v3"
# import only for code that sits inside a GOPATH and has a go.mod
# ("minimal module compatibility"), so the sources are copied into a
# temporary GOPATH with their go.mod and built with GO111MODULE=off.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build-pion.sh OUTDIR}
gocode=${GOCODE:-/usr/share/gocode}

if ! command -v go >/dev/null 2>&1; then
    echo "build-pion: go not found (apt-get install golang-go)" >&2
    exit 2
fi
if [ ! -f "$gocode/src/github.com/pion/webrtc/peerconnection.go" ]; then
    echo "build-pion: Pion sources missing in $gocode (apt-get install golang-github-pion-webrtc.v3-dev)" >&2
    exit 2
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir -p "$tmp/gopath/src/pionpeer"
cp "$here/pion_peer/main.go" "$here/pion_peer/go.mod" "$tmp/gopath/src/pionpeer/"
cd "$tmp/gopath/src/pionpeer"
# Reuse the user's build cache when there is one (a cold build takes ~12 s).
cache=${GOCACHE:-$(go env GOCACHE 2>/dev/null || true)}
case $cache in ""|off) cache=$tmp/cache ;; esac
GO111MODULE=off GOPATH="$tmp/gopath:$gocode" GOFLAGS= GOCACHE="$cache" GOPROXY=off \
    go build -o "$out/pion_peer" . || {
    echo "build-pion: go build failed" >&2
    exit 1
}
echo "build-pion: built $out/pion_peer"
