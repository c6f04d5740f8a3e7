'use strict';
// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// Connected Apps: the emulator as an OAuth 2.1 / OpenID Connect
// authorization server.  Discovery, dynamic registration, authorization
// with PKCE and the emulator's consent, the token endpoint's grants,
// introspection, revocation, userinfo, the control calls; then the
// official MCP TypeScript SDK's client-side OAuth against it over TLS
// (pinned by emulator/test/clients/package-lock.json, installed by
// `scripts/install-deps test`).
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const path = require('node:path');
const { execFile } = require('node:child_process');
const { startEmulator, request, ctl, decodeJwt, verifyWithJwks } = require('../lib/testlib.js');
const testClients = require('../lib/test-clients.js');

const REDIRECT = 'http://127.0.0.1:9/callback';

function pkce() {
  const verifier = crypto.randomBytes(32).toString('base64url');
  return { verifier, challenge: crypto.createHash('sha256').update(verifier).digest('base64url') };
}

function form(emu, urlPath, fields, { basic, headers = {} } = {}) {
  const h = { 'content-type': 'application/x-www-form-urlencoded', ...headers };
  return request(emu, 'POST', urlPath, new URLSearchParams(fields).toString(),
    { auth: basic ? `Basic ${Buffer.from(`${basic[0]}:${basic[1]}`).toString('base64')}` : false, headers: h });
}

function assertOAuthError(r, status, error) {
  assert.equal(r.status, status, r.raw);
  assert.equal(r.body.error, error, r.raw);
  assert.equal(typeof r.body.error_description, 'string');
  assert.equal(r.body.status_code, status);
  assert.match(r.body.request_id, /^request-id-test-/);
  assert.equal(r.headers['cache-control'], 'no-store');
}

// GET the authorization endpoint: -> {status, params of the redirect (or
// the error body)}.
async function authorize(emu, q, projectId = emu.projectId) {
  const r = await request(emu, 'GET', `/v1/public/${projectId}/oauth2/authorize?${new URLSearchParams(q)}`,
    undefined, { auth: false });
  if (r.status !== 302) return { status: r.status, body: r.body };
  const u = new URL(r.headers.location);
  return { status: 302, to: `${u.origin}${u.pathname}`, params: Object.fromEntries(u.searchParams) };
}

function authQuery(app, p, extra = {}) {
  return { response_type: 'code', client_id: app.client_id, redirect_uri: REDIRECT, code_challenge: p.challenge,
    code_challenge_method: 'S256', state: 'st-1', ...extra };
}

