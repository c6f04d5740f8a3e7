'use strict';
// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// The official Stytch Node SDK's verdict on M2M access tokens, for
// t/091-m2m-sdk.t, which compares it with the module's.
//
//   node sdk-m2m.js install
//     installs the npm package "stytch" (STYTCH_SDK_VERSION, default 14)
//     into the scratch directory that emulator/test/sdk.test.js uses, unless
//     it is there; prints {version, cached, dir} or {failed, network, out}.
//   node sdk-m2m.js authenticate < {base_url, project_id, secret,
//                                   cases: [{id, access_token, required_scopes}]}
//     asks client.m2m.authenticateToken({access_token, required_scopes})
//     for each case, in order, with one client pointed at base_url (an
//     https:// URL: NODE_EXTRA_CA_CERTS names the emulator's certificate);
//     prints {sdk_version, results: [{id, ok: true, client_id, scopes} |
//     {id, ok: false, error, code, message}]}.
// Required as a module, it exports install(), DIR and SPEC.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const SPEC = process.env.STYTCH_SDK_VERSION || '14';
const DIR = path.join(os.tmpdir(), 'stytch-emulator-sdk', `stytch@${SPEC}`);
const PKG = path.join(DIR, 'node_modules', 'stytch', 'package.json');
const NETWORK = /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|network|socket hang up|getaddrinfo|proxy/i;

const version = () => JSON.parse(fs.readFileSync(PKG, 'utf8')).version;

function install() {
  if (fs.existsSync(PKG)) return { version: version(), cached: true, dir: DIR };
  fs.mkdirSync(DIR, { recursive: true });
  const r = spawnSync('npm', ['install', '--prefix', DIR, `stytch@${SPEC}`, '--no-audit', '--no-fund',
    '--no-save', '--loglevel=error'], { encoding: 'utf8', timeout: 240000 });
  if (r.status !== 0 || !fs.existsSync(PKG)) {
    const out = `${r.error ? r.error.message : ''}\n${r.stdout}\n${r.stderr}`;
    fs.rmSync(DIR, { recursive: true, force: true });
    return { failed: true, network: NETWORK.test(out), out: out.trim().slice(-800) };
  }
  return { version: version(), cached: false, dir: DIR };
}

async function authenticate(input) {
  const stytch = require(path.join(DIR, 'node_modules', 'stytch'));
  const client = new stytch.Client({ project_id: input.project_id, secret: input.secret,
    custom_base_url: input.base_url });
  const results = [];
  for (const c of input.cases) {
    try {
      const r = await client.m2m.authenticateToken({ access_token: c.access_token,
        required_scopes: c.required_scopes });
      results.push({ id: c.id, ok: true, client_id: r.client_id, scopes: r.scopes });
    } catch (e) {
      results.push({ id: c.id, ok: false, error: e && e.constructor && e.constructor.name,
        code: e && e.code, message: String(e && e.message).slice(0, 200) });
    }
  }
  return { sdk_version: version(), results };
}

async function main() {
  const mode = process.argv[2];
  let out;
  if (mode === 'install') out = install();
  else if (mode === 'authenticate') out = await authenticate(JSON.parse(fs.readFileSync(0, 'utf8')));
  else throw new Error('usage: sdk-m2m.js install | authenticate < input.json');
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

if (require.main === module) {
  main().catch((e) => { process.stderr.write(`${e.stack}\n`); process.exit(1); });
}

module.exports = { install, DIR, SPEC };
