#!/bin/sh
# Installs what tests/interop/chromium_peer.js needs: Debian's Chromium
# (/usr/bin/chromium) and playwright-core, pinned by tests/interop/node/
# package-lock.json, into tests/interop/node/node_modules. Playwright never
# downloads a browser of its own here: the peer runs /usr/bin/chromium.
# Run as root (or through sudo), after apt-get can reach Debian's packages and
# npm the npm registry.
set -eu
export DEBIAN_FRONTEND=noninteractive
here=$(cd "$(dirname "$0")" && pwd)

if [ ! -x /usr/bin/chromium ]; then
	apt-get update -q
	apt-get install -y -q --no-install-recommends chromium
fi

# The machine's Node.js (20) and npm come with it; fall back to Debian's.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	apt-get update -q
	apt-get install -y -q --no-install-recommends nodejs npm
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
	echo "install-chromium: warning: Node.js $(node --version) is older than playwright-core's minimum (20)" >&2
fi

cd "$here/node"
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --ignore-scripts
node "$here/chromium_peer.js" check
echo "install-chromium: $(/usr/bin/chromium --version 2>/dev/null), playwright-core $(node -p 'require("playwright-core/package.json").version')"
