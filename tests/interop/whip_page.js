#!/usr/bin/env node
// The browser page of `rtcpeer answer --listen` (src/signal/page.html), driven
// in headless Chromium as a person would use it.
//
//   whip_page.js check
//       exit 0 when /usr/bin/chromium and playwright-core are there, else say
//       what is missing and exit 2 (as chromium_peer.js check).
//   whip_page.js RTCPEER PAGE_HTML OUTDIR
//       starts `RTCPEER answer --listen 127.0.0.1:0 --token T --video test
//       --audio test --data --video-out OUTDIR/received.y4m --record-audio
//       OUTDIR/received.wav --stats OUTDIR/stats.jsonl --summary
//       OUTDIR/summary.json -v` (the port is the one rtcpeer's "listening for
//       a WHIP offer at URL" line names), then:
//         1. GET / is PAGE_HTML byte for byte; POST /whip without or with a
//            wrong token gets 401;
//         2. the page opened with ?token=wrong: Call shows a visible 401 error,
//            and no call is up (rtcpeer keeps waiting);
//         3. the page opened with ?token=T (prefilled in the token box): Call
//            connects, the page decodes > 30 frames from rtcpeer and rtcpeer's
//            answer was 201 with a Location /whip/... and an ETag; a second
//            POST meanwhile gets 409;
//         4. a message typed in the page's text box and sent arrives on
//            rtcpeer's standard output; a line written to rtcpeer's standard
//            input shows up in the page's log;
//         5. once the page has sent 2 x MIN_FRAMES video frames, Hang up
//            (DELETE on the Location) gets 2xx and rtcpeer exits 0
//            within HANGUP_S (8) seconds;
//         6. OUTDIR/received.y4m (what rtcpeer decoded from Chromium's fake
//            camera) holds >= MIN_FRAMES (30) frames, OUTDIR/received.wav
//            (--record-audio, its fake microphone) >= 1 s.
//       One "ok: ..." or "FAIL: ..." line per check on stdout; exit 0 when all
//       passed, 1 otherwise. rtcpeer's stdout and stderr go to OUTDIR/rtcpeer.out
//       and OUTDIR/rtcpeer.err, the page's console to OUTDIR/page.log, a
//       screenshot of the call (before the hang-up) to OUTDIR/page.png.
//
// Environment: CHROMIUM (/usr/bin/chromium), MIN_FRAMES (30), HANGUP_S (8),
// TIMEOUT_S (20: each wait), WHIP_PAGE_VERBOSE=1 (rtcpeer's stderr and the
// page's console on stderr as they come).
'use strict';

const { spawn } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const VERBOSE = process.env.WHIP_PAGE_VERBOSE === '1';
const MIN_FRAMES = Number(process.env.MIN_FRAMES || 30);
const HANGUP_S = Number(process.env.HANGUP_S || 8);
const TIMEOUT_S = Number(process.env.TIMEOUT_S || 20);

function say(msg) {
  process.stderr.write('whip-page: ' + msg + '\n');
}

function loadPlaywright() {
  try {
    return require(require.resolve('playwright-core', { paths: [path.join(__dirname, 'node')] }));
  } catch (e) {
    return null;
  }
}

if (process.argv[2] === 'check') {
  const missing = [];
  try {
    fs.accessSync(CHROMIUM, fs.constants.X_OK);
  } catch (e) {
    missing.push(CHROMIUM + ' not found (package chromium)');
  }
  if (!loadPlaywright()) missing.push('playwright-core not installed (npm ci in tests/interop/node)');
  if (missing.length) {
    process.stderr.write(missing.join('; ') + '\n');
    process.exit(2);
  }
  process.exit(0);
}
if (process.argv.length !== 5) {
  process.stderr.write('usage: whip_page.js check | RTCPEER PAGE_HTML OUTDIR\n');
  process.exit(2);
}
const [RTCPEER, PAGE_HTML, OUT] = process.argv.slice(2).map((a) => path.resolve(a));

// ---- results, cleanup ------------------------------------------------------
let failures = 0;
function check(ok, what, detail) {
  if (!ok) failures++;
  console.log((ok ? 'ok: ' : 'FAIL: ') + what + (detail ? ' (' + detail + ')' : ''));
  return ok;
}

