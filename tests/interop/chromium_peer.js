#!/usr/bin/env node
// Headless Chromium peer for rtcpeer's signaling and connection interop tests.
//
//   chromium_peer.js offer [--data-only] [--connect [--hold S]] [--timeout S]
//       print an offer (an audio and a video transceiver and one data
//       channel, or the data channel only) and an empty line, read the
//       answer from stdin, apply it.
//   chromium_peer.js answer [--connect [--hold S]] [--timeout S]
//       read an offer from stdin, print the answer and an empty line.
//   chromium_peer.js check
//       exit 0 when /usr/bin/chromium and playwright-core are there, else say
//       what is missing and exit 2.
//   chromium_peer.js offer|answer --media-recv S [--expect-fps N]
//                    [--expect-size WxH] [--min-ratio R] [--hold S] [--timeout S]
//       receive media (implies --connect): the offer has recvonly audio and
//       video transceivers and a data channel; as answerer, nothing is sent
//       (the answer is recvonly for a sendonly offer). Once connected,
//       getStats() is sampled every second for S seconds and each sample
//       printed on stderr as one JSON line ("chromium: media {...}"):
//       inbound-rtp video framesDecoded, framesPerSecond, frameWidth/Height,
//       keyFramesDecoded, packetsLost, nackCount, pliCount, firCount and audio
//       totalSamplesReceived, concealedSamples, packetsReceived, packetsLost.
//       Then a verdict: exit 0 when framesDecoded rose by at least R (default
//       0.8) x N (default 30) frames per second, totalSamplesReceived by at
//       least R x 48000 per second, and so did totalSamplesReceived minus
//       concealedSamples (NetEq conceals missing packets, and those samples
//       count as received), and the last frame size is WxH (default
//       640x480; "any" skips that check); else exit 1 with the numbers. The
//       received tracks are played in muted <video> and <audio> elements (the
//       audio is only decoded and counted while something plays it out).
//       Afterwards the peer stays up as with --connect (until the peer hangs
//       up, stdin EOF or --hold).
//   chromium_peer.js offer|answer --media-send S [--keep-sending]
//                    [--send-direction sendonly|sendrecv] [--tone HZ]
//                    [--send-size WxH] [--send-fps N] [--hold S] [--timeout S]
//       send media (implies --connect): getUserMedia() with Chromium's fake
//       devices (--use-fake-device-for-media-stream=fps=N: a moving pattern
//       with a frame counter, asked for at WxH (640x480) and N (30) fps; the
//       fake microphone plays a WAV file this script writes, a HZ (1000) sine
//       at 48 kHz, through --use-file-for-fake-audio-capture, instead of its
//       20 ms beep every half second). The video sender's
//       degradationPreference is --degradation (maintain-resolution: without
//       bandwidth feedback Chromium would start at ~300 kbit/s and send
//       480x360; "balanced" leaves its default). The offer has sendonly (or sendrecv)
//       audio and video transceivers with VP8 put first by
//       setCodecPreferences (VP8 and its rtx only) and a data channel; as
//       answerer the tracks go on the offered audio/video m-lines (sendonly
//       for a recvonly offer). Once connected, getStats() outbound-rtp and
//       media-source are sampled every second for S seconds ("chromium: media
//       sent {...}": framesEncoded, framesSent, keyFramesEncoded,
//       frameWidth/Height, framesPerSecond, packetsSent, nack/pli/firCount,
//       qualityLimitationReason, targetBitrate, bytesSent, audio packetsSent;
//       "pair": the selected candidate pair's availableOutgoingBitrate,
//       currentRoundTripTime, bytesSent), then "chromium: media
//       send done {...}" and a hang-up (pc.close(): close_notify).
//       --send-video-file F makes the fake camera play F (Y4M or MJPEG,
//       looped; --use-file-for-fake-video-capture) instead of its pattern,
//       e.g. noise that keeps the encoder at its target bitrate;
//       --send-max-kbps N sets the video encoding's maxBitrate (Chromium
//       otherwise caps 640x480 VP8 at 1.7 Mbit/s). With
//       --keep-sending it goes on until the peer hangs up, stdin EOF or --hold
//       and prints "media send done" then. Exit 0 when it connected.
//
// A description is plain SDP followed by one empty line (or EOF), as for the
// other peers (sdpio.py). The RTCPeerConnection lives in a page that this
// script serves itself from http://127.0.0.1:PORT (a secure context), in
// /usr/bin/chromium driven by playwright-core (tests/interop/node). No ICE
// servers: host candidates only. Chromium normally hides host addresses behind
// mDNS ".local" names; --disable-features=WebRtcHideLocalIpsWithMdns keeps
// the real addresses (a warning is printed if a .local candidate shows up).
//
// Without --connect: exit 0 when the remote description was accepted ("ok"
// on stderr), 1 with Chromium's error otherwise; the remote a=candidate lines
// are removed first so that no ICE check is sent.
// With --connect: once connectionState is "connected" (ICE and DTLS up,
// within --timeout) print "connected" with the ICE/DTLS states and the
// selected candidate pair from getStats on stderr, then stay up until the
// peer hangs up (DTLS transport closed), stdin reaches EOF, or --hold seconds
// (default 30) have passed. Exit 0 if it connected, 1 otherwise.
//
// Environment: CHROMIUM (default /usr/bin/chromium), CHROMIUM_PEER_VERBOSE=1
// (page console and Chromium's own stderr on stderr).
'use strict';

