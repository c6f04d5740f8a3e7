'use strict';
// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// POST /v1/sessions/revoke and /v1/b2b/sessions/revoke.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startEmulator, request, ctl } = require('../lib/testlib.js');

function assertError(r, status, type) {
  assert.equal(r.status, status, r.raw);
  assert.equal(r.body.status_code, status);
  assert.equal(r.body.error_type, type);
}

describe('sessions/revoke', () => {
  let emu;
  before(async () => { emu = await startEmulator(); });
  after(async () => { await emu.stop(); });

  const cases = [
    ['consumer', '/v1/sessions/revoke', '/v1/sessions/authenticate', 'session_id', {}, true],
    ['b2b', '/v1/b2b/sessions/revoke', '/v1/b2b/sessions/authenticate', 'member_session_id', { type: 'b2b' }, 'b2b'],
  ];
  for (const [kind, REVOKE, AUTH, idField, create, auth] of cases) {
    for (const by of [idField, 'session_token', 'session_jwt']) {
      it(`${kind}: revoke by ${by}, then authenticate is 404 by token and by JWT`, async () => {
        const s = await ctl(emu, 'POST', '/sessions', create);
        const arg = by === idField ? s.session_id : s[by];
        const r = await request(emu, 'POST', REVOKE, { [by]: arg }, { auth });
        assert.equal(r.status, 200, r.raw);
        assert.equal(r.body.status_code, 200);
        assert.match(r.body.request_id, /^request-id-test-/);
        assertError(await request(emu, 'POST', AUTH, { session_token: s.session_token }, { auth }), 404, 'session_not_found');
        assertError(await request(emu, 'POST', AUTH, { session_jwt: s.session_jwt }, { auth }), 404, 'session_not_found');
        // Revoking again: the session is gone.
        assertError(await request(emu, 'POST', REVOKE, { [by]: arg }, { auth }), 404, 'session_not_found');
      });
    }

    it(`${kind}: errors`, async () => {
      const s = await ctl(emu, 'POST', '/sessions', create);
      assertError(await request(emu, 'POST', REVOKE, { session_token: s.session_token }, { auth: false }, { auth }), 401, 'unauthorized_credentials');
      assertError(await request(emu, 'POST', REVOKE, {}, { auth }), 400, 'no_session_arguments');
      assertError(await request(emu, 'POST', REVOKE, { [idField]: s.session_id, session_token: s.session_token }, { auth }), 400, 'too_many_session_arguments');
      assertError(await request(emu, 'POST', REVOKE, { [idField]: 'session-test-unknown' }, { auth }), 404, 'session_not_found');
      assertError(await request(emu, 'POST', REVOKE, { session_jwt: 'garbage' }, { auth }), 400, 'unable_to_parse_session_jwt');
      const rogue = (await ctl(emu, 'POST', '/jwt', { session_id: s.session_id, key: 'rogue' })).jwt;
      assertError(await request(emu, 'POST', REVOKE, { session_jwt: rogue }, { auth }), 400, 'unable_to_parse_session_jwt');
      assertError(await request(emu, 'POST', REVOKE, { session_token: 'not a token' }, { auth }), 400, 'invalid_session_token');
      // None of these revoked it.
      assert.equal((await request(emu, 'POST', AUTH, { session_token: s.session_token }, { auth })).status, 200);
    });
  }

  it('a consumer session cannot be revoked through the B2B endpoint', async () => {
    const s = await ctl(emu, 'POST', '/sessions', {});
    assertError(await request(emu, 'POST', '/v1/b2b/sessions/revoke', { session_token: s.session_token }), 400, 'invalid_b2b_endpoint');
    assertError(await request(emu, 'POST', '/v1/b2b/sessions/revoke', { session_token: s.session_token }, { auth: 'b2b' }),
      404, 'session_not_found');
    assert.equal((await request(emu, 'POST', '/v1/sessions/authenticate', { session_token: s.session_token })).status, 200);
  });
});
