#!/usr/bin/env node
// Chromium reference for bench/data-throughput.sh: two RTCPeerConnections in
// one headless page (no ICE servers, host candidates on this machine's
// addresses, real UDP sockets), offer and answer handed over in the page.
//
//   data_chromium.js throughput MB   the offerer's data channel sends MB
//                                    megabytes (10^6 bytes) in 64 KiB binary
//                                    messages to the answerer; flow control
//                                    with bufferedAmountLowThreshold (1 MiB,
//                                    pause above 4 MiB queued)
//   data_chromium.js setup N         N connections (after one discarded warm-up)
//
// throughput prints one line:
//   chromium throughput bytes=.. seconds=.. cpu_s=.. rss_peak_kb=.. renderer_rss_peak_kb=..
//     seconds: from the first send to the last byte received (in the page)
//     cpu_s: user + system CPU of every Chromium process (browser, renderer,
//            network, GPU, ...: all descendants of this node process) over the
//            transfer, from /proc/PID/stat
//     rss_peak_kb: the peak of the sum of VmRSS over those processes, polled
//            every 100 ms (shared pages are counted once per process)
//     renderer_rss_peak_kb: the peak VmRSS of the largest single process
// setup prints one line per run and a median:
//   chromium setup run=K open_ms=..
//     from the call of the offerer's setRemoteDescription(answer) (the last
//     description applied; the channel can open before that promise resolves)
//     to the offerer's channel "open" event
//   chromium setup median runs=N open_ms=..
//
// Needs /usr/bin/chromium and playwright-core in tests/interop/node
// (tests/interop/install-chromium.sh); exit 77 without them.
'use strict';

const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
let pw;
try {
  pw = require(require.resolve('playwright-core',
    { paths: [path.join(__dirname, '..', 'tests', 'interop', 'node')] }));
  fs.accessSync(CHROMIUM, fs.constants.X_OK);
} catch (e) {
  console.log('chromium error: ' + (pw ? CHROMIUM + ' not found' : 'playwright-core not installed'));
  process.exit(77);
}

const [mode, arg] = process.argv.slice(2);
if (!['throughput', 'setup'].includes(mode) || !(Number(arg) > 0)) {
  process.stderr.write('usage: data_chromium.js throughput MB | setup N\n');
  process.exit(2);
}

const PAGE = `<!doctype html><meta charset="utf-8"><script>
'use strict';
async function pair(onRemote) {
  const off = new RTCPeerConnection({ iceServers: [] });
  const ans = new RTCPeerConnection({ iceServers: [] });
  const gathered = (pc) => new Promise((r) => {
    if (pc.iceGatheringState === 'complete') return r();
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') r();
    });
  });
  if (onRemote) ans.ondatachannel = (e) => onRemote(e.channel);
  const ch = off.createDataChannel('bench');
  ch.binaryType = 'arraybuffer';
  let tOpen = null;
  const opened = new Promise((r) => { ch.onopen = () => { tOpen = performance.now(); r(); }; });
  await off.setLocalDescription();
  await gathered(off);
  await ans.setRemoteDescription(off.localDescription);
  await ans.setLocalDescription();
  await gathered(ans);
  const t0 = performance.now();
  await off.setRemoteDescription(ans.localDescription);
  await opened;
  return { off, ans, ch, openMs: tOpen - t0 };
}
async function setupOnce() {
  const p = await pair(null);
  p.off.close();
  p.ans.close();
  return p.openMs;
}
async function throughput(total) {
  let got = 0;
  let done;
  const finished = new Promise((r) => { done = r; });
  let tEnd = 0;
  const p = await pair((rch) => {
    rch.binaryType = 'arraybuffer';
    rch.onmessage = (e) => {
      got += e.data.byteLength;
      if (got >= total) { tEnd = performance.now(); done(); }
    };
  });
  const ch = p.ch;
  ch.bufferedAmountLowThreshold = 1 << 20;
  const buf = new Uint8Array(65536);
  await new Promise((r) => setTimeout(r, 0));
  window.benchReady = true;
  await new Promise((r) => { window.benchGo = r; });
  const t0 = performance.now();
  let sent = 0;
  while (sent < total) {
    if (ch.bufferedAmount > 4 << 20) {
      await new Promise((r) => { ch.onbufferedamountlow = r; });
    }
    const n = Math.min(65536, total - sent);
    ch.send(n === 65536 ? buf : buf.subarray(0, n));
    sent += n;
  }
  await finished;
  p.off.close();
  p.ans.close();
  return { bytes: got, seconds: (tEnd - t0) / 1000 };
}
</script>`;

