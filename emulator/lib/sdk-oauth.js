'use strict';
// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// The official Stytch Node SDK's verdict on Connected Apps (OAuth) access
// tokens, for t/102-oauth-sdk.t, which compares it with the module's.
//
//   node sdk-oauth.js find
//     prints {version, dir} of the SDK that `scripts/install-deps test`
//     installed (emulator/lib/test-clients.js), or {missing: why}.
//   node sdk-oauth.js introspect < {base_url, project_id, secret,
//                                   cases: [{id, token, check?}]}
//     asks client.idp.introspectTokenLocal(token, {authorization_check:
//     check}) (no options without a check) for each case, in order, with
//     one consumer client pointed at base_url (an https:// URL:
//     NODE_EXTRA_CA_CERTS names the emulator's certificate); prints
//     {sdk_version, results: [{id, ok: true, subject, scope} |
//     {id, ok: false, error, code, message}]}.

const fs = require('node:fs');
const path = require('node:path');
const testClients = require('./test-clients.js');

const SDK = testClients.find('stytch');

async function introspect(input) {
  const stytch = require(path.join(SDK.dir, 'node_modules', 'stytch'));
  const client = new stytch.Client({ project_id: input.project_id, secret: input.secret,
    custom_base_url: input.base_url });
  const results = [];
  for (const c of input.cases) {
    try {
      const r = await client.idp.introspectTokenLocal(c.token,
        c.check ? { authorization_check: c.check } : undefined);
      results.push({ id: c.id, ok: true, subject: r.subject, scope: r.scope });
    } catch (e) {
      results.push({ id: c.id, ok: false, error: e && e.constructor && e.constructor.name,
        code: e && e.code, message: String(e && e.message).slice(0, 200) });
    }
  }
  return { sdk_version: SDK.version, results };
}

async function main() {
  const mode = process.argv[2];
  let out;
  if (mode === 'find') out = SDK;
  else if (mode === 'introspect') out = await introspect(JSON.parse(fs.readFileSync(0, 'utf8')));
  else throw new Error('usage: sdk-oauth.js find | introspect < input.json');
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

if (require.main === module) {
  main().catch((e) => { process.stderr.write(`${e.stack}\n`); process.exit(1); });
}
