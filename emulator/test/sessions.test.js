'use strict';
// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// Session details: authentication factors of Stytch's kinds with Stytch's
// field names, attributes, last_accessed_at, and session_duration_minutes
// extending a session, in the JWT's session claim and the API's answers.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startEmulator, request, ctl, decodeJwt } = require('../lib/testlib.js');

const AUTH = '/v1/sessions/authenticate';
const B2B = '/v1/b2b/sessions/authenticate';
const CLAIM = 'https://stytch.com/session';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('session details', () => {
  let emu;
  before(async () => { emu = await startEmulator(); });
  after(async () => { await emu.stop(); });

  it('B2B SSO factors: saml_sso_factor / oidc_sso_factor {id, provider_id, external_id}', async () => {
    const saml = 'saml-connection-test-11111111-2222-3333-4444-555555555555';
    const oidc = 'oidc-connection-test-66666666-7777-8888-9999-000000000000';
    const s = await ctl(emu, 'POST', '/sessions', { type: 'b2b', email: 'ann@acme.test', factors: [
      { type: 'sso', protocol: 'saml', connection_id: saml, external_id: 'ann-at-idp', last_authenticated_at: '2026-01-02T03:04:05Z' },
      { type: 'sso', protocol: 'oidc', connection_id: oidc, last_authenticated_at: 1767322000 },
    ] });
    const [f1, f2] = decodeJwt(s.session_jwt).payload[CLAIM].authentication_factors;
    assert.deepEqual(Object.keys(f1).sort(), ['delivery_method', 'last_authenticated_at', 'saml_sso_factor', 'type']);
    assert.equal(f1.type, 'sso');
    assert.equal(f1.delivery_method, 'sso_saml');
    assert.equal(f1.last_authenticated_at, '2026-01-02T03:04:05Z');
    assert.deepEqual(Object.keys(f1.saml_sso_factor).sort(), ['external_id', 'id', 'provider_id']);
    assert.equal(f1.saml_sso_factor.provider_id, saml);
    assert.equal(f1.saml_sso_factor.external_id, 'ann-at-idp');
    assert.match(f1.saml_sso_factor.id, /^member-registration-test-/);
    assert.equal(f2.delivery_method, 'sso_oidc');
    assert.equal(f2.oidc_sso_factor.provider_id, oidc);
    assert.equal(f2.oidc_sso_factor.external_id, 'ann@acme.test', 'external id defaults to the email');
    assert.equal(f2.last_authenticated_at, new Date(1767322000 * 1000).toISOString().replace('.000', ''));
    // the API's member_session has the same factors, with created_at/updated_at
    const r = await request(emu, 'POST', B2B, { session_token: s.session_token }, { auth: 'b2b' });
    assert.equal(r.status, 200, r.raw);
    const api = r.body.member_session.authentication_factors;
    assert.equal(api.length, 2);
    assert.deepEqual(api[0].saml_sso_factor, f1.saml_sso_factor);
    assert.equal(api[0].created_at, '2026-01-02T03:04:05Z');
    assert.equal(api[0].updated_at, '2026-01-02T03:04:05Z');
    assert.deepEqual(decodeJwt(r.body.session_jwt).payload[CLAIM].authentication_factors, [f1, f2], 'refreshed JWT keeps them');
    assert.equal(r.body.member_session.attributes, undefined, 'a MemberSession has no attributes');
    assert.equal(decodeJwt(s.session_jwt).payload[CLAIM].attributes, undefined);
  });

  it('consumer factors: magic link and OTP with email_factor, OAuth with <provider>_oauth_factor, SMS', async () => {
    const s = await ctl(emu, 'POST', '/sessions', { email: 'cat@example.com', factors: [
      { type: 'magic_link' },
      { type: 'otp', email: 'other@example.com' },
      { type: 'oauth', provider: 'google', provider_subject: '10769150350006150715113082367' },
      { type: 'oauth', provider: 'linkedin' },
      { type: 'otp', delivery_method: 'sms', phone_number: '+15005550006' },
    ] });
    const fs = decodeJwt(s.session_jwt).payload[CLAIM].authentication_factors;
    assert.deepEqual(fs.map((f) => [f.type, f.delivery_method]), [['magic_link', 'email'], ['otp', 'email'],
      ['oauth', 'oauth_google'], ['oauth', 'oauth_linkedin'], ['otp', 'sms']]);
    const userEmailId = fs[0].email_factor.email_id;
    assert.match(userEmailId, /^email-test-/);
    assert.deepEqual(fs[0].email_factor, { email_id: userEmailId, email_address: 'cat@example.com' });
    assert.equal(fs[1].email_factor.email_address, 'other@example.com');
    assert.notEqual(fs[1].email_factor.email_id, userEmailId);
    assert.deepEqual(Object.keys(fs[2].google_oauth_factor).sort(), ['email_id', 'id', 'provider_subject']);
    assert.equal(fs[2].google_oauth_factor.provider_subject, '10769150350006150715113082367');
    assert.equal(fs[2].google_oauth_factor.email_id, userEmailId);
    assert.match(fs[2].google_oauth_factor.id, /^oauth-user-test-/);
    assert.ok(fs[3].linked_in_oauth_factor, "Stytch's spelling: linked_in");
    assert.equal(fs[4].phone_number_factor.phone_number, '+15005550006');
    for (const f of fs) {
      assert.match(f.last_authenticated_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.equal(f.created_at, undefined, 'no created_at in the JWT');
    }
    const r = await request(emu, 'POST', AUTH, { session_jwt: s.session_jwt });
    assert.deepEqual(r.body.session.authentication_factors.map((f) => f.type), fs.map((f) => f.type));
  });

  it('a B2B email OTP is email_otp; defaults stay otp (consumer) and magic_link (B2B)', async () => {
    const b = await ctl(emu, 'POST', '/sessions', { type: 'b2b', factors: [{ type: 'otp' }] });
    assert.equal(decodeJwt(b.session_jwt).payload[CLAIM].authentication_factors[0].type, 'email_otp');
    const dc = decodeJwt((await ctl(emu, 'POST', '/sessions', {})).session_jwt).payload[CLAIM].authentication_factors;
    const db = decodeJwt((await ctl(emu, 'POST', '/sessions', { type: 'b2b' })).session_jwt).payload[CLAIM].authentication_factors;
    assert.deepEqual([dc.length, dc[0].type, dc[0].delivery_method], [1, 'otp', 'email']);
    assert.deepEqual([db.length, db[0].type, db[0].delivery_method], [1, 'magic_link', 'email']);
  });

  it('attributes {ip_address, user_agent} in the consumer claim and session', async () => {
    const s = await ctl(emu, 'POST', '/sessions', { attributes: { ip_address: '198.51.100.7', user_agent: 'Mozilla/5.0 test' } });
    assert.deepEqual(decodeJwt(s.session_jwt).payload[CLAIM].attributes, { ip_address: '198.51.100.7', user_agent: 'Mozilla/5.0 test' });
    const r = await request(emu, 'POST', AUTH, { session_token: s.session_token });
    assert.deepEqual(r.body.session.attributes, { ip_address: '198.51.100.7', user_agent: 'Mozilla/5.0 test' });
  });

  it('rejects bad factors and attributes', async () => {
    for (const b of [{ factors: [] }, { factors: {} }, { factors: [{ type: 'telepathy' }] },
      { factors: [{ type: 'sso', protocol: 'kerberos' }] }, { factors: [{ type: 'oauth', provider: 'myspace' }] },
      { factors: [{ type: 'magic_link', last_authenticated_at: 'yesterday' }] },
      { factors: [{ type: 'otp', delivery_method: 'pigeon' }] }, { factors: [{ type: 'sso', protocol: 'saml', connection_id: 5 }] },
      { attributes: { ip_address: 1 } }, { attributes: { colour: 'x' } }, { attributes: 'x' }]) {
      const r = await request(emu, 'POST', '/emulator/sessions', b, { auth: false });
      assert.equal(r.status, 400, JSON.stringify(b));
    }
  });

  it('last_accessed_at follows each authenticate, in the answer and the new JWT; started_at stays', async () => {
    const s = await ctl(emu, 'POST', '/sessions', {});
    const c0 = decodeJwt(s.session_jwt).payload[CLAIM];
    await sleep(1100);
    const r = await request(emu, 'POST', AUTH, { session_jwt: s.session_jwt });
    const c1 = decodeJwt(r.body.session_jwt).payload[CLAIM];
    assert.ok(Date.parse(c1.last_accessed_at) > Date.parse(c0.last_accessed_at));
    assert.equal(c1.last_accessed_at, r.body.session.last_accessed_at);
    assert.equal(c1.started_at, c0.started_at);
  });

  it('session_duration_minutes extends a session past its first expiry; a later call without it does not', async () => {
    const s = await ctl(emu, 'POST', '/sessions', { duration_minutes: 2 / 60 });
    const r = await request(emu, 'POST', AUTH, { session_token: s.session_token, session_duration_minutes: 5 });
    assert.equal(r.status, 200);
    const exp = Date.parse(r.body.session.expires_at);
    assert.ok(Math.abs(exp - (Date.now() + 5 * 60000)) < 3000);
    assert.equal(decodeJwt(r.body.session_jwt).payload[CLAIM].expires_at, r.body.session.expires_at);
    await sleep(2200);
    const later = await request(emu, 'POST', AUTH, { session_token: s.session_token });
    assert.equal(later.status, 200, 'alive past the first expiry');
    assert.equal(later.body.session.expires_at, r.body.session.expires_at);
    const b = await ctl(emu, 'POST', '/sessions', { type: 'b2b', duration_minutes: 2 / 60 });
    assert.equal((await request(emu, 'POST', B2B, { session_jwt: b.session_jwt, session_duration_minutes: 5 }, { auth: 'b2b' })).status, 200);
    await sleep(2200);
    assert.equal((await request(emu, 'POST', B2B, { session_token: b.session_token }, { auth: 'b2b' })).status, 200);
  });
});