const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const VERBOSE = process.env.CHROMIUM_PEER_VERBOSE === '1';

function say(msg) {
  process.stderr.write('chromium: ' + msg + '\n');
}

// ---- command line ----------------------------------------------------------
function usage() {
  process.stderr.write('usage: chromium_peer.js offer|answer|check [--data-only] ' +
    '[--connect [--hold S]] [--timeout S]\n' +
    '       chromium_peer.js offer|answer --media-recv S [--expect-fps N] ' +
    '[--expect-size WxH|any] [--min-ratio R] [--hold S] [--timeout S]\n' +
    '       chromium_peer.js offer|answer --media-send S [--keep-sending] ' +
    '[--send-direction sendonly|sendrecv] [--tone HZ] [--send-size WxH] [--send-fps N] ' +
    '[--send-video-file Y4M] [--send-max-kbps N] ' +
    '[--degradation maintain-resolution|maintain-framerate|balanced] ' +
    '[--hold S] [--timeout S]\n' +
    '       chromium_peer.js offer|answer --data-test [--data-only] [--text T] [--send-file F] ' +
    '[--recv-out F] [--expect-sha256 HEX] [--timeout S]\n');
  process.exit(2);
}

const argv = process.argv.slice(2);
const opts = {
  mode: argv[0], dataOnly: false, connect: false, hold: 30, timeout: 10,
  mediaRecv: 0, expectFps: 30, expectSize: '640x480', minRatio: 0.8,
  mediaSend: 0, keepSending: false, sendDirection: 'sendonly', tone: 1000, sendSize: '640x480',
  sendFps: 30, degradation: 'maintain-resolution',
};
if (!['offer', 'answer', 'check'].includes(opts.mode)) usage();
for (let i = 1; i < argv.length; i++) {
  const a = argv[i];
  const num = () => {
    const v = Number(argv[++i]);
    if (!(v > 0)) usage();
    return v;
  };
  if (a === '--data-only') opts.dataOnly = true;
  else if (a === '--connect') opts.connect = true;
  else if (a === '--hold') opts.hold = num();
  else if (a === '--timeout') opts.timeout = num();
  else if (a === '--media-recv') opts.mediaRecv = num();
  else if (a === '--media-send') opts.mediaSend = num();
  else if (a === '--keep-sending') opts.keepSending = true;
  else if (a === '--degradation') {
    opts.degradation = argv[++i];
    if (!['maintain-resolution', 'maintain-framerate', 'balanced'].includes(opts.degradation)) usage();
  }
  else if (a === '--tone') opts.tone = num();
  else if (a === '--send-fps') opts.sendFps = num();
  else if (a === '--send-video-file' && i + 1 < argv.length) opts.sendVideoFile = path.resolve(argv[++i]);
  else if (a === '--send-max-kbps') opts.sendMaxKbps = num();
  else if (a === '--send-direction') {
    opts.sendDirection = argv[++i];
    if (!['sendonly', 'sendrecv'].includes(opts.sendDirection)) usage();
  } else if (a === '--send-size') {
    opts.sendSize = argv[++i];
    if (!/^\d+x\d+$/.test(opts.sendSize || '')) usage();
  }
  else if (a === '--expect-fps') opts.expectFps = num();
  else if (a === '--min-ratio') opts.minRatio = num();
  else if (a === '--data-test') opts.dataTest = opts.connect = true; // chromium_datatest.js
  else if (['--text', '--send-file', '--recv-out', '--expect-sha256'].includes(a) && i + 1 < argv.length) {
    opts[a.slice(2).replace(/-(.)/g, (m, c) => c.toUpperCase())] = argv[++i];
  } else if (a === '--expect-size') {
    opts.expectSize = argv[++i];
    if (!/^(\d+x\d+|any)$/.test(opts.expectSize || '')) usage();
  } else usage();
}
if (opts.mediaRecv) {
  if (opts.dataOnly) usage();
  opts.connect = true;
}
if (opts.mediaSend) {
  if (opts.dataOnly || opts.mediaRecv || opts.dataTest) usage();
  opts.connect = true;
}

function loadPlaywright() {
  const dir = path.join(__dirname, 'node');
  try {
    return require(require.resolve('playwright-core', { paths: [dir] }));
  } catch (e) {
    return null;
  }
}

if (opts.mode === 'check') {
  const missing = [];
  try {
    fs.accessSync(CHROMIUM, fs.constants.X_OK);
  } catch (e) {
    missing.push(CHROMIUM + ' not found (package chromium)');
  }
  if (!loadPlaywright()) {
    missing.push('playwright-core not installed (npm ci in tests/interop/node)');
  }
  if (missing.length) {
    process.stderr.write(missing.join('; ') + '\n');
    process.exit(2);
  }
  process.exit(0);
}

