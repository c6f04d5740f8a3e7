'use strict';
// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// Helpers for emulator/test/*.test.js: start the emulator on port 0, talk to
// it, verify its JWTs independently with node:crypto.  (Kept outside
// emulator/test/ because node --test runs every .js file under a test/ dir.)

const { spawn } = require('node:child_process');
const http = require('node:http');
const https = require('node:https');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');

const EMULATOR = path.resolve(__dirname, '..', 'stytch-emulator');
const READY = /^stytch-emulator listening on (https?):\/\/([^:]+|\[[^\]]+\]):(\d+) project_id=(\S+) secret=(\S+) b2b_project_id=(\S+) b2b_secret=(\S+)(?: public_token=(\S+) b2b_public_token=(\S+))?$/;

function startEmulator(args = [], { timeoutMs = 15000 } = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [EMULATOR, '--port', '0', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines = [];
    let stderr = '';
    proc.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`emulator did not get ready; stdout=${lines.join('|')} stderr=${stderr}`));
    }, timeoutMs);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`emulator exited early (${code}); stdout=${lines.join('|')} stderr=${stderr}`));
    });
    const rl = readline.createInterface({ input: proc.stdout });
    rl.on('line', (line) => {
      lines.push(line);
      const m = READY.exec(line);
      if (!m) return;
      clearTimeout(timer);
      proc.removeAllListeners('exit');
      const emu = {
        proc, lines, scheme: m[1], host: m[2], port: Number(m[3]), projectId: m[4], secret: m[5],
        b2bProjectId: m[6], b2bSecret: m[7], publicToken: m[8], b2bPublicToken: m[9],
        url: `${m[1]}://${m[2]}:${m[3]}`,
        stderr: () => stderr,
        cert: null,
      };
      const certLine = lines.find((l) => l.startsWith('certificate: '));
      if (certLine) emu.cert = certLine.slice('certificate: '.length);
      emu.exited = new Promise((res) => proc.on('exit', (code, signal) => res({ code, signal })));
      emu.stop = async (signal = 'SIGTERM') => {
        if (proc.exitCode !== null || proc.signalCode !== null) return emu.exited;
        proc.kill(signal);
        return emu.exited;
      };
      resolve(emu);
    });
  });
}

function basic(emu, secret) {
  return 'Basic ' + Buffer.from(`${emu.projectId}:${secret === undefined ? emu.secret : secret}`).toString('base64');
}
const basicB2b = (emu) => 'Basic ' + Buffer.from(`${emu.b2bProjectId}:${emu.b2bSecret}`).toString('base64');

// Raw request. body: object (JSON-encoded) or string.  auth: true (Basic
// with the consumer project's credentials), 'b2b' (the B2B project's),
// false (none), or a string Authorization header value.
function request(emu, method, urlPath, body, { auth = true, headers = {}, agent, timeoutMs = 20000 } = {}) {
  const lib = emu.scheme === 'https' ? https : http;
  const h = { ...headers };
  if (auth === true) h.authorization = basic(emu);
  else if (auth === 'b2b') h.authorization = basicB2b(emu);
  else if (typeof auth === 'string') h.authorization = auth;
  let data;
  if (body !== undefined) {
    data = typeof body === 'string' ? body : JSON.stringify(body);
    h['content-type'] = h['content-type'] || 'application/json';
    h['content-length'] = Buffer.byteLength(data);
  }
  const opts = { host: '127.0.0.1', port: emu.port, method, path: urlPath, headers: h, agent: agent || false };
  if (emu.scheme === 'https') opts.ca = fs.readFileSync(emu.cert);
  return new Promise((resolve, reject) => {
    const req = lib.request(opts, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        let json;
        try { json = JSON.parse(raw); } catch { json = undefined; }
        resolve({ status: res.statusCode, headers: res.headers, raw, body: json });
      });
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    if (data !== undefined) req.write(data);
    req.end();
  });
}

async function ctl(emu, method, urlPath, body) {
  const r = await request(emu, method, `/emulator${urlPath}`, body, { auth: false });
  if (r.status !== 200) throw new Error(`control ${method} ${urlPath}: ${r.status} ${r.raw}`);
  return r.body;
}

function decodeJwt(jwt) {
  const [h, p] = jwt.split('.');
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString()),
    payload: JSON.parse(Buffer.from(p, 'base64url').toString()),
  };
}

// Verify an RS256 JWT against a JWKS document; returns {header, payload} or
// throws.  Independent of the emulator's own code.
function verifyWithJwks(jwt, jwks) {
  const [h, p, s] = jwt.split('.');
  const { header, payload } = decodeJwt(jwt);
  if (header.alg !== 'RS256') throw new Error(`alg ${header.alg}`);
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  if (!jwk) throw new Error(`kid ${header.kid} not in JWKS`);
  const key = crypto.createPublicKey({ key: { kty: jwk.kty, n: jwk.n, e: jwk.e }, format: 'jwk' });
  const ok = crypto.verify('sha256', Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'));
  if (!ok) throw new Error('bad signature');
  return { header, payload };
}

module.exports = { startEmulator, request, ctl, basic, basicB2b, decodeJwt, verifyWithJwks, EMULATOR };
