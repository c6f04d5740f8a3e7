'use strict';
// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// Keep-alive connections that stay idle are closed by the emulator itself,
// without Connection: close, as Stytch's edge closes them; counted.
const { describe, it, after } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const tls = require('node:tls');
const fs = require('node:fs');
const { startEmulator, ctl } = require('../lib/testlib.js');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A raw keep-alive connection: send(request) resolves with the response
// head and body once Content-Length bytes have arrived.
function rawConnection(emu) {
  return new Promise((resolve, reject) => {
    const opts = { host: '127.0.0.1', port: emu.port };
    const sock = emu.scheme === 'https'
      ? tls.connect({ ...opts, ca: fs.readFileSync(emu.cert), servername: 'localhost' })
      : net.connect(opts);
    let buf = '';
    let waiting = null;
    const state = { closed: false, closedAt: 0 };
    const closed = new Promise((res) => sock.on('close', () => { state.closed = true; state.closedAt = Date.now(); res(); }));
    sock.on('data', (d) => {
      buf += d;
      if (!waiting) return;
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.slice(0, end);
      const len = Number((/content-length: *(\d+)/i.exec(head) || [])[1] || 0);
      if (buf.length < end + 4 + len) return;
      const body = buf.slice(end + 4, end + 4 + len);
      buf = buf.slice(end + 4 + len);
      const w = waiting;
      waiting = null;
      w.resolve({ head, body });
    });
    sock.on('error', (e) => { if (waiting) waiting.reject(e); });
    sock.on(emu.scheme === 'https' ? 'secureConnect' : 'connect', () => resolve({
      sock, state, closed,
      send: (path) => new Promise((res, rej) => {
        waiting = { resolve: res, reject: rej };
        sock.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      }),
    }));
    sock.on('error', reject);
  });
}

for (const scheme of ['http', 'https']) {
  describe(`idle keep-alive connections (${scheme})`, () => {
    let emu;
    after(async () => { if (emu) await emu.stop(); });

    it('--idle-timeout MS: an idle connection is closed after MS, without Connection: close; counted', async () => {
      emu = await startEmulator(scheme === 'https' ? ['--tls', '--idle-timeout', '400'] : ['--idle-timeout', '400']);
      await ctl(emu, 'POST', '/reset');
      const c = await rawConnection(emu);
      const t0 = Date.now();
      const r1 = await c.send('/emulator/health');
      assert.match(r1.head, /^HTTP\/1\.1 200/);
      assert.doesNotMatch(r1.head, /\r\nconnection: *close/i, 'the answer does not announce a close');
      assert.doesNotMatch(r1.head, /\r\nkeep-alive:/i, 'nor a keep-alive timeout');
      // Busy connections are not closed: requests within the timeout keep it.
      await sleep(250);
      assert.match((await c.send('/emulator/health')).head, /^HTTP\/1\.1 200/);
      await sleep(250);
      assert.match((await c.send('/emulator/health')).head, /^HTTP\/1\.1 200/);
      assert.equal(c.state.closed, false);
      const t1 = Date.now();
      await c.closed;
      const idle = c.state.closedAt - t1;
      assert.ok(idle >= 350 && idle < 2000, `closed after ${idle} ms idle`);
      assert.ok(c.state.closedAt - t0 > 800);
      const counters = await ctl(emu, 'GET', '/counters');
      assert.ok(counters.connections_closed_idle >= 1, JSON.stringify(counters));
      assert.ok(counters.connections_accepted >= 2, JSON.stringify(counters));
      const conn = await ctl(emu, 'GET', '/connections');
      assert.equal(conn.idle_timeout_ms, 400);
      assert.equal(conn.closed_idle, counters.connections_closed_idle);
      await emu.stop();
      emu = null;
    });

    it('POST /emulator/idle-timeout changes it at run time; a client reusing the closed connection sees it closed', async () => {
      emu = await startEmulator(scheme === 'https' ? ['--tls'] : []);
      assert.equal((await ctl(emu, 'GET', '/connections')).idle_timeout_ms, 65000, 'default');
      const c0 = await rawConnection(emu);
      await c0.send('/emulator/health');
      await ctl(emu, 'POST', '/idle-timeout', { ms: 200 });
      const before = (await ctl(emu, 'GET', '/counters')).connections_closed_idle;
      const c = await rawConnection(emu);
      await c.send('/emulator/health');
      await sleep(600);
      assert.equal(c.state.closed, true, 'closed while idle');
      // Writing on it now: the peer is gone.
      const reuse = await new Promise((resolve) => {
        c.sock.on('error', (e) => resolve(e.code));
        try {
          c.sock.write('GET /emulator/health HTTP/1.1\r\nHost: x\r\n\r\n', (e) => resolve(e ? e.code : 'written'));
        } catch (e) { resolve(e.code); }
      });
      assert.notEqual(reuse, undefined);
      assert.ok((await ctl(emu, 'GET', '/counters')).connections_closed_idle >= before + 1);
      // 0: never.
      await ctl(emu, 'POST', '/idle-timeout', { ms: 0 });
      const k = await rawConnection(emu);
      await k.send('/emulator/health');
      await sleep(400);
      assert.equal(k.state.closed, false);
      k.sock.destroy();
      for (const bad of [-1, 1.5, 'x']) {
        const r = await fetchStatus(emu, bad);
        assert.equal(r, 400, JSON.stringify(bad));
      }
    });

    it('an answer slower than the idle timeout is not cut off', { timeout: 15000 }, async () => {
      if (!emu) emu = await startEmulator(scheme === 'https' ? ['--tls'] : []);
      await ctl(emu, 'POST', '/idle-timeout', { ms: 250 });
      await ctl(emu, 'POST', '/faults', { endpoint: 'jwks', latency_ms: 700, count: 1 });
      const c = await rawConnection(emu);
      const r = await c.send(`/v1/sessions/jwks/${emu.projectId}`);
      assert.match(r.head, /^HTTP\/1\.1 200/);
      assert.equal(c.state.closed, false);
      await c.closed; // and then it is idle
      await ctl(emu, 'POST', '/idle-timeout', { ms: 65000 });
    });

    it('a connection that never sends a request is closed too', async () => {
      if (!emu) emu = await startEmulator(scheme === 'https' ? ['--tls'] : []);
      await ctl(emu, 'POST', '/idle-timeout', { ms: 300 });
      const sock = net.connect({ host: '127.0.0.1', port: emu.port });
      const t0 = Date.now();
      await new Promise((res) => sock.on('close', res));
      const waited = Date.now() - t0;
      assert.ok(waited >= 250 && waited < 3000, `closed after ${waited} ms`);
      await ctl(emu, 'POST', '/idle-timeout', { ms: 65000 });
    });
  });
}

async function fetchStatus(emu, ms) {
  const { request } = require('../lib/testlib.js');
  return (await request(emu, 'POST', '/emulator/idle-timeout', { ms }, { auth: false })).status;
}