// ---- cleanup and exit ------------------------------------------------------
let browser = null;
let server = null;
let profileDir = null;
let exiting = false;

async function finish(code, msg) {
  if (exiting) return;
  exiting = true;
  if (msg) say(msg);
  const closing = (async () => {
    if (browser) await browser.close().catch(() => {});
    if (server) server.close();
  })();
  // Bounded: Playwright kills the browser process group on exit anyway.
  await Promise.race([closing, sleep(3000)]);
  if (profileDir) fs.rmSync(profileDir, { recursive: true, force: true });
  process.exit(code);
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function bounded(promise, ms, what) {
  let t;
  const timer = new Promise((_, reject) => {
    t = setTimeout(() => reject(new Error(what + ' timed out after ' + ms / 1000 + ' s')), ms);
  });
  return Promise.race([promise, timer]).finally(() => clearTimeout(t));
}

// Watchdog: whatever blocks, never outlive 3 timeouts (plus the hold).
setTimeout(() => finish(1, opts.mode + ' timed out'),
  (3 * opts.timeout + (opts.connect ? opts.hold : 0) + opts.mediaRecv + opts.mediaSend) *
  1000).unref();
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => finish(sig === 'SIGINT' ? 130 : 143, 'stopped by ' + sig));
}

// ---- stdin: SDP framing, then EOF watch ------------------------------------
const stdin = {
  buf: '',
  eof: false,
  waiters: [],
  wake() {
    const w = this.waiters;
    this.waiters = [];
    w.forEach((f) => f());
  },
};
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  stdin.buf += chunk;
  stdin.wake();
});
process.stdin.on('end', () => {
  stdin.eof = true;
  stdin.wake();
});
process.stdin.on('error', () => {
  stdin.eof = true;
  stdin.wake();
});

// One description: lines up to an empty line or EOF, line endings kept.
async function readSdp(ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    let lines = [];
    let rest = stdin.buf;
    let done = false;
    for (;;) {
      const nl = rest.indexOf('\n');
      if (nl < 0) break;
      const line = rest.slice(0, nl + 1);
      rest = rest.slice(nl + 1);
      if (line.replace(/\r?\n$/, '') === '') {
        if (lines.length) {
          done = true;
          break;
        }
        continue; // blank lines before the SDP
      }
      lines.push(line);
    }
    if (done) {
      stdin.buf = rest;
      return lines.join('');
    }
    if (stdin.eof) {
      if (rest.trim()) lines.push(rest);
      stdin.buf = '';
      if (!lines.length) throw new Error('end of input before any SDP');
      return lines.join('');
    }
    const left = deadline - Date.now();
    if (left <= 0) throw new Error('no complete SDP on stdin within ' + ms / 1000 + ' s');
    await new Promise((resolve) => {
      const t = setTimeout(resolve, left);
      stdin.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}

function writeSdp(sdp) {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  if (!sdp.endsWith('\n')) sdp += eol;
  process.stdout.write(sdp + eol);
}

function stripCandidates(sdp) {
  return sdp.split(/(?<=\n)/).filter((l) => !l.startsWith('a=candidate:')).join('');
}

// ---- the page ------------------------------------------------------------
const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>rtcpeer interop</title>
<script>
'use strict';
let pc = null;
let dc = null;

function gathered(ms) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('ICE gathering not complete after ' + ms + ' ms')), ms);
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') {
        clearTimeout(t);
        resolve();
      }
    });
  });
}

// Received tracks play in muted elements: Chromium pulls (decodes) remote
// audio only while something plays it out.
const sinks = [];
function playTrack(track) {
  const el = document.createElement(track.kind === 'video' ? 'video' : 'audio');
  el.muted = true;
  el.autoplay = true;
  el.playsInline = true;
  el.srcObject = new MediaStream([track]);
  document.body.appendChild(el);
  sinks.push(el);
  el.play().catch((e) => console.log('play() ' + track.kind + ': ' + e.message));
}

function newPc() {
  pc = new RTCPeerConnection({ iceServers: [] });
  pc.ondatachannel = (e) => { dc = e.channel; };
  pc.ontrack = (e) => playTrack(e.track);
}

async function makeOffer(dataOnly, ms, recvOnly) {
  newPc();
  if (!dataOnly) {
    const init = recvOnly ? { direction: 'recvonly' } : {};
    pc.addTransceiver('audio', init);
    pc.addTransceiver('video', init);
  }
  dc = pc.createDataChannel('data');
  await pc.setLocalDescription();
  await gathered(ms);
  return pc.localDescription.sdp;
}

// --media-send: the fake camera and microphone, VP8 first.
let sendTracks = null;
async function getSendTracks(w, h, fps) {
  if (!sendTracks) {
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
      video: { width: { exact: w }, height: { exact: h }, frameRate: fps },
    });
    sendTracks = { audio: stream.getAudioTracks()[0], video: stream.getVideoTracks()[0] };
    const vs = sendTracks.video.getSettings();
    console.log('camera ' + vs.width + 'x' + vs.height + ' at ' + vs.frameRate + ' fps');
  }
  return sendTracks;
}

