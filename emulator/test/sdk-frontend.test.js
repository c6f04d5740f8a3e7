'use strict';
// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// The frontend SDK's surface (/sdk/v1/...) as @stytch/vanilla-js 6.3.0
// calls it: public-token Basic credentials, the session named by the
// password, {"data": ...} on success, Stytch's error body otherwise, CORS.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startEmulator, request, ctl, decodeJwt, verifyWithJwks } = require('../lib/testlib.js');

const ORIGIN = 'http://app.example.test:8080';

function assertError(r, status, type) {
  assert.equal(r.status, status, r.raw);
  assert.match(r.headers['content-type'], /^application\/json/);
  assert.equal(r.body.error_type, type, r.raw);
  assert.equal(r.body.status_code, status);
  assert.equal(r.body.data, undefined);
}

describe('frontend SDK surface', () => {
  let emu;
  let jwks;
  before(async () => {
    emu = await startEmulator();
    jwks = (await request(emu, 'GET', `/v1/sessions/jwks/${emu.projectId}`, undefined, { auth: false })).body;
  });
  after(async () => { await emu.stop(); });

  // The SDK's Basic credentials: public token, then the stytch_session
  // cookie or the public token again.
  const pub = (password, token = emu.publicToken) =>
    'Basic ' + Buffer.from(`${token}:${password === undefined ? token : password}`).toString('base64');
  const sdk = (method, path, body, password, headers = {}) =>
    request(emu, method, `/sdk/v1${path}`, body, { auth: pub(password), headers: { origin: ORIGIN, ...headers } });

  async function otpSignIn(email) {
    const sent = await sdk('POST', '/otps/email/login_or_create', { email, expiration_minutes: 5 });
    assert.equal(sent.status, 200, sent.raw);
    const [m] = (await ctl(emu, 'GET', `/outbox?email=${encodeURIComponent(email)}&type=otp`)).messages;
    const a = await sdk('POST', '/otps/authenticate', { token: m.code, method_id: sent.body.data.method_id,
      session_duration_minutes: 30, captcha_token: undefined, dfp_telemetry_id: undefined });
    assert.equal(a.status, 200, a.raw);
    return a.body.data;
  }

  it('the public tokens are on the ready line and in the control API', async () => {
    assert.match(emu.publicToken, /^public-token-test-[0-9a-f-]{36}$/);
    assert.match(emu.b2bPublicToken, /^public-token-test-[0-9a-f-]{36}$/);
    assert.notEqual(emu.publicToken, emu.b2bPublicToken);
    assert.equal((await ctl(emu, 'GET', `/projects/${emu.projectId}`)).public_token, emu.publicToken);
    const made = await ctl(emu, 'POST', '/projects', { vertical: 'consumer' });
    assert.match(made.public_token, /^public-token-test-/);
  });

  it('GET projects/bootstrap/{public_token}: captcha and fingerprinting off, the vertical', async () => {
    const r = await sdk('GET', `/projects/bootstrap/${emu.publicToken}`);
    assert.equal(r.status, 200, r.raw);
    const d = r.body.data;
    assert.equal(d.vertical, 'CONSUMER');
    assert.deepEqual(d.captcha_settings, { enabled: false });
    assert.equal(d.dfp_protected_auth_enabled, false);
    assert.equal(d.password_config, null);
    assert.equal(d.pkce_required_for_email_magic_links, false);
    for (const f of ['project_name', 'disable_sdk_watermark', 'cname_domain', 'email_domains', 'slug_pattern',
      'create_organization_enabled', 'rbac_policy', 'siwe_required_for_crypto_wallets']) assert.ok(f in d, f);
    const b = await sdk('GET', `/projects/bootstrap/${emu.b2bPublicToken}`);
    assert.equal(b.body.data.vertical, 'B2B');
    assertError(await sdk('GET', '/projects/bootstrap/public-token-test-00000000-0000-0000-0000-00000000dead'),
      401, 'unauthorized_credentials');
  });

  it('an unknown public token, or none, is unauthorized_credentials', async () => {
    const bad = 'Basic ' + Buffer.from('public-token-test-nope:public-token-test-nope').toString('base64');
    assertError(await request(emu, 'POST', '/sdk/v1/otps/email/login_or_create', { email: 'a@example.com' },
      { auth: bad }), 401, 'unauthorized_credentials');
    assertError(await request(emu, 'POST', '/sdk/v1/otps/email/login_or_create', { email: 'a@example.com' },
      { auth: false }), 401, 'unauthorized_credentials');
    // the project's secret is not a public token
    assertError(await request(emu, 'POST', '/sdk/v1/otps/email/login_or_create', { email: 'a@example.com' }),
      401, 'unauthorized_credentials');
  });

  it('a B2B project\'s public token on a consumer route is invalid_consumer_endpoint', async () => {
    const r = await request(emu, 'POST', '/sdk/v1/otps/email/login_or_create', { email: 'a@example.com' },
      { auth: pub(undefined, emu.b2bPublicToken) });
    assertError(r, 400, 'invalid_consumer_endpoint');
  });

  it('POST events: 200 with an empty data; an unknown public token refused', async () => {
    const ev = [{ telemetry: {}, event: { public_token: emu.publicToken, event_name: 'x' } }];
    const r = await request(emu, 'POST', '/sdk/v1/events', ev, { auth: false });
    assert.equal(r.status, 200, r.raw);
    assert.deepEqual(r.body, { data: {} });
    assertError(await request(emu, 'POST', '/sdk/v1/events', [{ event: { public_token: 'x' } }], { auth: false }),
      401, 'unauthorized_credentials');
  });

  it('email OTP: login_or_create gives method_id; authenticate {token, method_id} gives both tokens', async () => {
    const email = 'otp.sdk@example.com';
    const sent = await sdk('POST', '/otps/email/login_or_create', { email, expiration_minutes: 5 });
    assert.equal(sent.status, 200, sent.raw);
    const d = sent.body.data;
    assert.match(d.method_id, /^email-test-/);
    assert.equal(d.method_id, d.email_id);
    assert.match(d.user_id, /^user-test-/);
    assert.equal(d.user_created, true);
    const [m] = (await ctl(emu, 'GET', `/outbox?email=${encodeURIComponent(email)}&type=otp`)).messages;
    const wrong = await sdk('POST', '/otps/authenticate',
      { token: m.code === '000000' ? '000001' : '000000', method_id: d.method_id, session_duration_minutes: 30 });
    assertError(wrong, 404, 'otp_code_not_found');
    const a = await sdk('POST', '/otps/authenticate', { token: m.code, method_id: d.method_id, session_duration_minutes: 30 });
    assert.equal(a.status, 200, a.raw);
    const out = a.body.data;
    assert.equal(typeof out.session_token, 'string');
    assert.equal(typeof out.session_jwt, 'string');
    assert.equal(out.user_id, d.user_id);
    assert.equal(out.session.user_id, d.user_id);
    assert.equal(out.user.emails[0].email, email);
    const { payload } = verifyWithJwks(out.session_jwt, jwks);
    assert.equal(payload.sub, d.user_id);
    assert.equal(payload['https://stytch.com/session'].id, out.session.session_id);
  });

  it('a sign-in with a session of the same user adds the factor to it', async () => {
    const email = 'stepup.sdk@example.com';
    const first = await otpSignIn(email);
    const sent = await sdk('POST', '/magic_links/email/login_or_create', { email }, first.session_token);
    const [m] = (await ctl(emu, 'GET', `/outbox?email=${encodeURIComponent(email)}&type=magic_link`)).messages;
    const a = await sdk('POST', '/magic_links/authenticate', { token: m.token, session_duration_minutes: 30 },
      first.session_token);
    assert.equal(sent.status, 200);
    assert.equal(a.status, 200, a.raw);
    assert.equal(a.body.data.session.session_id, first.session.session_id);
    assert.deepEqual(a.body.data.session.authentication_factors.map((f) => f.type).sort(), ['magic_link', 'otp']);
  });

  it('magic links: login_or_create with the SDK\'s URLs; authenticate with the token', async () => {
    const email = 'link.sdk@example.com';
    const url = `${ORIGIN}/authenticate?return_to=%2Fapp%2F`;
    const sent = await sdk('POST', '/magic_links/email/login_or_create',
      { email, login_magic_link_url: url, signup_magic_link_url: url, code_challenge: undefined });
    assert.equal(sent.status, 200, sent.raw);
    assert.match(sent.body.data.user_id, /^user-test-/);
    const [m] = (await ctl(emu, 'GET', `/outbox?email=${encodeURIComponent(email)}&type=magic_link`)).messages;
    assert.ok(m.link.startsWith(`${url}&stytch_token_type=magic_links&token=`), m.link);
    const a = await sdk('POST', '/magic_links/authenticate', { token: m.token, session_duration_minutes: 30 });
    assert.equal(a.status, 200, a.raw);
    assert.equal(typeof a.body.data.session_token, 'string');
    assert.equal(decodeJwt(a.body.data.session_jwt).payload.sub, sent.body.data.user_id);
    assertError(await sdk('POST', '/magic_links/authenticate', { token: m.token, session_duration_minutes: 30 }),
      401, 'unable_to_auth_magic_link');
  });

  it('sessions/authenticate: the session of the Basic password, a fresh JWT, extended when asked', async () => {
    const s = await otpSignIn('refresh.sdk@example.com');
    const r = await sdk('POST', '/sessions/authenticate', { session_duration_minutes: 60 }, s.session_token);
    assert.equal(r.status, 200, r.raw);
    const d = r.body.data;
    assert.equal(d.session.session_id, s.session.session_id);
    assert.equal(d.session_token, s.session_token);
    assert.ok(Date.parse(d.session.expires_at) > Date.parse(s.session.expires_at), 'extended');
    assert.equal(verifyWithJwks(d.session_jwt, jwks).payload.sub, s.user_id);
    assert.ok(d.user && d.user.user_id === s.user_id);
    // without a session: the SDK sends the public token as password
    assertError(await sdk('POST', '/sessions/authenticate', {}), 401, 'unauthorized_credentials');
    assertError(await sdk('POST', '/sessions/authenticate', {}, 'not-a-session-token-at-all'), 404, 'session_not_found');
  });

  it('users/me: the signed-in user', async () => {
    const s = await otpSignIn('me.sdk@example.com');
    const r = await sdk('GET', '/users/me', undefined, s.session_token);
    assert.equal(r.status, 200, r.raw);
    assert.equal(r.body.data.user_id, s.user_id);
    assert.equal(r.body.data.emails[0].email, 'me.sdk@example.com');
    assertError(await sdk('GET', '/users/me'), 401, 'unauthorized_credentials');
  });

  it('sessions/revoke (no body): the session is revoked; it is then session_not_found', async () => {
    const s = await otpSignIn('revoke.sdk@example.com');
    const r = await sdk('POST', '/sessions/revoke', undefined, s.session_token);
    assert.equal(r.status, 200, r.raw);
    assert.equal(r.body.data.status_code, 200);
    assert.equal((await ctl(emu, 'GET', `/sessions/${s.session.session_id}`)).revoked, true);
    assertError(await sdk('POST', '/sessions/authenticate', {}, s.session_token), 404, 'session_not_found');
    const api = await request(emu, 'POST', '/v1/sessions/authenticate', { session_token: s.session_token });
    assertError(api, 404, 'session_not_found');
  });

  it('CORS: the preflight allows the SDK\'s headers; answers and errors carry the origin', async () => {
    const p = await request(emu, 'OPTIONS', '/sdk/v1/otps/email/login_or_create', undefined, { auth: false,
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type,x-sdk-client,x-sdk-parent-host' } });
    assert.equal(p.status, 204);
    assert.equal(p.headers['access-control-allow-origin'], ORIGIN);
    assert.equal(p.headers['access-control-allow-credentials'], 'true');
    const allowed = p.headers['access-control-allow-headers'].toLowerCase().split(/,\s*/);
    for (const h of ['authorization', 'content-type', 'x-sdk-client', 'x-sdk-parent-host']) assert.ok(allowed.includes(h), h);
    assert.match(p.headers['access-control-allow-methods'], /POST/);
    const ok = await sdk('GET', `/projects/bootstrap/${emu.publicToken}`);
    assert.equal(ok.headers['access-control-allow-origin'], ORIGIN);
    assert.equal(ok.headers['access-control-allow-credentials'], 'true');
    const err = await sdk('GET', '/users/me');
    assert.equal(err.status, 401);
    assert.equal(err.headers['access-control-allow-origin'], ORIGIN);
    // same origin, through a proxy: no Origin, no CORS headers
    const same = await request(emu, 'GET', `/sdk/v1/projects/bootstrap/${emu.publicToken}`, undefined,
      { auth: pub() });
    assert.equal(same.status, 200);
    assert.equal(same.headers['access-control-allow-origin'], undefined);
    // the server API is not for browsers
    const server = await request(emu, 'OPTIONS', '/v1/sessions/authenticate', undefined,
      { auth: false, headers: { origin: ORIGIN } });
    assert.equal(server.headers['access-control-allow-origin'], undefined);
  });

  it('counted by endpoint', async () => {
    const c = await ctl(emu, 'GET', '/counters');
    for (const e of ['sdk_bootstrap', 'sdk_events', 'sdk_otps_send', 'sdk_otps_authenticate', 'sdk_magic_links_send',
      'sdk_magic_links_authenticate', 'sdk_authenticate', 'sdk_revoke', 'sdk_users_me']) assert.ok(c[e] > 0, e);
  });
});