let browser = null;
let rtc = null;
let profileDir = null;
let finishing = false;

async function finish(code, msg) {
  if (finishing) return;
  finishing = true;
  if (msg) say(msg);
  if (browser) await Promise.race([browser.close().catch(() => {}), sleep(3000)]);
  if (rtc && rtc.exit === null) {
    rtc.child.kill('SIGTERM');
    await Promise.race([rtc.exited, sleep(3000)]);
    if (rtc.exit === null) rtc.child.kill('SIGKILL');
  }
  if (profileDir) fs.rmSync(profileDir, { recursive: true, force: true });
  process.exit(code);
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Polls cond() (sync or async) every 100 ms until it is truthy or ms pass.
async function until(cond, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) return v;
    await sleep(100);
  }
}

setTimeout(() => finish(1, 'watchdog: the whole test took over ' + 8 * TIMEOUT_S + ' s'),
  8 * TIMEOUT_S * 1000).unref();
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => finish(sig === 'SIGINT' ? 130 : 143, 'stopped by ' + sig));
}
// A closed stdout (| head) must not leave rtcpeer and Chromium behind.
process.stdout.on('error', () => finish(1));

// ---- rtcpeer ---------------------------------------------------------------
const TOKEN = crypto.randomBytes(9).toString('base64url');

function startRtcpeer() {
  const args = ['answer', '--listen', '127.0.0.1:0', '--token', TOKEN,
    '--video', 'test', '--audio', 'test', '--data',
    '--video-out', path.join(OUT, 'received.y4m'), '--record-audio', path.join(OUT, 'received.wav'),
    '--stats', path.join(OUT, 'stats.jsonl'),
    '--summary', path.join(OUT, 'summary.json'), '--timeout', String(6 * TIMEOUT_S), '-v'];
  fs.writeFileSync(path.join(OUT, 'rtcpeer.cmd'), [RTCPEER].concat(args).join(' ') + '\n');
  const child = spawn(RTCPEER, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const r = { child, out: Buffer.alloc(0), err: '', url: null, exit: null };
  const outFile = fs.createWriteStream(path.join(OUT, 'rtcpeer.out'));
  const errFile = fs.createWriteStream(path.join(OUT, 'rtcpeer.err'));
  child.stdout.on('data', (b) => {
    r.out = Buffer.concat([r.out, b]);
    outFile.write(b);
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s) => {
    r.err += s;
    errFile.write(s);
    if (VERBOSE) process.stderr.write(s.replace(/^(?=.)/gm, 'rtcpeer| '));
    const m = !r.url && /listening for a WHIP offer at (https?:\/\/\S+)/.exec(r.err);
    if (m) r.url = new URL(m[1]);
  });
  child.stdin.on('error', () => {}); // EPIPE once rtcpeer has gone
  r.exited = new Promise((resolve) => child.on('exit', (code, signal) => {
    r.exit = signal ? 'signal ' + signal : code;
    resolve(r.exit);
  }));
  child.on('error', (e) => {
    r.exit = 'spawn error: ' + e.message;
  });
  return r;
}

function lastLines(text, n) {
  return text.split('\n').filter((l) => l && !/ (ice|media|rtp|sctp) debug: /.test(l))
    .slice(-n).map((l) => '    rtcpeer| ' + l).join('\n');
}

// A plain HTTP request: resolves { status, headers, body }.
function request(method, url, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, timeout: TIMEOUT_S * 1000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers,
        body: Buffer.concat(chunks) }));
    });
    req.on('timeout', () => req.destroy(new Error('no reply within ' + TIMEOUT_S + ' s')));
    req.on('error', reject);
    req.end(body);
  });
}

