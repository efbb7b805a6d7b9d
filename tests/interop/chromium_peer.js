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
    '       chromium_peer.js offer|answer --data-test [--data-only] [--text T] [--send-file F] ' +
    '[--recv-out F] [--expect-sha256 HEX] [--timeout S]\n');
  process.exit(2);
}

const argv = process.argv.slice(2);
const opts = {
  mode: argv[0], dataOnly: false, connect: false, hold: 30, timeout: 10,
  mediaRecv: 0, expectFps: 30, expectSize: '640x480', minRatio: 0.8,
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
  (3 * opts.timeout + (opts.connect ? opts.hold : 0) + opts.mediaRecv) * 1000).unref();
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
  ];
}

async function openPage(pw) {
  server = await startServer();
  const url = 'http://127.0.0.1:' + server.address().port + '/';
  profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtcpeer-chromium-'));
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
  return code;
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
  if (opts.mode === 'offer') {
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
      answer = await bounded(page.evaluate(([s, t]) => makeAnswer(s, t), [remote(offer), ms]),
        ms + 1000, 'answering');
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