// Keep the picture size: without feedback that raises its bandwidth estimate,
// Chromium starts at ~300 kbit/s and scales 640x480 down to 480x360
// ("qualityLimitationReason": "bandwidth"); --degradation balanced leaves
// Chromium's default.
async function keepResolution(sender, pref) {
  if (pref === 'balanced') return 'degradationPreference left to Chromium';
  try {
    const p = sender.getParameters();
    p.degradationPreference = pref;
    await sender.setParameters(p);
    return 'degradationPreference ' + sender.getParameters().degradationPreference;
  } catch (e) {
    sender.track.contentHint = 'detail';
    return 'setParameters: ' + e.message + '; contentHint "detail" instead';
  }
}

function preferVp8(t) {
  if (!t.setCodecPreferences || !RTCRtpSender.getCapabilities) return 'no setCodecPreferences';
  const codecs = RTCRtpSender.getCapabilities('video').codecs;
  const vp8 = codecs.filter((c) => c.mimeType.toLowerCase() === 'video/vp8');
  const rtx = codecs.filter((c) => c.mimeType.toLowerCase() === 'video/rtx');
  for (const list of [vp8.concat(rtx), vp8]) {
    try {
      t.setCodecPreferences(list);
      return 'VP8 preferred (' + list.map((c) => c.mimeType).join(' ') + ')';
    } catch (e) {
      console.log('setCodecPreferences: ' + e.message);
    }
  }
  return 'setCodecPreferences failed';
}

// --send-max-kbps: the video encoding's maxBitrate, above Chromium's default cap for the size.
async function setMaxBitrate(sender, kbps) {
  if (!kbps) return '';
  try {
    const p = sender.getParameters();
    if (!p.encodings || !p.encodings.length) p.encodings = [{}];
    p.encodings[0].maxBitrate = kbps * 1000;
    await sender.setParameters(p);
    return ', maxBitrate ' + sender.getParameters().encodings[0].maxBitrate;
  } catch (e) {
    return ', maxBitrate not set: ' + e.message;
  }
}

async function makeSendOffer(ms, direction, w, h, fps, degradation, maxKbps) {
  newPc();
  const tr = await getSendTracks(w, h, fps);
  const stream = new MediaStream([tr.audio, tr.video]);
  pc.addTransceiver(tr.audio, { direction, streams: [stream] });
  const vt = pc.addTransceiver(tr.video, { direction, streams: [stream] });
  const pref = preferVp8(vt);
  const deg = await keepResolution(vt.sender, degradation) + await setMaxBitrate(vt.sender, maxKbps);
  dc = pc.createDataChannel('data');
  await pc.setLocalDescription();
  await gathered(ms);
  return { sdp: pc.localDescription.sdp, pref: pref + ', ' + deg };
}

async function makeSendAnswer(sdp, ms, w, h, fps, degradation, maxKbps) {
  newPc();
  await pc.setRemoteDescription({ type: 'offer', sdp });
  const tr = await getSendTracks(w, h, fps);
  const stream = new MediaStream([tr.audio, tr.video]);
  const used = [];
  for (const t of pc.getTransceivers()) {
    const kind = t.receiver && t.receiver.track && t.receiver.track.kind;
    if ((kind !== 'audio' && kind !== 'video') || used.includes(kind)) continue;
    used.push(kind);
    await t.sender.replaceTrack(tr[kind]);
    t.sender.setStreams(stream);
    // sendrecv here: the answer is the intersection (sendonly for a recvonly offer)
    t.direction = 'sendrecv';
    if (kind === 'video') {
      used.push(await keepResolution(t.sender, degradation) + await setMaxBitrate(t.sender, maxKbps));
    }
  }
  await pc.setLocalDescription();
  await gathered(ms);
  return { sdp: pc.localDescription.sdp, pref: 'sending on ' + (used.join(', ') || 'nothing') };
}

// outbound-rtp (and media-source) counters for --media-send.
const OUT_VIDEO_KEYS = ['framesEncoded', 'framesSent', 'keyFramesEncoded', 'frameWidth',
  'frameHeight', 'framesPerSecond', 'packetsSent', 'bytesSent', 'retransmittedPacketsSent',
  'nackCount', 'pliCount', 'firCount', 'qualityLimitationReason', 'targetBitrate',
  'encoderImplementation'];
const OUT_AUDIO_KEYS = ['packetsSent', 'bytesSent', 'retransmittedPacketsSent',
  'targetBitrate'];
