'use strict';
// The Stytch emulator for the soak: started on a free loopback port, its
// control API (sessions, hand-made JWTs and M2M tokens, keys, faults,
// refusing connections) and the Stytch API calls the harness makes itself
// (revoking a session), each bounded in time.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const TOP = path.resolve(__dirname, '../..');

// One HTTP request to the emulator, JSON in and out; rejects on a status
// other than 2xx, a connection error or timeoutMs.
function call(base, method, p, body, { headers = {}, timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const u = new URL(p, base);
    const req = http.request({
      host: u.hostname, port: u.port, path: u.pathname + u.search, method, agent: false,
      headers: { ...(data ? { 'content-type': 'application/json', 'content-length': data.length } : {}), ...headers },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json;
        try { json = text ? JSON.parse(text) : {}; } catch { json = { raw: text }; }
        if (res.statusCode >= 200 && res.statusCode < 300) resolve(json);
        else reject(new Error(`${method} ${p}: ${res.statusCode} ${text.slice(0, 200)}`));
      });
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${p}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(data);
  });
}

class Emulator {
  constructor(dir) {
    this.dir = dir;
    this.proc = null;
  }

  async start() {
    const out = fs.openSync(path.join(this.dir, 'emulator.log'), 'w');
    this.proc = spawn(process.execPath, [path.join(TOP, 'emulator/stytch-emulator'), '--port', '0'],
      { stdio: ['ignore', 'pipe', out] });
    const line = await new Promise((resolve, reject) => {
      let buf = '';
      const timer = setTimeout(() => reject(new Error('the emulator did not start within 15 s')), 15000);
      this.proc.stdout.on('data', (d) => {
        buf += d;
        const m = /^stytch-emulator listening on .*$/m.exec(buf);
        if (m) { clearTimeout(timer); resolve(m[0]); }
      });
      this.proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`the emulator exited (${code})`)); });
    });
    this.proc.stdout.on('data', () => {});
    this.url = /listening on (\S+)/.exec(line)[1];
    this.port = Number(new URL(this.url).port);
    this.projectId = / project_id=(\S+)/.exec(line)[1];
    this.secret = / secret=(\S+)/.exec(line)[1];
    this.basic = 'Basic ' + Buffer.from(`${this.projectId}:${this.secret}`).toString('base64');
  }

  control(method, p, body, opts) {
    return call(this.url, method, `/emulator${p}`, body, opts);
  }

  // Stytch's own API, with the project's credentials.
  api(method, p, body, opts = {}) {
    return call(this.url, method, p, body, { ...opts, headers: { authorization: this.basic } });
  }

  async stop() {
    if (!this.proc || this.proc.exitCode !== null) return;
    const gone = new Promise((resolve) => this.proc.once('exit', resolve));
    this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(t);
  }
}

module.exports = { Emulator, call };
