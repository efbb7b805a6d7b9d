// --data-test for chromium_peer.js: a data-channel exchange with the peer.
//
// install(page, opts) runs before the RTCPeerConnection is made: it wraps the
// page's RTCPeerConnection so that every channel the peer opens is accounted
// from its first message. run(page, opts, say) runs once connected:
//   - our channel: in offer mode the offer's own channel ("data"), in answer
//     mode a new one labelled "chromium" (opened in-band after connecting);
//   - sends opts.text as a string message, an empty string, the 256 bytes
//     00..ff as one binary message, an empty binary message, then the bytes of
//     opts.sendFile in 64 KiB binary messages (flow control on bufferedAmount,
//     at most 4 MiB queued), and calls close() right after the last send;
//   - accounts every message on the channels the peer opened (strings as
//     UTF-8, binary as is), writes them raw to opts.recvOut and checks their
//     sha256 against opts.expectSha256;
//   - passes when our channel and every channel the peer opened are closed.
// Returns the exit code (0 passed, 1 failed).
'use strict';

const fs = require('fs');

function pageScript() {
  /* eslint-env browser */
  const DT = { ours: null, theirs: [], chunks: [], received: 0, messages: 0,
    strings: 0, binaries: 0, empties: 0, waiters: [] };
  window.DT = DT;
  const changed = () => {
    const w = DT.waiters;
    DT.waiters = [];
    w.forEach((f) => f());
  };
  const wait = (cond, ms, what) => new Promise((resolve, reject) => {
    const deadline = Date.now() + ms;
    const check = () => {
      if (cond()) return resolve();
      if (Date.now() > deadline) return reject(new Error('timed out waiting for ' + what));
      DT.waiters.push(check);
      setTimeout(changed, 20);
    };
    check();
  });
  const hex = (buf) => Array.from(new Uint8Array(buf), (x) => x.toString(16).padStart(2, '0')).join('');
  const b64 = (u8) => {
    let s = '';
    for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode.apply(null, u8.subarray(i, i + 0x8000));
    return btoa(s);
  };
  const unb64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

  const Base = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Base {
    constructor(...a) {
      super(...a);
      DT.pc = this;
      this.addEventListener('datachannel', (e) => {
        const ch = e.channel;
        ch.binaryType = 'arraybuffer';
        DT.theirs.push(ch);
        ch.addEventListener('message', (m) => {
          let b;
          if (typeof m.data === 'string') {
            b = new TextEncoder().encode(m.data);
            DT.strings++;
          } else {
            b = new Uint8Array(m.data);
            DT.binaries++;
          }
          if (!b.length) DT.empties++;
          DT.messages++;
          DT.received += b.length;
          DT.chunks.push(b);
        });
        ch.addEventListener('close', changed);
        changed();
      });
    }
    createDataChannel(...a) {
      const ch = super.createDataChannel(...a);
      if (!DT.ours) DT.ours = ch;
      return ch;
    }
  };

  window.dataTest = async (text, fileB64, ms) => {
    const t0 = performance.now();
    const res = { ok: true, error: null };
    const pc = DT.pc;
    try {
      if (!DT.ours) DT.ours = pc.createDataChannel('chromium');
      const ch = DT.ours;
      ch.addEventListener('open', changed);
      ch.addEventListener('close', changed);
      await wait(() => ch.readyState !== 'connecting', ms, 'our channel to open');
      if (ch.readyState !== 'open') throw new Error('our channel is ' + ch.readyState);
      res.label = ch.label;
      res.id = ch.id;
      res.maxMessageSize = pc.sctp ? pc.sctp.maxMessageSize : null;
      const bin = new Uint8Array(256);
      for (let i = 0; i < 256; i++) bin[i] = i;
      const file = unb64(fileB64);
      const msgs = [text, '', bin, new ArrayBuffer(0)];
      for (let off = 0; off < file.length; off += 65536) msgs.push(file.subarray(off, off + 65536));
      ch.bufferedAmountLowThreshold = 1 << 20;
      ch.addEventListener('bufferedamountlow', changed);
      const t = new TextEncoder().encode(text);
      const sent = new Uint8Array(t.length + 256 + file.length);
      sent.set(t, 0);
      sent.set(bin, t.length);
      sent.set(file, t.length + 256);
      for (const m of msgs) {
        if (ch.bufferedAmount > 4 << 20) {
          await wait(() => ch.bufferedAmount <= 1 << 20 || ch.readyState !== 'open', ms,
            'the send buffer to drain');
        }
        ch.send(m);
      }
      res.sent = sent.length;
      res.sentMessages = msgs.length;
      res.sentSha256 = hex(await crypto.subtle.digest('SHA-256', sent));
      res.bufferedAtClose = ch.bufferedAmount;
      ch.close();
      await wait(() => ch.readyState === 'closed' && DT.theirs.length > 0 &&
        DT.theirs.every((c) => c.readyState === 'closed'), ms, 'every channel to close');
    } catch (e) {
      res.ok = false;
      res.error = e.message;
    }
    res.seconds = (performance.now() - t0) / 1000;
    for (const k of ['received', 'messages', 'strings', 'binaries', 'empties']) res[k] = DT[k];
    res.ours = DT.ours ? DT.ours.readyState : 'none';
    res.theirs = DT.theirs.map((c) => '"' + c.label + '" ' + c.readyState + ' (id ' + c.id +
      ', ordered ' + c.ordered + ', maxRetransmits ' + c.maxRetransmits + ')').join(', ') || 'none';
    const all = new Uint8Array(DT.received);
    let o = 0;
    for (const c of DT.chunks) {
      all.set(c, o);
      o += c.length;
    }
    res.sha256 = hex(await crypto.subtle.digest('SHA-256', all));
    res.data = b64(all);
    res.dtls = pc.sctp && pc.sctp.transport ? pc.sctp.transport.state : 'none';
    return res;
  };
}