describe('Connected Apps', () => {
  let emu;
  let jwks;
  let pub; // a public client
  let conf; // a confidential client
  const TOKEN = '/v1/oauth2/token';

  // authorize + token for app as user: -> the token answer.
  async function codeFlow(app, scope, { user = 'ada@example.com', extra = {}, tokenExtra = {} } = {}) {
    const p = pkce();
    const a = await authorize(emu, authQuery(app, p, { scope, emulator_user: user, ...extra }));
    assert.equal(a.status, 302, JSON.stringify(a));
    assert.ok(a.params.code, JSON.stringify(a.params));
    const fields = { grant_type: 'authorization_code', code: a.params.code, redirect_uri: REDIRECT,
      code_verifier: p.verifier, ...tokenExtra };
    const r = app.client_secret
      ? await form(emu, TOKEN, fields, { basic: [app.client_id, app.client_secret] })
      : await form(emu, TOKEN, { ...fields, client_id: app.client_id });
    assert.equal(r.status, 200, r.raw);
    return r.body;
  }

  const introspect = (app, token, path0 = '/v1/oauth2/introspect') => form(emu, path0,
    app.client_secret ? { token, client_id: app.client_id, client_secret: app.client_secret }
      : { token, client_id: app.client_id });

  before(async () => {
    emu = await startEmulator();
    jwks = (await request(emu, 'GET', `/v1/sessions/jwks/${emu.projectId}`, undefined, { auth: false })).body;
    pub = await ctl(emu, 'POST', '/connected-apps', { client_type: 'public', redirect_uris: [REDIRECT] });
    conf = await ctl(emu, 'POST', '/connected-apps', { client_type: 'confidential', redirect_uris: [REDIRECT],
      client_name: 'Backend' });
  });
  after(() => emu.stop());

  describe('discovery', () => {
    it('RFC 8414 and OpenID documents at the root and under /v1/public/<project_id>', async () => {
      for (const [p, prefix] of [
        ['/.well-known/oauth-authorization-server', `${emu.url}/v1/oauth2`],
        ['/.well-known/openid-configuration', `${emu.url}/v1/oauth2`],
        [`/v1/public/${emu.projectId}/.well-known/oauth-authorization-server`, `${emu.url}/v1/public/${emu.projectId}/oauth2`],
        [`/v1/public/${emu.projectId}/.well-known/openid-configuration`, `${emu.url}/v1/public/${emu.projectId}/oauth2`],
      ]) {
        const r = await request(emu, 'GET', p, undefined, { auth: false });
        assert.equal(r.status, 200, `${p}: ${r.raw}`);
        const m = r.body;
        assert.equal(m.issuer, `stytch.com/${emu.projectId}`);
        assert.equal(m.token_endpoint, `${prefix}/token`);
        assert.equal(m.registration_endpoint, `${prefix}/register`);
        assert.equal(m.introspection_endpoint, `${prefix}/introspect`);
        assert.equal(m.revocation_endpoint, `${prefix}/revoke`);
        assert.equal(m.userinfo_endpoint, `${prefix}/userinfo`);
        assert.equal(m.authorization_endpoint, `${emu.url}/v1/public/${emu.projectId}/oauth2/authorize`);
        assert.deepEqual(m.code_challenge_methods_supported, ['S256']);
        assert.deepEqual(m.response_types_supported, ['code']);
        assert.deepEqual(m.grant_types_supported, ['authorization_code', 'refresh_token']);
        assert.deepEqual(m.token_endpoint_auth_methods_supported, ['client_secret_basic', 'client_secret_post', 'none']);
        assert.deepEqual(m.scopes_supported, ['openid', 'profile', 'email', 'phone', 'offline_access']);
        assert.equal(p.endsWith('openid-configuration'), Array.isArray(m.subject_types_supported));
        const k = await request(emu, 'GET', new URL(m.jwks_uri).pathname, undefined, { auth: false });
        assert.deepEqual(k.body.keys, jwks.keys);
      }
    });

    it("the project's custom domain: the issuer, and the root documents for that Host", async () => {
      await ctl(emu, 'POST', `/projects/${emu.projectId}/settings`, { custom_domain: 'https://login.example.test' });
      try {
        const r = await request(emu, 'GET', '/.well-known/openid-configuration', undefined,
          { auth: false, headers: { host: 'login.example.test' } });
        assert.equal(r.body.issuer, 'https://login.example.test');
        assert.equal(r.body.token_endpoint, 'https://login.example.test/v1/oauth2/token');
        const t = await codeFlow(pub, 'openid');
        assert.equal(decodeJwt(t.access_token).payload.iss, 'https://login.example.test');
        assert.equal(decodeJwt(t.id_token).payload.iss, 'https://login.example.test');
      } finally {
        await ctl(emu, 'POST', `/projects/${emu.projectId}/settings`, { custom_domain: null });
      }
    });

    it('a policy scope is supported; an unknown project is invalid_project_id', async () => {
      await ctl(emu, 'POST', '/policy', { policy: { roles: [{ role_id: 'stytch_user', permissions: [] }],
        resources: [], scopes: [{ scope: 'read:docs', description: '', permissions: [] }] } });
      const r = await request(emu, 'GET', '/.well-known/oauth-authorization-server', undefined, { auth: false });
      assert.ok(r.body.scopes_supported.includes('read:docs'));
      const u = await request(emu, 'GET', '/v1/public/project-test-nope/.well-known/openid-configuration',
        undefined, { auth: false });
      assert.equal(u.status, 400);
      assert.equal(u.body.error_type, 'invalid_project_id');
    });
  });

  describe('dynamic client registration', () => {
    const register = (body, p = '/v1/oauth2/register') => request(emu, 'POST', p, body, { auth: false });

    it('a public client by default, deduplicated; a confidential one with a secret', async () => {
      const meta = { client_name: 'MCP', redirect_uris: ['http://127.0.0.1:7777/cb'] };
      const a = await register(meta);
      assert.equal(a.status, 201, a.raw);
      assert.match(a.body.client_id, /^connected-app-test-/);
      assert.equal(a.body.token_endpoint_auth_method, 'none');
      assert.equal(a.body.client_secret, undefined);
      assert.deepEqual(a.body.grant_types, ['authorization_code', 'refresh_token']);
      assert.deepEqual(a.body.response_types, ['code']);
      assert.deepEqual(a.body.redirect_uris, meta.redirect_uris);
      const again = await register(meta, `/v1/public/${emu.projectId}/oauth2/register`);
      assert.equal(again.body.client_id, a.body.client_id);
      const c1 = await register({ ...meta, token_endpoint_auth_method: 'client_secret_basic' });
      const c2 = await register({ ...meta, token_endpoint_auth_method: 'client_secret_basic' });
      assert.equal(c1.status, 201);
      assert.equal(c1.body.client_secret.length, 44);
      assert.equal(c1.body.client_secret_expires_at, 0);
      assert.notEqual(c1.body.client_id, c2.body.client_id);
    });

    it('errors: invalid_redirect_uri, invalid_client_metadata; registration switched off', async () => {
      assertOAuthError(await register({ client_name: 'x' }), 400, 'invalid_redirect_uri');
      assertOAuthError(await register({ redirect_uris: ['not a url'] }), 400, 'invalid_redirect_uri');
      assertOAuthError(await register({ redirect_uris: ['http://a.test/cb#frag'] }), 400, 'invalid_redirect_uri');
      assertOAuthError(await register({ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'private_key_jwt' }),
        400, 'invalid_client_metadata');
      assertOAuthError(await register({ redirect_uris: [REDIRECT], grant_types: ['implicit'] }), 400, 'invalid_client_metadata');
      assertOAuthError(await register({ redirect_uris: [REDIRECT], scope: 'openid admin:all' }), 400, 'invalid_client_metadata');
      assertOAuthError(await register('{nope', undefined), 400, 'invalid_client_metadata');
      await ctl(emu, 'POST', '/oauth/settings', { dynamic_registration: false });
      try {
        assertOAuthError(await register({ redirect_uris: [REDIRECT] }), 400, 'invalid_client_metadata');
        const m = await request(emu, 'GET', '/.well-known/oauth-authorization-server', undefined, { auth: false });
        assert.equal(m.body.registration_endpoint, undefined);
      } finally {
        await ctl(emu, 'POST', '/oauth/settings', { dynamic_registration: true });
      }
    });
  });

  describe('authorization code with PKCE', () => {
    it('tokens: an RS256 access token, an ID token with openid, a refresh token with offline_access', async () => {
      const t = await codeFlow(pub, 'openid email offline_access', { extra: { nonce: 'n-1' } });
      assert.equal(t.token_type, 'bearer');
      assert.equal(t.expires_in, 3600);
      assert.equal(t.scope, 'openid email offline_access');
      assert.equal(typeof t.refresh_token, 'string');
      const { header, payload: a } = verifyWithJwks(t.access_token, jwks);
      assert.equal(header.alg, 'RS256');
      assert.equal(a.iss, `stytch.com/${emu.projectId}`);
      assert.deepEqual(a.aud, [emu.projectId]);
      assert.match(a.sub, /^user-test-/);
      assert.equal(a.client_id, pub.client_id);
      assert.equal(a.scope, 'openid email offline_access');
      assert.equal(typeof a.jti, 'string');
      assert.equal(a.exp - a.iat, 3600);
      assert.equal(a.nbf, a.iat);
      assert.equal(a['https://stytch.com/session'], undefined);
      const { payload: id } = verifyWithJwks(t.id_token, jwks);
      assert.deepEqual(id.aud, [pub.client_id]);
      assert.equal(id.sub, a.sub);
      assert.equal(id.nonce, 'n-1');
      assert.equal(id.email, 'ada@example.com');
      const u = await request(emu, 'GET', '/v1/oauth2/userinfo', undefined, { auth: `Bearer ${t.access_token}` });
      assert.equal(u.status, 200, u.raw);
      assert.equal(u.body.sub, a.sub);
      assert.equal(u.body.email, 'ada@example.com');
    });

    it('no refresh token without offline_access, no ID token without openid', async () => {
      const t = await codeFlow(pub, 'email');
      assert.equal(t.refresh_token, undefined);
      assert.equal(t.id_token, undefined);
      const u = await request(emu, 'GET', '/v1/oauth2/userinfo', undefined, { auth: `Bearer ${t.access_token}` });
      assert.equal(u.status, 401);
      assert.match(u.headers['www-authenticate'], /^Bearer error="invalid_token"/);
    });

    it('a confidential client: client_secret_basic and client_secret_post', async () => {
      const t = await codeFlow(conf, 'openid');
      assert.equal(decodeJwt(t.access_token).payload.client_id, conf.client_id);
      const p = pkce();
      const a = await authorize(emu, authQuery(conf, p, { emulator_user: 'ada@example.com' }));
      const r = await form(emu, `/v1/public/${emu.projectId}/oauth2/token`, { grant_type: 'authorization_code',
        code: a.params.code, redirect_uri: REDIRECT, code_verifier: p.verifier, client_id: conf.client_id,
        client_secret: conf.client_secret });
      assert.equal(r.status, 200, r.raw);
      // No scope asked: the app's scopes.
      assert.equal(r.body.scope, 'openid profile email phone offline_access');
    });

    it('the authorization endpoint: what it answers itself, what it redirects', async () => {
      const p = pkce();
      const q = authQuery(pub, p, { emulator_user: 'ada@example.com' });
      let a = await authorize(emu, { ...q, client_id: 'connected-app-test-nobody' });
      assert.equal(a.status, 400);
      assert.equal(a.body.error, 'invalid_request');
      a = await authorize(emu, { ...q, redirect_uri: 'http://127.0.0.1:9/elsewhere' });
      assert.equal(a.status, 400);
      assert.match(a.body.error_description, /redirect_uri/);
      const redirected = async (over, error) => {
        const x = await authorize(emu, { ...q, ...over });
        assert.equal(x.status, 302);
        assert.equal(x.to, REDIRECT);
        assert.equal(x.params.error, error, JSON.stringify(x.params));
        assert.equal(x.params.state, 'st-1');
        assert.equal(x.params.code, undefined);
      };
      await redirected({ code_challenge: '' }, 'invalid_request');
      await redirected({ code_challenge_method: 'plain' }, 'invalid_request');
      await redirected({ response_type: 'token' }, 'unsupported_response_type');
      await redirected({ scope: 'openid admin:all' }, 'invalid_scope');
      await redirected({ resource: 'not a uri' }, 'invalid_target');
      await redirected({ emulator_user: '' }, 'access_denied');
      await redirected({ emulator_user: '', prompt: 'none' }, 'login_required');
    });

    it('token errors: invalid_client, invalid_grant (code, redirect_uri, PKCE, reuse), unsupported_grant_type', async () => {
      const p = pkce();
      const code = async () => (await authorize(emu, authQuery(pub, p, { emulator_user: 'ada@example.com' }))).params.code;
      const c = await code();
      const good = { grant_type: 'authorization_code', code: c, redirect_uri: REDIRECT, code_verifier: p.verifier,
        client_id: pub.client_id };
      assertOAuthError(await form(emu, TOKEN, { ...good, client_id: 'connected-app-test-nobody' }), 401, 'invalid_client');
      assertOAuthError(await form(emu, TOKEN, { ...good, client_secret: 'a-secret-for-a-public-client' }), 401, 'invalid_client');
      const confGood = { ...good, client_id: undefined };
      delete confGood.client_id;
      assertOAuthError(await form(emu, TOKEN, confGood, { basic: [conf.client_id, 'wrong-secret'] }), 401, 'invalid_client');
      assertOAuthError(await form(emu, TOKEN, confGood, { basic: [conf.client_id, conf.client_secret] }), 400, 'invalid_grant');
      assertOAuthError(await form(emu, TOKEN, { ...good, grant_type: 'password' }), 400, 'unsupported_grant_type');
      assertOAuthError(await form(emu, TOKEN, { ...good, code: 'nope' }), 400, 'invalid_grant');
      assertOAuthError(await form(emu, TOKEN, { ...good, redirect_uri: 'http://127.0.0.1:9/elsewhere' }), 400, 'invalid_grant');
      assertOAuthError(await form(emu, TOKEN, { ...good, code_verifier: pkce().verifier }), 400, 'invalid_grant');
      const { code_verifier: _, ...noVerifier } = good; // eslint-disable-line no-unused-vars
      assertOAuthError(await form(emu, TOKEN, noVerifier), 400, 'invalid_request');
      // The failures above did not use the code up.
      const ok = await form(emu, TOKEN, good);
      assert.equal(ok.status, 200, ok.raw);
      const again = await form(emu, TOKEN, good);
      assertOAuthError(again, 400, 'invalid_grant');
      assert.match(again.body.error_description, /already used/);
      // What the reused code got is revoked.
      assert.equal((await introspect(pub, ok.body.access_token)).body.active, false);
    });
  });

  describe('refresh, introspection, revocation', () => {
    it('refresh_token: rotated, narrower scopes allowed, wider ones invalid_scope', async () => {
      const t = await codeFlow(pub, 'openid email offline_access');
      const f = { grant_type: 'refresh_token', client_id: pub.client_id };
      assertOAuthError(await form(emu, TOKEN, { ...f, refresh_token: t.refresh_token, scope: 'openid phone' }), 400, 'invalid_scope');
      const r = await form(emu, TOKEN, { ...f, refresh_token: t.refresh_token });
      assert.equal(r.status, 200, r.raw);
      assert.notEqual(r.body.access_token, t.access_token);
      assert.notEqual(r.body.refresh_token, t.refresh_token);
      assert.equal(verifyWithJwks(r.body.access_token, jwks).payload.sub, decodeJwt(t.access_token).payload.sub);
      assertOAuthError(await form(emu, TOKEN, { ...f, refresh_token: t.refresh_token }), 400, 'invalid_grant');
      assertOAuthError(await form(emu, TOKEN, { grant_type: 'refresh_token', refresh_token: r.body.refresh_token },
        { basic: [conf.client_id, conf.client_secret] }), 400, 'invalid_grant');
      const n = await form(emu, TOKEN, { ...f, refresh_token: r.body.refresh_token, scope: 'email' });
      assert.equal(n.status, 200, n.raw);
      assert.equal(decodeJwt(n.body.access_token).payload.scope, 'email offline_access');
      const w = await form(emu, TOKEN, { ...f, refresh_token: n.body.refresh_token, scope: 'openid' });
      assert.equal(w.status, 200, 'the refresh token keeps the grant\'s scopes');
    });

    it('introspection (RFC 7662): active with claims; another client, garbage, expired: inactive', async () => {
      const t = await codeFlow(conf, 'openid offline_access');
      const a = await introspect(conf, t.access_token);
      assert.equal(a.status, 200, a.raw);
      const claims = decodeJwt(t.access_token).payload;
      assert.equal(a.body.active, true);
      assert.equal(a.body.token_type, 'access_token');
      for (const k of ['iss', 'sub', 'client_id', 'scope', 'exp', 'iat', 'nbf', 'jti']) assert.equal(a.body[k], claims[k], k);
      assert.deepEqual(a.body.aud, [emu.projectId]);
      const basic = await form(emu, `/v1/public/${emu.projectId}/oauth2/introspect`, { token: t.access_token },
        { basic: [conf.client_id, conf.client_secret] });
      assert.equal(basic.body.active, true);
      const rt = await introspect(conf, t.refresh_token);
      assert.equal(rt.body.active, true);
      assert.equal(rt.body.token_type, 'refresh_token');
      assert.equal(rt.body.sub, claims.sub);
      const other = (await introspect(pub, t.access_token)).body;
      assert.deepEqual(other, { active: false, request_id: other.request_id, status_code: 200 });
      assert.equal((await introspect(conf, 'garbage')).body.active, false);
      const old = await ctl(emu, 'POST', '/oauth/token', { client_id: conf.client_id, scopes: ['openid'],
        iat: Math.floor(Date.now() / 1000) - 7200 });
      assert.equal((await introspect(conf, old.access_token)).body.active, false);
      const rogue = await ctl(emu, 'POST', '/oauth/token', { client_id: conf.client_id, key: 'rogue' });
      assert.equal((await introspect(conf, rogue.access_token)).body.active, false);
      assertOAuthError(await form(emu, '/v1/oauth2/introspect', { token: t.access_token },
        { basic: [conf.client_id, 'wrong-secret'] }), 401, 'invalid_client');
      assertOAuthError(await form(emu, '/v1/oauth2/introspect', { client_id: pub.client_id }), 400, 'invalid_request');
    });

    it('revocation (RFC 7009): an access token; a refresh token and its access token; unknown is 200', async () => {
      const t = await codeFlow(pub, 'openid offline_access');
      const revoke = (token) => form(emu, '/v1/oauth2/revoke', { token, client_id: pub.client_id });
      const r = await revoke(t.access_token);
      assert.equal(r.status, 200, r.raw);
      assert.equal((await introspect(pub, t.access_token)).body.active, false);
      const u = await request(emu, 'GET', '/v1/oauth2/userinfo', undefined, { auth: `Bearer ${t.access_token}` });
      assert.equal(u.status, 401);
      const t2 = await codeFlow(pub, 'openid offline_access');
      assert.equal((await revoke(t2.refresh_token)).status, 200);
      assert.equal((await introspect(pub, t2.access_token)).body.active, false);
      assertOAuthError(await form(emu, TOKEN, { grant_type: 'refresh_token', refresh_token: t2.refresh_token,
        client_id: pub.client_id }), 400, 'invalid_grant');
      assert.equal((await revoke('no-such-token')).status, 200);
      assertOAuthError(await form(emu, `/v1/public/${emu.projectId}/oauth2/revoke`, { token: t.access_token },
        { basic: [conf.client_id, 'wrong-secret'] }), 401, 'invalid_client');
    });
  });

  describe('control calls', () => {
    it('consent by a control call; revoking the grant ends its tokens and consent', async () => {
      await ctl(emu, 'DELETE', '/oauth/consent');
      const c = await ctl(emu, 'POST', '/oauth/consent', { email: 'bob@example.com', client_id: pub.client_id,
        scopes: ['openid', 'offline_access'] });
      assert.match(c.user_id, /^user-test-/);
      const p = pkce();
      const a = await authorize(emu, authQuery(pub, p, { scope: 'openid email offline_access' }));
      assert.equal(a.status, 302);
      const t = await form(emu, TOKEN, { grant_type: 'authorization_code', code: a.params.code, redirect_uri: REDIRECT,
        code_verifier: p.verifier, client_id: pub.client_id });
      assert.equal(t.body.scope, 'openid offline_access', 'only the consented scopes');
      assert.equal(decodeJwt(t.body.access_token).payload.sub, c.user_id);
      // Consent for pub only: conf is not let in.
      const other = await authorize(emu, authQuery(conf, pkce()));
      assert.equal(other.params.error, 'access_denied');
      const rv = await ctl(emu, 'POST', '/oauth/revoke', { client_id: pub.client_id, user_id: c.user_id });
      assert.equal(rv.revoked, 1);
      assert.equal((await introspect(pub, t.body.access_token)).body.active, false);
      assertOAuthError(await form(emu, TOKEN, { grant_type: 'refresh_token', refresh_token: t.body.refresh_token,
        client_id: pub.client_id }), 400, 'invalid_grant');
      assert.equal((await authorize(emu, authQuery(pub, pkce()))).params.error, 'access_denied');
    });

    it('a minted access token: chosen sub, client_id, scope, aud, lifetime', async () => {
      const m = await ctl(emu, 'POST', '/oauth/token', { sub: 'user-test-minted', client_id: conf.client_id,
        scope: 'openid read:docs', aud: [emu.projectId, 'https://mcp.example.test/'], lifetime: 120 });
      const { payload } = verifyWithJwks(m.access_token, jwks);
      assert.equal(payload.sub, 'user-test-minted');
      assert.equal(payload.client_id, conf.client_id);
      assert.equal(payload.scope, 'openid read:docs');
      assert.deepEqual(payload.aud, [emu.projectId, 'https://mcp.example.test/']);
      assert.equal(payload.exp - payload.iat, 120);
      assert.equal((await introspect(conf, m.access_token)).body.active, true);
      await ctl(emu, 'POST', '/oauth/revoke', { token: m.access_token });
      assert.equal((await introspect(conf, m.access_token)).body.active, false);
    });

    it('RFC 8707 resource: in aud only with the resource_audience setting', async () => {
      const resource = 'https://mcp.example.test/mcp';
      const plain = await codeFlow(pub, 'openid', { extra: { resource } });
      assert.deepEqual(decodeJwt(plain.access_token).payload.aud, [emu.projectId]);
      await ctl(emu, 'POST', '/oauth/settings', { resource_audience: true });
      try {
        const t = await codeFlow(pub, 'openid', { extra: { resource }, tokenExtra: { resource } });
        assert.deepEqual(decodeJwt(t.access_token).payload.aud, [emu.projectId, resource]);
      } finally {
        await ctl(emu, 'POST', '/oauth/settings', { resource_audience: false });
      }
    });

    it('a B2B project: the member as sub, the organization claim', async () => {
      const app = await ctl(emu, 'POST', '/connected-apps', { project_id: emu.b2bProjectId, client_type: 'public',
        redirect_uris: [REDIRECT] });
      const org = 'organization-test-11111111-2222-3333-4444-555555555555';
      const c = await ctl(emu, 'POST', '/oauth/consent', { project_id: emu.b2bProjectId, organization_id: org,
        email: 'm@example.com' });
      const p = pkce();
      const a = await authorize(emu, authQuery(app, p, { scope: 'openid' }), emu.b2bProjectId);
      const t = await form(emu, `/v1/public/${emu.b2bProjectId}/oauth2/token`, { grant_type: 'authorization_code',
        code: a.params.code, redirect_uri: REDIRECT, code_verifier: p.verifier, client_id: app.client_id });
      assert.equal(t.status, 200, t.raw);
      const b2bJwks = (await request(emu, 'GET', `/v1/b2b/sessions/jwks/${emu.b2bProjectId}`, undefined, { auth: false })).body;
      const { payload } = verifyWithJwks(t.body.access_token, b2bJwks);
      assert.equal(payload.sub, c.member_id);
      assert.match(payload.sub, /^member-test-/);
      assert.equal(payload['https://stytch.com/organization'].organization_id, org);
      assert.deepEqual(payload.aud, [emu.b2bProjectId]);
    });

    it('counted as connected_apps (the token endpoint as m2m_token)', async () => {
      const before0 = await ctl(emu, 'GET', '/counters');
      await request(emu, 'GET', '/.well-known/openid-configuration', undefined, { auth: false });
      await form(emu, TOKEN, { grant_type: 'refresh_token', refresh_token: 'x', client_id: pub.client_id });
      const after0 = await ctl(emu, 'GET', '/counters');
      assert.equal(after0.connected_apps, before0.connected_apps + 1);
      assert.equal(after0.m2m_token, before0.m2m_token + 1);
    });
  });
});