// ---- Chromium processes: every descendant of this node process ------------
function children() {
  const kids = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = fs.readFileSync('/proc/' + d + '/stat', 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      const ppid = Number(f[1]);
      if (!kids.has(ppid)) kids.set(ppid, []);
      kids.get(ppid).push(Number(d));
    } catch (e) { /* gone */ }
  }
  const out = [];
  const walk = (p) => (kids.get(p) || []).forEach((c) => { out.push(c); walk(c); });
  walk(process.pid);
  return out;
}
const HZ = 100; // USER_HZ on Linux
function cpuSeconds(pids) {
  let t = 0;
  for (const p of pids) {
    try {
      const st = fs.readFileSync('/proc/' + p + '/stat', 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      t += (Number(f[11]) + Number(f[12])) / HZ; // utime, stime
    } catch (e) { /* gone */ }
  }
  return t;
}
function rss(pids) {
  let sum = 0;
  let max = 0;
  for (const p of pids) {
    try {
      const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync('/proc/' + p + '/status', 'utf8'));
      if (m) {
        sum += Number(m[1]);
        max = Math.max(max, Number(m[1]));
      }
    } catch (e) { /* gone */ }
  }
  return { sum, max };
}

async function main() {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end(PAGE);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'rtcpeer-bench-chromium-'));
  const browser = await pw.chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    ignoreDefaultArgs: true,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-extensions', '--disable-dev-shm-usage', '--mute-audio',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
      '--disable-features=WebRtcHideLocalIpsWithMdns,Translate,OptimizationHints,MediaRouter',
      '--user-data-dir=' + profile, '--remote-debugging-pipe', '--no-startup-window'],
    env: { ...process.env, HOME: profile },
    timeout: 30000,
  });
  let code = 0;
  try {
    const page = await (await browser.newContext()).newPage();
    await page.goto('http://127.0.0.1:' + server.address().port + '/');
    if (mode === 'setup') {
      const n = Number(arg);
      const vals = [];
      for (let k = 0; k <= n; k++) {
        const ms = await page.evaluate(() => setupOnce());
        if (k === 0) continue; // warm-up
        vals.push(ms);
        console.log('chromium setup run=' + k + ' open_ms=' + ms.toFixed(1));
      }
      vals.sort((a, b) => a - b);
      const med = vals.length % 2 ? vals[(vals.length - 1) / 2]
        : (vals[vals.length / 2 - 1] + vals[vals.length / 2]) / 2;
      console.log('chromium setup median runs=' + n + ' open_ms=' + med.toFixed(1) + ' min=' +
        vals[0].toFixed(1) + ' max=' + vals[vals.length - 1].toFixed(1));
    } else {
      const total = Math.round(Number(arg) * 1e6);
      const run = page.evaluate((t) => throughput(t), total);
      await page.waitForFunction(() => window.benchReady === true, null, { timeout: 30000 });
      const pids = children();
      const c0 = cpuSeconds(pids);
      let peak = { sum: 0, max: 0 };
      const poll = setInterval(() => {
        const r = rss(children());
        peak = { sum: Math.max(peak.sum, r.sum), max: Math.max(peak.max, r.max) };
      }, 100);
      await page.evaluate(() => window.benchGo());
      const r = await run;
      const c1 = cpuSeconds(pids);
      clearInterval(poll);
      console.log('chromium throughput bytes=' + r.bytes + ' seconds=' + r.seconds.toFixed(3) +
        ' cpu_s=' + (c1 - c0).toFixed(2) + ' rss_peak_kb=' + peak.sum +
        ' renderer_rss_peak_kb=' + peak.max + ' processes=' + pids.length);
    }
  } catch (e) {
    console.log('chromium error: ' + e.message);
    code = 1;
  }
  await Promise.race([browser.close(), new Promise((r) => setTimeout(r, 3000))]);
  server.close();
  fs.rmSync(profile, { recursive: true, force: true });
  process.exit(code);
}

main();