async function install(page) {
  await page.evaluate(`(${pageScript.toString()})()`);
}

async function run(page, opts, say) {
  const ms = opts.timeout * 1000;
  const file = opts.sendFile ? fs.readFileSync(opts.sendFile) : Buffer.alloc(0);
  let r;
  try {
    const p = page.evaluate(([t, f, m]) => window.dataTest(t, f, m),
      [opts.text === undefined ? 'hello from chromium' : opts.text, file.toString('base64'), ms]);
    let timer;
    r = await Promise.race([p, new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error('data test timed out')), ms + 5000);
    })]).finally(() => clearTimeout(timer));
  } catch (e) {
    say('data: failed: ' + e.message);
    return 1;
  }
  say('data: our channel "' + r.label + '" (id ' + r.id + ', remote maxMessageSize ' +
    r.maxMessageSize + '): sent ' + r.sent + ' bytes in ' + r.sentMessages + ' messages (sha256 ' +
    r.sentSha256 + '), ' + r.bufferedAtClose + ' bytes still buffered when close() was called');
  say('data: received ' + r.received + ' bytes in ' + r.messages + ' messages (' + r.strings +
    ' string, ' + r.binaries + ' binary, ' + r.empties + ' empty) (sha256 ' + r.sha256 + ') in ' +
    r.seconds.toFixed(1) + ' s; channels: ours ' + r.ours + ', theirs ' + r.theirs + ', DTLS ' + r.dtls);
  let ok = r.ok;
  if (!ok) say('data: failed: ' + r.error);
  if (opts.recvOut) fs.writeFileSync(opts.recvOut, Buffer.from(r.data, 'base64'));
  if (opts.expectSha256 && r.sha256 !== opts.expectSha256.toLowerCase()) {
    say('data: failed: sha256 of the bytes received is ' + r.sha256 + ', expected ' + opts.expectSha256);
    ok = false;
  }
  if (ok) say('data: test passed');
  // Leave the hang-up to the peer; give its close_notify a moment.
  await new Promise((resolve) => setTimeout(resolve, 200));
  return ok ? 0 : 1;
}

module.exports = { install, run };
