'use strict';
// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// POST /v1/sessions/authenticate and /v1/b2b/sessions/authenticate.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startEmulator, request, ctl, basic, decodeJwt, verifyWithJwks } = require('../lib/testlib.js');

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function assertError(r, status, type) {
  assert.equal(r.status, status, r.raw);
  assert.equal(r.body.status_code, status);
  assert.equal(r.body.error_type, type);
  assert.equal(typeof r.body.error_message, 'string');
  assert.match(r.body.request_id, /^request-id-test-/);
  assert.match(r.body.error_url, /^https:\/\/stytch\.com\/docs\/api\/errors\//);
}

describe('sessions/authenticate', () => {
  let emu;
  let jwks;
  const AUTH = '/v1/sessions/authenticate';
  const B2B = '/v1/b2b/sessions/authenticate';
  before(async () => {
    emu = await startEmulator();
    jwks = (await request(emu, 'GET', `/v1/sessions/jwks/${emu.projectId}`, undefined, { auth: false })).body;
  });
  after(async () => { await emu.stop(); });

  describe('consumer', () => {
    let s;
    before(async () => {
      s = await ctl(emu, 'POST', '/sessions', {
        user_id: 'user-test-aaaaaaaa-0000-0000-0000-000000000001', email: 'alice@example.com',
        roles: ['stytch_user', 'editor'], custom_claims: { tier: 'gold' },
      });
    });

    it('the control session has a valid JWT with Stytch claims', () => {
      const { header, payload } = verifyWithJwks(s.session_jwt, jwks);
      assert.deepEqual(Object.keys(header), ['alg', 'kid', 'typ']);
      assert.equal(header.typ, 'JWT');
      assert.equal(payload.iss, `stytch.com/${emu.projectId}`);
      assert.deepEqual(payload.aud, [emu.projectId]);
      assert.equal(payload.sub, 'user-test-aaaaaaaa-0000-0000-0000-000000000001');
      assert.equal(payload.exp - payload.iat, 300);
      assert.equal(payload.nbf, payload.iat);
      assert.ok(Math.abs(payload.iat - Date.now() / 1000) < 5);
      assert.equal(payload.tier, 'gold');
      assert.equal(payload.jti, undefined);
      assert.equal(payload['https://stytch.com/organization'], undefined);
      const c = payload['https://stytch.com/session'];
      assert.equal(c.id, s.session_id);
      assert.match(c.started_at, RFC3339);
      assert.match(c.last_accessed_at, RFC3339);
      assert.match(c.expires_at, RFC3339);
      assert.ok(Math.abs(Date.parse(c.expires_at) - Date.parse(c.started_at) - 3600000) <= 1000, '60 min default');
      assert.deepEqual(Object.keys(c.attributes).sort(), ['ip_address', 'user_agent']);
      assert.deepEqual(c.roles, ['stytch_user', 'editor']);
      assert.equal(c.authentication_factors[0].type, 'otp');
      assert.equal(c.authentication_factors[0].delivery_method, 'email');
      assert.equal(c.authentication_factors[0].email_factor.email_address, 'alice@example.com');
      assert.equal(s.user_id, payload.sub);
      assert.equal(s.session.session_id, s.session_id);
    });

    for (const by of ['session_token', 'session_jwt']) {
      it(`200 by ${by} with the full response shape`, async () => {
        const r = await request(emu, 'POST', AUTH, { [by]: s[by] });
        assert.equal(r.status, 200, r.raw);
        const b = r.body;
        assert.equal(b.status_code, 200);
        assert.match(b.request_id, /^request-id-test-/);
        assert.equal(b.session_token, s.session_token);
        assert.equal(b.user_id, s.user_id);
        const sess = b.session;
        for (const f of ['session_id', 'user_id', 'started_at', 'last_accessed_at', 'expires_at',
          'attributes', 'authentication_factors', 'roles', 'custom_claims']) assert.ok(f in sess, f);
        assert.equal(sess.session_id, s.session_id);
        assert.deepEqual(sess.roles, ['stytch_user', 'editor']);
        assert.deepEqual(sess.custom_claims, { tier: 'gold' });
        const u = b.user;
        for (const f of ['user_id', 'emails', 'status', 'phone_numbers', 'webauthn_registrations', 'providers',
          'totps', 'crypto_wallets', 'biometric_registrations', 'is_locked', 'roles', 'name']) assert.ok(f in u, f);
        assert.equal(u.status, 'active');
        assert.deepEqual(u.emails[0].email, 'alice@example.com');
        assert.equal(u.emails[0].verified, true);
        assert.equal(b.verdict, undefined);
        const { payload } = verifyWithJwks(b.session_jwt, jwks);
        assert.equal(payload['https://stytch.com/session'].id, s.session_id);
        assert.ok(payload.exp > Date.now() / 1000);
      });
    }

    it('an expired but validly signed JWT of a live session gets a fresh JWT', async () => {
      const old = (await ctl(emu, 'POST', '/jwt', { session_id: s.session_id, iat: Math.floor(Date.now() / 1000) - 3600 })).jwt;
      assert.ok(decodeJwt(old).payload.exp < Date.now() / 1000);
      const r = await request(emu, 'POST', AUTH, { session_jwt: old });
      assert.equal(r.status, 200, r.raw);
      assert.notEqual(r.body.session_jwt, old);
      const { payload } = verifyWithJwks(r.body.session_jwt, jwks);
      assert.ok(payload.exp > Date.now() / 1000);
    });

    it('updates last_accessed_at and the JWT on each call', async () => {
      const a = await request(emu, 'POST', AUTH, { session_token: s.session_token });
      await sleep(1100);
      const b = await request(emu, 'POST', AUTH, { session_token: s.session_token });
      assert.ok(Date.parse(b.body.session.last_accessed_at) > Date.parse(a.body.session.last_accessed_at));
      assert.notEqual(a.body.session_jwt, b.body.session_jwt);
      const pb = decodeJwt(b.body.session_jwt).payload;
      assert.equal(pb['https://stytch.com/session'].last_accessed_at, b.body.session.last_accessed_at);
      assert.equal(b.body.session.started_at, a.body.session.started_at);
    });

    it('session_duration_minutes sets expires_at = now + N; without it expires_at stays', async () => {
      const r = await request(emu, 'POST', AUTH, { session_token: s.session_token, session_duration_minutes: 600 });
      assert.equal(r.status, 200);
      const exp = Date.parse(r.body.session.expires_at);
      assert.ok(Math.abs(exp - (Date.now() + 600 * 60000)) < 3000, r.body.session.expires_at);
      assert.equal(decodeJwt(r.body.session_jwt).payload['https://stytch.com/session'].expires_at, r.body.session.expires_at);
      const r2 = await request(emu, 'POST', AUTH, { session_token: s.session_token });
      assert.equal(r2.body.session.expires_at, r.body.session.expires_at);
    });

    for (const bad of [4, 527041, 'sixty', 10.5]) {
      it(`session_duration_minutes ${JSON.stringify(bad)} -> 400 invalid_session_duration_minutes`, async () => {
        const r = await request(emu, 'POST', AUTH, { session_token: s.session_token, session_duration_minutes: bad });
        assertError(r, 400, 'invalid_session_duration_minutes');
      });
    }

    it('session_custom_claims merge, null deletes, reserved names are ignored', async () => {
      const r = await request(emu, 'POST', AUTH, {
        session_token: s.session_token,
        session_custom_claims: { plan: 'pro', tier: null, sub: 'evil', iss: 'evil' },
      });
      assert.equal(r.status, 200, r.raw);
      assert.deepEqual(r.body.session.custom_claims, { plan: 'pro' });
      const { payload } = verifyWithJwks(r.body.session_jwt, jwks);
      assert.equal(payload.plan, 'pro');
      assert.equal(payload.tier, undefined);
      assert.equal(payload.sub, s.user_id);
      assert.equal(payload.iss, `stytch.com/${emu.projectId}`);
    });

    it('session_custom_claims: not an object or over 4 KB -> 400 invalid_session_custom_claims', async () => {
      assertError(await request(emu, 'POST', AUTH, { session_token: s.session_token, session_custom_claims: [1] }),
        400, 'invalid_session_custom_claims');
      assertError(await request(emu, 'POST', AUTH, { session_token: s.session_token,
        session_custom_claims: { big: 'x'.repeat(5000) } }), 400, 'invalid_session_custom_claims');
      const r = await request(emu, 'POST', AUTH, { session_token: s.session_token });
      assert.equal(r.body.session.custom_claims.big, undefined, 'rejected claims not applied');
    });

    it('400 no_session_arguments / too_many_session_arguments', async () => {
      assertError(await request(emu, 'POST', AUTH, {}), 400, 'no_session_arguments');
      assertError(await request(emu, 'POST', AUTH, { session_token: '' }), 400, 'no_session_arguments');
      assertError(await request(emu, 'POST', AUTH, { session_token: s.session_token, session_jwt: s.session_jwt }),
        400, 'too_many_session_arguments');
    });

    it('401 unauthorized_credentials without or with wrong Basic auth', async () => {
      assertError(await request(emu, 'POST', AUTH, { session_token: s.session_token }, { auth: false }),
        401, 'unauthorized_credentials');
      assertError(await request(emu, 'POST', AUTH, { session_token: s.session_token }, { auth: basic(emu, 'wrong') }),
        401, 'unauthorized_credentials');
      assertError(await request(emu, 'POST', AUTH, { session_token: s.session_token }, { auth: 'Bearer x' }),
        401, 'unauthorized_credentials');
    });

    it('400 invalid_request_body for non-JSON', async () => {
      assertError(await request(emu, 'POST', AUTH, '{nope'), 400, 'invalid_request_body');
    });

    it('400 unable_to_parse_session_jwt for malformed JWTs', async () => {
      for (const jwt of ['abc', 'a.b', 'a.b.c.d', '!!!.???.sig', `${s.session_jwt.split('.')[0]}.bm90anNvbg.sig`]) {
        assertError(await request(emu, 'POST', AUTH, { session_jwt: jwt }), 400, 'unable_to_parse_session_jwt');
      }
    });

    it('unable_to_parse_session_jwt when the JWT cannot be verified: rogue key, no signature, alg, kid, tampered', async () => {
      const cases = [
        { key: 'rogue' },
        { session_id: s.session_id, key: 'rogue' },
        { session_id: s.session_id, signature: 'none' },
        { session_id: s.session_id, header: { alg: 'HS256' } },
        { session_id: s.session_id, header: { kid: null } },
        { session_id: s.session_id, header: { kid: 'jwk-test-unknown' } },
      ];
      for (const c of cases) {
        const jwt = (await ctl(emu, 'POST', '/jwt', c)).jwt;
        assertError(await request(emu, 'POST', AUTH, { session_jwt: jwt }), 400, 'unable_to_parse_session_jwt');
      }
      // Tamper with a valid JWT's payload.
      const [h, , sig] = s.session_jwt.split('.');
      const p = decodeJwt(s.session_jwt).payload;
      p['https://stytch.com/session'].roles = ['admin'];
      const forged = `${h}.${Buffer.from(JSON.stringify(p)).toString('base64url')}.${sig}`;
      assertError(await request(emu, 'POST', AUTH, { session_jwt: forged }), 400, 'unable_to_parse_session_jwt');
    });

    it('a verified JWT with the wrong iss, aud or session claim: jwt_invalid_issuer, _audience, _claims', async () => {
      const mint = async (claims) => (await ctl(emu, 'POST', '/jwt', { session_id: s.session_id, claims })).jwt;
      assertError(await request(emu, 'POST', AUTH, { session_jwt: await mint({ iss: 'stytch.com/project-test-other' }) }),
        401, 'jwt_invalid_issuer');
      assertError(await request(emu, 'POST', AUTH, { session_jwt: await mint({ iss: null }) }), 401, 'jwt_invalid_issuer');
      assertError(await request(emu, 'POST', AUTH, { session_jwt: await mint({ aud: ['project-test-other'] }) }),
        401, 'jwt_invalid_audience');
      assertError(await request(emu, 'POST', AUTH, { session_jwt: await mint({ 'https://stytch.com/session': null }) }),
        401, 'jwt_invalid_claims');
      assertError(await request(emu, 'POST', AUTH, { session_jwt: await mint({ sub: null }) }), 401, 'jwt_invalid_claims');
    });

    it('invalid_session_token for what cannot be a session token', async () => {
      for (const tok of [42, ['x'], 'has space', 'semi;colon', 'x'.repeat(2000)]) {
        assertError(await request(emu, 'POST', AUTH, { session_token: tok }), 400, 'invalid_session_token');
      }
    });

    it('an aud given as a plain string is accepted', async () => {
      const jwt = (await ctl(emu, 'POST', '/jwt', { session_id: s.session_id, claims: { aud: emu.projectId } })).jwt;
      assert.equal((await request(emu, 'POST', AUTH, { session_jwt: jwt })).status, 200);
    });

    it('404 session_not_found: unknown token, dummy JWT, expired and revoked sessions', async () => {
      assertError(await request(emu, 'POST', AUTH, { session_token: 'no-such-token' }), 404, 'session_not_found');
      const dummy = (await ctl(emu, 'POST', '/jwt', {})).jwt;
      verifyWithJwks(dummy, jwks);
      assertError(await request(emu, 'POST', AUTH, { session_jwt: dummy }), 404, 'session_not_found');

      const e = await ctl(emu, 'POST', '/sessions', {});
      assert.equal((await request(emu, 'POST', AUTH, { session_token: e.session_token })).status, 200);
      await ctl(emu, 'POST', `/sessions/${e.session_id}/expire`);
      assertError(await request(emu, 'POST', AUTH, { session_token: e.session_token }), 404, 'session_not_found');
      assertError(await request(emu, 'POST', AUTH, { session_jwt: e.session_jwt }), 404, 'session_not_found');

      const v = await ctl(emu, 'POST', '/sessions', {});
      assert.equal((await request(emu, 'POST', '/v1/sessions/revoke', { session_id: v.session_id })).status, 200);
      assertError(await request(emu, 'POST', AUTH, { session_token: v.session_token }), 404, 'session_not_found');
      assertError(await request(emu, 'POST', AUTH, { session_jwt: v.session_jwt }), 404, 'session_not_found');
    });

    it('a session created with a short duration expires by itself', async () => {
      const e = await ctl(emu, 'POST', '/sessions', { duration_minutes: 1 / 60 });
      assert.equal((await request(emu, 'POST', AUTH, { session_token: e.session_token })).status, 200);
      await sleep(1100);
      assertError(await request(emu, 'POST', AUTH, { session_token: e.session_token }), 404, 'session_not_found');
    });

    it('omit_roles: the JWT has no roles key, the API session still has roles', async () => {
      const o = await ctl(emu, 'POST', '/sessions', { omit_roles: true, roles: ['stytch_user', 'admin'] });
      assert.equal('roles' in decodeJwt(o.session_jwt).payload['https://stytch.com/session'], false);
      const r = await request(emu, 'POST', AUTH, { session_jwt: o.session_jwt });
      assert.equal(r.status, 200);
      assert.deepEqual(r.body.session.roles, ['stytch_user', 'admin']);
      assert.equal('roles' in decodeJwt(r.body.session_jwt).payload['https://stytch.com/session'], false);
    });

    it("the consumer project's id on the B2B endpoint: invalid_b2b_endpoint; the B2B project does not know the session", async () => {
      assertError(await request(emu, 'POST', B2B, { session_token: s.session_token }), 400, 'invalid_b2b_endpoint');
      assertError(await request(emu, 'POST', B2B, { session_token: s.session_token }, { auth: 'b2b' }), 404, 'session_not_found');
      assertError(await request(emu, 'POST', B2B, { session_jwt: s.session_jwt }, { auth: 'b2b' }), 400, 'unable_to_parse_session_jwt');
    });
  });

  describe('B2B', () => {
    let m;
    let jwks;
    before(async () => {
      jwks = (await request(emu, 'GET', `/v1/b2b/sessions/jwks/${emu.b2bProjectId}`, undefined, { auth: false })).body;
      m = await ctl(emu, 'POST', '/sessions', {
        type: 'b2b', organization_id: 'organization-test-33333333-3333-3333-3333-333333333333',
        organization_slug: 'acme', email: 'bob@acme.test', roles: ['stytch_member', 'editor'],
        custom_claims: { my_custom_claim: 'value' },
      });
    });

    it('the control session has a B2B JWT', () => {
      assert.match(m.member_id, /^member-test-/);
      assert.equal(m.organization_id, 'organization-test-33333333-3333-3333-3333-333333333333');
      assert.equal(m.session.member_session_id, m.session_id);
      const { payload } = verifyWithJwks(m.session_jwt, jwks);
      assert.equal(payload.sub, m.member_id);
      assert.deepEqual(payload['https://stytch.com/organization'],
        { organization_id: m.organization_id, slug: 'acme' });
      const c = payload['https://stytch.com/session'];
      assert.equal(c.id, m.session_id);
      assert.equal(c.attributes, undefined);
      assert.deepEqual(c.roles, ['stytch_member', 'editor']);
      assert.equal(c.authentication_factors[0].type, 'magic_link');
      assert.equal(payload.my_custom_claim, 'value');
    });

    for (const by of ['session_token', 'session_jwt']) {
      it(`200 by ${by} with the full B2B response shape`, async () => {
        const r = await request(emu, 'POST', B2B, { [by]: m[by] }, { auth: 'b2b' });
        assert.equal(r.status, 200, r.raw);
        const b = r.body;
        assert.equal(b.status_code, 200);
        assert.ok(b.request_id);
        assert.equal(b.member_id, m.member_id);
        assert.equal(b.organization_id, m.organization_id);
        assert.equal(b.session_token, m.session_token);
        const ms = b.member_session;
        for (const f of ['member_session_id', 'member_id', 'started_at', 'last_accessed_at', 'expires_at',
          'authentication_factors', 'organization_id', 'roles', 'organization_slug', 'custom_claims']) assert.ok(f in ms, f);
        assert.equal(ms.organization_slug, 'acme');
        assert.deepEqual(ms.custom_claims, { my_custom_claim: 'value' });
        const mem = b.member;
        for (const f of ['organization_id', 'member_id', 'email_address', 'status', 'name', 'sso_registrations',
          'is_breakglass', 'member_password_id', 'oauth_registrations', 'email_address_verified',
          'mfa_phone_number_verified', 'is_admin', 'totp_registration_id', 'retired_email_addresses', 'is_locked',
          'mfa_enrolled', 'mfa_phone_number', 'default_mfa_method', 'roles']) assert.ok(f in mem, f);
        assert.equal(mem.email_address, 'bob@acme.test');
        assert.deepEqual(mem.roles.map((x) => x.role_id), ['stytch_member', 'editor']);
        assert.ok(Array.isArray(mem.roles[0].sources));
        const o = b.organization;
        for (const f of ['organization_id', 'organization_name', 'organization_logo_url', 'organization_slug',
          'sso_jit_provisioning', 'sso_jit_provisioning_allowed_connections', 'sso_active_connections',
          'email_allowed_domains', 'email_jit_provisioning', 'email_invites', 'auth_methods', 'allowed_auth_methods',
          'mfa_policy', 'rbac_email_implicit_role_assignments', 'mfa_methods', 'allowed_mfa_methods',
          'oauth_tenant_jit_provisioning', 'claimed_email_domains', 'first_party_connected_apps_allowed_type',
          'allowed_first_party_connected_apps', 'third_party_connected_apps_allowed_type',
          'allowed_third_party_connected_apps', 'custom_roles']) assert.ok(f in o, f);
        assert.equal(o.organization_slug, 'acme');
        const { payload } = verifyWithJwks(b.session_jwt, jwks);
        assert.equal(payload['https://stytch.com/organization'].organization_id, m.organization_id);
      });
    }

    it('expired JWT of a live member session is refreshed', async () => {
      const old = (await ctl(emu, 'POST', '/jwt', { session_id: m.session_id, iat: Math.floor(Date.now() / 1000) - 900 })).jwt;
      const r = await request(emu, 'POST', B2B, { session_jwt: old }, { auth: 'b2b' });
      assert.equal(r.status, 200, r.raw);
      assert.ok(verifyWithJwks(r.body.session_jwt, jwks).payload.exp > Date.now() / 1000);
    });

    it('errors: no args, both args, bad auth, malformed, rogue, unknown, consumer session', async () => {
      assertError(await request(emu, 'POST', B2B, {}, { auth: 'b2b' }), 400, 'no_session_arguments');
      assertError(await request(emu, 'POST', B2B, { session_token: m.session_token, session_jwt: m.session_jwt }, { auth: 'b2b' }), 400, 'too_many_session_arguments');
      assertError(await request(emu, 'POST', B2B, { session_token: m.session_token }, { auth: false }, { auth: 'b2b' }), 401, 'unauthorized_credentials');
      assertError(await request(emu, 'POST', B2B, { session_jwt: 'x.y' }, { auth: 'b2b' }), 400, 'unable_to_parse_session_jwt');
      const rogue = (await ctl(emu, 'POST', '/jwt', { session_id: m.session_id, key: 'rogue' })).jwt;
      assertError(await request(emu, 'POST', B2B, { session_jwt: rogue }, { auth: 'b2b' }), 400, 'unable_to_parse_session_jwt');
      const wrongIss = (await ctl(emu, 'POST', '/jwt', { session_id: m.session_id, claims: { iss: 'x' } })).jwt;
      assertError(await request(emu, 'POST', B2B, { session_jwt: wrongIss }, { auth: 'b2b' }), 401, 'jwt_invalid_issuer');
      assertError(await request(emu, 'POST', B2B, { session_token: 'nope' }, { auth: 'b2b' }), 404, 'session_not_found');
      const c = await ctl(emu, 'POST', '/sessions', {});
      assertError(await request(emu, 'POST', B2B, { session_token: c.session_token }, { auth: 'b2b' }), 404, 'session_not_found');
      assertError(await request(emu, 'POST', AUTH, { session_token: m.session_token }), 404, 'session_not_found');
      assertError(await request(emu, 'POST', AUTH, { session_token: m.session_token }, { auth: 'b2b' }),
        400, 'invalid_consumer_endpoint');
    });

    it('duration and custom claims work for B2B too', async () => {
      const r = await request(emu, 'POST', B2B, { session_jwt: m.session_jwt, session_duration_minutes: 5,
        session_custom_claims: { my_custom_claim: null, k: [1, 2] } }, { auth: 'b2b' });
      assert.equal(r.status, 200, r.raw);
      assert.ok(Math.abs(Date.parse(r.body.member_session.expires_at) - Date.now() - 300000) < 3000);
      assert.deepEqual(r.body.member_session.custom_claims, { k: [1, 2] });
      assert.deepEqual(decodeJwt(r.body.session_jwt).payload.k, [1, 2]);
    });

    it('default B2B session has stytch_member and a generated organization', async () => {
      const d = await ctl(emu, 'POST', '/sessions', { type: 'b2b' });
      assert.match(d.organization_id, /^organization-test-/);
      assert.deepEqual(d.session.roles, ['stytch_member']);
      const r = await request(emu, 'POST', B2B, { session_token: d.session_token }, { auth: 'b2b' });
      assert.equal(r.status, 200);
      assert.equal(r.body.organization.organization_slug, d.session.organization_slug);
    });
  });
});