async function sendStats() {
  const stats = await pc.getStats();
  const out = { video: null, audio: null };
  stats.forEach((s) => {
    if (s.type !== 'outbound-rtp' || out[s.kind]) return;
    const o = { ssrc: s.ssrc, mid: s.mid };
    for (const k of (s.kind === 'video' ? OUT_VIDEO_KEYS : OUT_AUDIO_KEYS)) {
      if (s[k] !== undefined) o[k] = s[k];
    }
    const c = s.codecId && stats.get(s.codecId);
    if (c) o.codec = c.mimeType + '/' + c.payloadType;
    const m = s.mediaSourceId && stats.get(s.mediaSourceId);
    if (m && s.kind === 'video') {
      o.sourceFrames = m.frames;
      o.sourceFps = m.framesPerSecond;
      o.sourceSize = m.width + 'x' + m.height;
    } else if (m) {
      o.audioLevel = m.audioLevel;
      o.totalSamplesDuration = m.totalSamplesDuration;
    }
    out[s.kind] = o;
  });
  stats.forEach((s) => {
    if (s.type !== 'transport' || out.pair) return;
    const p = s.selectedCandidatePairId && stats.get(s.selectedCandidatePairId);
    if (p) {
      out.pair = { availableOutgoingBitrate: p.availableOutgoingBitrate,
        currentRoundTripTime: p.currentRoundTripTime, bytesSent: p.bytesSent };
    }
  });
  stats.forEach((s) => {
    if (s.type === 'remote-inbound-rtp' && out[s.kind] && !out[s.kind].remote) {
      out[s.kind].remote = { packetsLost: s.packetsLost, fractionLost: s.fractionLost,
        roundTripTime: s.roundTripTime, jitter: s.jitter };
    }
  });
  return out;
}

function hangUp() {
  pc.close();
}

async function applyAnswer(sdp) {
  await pc.setRemoteDescription({ type: 'answer', sdp });
}

async function makeAnswer(sdp, ms) {
  newPc();
  await pc.setRemoteDescription({ type: 'offer', sdp });
  await pc.setLocalDescription();
  await gathered(ms);
  return pc.localDescription.sdp;
}

function dtlsTransport() {
  if (pc.sctp && pc.sctp.transport) return pc.sctp.transport;
  for (const t of pc.getTransceivers()) {
    if (t.sender && t.sender.transport) return t.sender.transport;
  }
  return null;
}

function states() {
  const d = dtlsTransport();
  return {
    connection: pc.connectionState,
    ice: pc.iceConnectionState,
    dtls: d ? d.state : 'none',
  };
}

function addr(c) {
  const a = c.address || c.ip || '?';
  return (a.includes(':') ? '[' + a + ']' : a) + ':' + c.port;
}

// inbound-rtp counters for --media-recv (the first stream of each kind).
const VIDEO_KEYS = ['framesDecoded', 'framesPerSecond', 'frameWidth', 'frameHeight',
  'keyFramesDecoded', 'framesReceived', 'framesDropped', 'packetsReceived', 'packetsLost',
  'nackCount', 'pliCount', 'firCount', 'bytesReceived', 'jitter', 'decoderImplementation'];
const AUDIO_KEYS = ['totalSamplesReceived', 'concealedSamples', 'silentConcealedSamples',
  'packetsReceived', 'packetsLost', 'bytesReceived', 'jitter', 'audioLevel'];
async function mediaStats() {
  const stats = await pc.getStats();
  const out = { video: null, audio: null };
  stats.forEach((s) => {
    if (s.type !== 'inbound-rtp' || out[s.kind]) return;
    const o = { ssrc: s.ssrc, mid: s.mid };
    for (const k of (s.kind === 'video' ? VIDEO_KEYS : AUDIO_KEYS)) {
      if (s[k] !== undefined) o[k] = s[k];
    }
    const c = s.codecId && stats.get(s.codecId);
    if (c) o.codec = c.mimeType + '/' + c.payloadType;
    out[s.kind] = o;
  });
  return out;
}

