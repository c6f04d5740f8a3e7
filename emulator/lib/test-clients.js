'use strict';
// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// Where the tests find the real clients they drive: Stytch's Node SDK
// ("stytch") and the MCP TypeScript SDK ("@modelcontextprotocol/sdk"),
// pinned by emulator/test/clients/package-lock.json and installed by
// `scripts/install-deps test` (npm ci) into build/test-npm, or
// STYTCH_TEST_NPM.
//
//   find(name) -> {dir, version}, dir being the directory whose
//                 node_modules holds the package, or {missing: why}

const fs = require('node:fs');
const path = require('node:path');

const DIR = process.env.STYTCH_TEST_NPM || path.resolve(__dirname, '..', '..', 'build', 'test-npm');

function find(name) {
  const pkg = path.join(DIR, 'node_modules', ...name.split('/'), 'package.json');
  if (!fs.existsSync(pkg)) {
    return { missing: `${name} is not installed in ${DIR}: run scripts/install-deps test` };
  }
  return { dir: DIR, version: JSON.parse(fs.readFileSync(pkg, 'utf8')).version };
}

module.exports = { DIR, find };