// ---------------------------------------------------------------- the MCP TypeScript SDK

const MCP_SDK = testClients.find('@modelcontextprotocol/sdk');
const CLIENT = path.resolve(__dirname, '..', 'lib', 'sdk-mcp.js');

function runMcpClient(emu, input) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLIENT, JSON.stringify(input)], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: emu.cert, MCP_SDK_DIR: MCP_SDK.dir },
      timeout: 60000, maxBuffer: 16 * 1024 * 1024,
    }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`MCP client failed: ${err.message}\n${stderr}`));
      try { resolve(JSON.parse(stdout.trim().split('\n').pop())); } catch (e) {
        reject(new Error(`MCP client output: ${stdout}\n${stderr}`));
      }
    });
  });
}

function assertSteps(report, names) {
  assert.equal(report.fatal, undefined, report.fatal);
  for (const n of names) assert.ok(report.steps[n] && report.steps[n].ok, `${n}: ${JSON.stringify(report.steps[n])}`);
}

it('the MCP TypeScript SDK: discovery, registration, PKCE, tokens, refresh (TLS)', { timeout: 300000 }, async (t) => {
  assert.ok(!MCP_SDK.missing, MCP_SDK.missing);
  t.diagnostic(`@modelcontextprotocol/sdk ${MCP_SDK.version} (in ${MCP_SDK.dir})`);
  const emu = await startEmulator(['--tls']);
  try {
    const jwks = (await request(emu, 'GET', '/.well-known/jwks.json', undefined, { auth: false })).body;
    const report = await runMcpClient(emu, { server_url: emu.url, emulator_user: 'mcp@example.com',
      scope: 'openid email offline_access' });
    assertSteps(report, ['discover', 'authorize', 'token', 'refresh']);
    const d = report.steps.discover.value;
    assert.equal(d.metadata.registration_endpoint, `${emu.url}/v1/oauth2/register`);
    const az = report.steps.authorize.value;
    assert.equal(az.result, 'REDIRECT');
    assert.match(az.client.client_id, /^connected-app-test-/);
    assert.equal(az.client.token_endpoint_auth_method, 'none');
    assert.match(az.authorization_url, /code_challenge_method=S256/);
    const first = report.steps.token.value;
    assert.equal(first.result, 'AUTHORIZED');
    const { payload } = verifyWithJwks(first.tokens.access_token, jwks);
    assert.equal(payload.client_id, az.client.client_id);
    assert.equal(payload.scope, 'openid email offline_access');
    assert.deepEqual(payload.aud, [emu.projectId]);
    assert.equal(verifyWithJwks(first.tokens.id_token, jwks).payload.email, 'mcp@example.com');
    const ref = report.steps.refresh.value;
    assert.equal(ref.result, 'AUTHORIZED');
    assert.equal(ref.refreshed, true);
    assert.equal(verifyWithJwks(ref.tokens.access_token, jwks).payload.sub, payload.sub);
    // The SDK's refresh rotated the refresh token: the first one is spent.
    const old = await form(emu, '/v1/oauth2/token', { grant_type: 'refresh_token',
      refresh_token: first.tokens.refresh_token, client_id: az.client.client_id });
    assertOAuthError(old, 400, 'invalid_grant');
    const intro = await form(emu, '/v1/oauth2/introspect', { token: ref.tokens.access_token, client_id: az.client.client_id });
    assert.equal(intro.body.active, true);

    // A confidential client (client_secret_basic), consent by control call.
    await ctl(emu, 'POST', '/oauth/consent', { email: 'ops@example.com' });
    const conf = await runMcpClient(emu, { server_url: emu.url, token_endpoint_auth_method: 'client_secret_basic',
      scope: 'openid offline_access', client_name: 'confidential MCP client' });
    assertSteps(conf, ['discover', 'authorize', 'token', 'refresh']);
    assert.equal(conf.steps.authorize.value.client.client_secret.length, 44);
    assert.equal(verifyWithJwks(conf.steps.refresh.value.tokens.access_token, jwks).payload.sub,
      (await ctl(emu, 'POST', '/oauth/consent', { email: 'ops@example.com' })).user_id);
  } finally {
    await emu.stop();
  }
});