async function details() {
  const stats = await pc.getStats();
  const out = { pair: 'no selected pair in getStats' };
  stats.forEach((s) => {
    if (s.type !== 'transport') return;
    out.dtlsState = s.dtlsState;
    out.dtlsRole = s.dtlsRole;
    out.cipher = s.dtlsCipher;
    out.srtpCipher = s.srtpCipher;
    out.tlsVersion = s.tlsVersion;
    const p = s.selectedCandidatePairId && stats.get(s.selectedCandidatePairId);
    if (!p) return;
    const l = stats.get(p.localCandidateId);
    const r = stats.get(p.remoteCandidateId);
    if (l && r) {
      out.pair = l.candidateType + ' ' + addr(l) + ' <-> ' + r.candidateType + ' ' + addr(r);
    }
  });
  return out;
}
</script>
`;

function startServer() {
  return new Promise((resolve, reject) => {
    const srv = http.createServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(PAGE);
    });
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve(srv));
  });
}

// Flags from the project's testing notes; Playwright's own defaults are left
// out (ignoreDefaultArgs) because Chromium honours only the last
// --disable-features switch, and ours must stay in force.
function chromiumArgs() {
  return [
    '--headless=new',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--no-default-browser-check',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-extensions',
    '--disable-default-apps',
    '--disable-dev-shm-usage',
    '--mute-audio',
    '--password-store=basic',
    '--use-mock-keychain',
    // --media-recv plays the received tracks (muted) without a user gesture.
    '--autoplay-policy=no-user-gesture-required',
    '--no-pings',
    // No name is ever resolved (the page is http://127.0.0.1:PORT/): without
    // this, background services still look up Google hosts at the
    // machine's DNS server.
    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
    // WebRtcHideLocalIpsWithMdns: real host addresses in candidates instead
    // of random .local names. The rest quiets background services, as
    // Playwright's own defaults do.
    '--disable-features=' + [
      'WebRtcHideLocalIpsWithMdns',
      'Translate',
      'OptimizationHints',
      'MediaRouter',
      'DialMediaRouteProvider',
      'AutofillServerCommunication',
      'CertificateTransparencyComponentUpdater',
      'NetworkTimeServiceQuerying',
      'InterestFeedContentSuggestions',
    ].join(','),
    '--user-data-dir=' + profileDir,
    '--remote-debugging-pipe',
    '--no-startup-window',
  ].concat(opts.mediaSend ? [
    // --media-send: fake camera (moving pattern) and microphone (our tone
    // file, looped), permission granted without a prompt.
    '--use-fake-device-for-media-stream=fps=' + opts.sendFps,
    '--use-fake-ui-for-media-stream',
    '--use-file-for-fake-audio-capture=' + path.join(profileDir, 'tone.wav'),
  ].concat(opts.sendVideoFile ? ['--use-file-for-fake-video-capture=' + opts.sendVideoFile] : [])
    : []);
}

// A 48 kHz mono 16-bit WAV of `seconds` of a `freq` Hz sine at half full
// scale (a whole number of periods, so that the loop has no click).
function toneWav(file, freq, seconds) {
  const rate = 48000;
  const n = rate * seconds;
  const buf = Buffer.alloc(44 + 2 * n);
  buf.write('RIFF', 0);
  buf.writeUInt32LE(36 + 2 * n, 4);
  buf.write('WAVEfmt ', 8);
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20);
  buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(rate, 24);
  buf.writeUInt32LE(2 * rate, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36);
  buf.writeUInt32LE(2 * n, 40);
  for (let i = 0; i < n; i++) {
    buf.writeInt16LE(Math.round(16383 * Math.sin(2 * Math.PI * freq * i / rate)), 44 + 2 * i);
  }
  fs.writeFileSync(file, buf);
}

async function openPage(pw) {
  server = await startServer();
  const url = 'http://127.0.0.1:' + server.address().port + '/';
  profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtcpeer-chromium-'));
  if (opts.mediaSend) toneWav(path.join(profileDir, 'tone.wav'), opts.tone, 2);
  browser = await bounded(pw.chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    ignoreDefaultArgs: true,
    args: chromiumArgs(),
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
    timeout: opts.timeout * 1000,
    env: { ...process.env, HOME: profileDir },
    logger: VERBOSE ? { isEnabled: () => true, log: (n, s, m) => say('[' + n + '] ' + m) } : undefined,
  }), opts.timeout * 1000 + 1000, 'launching ' + CHROMIUM);
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  if (VERBOSE) page.on('console', (m) => say('page: ' + m.text()));
  page.on('pageerror', (e) => say('page error: ' + e.message));
  await page.goto(url, { timeout: opts.timeout * 1000 });
  const secure = await page.evaluate(() => window.isSecureContext);
  if (!secure) say('warning: ' + url + ' is not a secure context');
  return page;
}

function warnMdns(sdp) {
  const hidden = sdp.split(/\r?\n/).filter((l) => l.startsWith('a=candidate:') && /\.local /.test(l));
  if (hidden.length) {
    say('warning: ' + hidden.length + ' host candidate(s) hidden behind mDNS .local names ' +
      '(WebRtcHideLocalIpsWithMdns still on)');
  }
}

// ---- connected phase -------------------------------------------------------
async function stayConnected(page) {
  const t0 = Date.now();
  const ms = opts.timeout * 1000;
  let st;
  for (;;) {
    st = await page.evaluate(() => states());
    if (st.connection === 'connected') break;
    if (st.connection === 'failed' || st.connection === 'closed' || st.dtls === 'failed') {
      say('connection failed: connectionState ' + st.connection + ', iceConnectionState ' +
        st.ice + ', DTLS ' + st.dtls);
      return 1;
    }
    if (Date.now() - t0 > ms) {
      say('not connected after ' + opts.timeout + ' s: connectionState ' + st.connection +
        ', iceConnectionState ' + st.ice + ', DTLS ' + st.dtls);
      return 1;
    }
    await sleep(10);
  }
  const elapsed = Date.now() - t0;
  const d = await bounded(page.evaluate(() => details()), ms, 'getStats');
  say('connected in ' + elapsed + ' ms: connectionState ' + st.connection +
    ', iceConnectionState ' + st.ice + ', DTLS ' + st.dtls + ' (role ' + d.dtlsRole +
    ', ' + d.cipher + ', ' + d.srtpCipher + '), pair ' + d.pair);
  let code = 0;
  if (opts.mediaRecv) code = await mediaRecv(page);
  let sendT0 = null;
  if (opts.mediaSend) {
    sendT0 = await mediaSend(page);
    if (!opts.keepSending) {
      await mediaSendReport(page, 'media send done', sendT0);
      say('hanging up after sending for ' + opts.mediaSend + ' s');
      await bounded(page.evaluate(() => hangUp()), ms, 'close()').catch(() => {});
      return 0;
    }
  }
  if (opts.dataTest) return require('./chromium_datatest.js').run(page, opts, say);

  const end = Date.now() + opts.hold * 1000;
  let reason = 'hold time of ' + opts.hold + ' s over';
  let eofAt = null;
  while (Date.now() < end) {
    st = await page.evaluate(() => states());
    if (st.dtls === 'closed' || st.dtls === 'failed' || st.connection === 'closed' ||
      st.connection === 'failed') {
      reason = 'peer hung up: connectionState ' + st.connection + ', iceConnectionState ' +
        st.ice + ', DTLS ' + st.dtls;
      break;
    }
    // On stdin EOF, give the peer's close_notify half a second to show.
    if (stdin.eof && eofAt === null) eofAt = Date.now();
    if (eofAt !== null && Date.now() > eofAt + 500) {
      reason = 'stdin EOF (connectionState ' + st.connection + ', DTLS ' + st.dtls + ')';
      break;
    }
    await sleep(20);
  }
  say('end after ' + ((Date.now() - t0) / 1000).toFixed(1) + ' s connected: ' + reason);
  if (sendT0 !== null) await mediaSendReport(page, 'media send done', sendT0).catch(() => {});
  return code;
}

// --media-send: sample the senders once a second for opts.mediaSend seconds
// (stop early when the peer hung up).
function sendSample(t, st) {
  const v = st.video || {};
  const a = st.audio || {};
  return {
    t, seconds: t,
    video: { ...v, frames: v.framesSent || 0, size: v.frameWidth ? v.frameWidth + 'x' + v.frameHeight : null,
      fps: opts.sendFps },
    audio: { ...a, toneHz: opts.tone },
    pair: st.pair || null,
  };
}

async function mediaSendReport(page, what, t0) {
  const ms = opts.timeout * 1000;
  const st = await bounded(page.evaluate(() => sendStats()), ms, 'getStats');
  const t = Math.round((Date.now() - t0) / 10) / 100;
  process.stderr.write('chromium: ' + what + ' ' + JSON.stringify(sendSample(t, st)) + '\n');
}

async function mediaSend(page) {
  const t0 = Date.now();
  await mediaSendReport(page, 'media sent', t0);
  for (let i = 1; i <= opts.mediaSend; i++) {
    const wait = t0 + i * 1000 - Date.now();
    if (wait > 0) await sleep(wait);
    const st = await page.evaluate(() => states());
    if (st.dtls === 'closed' || st.dtls === 'failed' || st.connection === 'closed' ||
      st.connection === 'failed') {
      say('media send: the peer hung up after ' + ((Date.now() - t0) / 1000).toFixed(1) + ' s');
      break;
    }
    await mediaSendReport(page, 'media sent', t0);
  }
  const rest = t0 + opts.mediaSend * 1000 - Date.now();
  if (rest > 0) await sleep(rest);
  return t0;
}

// --media-recv: sample getStats() once a second for opts.mediaRecv seconds,
// one JSON line per sample, then the verdict. 0 when video and audio came in
// at the expected rates, 1 otherwise.
async function mediaRecv(page) {
  const ms = opts.timeout * 1000;
  const sample = async () => bounded(page.evaluate(() => mediaStats()), ms, 'getStats');
  const t0 = Date.now();
  const first = await sample();
  const at = (t) => Math.round((t - t0) / 100) / 10;
  process.stderr.write('chromium: media ' + JSON.stringify({ t: 0, ...first }) + '\n');
  let last = first;
  for (let i = 1; i <= opts.mediaRecv; i++) {
    const wait = t0 + i * 1000 - Date.now();
    if (wait > 0) await sleep(wait);
    last = await sample();
    process.stderr.write('chromium: media ' + JSON.stringify({ t: at(Date.now()), ...last }) + '\n');
  }
  const secs = (Date.now() - t0) / 1000;
  const v0 = first.video || {};
  const v1 = last.video || {};
  const a0 = first.audio || {};
  const a1 = last.audio || {};
  const frames = (v1.framesDecoded || 0) - (v0.framesDecoded || 0);
  const samples = (a1.totalSamplesReceived || 0) - (a0.totalSamplesReceived || 0);
  // totalSamplesReceived includes the samples NetEq made up (concealment):
  // it rises at 48000/s as long as the track plays, packets or not. What
  // was really decoded is the rest.
  const concealed = (a1.concealedSamples || 0) - (a0.concealedSamples || 0);
  const fps = frames / secs;
  const sps = samples / secs;
  const decodedSps = (samples - concealed) / secs;
  const size = v1.frameWidth ? v1.frameWidth + 'x' + v1.frameHeight : 'none';
  const problems = [];
  if (fps < opts.minRatio * opts.expectFps) {
    problems.push('video decoded at ' + fps.toFixed(1) + ' fps < ' +
      (opts.minRatio * opts.expectFps).toFixed(1));
  }
  if (sps < opts.minRatio * 48000) {
    problems.push('audio received at ' + Math.round(sps) + ' samples/s < ' +
      Math.round(opts.minRatio * 48000));
  } else if (decodedSps < opts.minRatio * 48000) {
    problems.push('audio decoded (not concealed) at ' + Math.round(decodedSps) +
      ' samples/s < ' + Math.round(opts.minRatio * 48000) + ' (' + concealed +
      ' of ' + samples + ' samples concealed)');
  }
  if (opts.expectSize !== 'any' && size !== opts.expectSize) {
    problems.push('frame size ' + size + ', expected ' + opts.expectSize);
  }
  const verdict = {
    seconds: Number(secs.toFixed(2)),
    video: {
      codec: v1.codec, framesDecoded: frames, fps: Number(fps.toFixed(2)), size,
      keyFramesDecoded: v1.keyFramesDecoded, framesDropped: v1.framesDropped,
      packetsReceived: v1.packetsReceived, packetsLost: v1.packetsLost, nackCount: v1.nackCount,
      pliCount: v1.pliCount, firCount: v1.firCount, decoder: v1.decoderImplementation,
    },
    audio: {
      codec: a1.codec, totalSamplesReceived: samples, samplesPerSecond: Math.round(sps),
      concealedSamples: concealed, decodedSamplesPerSecond: Math.round(decodedSps),
      packetsReceived: a1.packetsReceived, packetsLost: a1.packetsLost,
    },
  };
  process.stderr.write('chromium: media verdict ' + JSON.stringify(verdict) + '\n');
  if (problems.length) {
    say('media FAILED: ' + problems.join('; '));
    return 1;
  }
  say('media ok: video ' + fps.toFixed(1) + ' fps ' + size + ' (' + frames + ' frames, ' +
    (v1.keyFramesDecoded || 0) + ' key), audio ' + Math.round(sps) + ' samples/s (' +
    Math.round(decodedSps) + ' decoded, the rest concealed) in ' + secs.toFixed(1) + ' s');
  return 0;
}

// ---- modes -------------------------------------------------------------------
async function main() {
  const pw = loadPlaywright();
  if (!pw) return finish(2, 'playwright-core not installed (npm ci in tests/interop/node)');
  const ms = opts.timeout * 1000;
  const page = await openPage(pw);
  if (opts.dataTest) await require('./chromium_datatest.js').install(page);
  const remote = (sdp) => (opts.connect ? sdp : stripCandidates(sdp));
  const [sw, sh] = opts.sendSize.split('x').map(Number);
  if (opts.mode === 'offer' && opts.mediaSend) {
    let r;
    try {
      r = await bounded(page.evaluate(([t, d, w, h, f, g, m]) => makeSendOffer(t, d, w, h, f, g, m),
        [ms, opts.sendDirection, sw, sh, opts.sendFps, opts.degradation, opts.sendMaxKbps || 0]),
      ms + 1000,
      'createOffer');
    } catch (e) {
      return finish(1, 'offer with camera and microphone: ' + e.message);
    }
    say('media send: ' + r.pref);
    warnMdns(r.sdp);
    writeSdp(r.sdp);
    let answer;
    try {
      answer = await readSdp(ms);
    } catch (e) {
      return finish(1, 'reading answer: ' + e.message);
    }
    try {
      await bounded(page.evaluate((s) => applyAnswer(s), remote(answer)), ms, 'setRemoteDescription');
    } catch (e) {
      return finish(1, 'setRemoteDescription(answer) failed: ' + e.message);
    }
    say('ok');
  } else if (opts.mode === 'offer') {
    const offer = await bounded(page.evaluate(([d, t, r]) => makeOffer(d, t, r),
      [opts.dataOnly, ms, opts.mediaRecv > 0]),
      ms + 1000, 'createOffer');
    warnMdns(offer);
    writeSdp(offer);
    let answer;
    try {
      answer = await readSdp(ms);
    } catch (e) {
      return finish(1, 'reading answer: ' + e.message);
    }
    try {
      await bounded(page.evaluate((s) => applyAnswer(s), remote(answer)), ms, 'setRemoteDescription');
    } catch (e) {
      return finish(1, 'setRemoteDescription(answer) failed: ' + e.message);
    }
    say('ok');
  } else {
    let offer;
    try {
      offer = await readSdp(ms);
    } catch (e) {
      return finish(1, 'reading offer: ' + e.message);
    }
    let answer;
    try {
      if (opts.mediaSend) {
        const r = await bounded(page.evaluate(([s, t, w, h, f, g, m]) =>
          makeSendAnswer(s, t, w, h, f, g, m),
        [remote(offer), ms, sw, sh, opts.sendFps, opts.degradation, opts.sendMaxKbps || 0]),
        ms + 1000, 'answering');
        say('media send: ' + r.pref);
        answer = r.sdp;
      } else {
        answer = await bounded(page.evaluate(([s, t]) => makeAnswer(s, t), [remote(offer), ms]),
          ms + 1000, 'answering');
      }
    } catch (e) {
      return finish(1, 'offer rejected: ' + e.message);
    }
    warnMdns(answer);
    writeSdp(answer);
  }
  if (!opts.connect) return finish(0);
  return finish(await stayConnected(page));
}

main().catch((e) => finish(1, (e && e.message) || String(e)));