// Frames in a Y4M stream: the header line, then "FRAME[ params]\n" + an I420 picture each.
function countY4m(file) {
  let data;
  try {
    data = fs.readFileSync(file);
  } catch (e) {
    return { frames: 0, why: e.code === 'ENOENT' ? 'no file' : e.message };
  }
  let nl = data.indexOf(10);
  const header = nl < 0 ? '' : data.subarray(0, nl).toString('latin1');
  const w = Number((/ W(\d+)/.exec(header) || [])[1]);
  const h = Number((/ H(\d+)/.exec(header) || [])[1]);
  if (!header.startsWith('YUV4MPEG2 ') || !w || !h) {
    return { frames: 0, why: data.length + ' bytes, not a Y4M stream' };
  }
  const size = w * h + 2 * (((w + 1) >> 1) * ((h + 1) >> 1));
  let frames = 0;
  let off = nl + 1;
  while (off + 5 <= data.length && data.subarray(off, off + 5).toString('latin1') === 'FRAME') {
    nl = data.indexOf(10, off);
    if (nl < 0 || nl + 1 + size > data.length) break;
    frames++;
    off = nl + 1 + size;
  }
  return { frames, size: w + 'x' + h, trailing: data.length - off };
}

// ---- Chromium --------------------------------------------------------------
// As chromium_peer.js (see its notes), plus the fake camera and microphone
// with the permission prompt answered.
function chromiumArgs() {
  return [
    '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--no-default-browser-check', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--disable-extensions', '--disable-default-apps', '--disable-dev-shm-usage',
    '--mute-audio', '--password-store=basic', '--use-mock-keychain',
    '--autoplay-policy=no-user-gesture-required', '--no-pings',
    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
    '--disable-features=' + ['WebRtcHideLocalIpsWithMdns', 'Translate', 'OptimizationHints',
      'MediaRouter', 'DialMediaRouteProvider', 'AutofillServerCommunication',
      'CertificateTransparencyComponentUpdater', 'NetworkTimeServiceQuerying',
      'InterestFeedContentSuggestions'].join(','),
    '--user-data-dir=' + profileDir, '--remote-debugging-pipe', '--no-startup-window',
    '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  ];
}

async function launch(pw) {
  profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtcpeer-whip-page-'));
  browser = await pw.chromium.launch({
    executablePath: CHROMIUM, headless: true, ignoreDefaultArgs: true, args: chromiumArgs(),
    handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false, timeout: TIMEOUT_S * 1000,
    env: { ...process.env, HOME: profileDir },
  });
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  page.setDefaultTimeout(TIMEOUT_S * 1000);
  const log = fs.createWriteStream(path.join(OUT, 'page.log'), { flags: 'a' });
  const note = (s) => {
    log.write(s + '\n');
    if (VERBOSE) say('page: ' + s);
  };
  page.on('console', (m) => note('console.' + m.type() + ': ' + m.text()));
  page.on('pageerror', (e) => {
    note('page error: ' + e.message);
    say('page error: ' + e.message);
  });
  // Every request the page makes to rtcpeer's endpoint, with its reply.
  page.whip = [];
  page.on('response', (res) => {
    const req = res.request();
    if (req.method() === 'GET') return;
    const e = { method: req.method(), url: res.url(), status: res.status(), headers: res.headers() };
    page.whip.push(e);
    note(e.method + ' ' + e.url + ' -> ' + e.status + ' ' + JSON.stringify(e.headers));
  });
  return page;
}

const pageState = (page) => page.evaluate(() => window.rtcpeerPage.state());
const pageStats = (page) => page.evaluate(() => window.rtcpeerPage.stats());

// ---- the test --------------------------------------------------------------
async function main() {
  const pw = loadPlaywright();
  if (!pw) return finish(2, 'playwright-core not installed (npm ci in tests/interop/node)');
  const pageHtml = fs.readFileSync(PAGE_HTML);

  rtc = startRtcpeer();
  await until(() => rtc.url || rtc.exit !== null, TIMEOUT_S * 1000);
  if (!rtc.url) {
    check(false, 'rtcpeer answer --listen names its URL',
      rtc.exit !== null ? 'exit ' + rtc.exit : 'no "listening for a WHIP offer at URL" line');
    console.log(lastLines(rtc.err, 12));
    return finish(1);
  }
  const endpoint = rtc.url;
  const base = new URL('/', endpoint);
  say('rtcpeer listens at ' + endpoint.href);

  // 1. plain HTTP: the page, and the token.
  const got = await request('GET', base).catch((e) => ({ status: e.message, body: Buffer.alloc(0) }));
  check(got.status === 200 && Buffer.compare(got.body, pageHtml) === 0,
    'GET / serves ' + path.basename(PAGE_HTML) + ' as built in',
    'status ' + got.status + ', ' + got.body.length + ' bytes, ' + PAGE_HTML + ' has ' +
    pageHtml.length + (got.headers ? ', Content-Type ' + got.headers['content-type'] : ''));
  const dummy = 'v=0\r\n';
  for (const [what, auth] of [['no token', null], ['a wrong token', 'Bearer nope']]) {
    const h = { 'Content-Type': 'application/sdp' };
    if (auth) h.Authorization = auth;
    const r = await request('POST', endpoint, h, dummy).catch((e) => ({ status: e.message }));
    check(r.status === 401, 'POST /whip with ' + what + ' gets 401', 'got ' + r.status);
  }

  const page = await launch(pw);

  // 2. the page with a wrong token: a visible error, no call.
  await page.goto(base.href + '?token=wrong');
  check(await page.inputValue('#token') === 'wrong', '?token= prefills the token box');
  await page.click('#call');
  await until(async () => (await pageState(page)).error !== '', TIMEOUT_S * 1000);
  let st = await pageState(page);
  const errVisible = await page.isVisible('#error');
  check(/401/.test(st.error) && errVisible && !st.inCall,
    'a wrong token shows the server\'s 401 in the page and ends the attempt',
    'error "' + st.error + '", visible ' + errVisible + ', in call ' + st.inCall);
  check(rtc.exit === null && !/WHIP client hung up|session established/i.test(rtc.err),
    'no session after the refused call: rtcpeer still waits',
    rtc.exit !== null ? 'rtcpeer exited ' + rtc.exit : '');

  // 3. the right token: a call.
  await page.goto(base.href + '?token=' + encodeURIComponent(TOKEN));
  check(await page.inputValue('#token') === TOKEN, '?token= prefills the right token');
  page.whip = [];
  const t0 = Date.now();
  await page.click('#call');
  await until(async () => {
    const s = await pageState(page);
    return s.connectionState === 'connected' || s.error || !s.inCall;
  }, TIMEOUT_S * 1000);
  st = await pageState(page);
  const post = page.whip.find((e) => e.method === 'POST');
  check(post && post.status === 201 && /^\/whip\/[^/]+$/.test(new URL(post.headers.location || '',
    endpoint).pathname) && !!post.headers.etag,
  'the page\'s POST gets 201 with a Location /whip/<id> and an ETag',
  post ? post.status + ', Location ' + post.headers.location + ', ETag ' + post.headers.etag
    : 'no POST seen');
  if (!check(st.connectionState === 'connected', 'Call connects',
    'connectionState ' + st.connectionState + ' after ' + (Date.now() - t0) + ' ms' +
    (st.error ? ', error "' + st.error + '"' : '') + (st.note ? ', note "' + st.note + '"' : ''))) {
    console.log(lastLines(rtc.err, 12));
    return finish(1);
  }
  say('connected in ' + (Date.now() - t0) + ' ms');
  if (st.note) say('page note: ' + st.note);

  // While the call is up, a second offer is refused.
  const offer = await page.evaluate(() => window.rtcpeerPage.pc.localDescription.sdp);
  const second = await request('POST', endpoint, { 'Content-Type': 'application/sdp',
    Authorization: 'Bearer ' + TOKEN }, offer).catch((e) => ({ status: e.message, body: '' }));
  check(second.status === 409, 'a second POST during the call gets 409',
    'got ' + second.status + ' "' + String(second.body).trim() + '"');

  let stats = await until(async () => {
    const s = await pageStats(page);
    return s.framesDecoded > 30 ? s : null;
  }, TIMEOUT_S * 1000) || await pageStats(page);
  check(stats.framesDecoded > 30, 'the page decodes rtcpeer\'s video (> 30 frames)',
    JSON.stringify(stats));

  // 4. the data channels, both ways.
  const fromPage = 'hello from the page ' + crypto.randomBytes(4).toString('hex');
  await until(async () => (await pageState(page)).chat === 'open', TIMEOUT_S * 1000);
  await page.fill('#text', fromPage);
  await page.click('#send');
  await until(() => rtc.out.includes(fromPage), TIMEOUT_S * 1000);
  check(rtc.out.includes(fromPage), 'a message sent from the page reaches rtcpeer\'s stdout',
    rtc.out.length + ' bytes on stdout: ' + JSON.stringify(rtc.out.toString().slice(-80)));
  const fromRtcpeer = 'hello from rtcpeer ' + crypto.randomBytes(4).toString('hex');
  rtc.child.stdin.write(fromRtcpeer + '\n');
  await until(async () => ((await pageStats(page)).lastReceived || '').includes(fromRtcpeer),
    TIMEOUT_S * 1000);
  stats = await pageStats(page);
  const logText = await page.textContent('#log');
  check((stats.lastReceived || '').includes(fromRtcpeer) && logText.includes(fromRtcpeer),
    'a line on rtcpeer\'s stdin shows in the page\'s log',
    'last received ' + JSON.stringify(stats.lastReceived));
  // Enough of Chromium's video for rtcpeer's --video-out check (2 s at 30 fps).
  stats = await until(async () => {
    const s = await pageStats(page);
    return s.framesSent >= 2 * MIN_FRAMES ? s : null;
  }, TIMEOUT_S * 1000) || await pageStats(page);
  await page.screenshot({ path: path.join(OUT, 'page.png') }).catch(() => {});
  say('page stats before hanging up: ' + JSON.stringify(stats));

  // 5. hang up from the page.
  page.whip = [];
  await page.click('#hangup');
  const code = await Promise.race([rtc.exited, sleep(HANGUP_S * 1000).then(() => 'still running')]);
  const del = page.whip.find((e) => e.method === 'DELETE');
  check(del && del.status >= 200 && del.status < 300 && post &&
    new URL(del.url).pathname === new URL(post.headers.location || '', endpoint).pathname,
  'Hang up sends DELETE to the Location and gets 2xx',
  del ? del.status + ' for ' + del.url : 'no DELETE seen');
  st = await pageState(page);
  check(!st.inCall && !st.error, 'the page shows the call ended without an error',
    'in call ' + st.inCall + ', error "' + st.error + '"');
  if (!check(code === 0, 'rtcpeer exits 0 within ' + HANGUP_S + ' s of the hang-up',
    'exit ' + code)) {
    console.log(lastLines(rtc.err, 12));
  }
  rtc.child.stdin.end();

  // 6. what rtcpeer received from Chromium's camera.
  const y = countY4m(path.join(OUT, 'received.y4m'));
  check(y.frames >= MIN_FRAMES, 'rtcpeer\'s --video-out holds >= ' + MIN_FRAMES + ' frames from Chromium',
    y.frames + ' frames' + (y.size ? ' of ' + y.size : '') + (y.why ? ', ' + y.why : '') +
    (y.trailing ? ', ' + y.trailing + ' bytes left over' : ''));
  let wav = -1;
  try {
    wav = fs.statSync(path.join(OUT, 'received.wav')).size;
  } catch (e) { /* reported below */ }
  const wavS = Math.max(0, wav - 44) / (48000 * 4);
  check(wavS >= 1, 'rtcpeer\'s --record-audio holds >= 1 s from Chromium\'s microphone',
    wav < 0 ? 'no file' : wavS.toFixed(2) + ' s');
  try {
    const sum = JSON.parse(fs.readFileSync(path.join(OUT, 'summary.json'), 'utf8'));
    const inb = ((sum.stats || {}).stats || []).filter((s) => s.type === 'inbound-rtp');
    say('rtcpeer summary: exitCode ' + sum.exitCode + ' (' + sum.exitReason + '), ' +
      inb.map((s) => s.kind + ' ' + (s.kind === 'video' ? s.framesDecoded + ' frames'
        : s.packetsReceived + ' packets')).join(', '));
  } catch (e) {
    say('no readable --summary: ' + e.message);
  }
  return finish(failures ? 1 : 0);
}

main().catch((e) => {
  check(false, 'the test ran to its end', e.message);
  if (rtc) console.log(lastLines(rtc.err, 12));
  finish(1);
});
