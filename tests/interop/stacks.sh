# Shared by the run-*.sh interop scripts: which peer stacks of $STACKS can run here, and the
# command of each. The sourcing script sets $here, $tmp (Pion is built there), $PYTHON and
# optionally $NODE, UNSUPPORTED_STACKS (stacks whose peer lacks the mode the script needs)
# and UNSUPPORTED_REASON. find_stacks NAME fills peer_cmd[stack], available[] and skipped,
# and exits 77 (every stack skipped) with NAME's summary line when none can run.
NODE=${NODE:-node}
declare -A peer_cmd=()
available=()
skipped=0

have_stack() {
    local stack=$1 reason u
    for u in ${UNSUPPORTED_STACKS:-}; do
        if [ "$stack" = "$u" ]; then
            echo "SKIP: $stack: ${UNSUPPORTED_REASON:-its interop peer lacks this mode}"
            return 1
        fi
    done
    case $stack in
        aiortc)
            if ! reason=$("$PYTHON" "$here/aiortc_peer.py" check 2>&1); then
                echo "SKIP: aiortc: ${reason:-$PYTHON cannot run aiortc_peer.py} (package python3-aiortc)"
                return 1
            fi
            peer_cmd[aiortc]="$PYTHON $here/aiortc_peer.py"
            ;;
        gstreamer)
            if ! reason=$("$PYTHON" "$here/gst_peer.py" check 2>&1); then
                echo "SKIP: gstreamer: ${reason:-$PYTHON cannot run gst_peer.py}"
                return 1
            fi
            peer_cmd[gstreamer]="$PYTHON $here/gst_peer.py"
            ;;
        pion)
            local bin=${PION_PEER:-}
            if [ -z "$bin" ]; then
                bin=$tmp/pion/pion_peer
                if ! reason=$("$here/build-pion.sh" "$tmp/pion" 2>&1); then
                    echo "SKIP: pion: $(printf '%s\n' "$reason" | tail -n 1)"
                    return 1
                fi
            elif [ ! -x "$bin" ]; then
                echo "SKIP: pion: PION_PEER=$bin is not an executable"
                return 1
            fi
            peer_cmd[pion]=$bin
            ;;
        chromium)
            if ! command -v "$NODE" >/dev/null 2>&1; then
                echo "SKIP: chromium: $NODE not found (package nodejs; see install-chromium.sh)"
                return 1
            fi
            if ! reason=$("$NODE" "$here/chromium_peer.js" check 2>&1); then
                echo "SKIP: chromium: ${reason:-cannot run chromium_peer.js} (see install-chromium.sh)"
                return 1
            fi
            peer_cmd[chromium]="$NODE $here/chromium_peer.js"
            ;;
        *)
            echo "SKIP: $stack: unknown stack"
            return 1
            ;;
    esac
}

find_stacks() {
    local name=$1 s
    for s in $STACKS; do
        if have_stack "$s"; then
            available+=("$s")
        else
            skipped=$((skipped + 1))
        fi
    done
    if [ ${#available[@]} -eq 0 ]; then
        echo "run-$name: no peer stack available"
        echo "$name: 0 passed, 0 failed, $skipped skipped"
        exit 77
    fi
}
