'use strict';
// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// Consumer sign-in as a sign-in page does it: email magic links and email
// one-time passcodes, the outbox that holds what Stytch would email, and
// sign-out with sessions/revoke.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startEmulator, request, ctl, decodeJwt, verifyWithJwks } = require('../lib/testlib.js');

const CLAIM = 'https://stytch.com/session';

function assertError(r, status, type) {
  assert.equal(r.status, status, r.raw);
  assert.equal(r.body.error_type, type, r.raw);
  assert.equal(r.body.status_code, status);
  assert.equal(r.body.error_url, `https://stytch.com/docs/api/errors/${status}#${type}`);
}

describe('sign-in', () => {
  let emu;
  let jwks;
  before(async () => {
    emu = await startEmulator();
    jwks = (await request(emu, 'GET', `/v1/sessions/jwks/${emu.projectId}`, undefined, { auth: false })).body;
  });
  after(async () => { await emu.stop(); });
  const outbox = async (email) => (await ctl(emu, 'GET', `/outbox?email=${encodeURIComponent(email)}`)).messages;

  describe('email magic links', () => {
    it('login_or_create makes the user, the outbox holds the link; authenticate gives a session', async () => {
      const email = 'new.user@example.com';
      const r = await request(emu, 'POST', '/v1/magic_links/email/login_or_create', {
        email, login_magic_link_url: 'https://app.example.test/authenticate?from=login',
        signup_magic_link_url: 'https://app.example.test/authenticate?from=signup',
      });
      assert.equal(r.status, 200, r.raw);
      assert.deepEqual(Object.keys(r.body).sort(), ['email_id', 'request_id', 'status_code', 'user_created', 'user_id']);
      assert.equal(r.body.user_created, true);
      assert.match(r.body.user_id, /^user-test-/);
      assert.match(r.body.email_id, /^email-test-/);
      const [m] = await outbox(email);
      assert.equal(m.type, 'magic_link');
      assert.equal(m.email, email);
      assert.equal(m.user_id, r.body.user_id);
      assert.equal(m.project_id, emu.projectId);
      assert.equal(m.used, false);
      const url = new URL(m.link);
      assert.equal(url.origin + url.pathname, 'https://app.example.test/authenticate');
      assert.equal(url.searchParams.get('from'), 'signup', 'a new user gets the signup URL');
      assert.equal(url.searchParams.get('stytch_token_type'), 'magic_links');
      assert.equal(url.searchParams.get('token'), m.token);
      assert.match(m.token, /^[A-Za-z0-9_-]{43}=$/);

      const a = await request(emu, 'POST', '/v1/magic_links/authenticate', { token: m.token, session_duration_minutes: 30 });
      assert.equal(a.status, 200, a.raw);
      const b = a.body;
      for (const f of ['request_id', 'status_code', 'user_id', 'method_id', 'session_token', 'session_jwt', 'user',
        'reset_sessions', 'session']) assert.ok(f in b, f);
      assert.equal(b.user_id, r.body.user_id);
      assert.equal(b.method_id, r.body.email_id);
      assert.equal(b.user.emails[0].email, email);
      assert.equal(b.user.emails[0].verified, true, 'verified by the link');
      assert.ok(Math.abs(Date.parse(b.session.expires_at) - Date.now() - 30 * 60000) < 3000);
      const { payload } = verifyWithJwks(b.session_jwt, jwks);
      assert.equal(payload.sub, b.user_id);
      const f = payload[CLAIM].authentication_factors;
      assert.equal(f.length, 1);
      assert.deepEqual([f[0].type, f[0].delivery_method], ['magic_link', 'email']);
      assert.deepEqual(f[0].email_factor, { email_id: r.body.email_id, email_address: email });
      // The session is a real one.
      const s = await request(emu, 'POST', '/v1/sessions/authenticate', { session_token: b.session_token });
      assert.equal(s.status, 200);
      assert.equal(s.body.user.user_id, b.user_id);
      assert.equal((await outbox(email))[0].used, true);
    });

    it('a second sign-in finds the user (user_created false) and the login URL; newest message first', async () => {
      const email = 'again@example.com';
      const first = await request(emu, 'POST', '/v1/magic_links/email/login_or_create', { email });
      await request(emu, 'POST', '/v1/magic_links/authenticate', { token: (await outbox(email))[0].token });
      const second = await request(emu, 'POST', '/v1/magic_links/email/login_or_create', {
        email: 'Again@Example.com', login_magic_link_url: 'https://app.example.test/login' });
      assert.equal(second.body.user_created, false);
      assert.equal(second.body.user_id, first.body.user_id);
      const msgs = await outbox(email);
      assert.equal(msgs.length, 2);
      assert.ok(msgs[0].link.startsWith('https://app.example.test/login?'), 'login URL, newest first');
      assert.ok(msgs[1].link.startsWith('http://localhost:3000/authenticate?'), "the project's default redirect URL");
    });

    it('no session_duration_minutes: no session; a used or expired link is 401, an unknown one 404', async () => {
      const email = 'nosession@example.com';
      await request(emu, 'POST', '/v1/magic_links/email/login_or_create', { email });
      const [m] = await outbox(email);
      const a = await request(emu, 'POST', '/v1/magic_links/authenticate', { token: m.token });
      assert.equal(a.status, 200, a.raw);
      assert.equal(a.body.session_token, '');
      assert.equal(a.body.session_jwt, '');
      assert.equal(a.body.session, null);
      assertError(await request(emu, 'POST', '/v1/magic_links/authenticate', { token: m.token, session_duration_minutes: 30 }),
        401, 'unable_to_auth_magic_link');
      await request(emu, 'POST', '/v1/magic_links/email/login_or_create', { email });
      const [m2] = await outbox(email);
      await ctl(emu, 'POST', '/outbox/expire', { token: m2.token });
      assertError(await request(emu, 'POST', '/v1/magic_links/authenticate', { token: m2.token }), 401, 'unable_to_auth_magic_link');
      assertError(await request(emu, 'POST', '/v1/magic_links/authenticate', { token: 'DOYoip3rvIMMW5lgItikFK-Ak1CfMsgjuiCyI7uuU94=' }),
        404, 'magic_link_not_found');
      assertError(await request(emu, 'POST', '/v1/magic_links/authenticate', {}), 400, 'bad_request');
    });

    it('magic_links/email/send needs a known user; bad email, URL, expiry and duration are 400', async () => {
      assertError(await request(emu, 'POST', '/v1/magic_links/email/send', { email: 'stranger@example.com' }), 404, 'email_not_found');
      assertError(await request(emu, 'POST', '/v1/magic_links/email/login_or_create', { email: 'not-an-email' }), 400, 'invalid_email');
      assertError(await request(emu, 'POST', '/v1/magic_links/email/login_or_create', { email: 'a@b.test',
        login_magic_link_url: 'javascript:alert(1)' }), 400, 'bad_request');
      assertError(await request(emu, 'POST', '/v1/magic_links/email/login_or_create', { email: 'a@b.test',
        login_expiration_minutes: 1 }), 400, 'bad_request');
      await request(emu, 'POST', '/v1/magic_links/email/login_or_create', { email: 'dur@example.com' });
      const [m] = await outbox('dur@example.com');
      assertError(await request(emu, 'POST', '/v1/magic_links/authenticate', { token: m.token, session_duration_minutes: 1 }),
        400, 'invalid_session_duration_minutes');
      const ok = await request(emu, 'POST', '/v1/magic_links/authenticate', { token: m.token, session_duration_minutes: 5 });
      assert.equal(ok.status, 200, 'a refused call does not spend the link');
      assertError(await request(emu, 'POST', '/v1/magic_links/email/login_or_create', { email: 'x@y.test' },
        { auth: false }), 401, 'unauthorized_credentials');
    });

    it('with session_token: the session gains the factor and is extended', async () => {
      const email = 'stepup@example.com';
      await request(emu, 'POST', '/v1/otps/email/login_or_create', { email });
      const [o] = await outbox(email);
      const first = await request(emu, 'POST', '/v1/otps/authenticate', { method_id: o.method_id, code: o.code,
        session_duration_minutes: 10 });
      await request(emu, 'POST', '/v1/magic_links/email/login_or_create', { email });
      const [m] = await outbox(email);
      const r = await request(emu, 'POST', '/v1/magic_links/authenticate', { token: m.token,
        session_token: first.body.session_token, session_duration_minutes: 120 });
      assert.equal(r.status, 200, r.raw);
      assert.equal(r.body.session.session_id, first.body.session.session_id);
      assert.deepEqual(r.body.session.authentication_factors.map((f) => f.type), ['otp', 'magic_link']);
      assert.ok(Date.parse(r.body.session.expires_at) - Date.now() > 100 * 60000);
    });
  });

  describe('email OTP', () => {
    it('login_or_create: the outbox holds the 6-digit code; otps/authenticate gives a session', async () => {
      const email = 'otp.user@example.com';
      const r = await request(emu, 'POST', '/v1/otps/email/login_or_create', { email, expiration_minutes: 5 });
      assert.equal(r.status, 200, r.raw);
      assert.deepEqual(Object.keys(r.body).sort(), ['email_id', 'request_id', 'status_code', 'user_created', 'user_id']);
      assert.equal(r.body.user_created, true);
      const [m] = await outbox(email);
      assert.equal(m.type, 'otp');
      assert.match(m.code, /^\d{6}$/);
      assert.equal(m.method_id, r.body.email_id);
      assert.ok(Math.abs(Date.parse(m.expires_at) - Date.now() - 5 * 60000) < 3000);
      const a = await request(emu, 'POST', '/v1/otps/authenticate', { method_id: r.body.email_id, code: m.code,
        session_duration_minutes: 60 });
      assert.equal(a.status, 200, a.raw);
      assert.equal(a.body.method_id, r.body.email_id);
      assert.equal(a.body.user_id, r.body.user_id);
      const f = decodeJwt(a.body.session_jwt).payload[CLAIM].authentication_factors[0];
      assert.deepEqual([f.type, f.delivery_method, f.email_factor.email_address], ['otp', 'email', email]);
      assert.equal((await request(emu, 'POST', '/v1/sessions/authenticate', { session_jwt: a.body.session_jwt })).status, 200);
    });

    it('wrong code 404 otp_code_not_found; used, expired or replaced 401 unable_to_auth_otp_code; formats 400', async () => {
      const email = 'otp.errors@example.com';
      const r = await request(emu, 'POST', '/v1/otps/email/login_or_create', { email });
      const [m] = await outbox(email);
      const wrong = m.code === '000000' ? '111111' : '000000';
      assertError(await request(emu, 'POST', '/v1/otps/authenticate', { method_id: r.body.email_id, code: wrong }),
        404, 'otp_code_not_found');
      assert.equal((await request(emu, 'POST', '/v1/otps/authenticate', { method_id: r.body.email_id, code: m.code })).status, 200);
      assertError(await request(emu, 'POST', '/v1/otps/authenticate', { method_id: r.body.email_id, code: m.code }),
        401, 'unable_to_auth_otp_code');
      // a new code replaces the one before it
      await request(emu, 'POST', '/v1/otps/email/login_or_create', { email });
      const [m1] = await outbox(email);
      await request(emu, 'POST', '/v1/otps/email/send', { email });
      const [m2] = await outbox(email);
      if (m1.code !== m2.code) {
        assertError(await request(emu, 'POST', '/v1/otps/authenticate', { method_id: r.body.email_id, code: m1.code }),
          401, 'unable_to_auth_otp_code');
      }
      await ctl(emu, 'POST', '/outbox/expire', { code: m2.code, method_id: r.body.email_id });
      assertError(await request(emu, 'POST', '/v1/otps/authenticate', { method_id: r.body.email_id, code: m2.code }),
        401, 'unable_to_auth_otp_code');
      assertError(await request(emu, 'POST', '/v1/otps/authenticate', { method_id: 'nope', code: '123456' }), 400, 'invalid_method_id');
      assertError(await request(emu, 'POST', '/v1/otps/authenticate', { method_id: r.body.email_id, code: '12345' }), 400, 'invalid_code');
      assertError(await request(emu, 'POST', '/v1/otps/authenticate', { method_id: r.body.email_id, code: 123456 }), 400, 'invalid_code');
      assertError(await request(emu, 'POST', '/v1/otps/authenticate',
        { method_id: 'email-test-00000000-0000-0000-0000-000000000000', code: '123456' }), 404, 'otp_code_not_found');
      assertError(await request(emu, 'POST', '/v1/otps/email/send', { email: 'nobody@example.com' }), 404, 'email_not_found');
      assertError(await request(emu, 'POST', '/v1/otps/email/login_or_create', { email, expiration_minutes: 11 }), 400, 'bad_request');
    });
  });

  it('sign-out: sessions/revoke by session_jwt (and by session_token) ends the session', async () => {
    for (const by of ['session_jwt', 'session_token']) {
      const email = `signout.${by}@example.com`;
      await request(emu, 'POST', '/v1/otps/email/login_or_create', { email });
      const [m] = await outbox(email);
      const a = await request(emu, 'POST', '/v1/otps/authenticate', { method_id: m.method_id, code: m.code,
        session_duration_minutes: 60 });
      const rv = await request(emu, 'POST', '/v1/sessions/revoke', { [by]: a.body[by] });
      assert.equal(rv.status, 200, rv.raw);
      assertError(await request(emu, 'POST', '/v1/sessions/authenticate', { session_token: a.body.session_token }),
        404, 'session_not_found');
      assertError(await request(emu, 'POST', '/v1/sessions/authenticate', { session_jwt: a.body.session_jwt }),
        404, 'session_not_found');
    }
  });

  it('outbox: filters by email, project and type; DELETE empties it; counted per endpoint', async () => {
    await ctl(emu, 'POST', '/reset');
    await request(emu, 'POST', '/v1/otps/email/login_or_create', { email: 'box@example.com' });
    await request(emu, 'POST', '/v1/magic_links/email/login_or_create', { email: 'box@example.com' });
    const all = await outbox('box@example.com');
    assert.deepEqual(all.map((m) => m.type), ['magic_link', 'otp']);
    assert.equal((await ctl(emu, 'GET', '/outbox?email=box@example.com&type=otp')).messages.length, 1);
    assert.equal((await ctl(emu, 'GET', '/outbox?project_id=project-test-other')).messages.length, 0);
    const c = await ctl(emu, 'GET', '/counters');
    assert.equal(c.otps_send, 1);
    assert.equal(c.magic_links_send, 1);
    await ctl(emu, 'DELETE', '/outbox');
    assert.equal((await outbox('box@example.com')).length, 0);
    assert.equal((await request(emu, 'POST', '/emulator/outbox/expire', { token: 'none' }, { auth: false })).status, 404);
  });

  it('faults apply to sign-in endpoints too', async () => {
    await ctl(emu, 'POST', '/faults', { endpoint: 'otps_authenticate', error: 'too_many_requests', count: 1 });
    const r = await request(emu, 'POST', '/v1/otps/authenticate', { method_id: 'x', code: 'y' });
    assertError(r, 429, 'too_many_requests');
    await ctl(emu, 'DELETE', '/faults');
  });
});
