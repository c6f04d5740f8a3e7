'use strict';
// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// M2M: clients (create, get, search, update, delete, secret rotation) and
// the client-credentials token endpoint with its access tokens and errors.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startEmulator, request, ctl, decodeJwt, verifyWithJwks } = require('../lib/testlib.js');

const form = (o) => new URLSearchParams(o).toString();
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

describe('M2M', () => {
  let emu;
  let TOKEN;
  let jwks;
  before(async () => {
    emu = await startEmulator();
    TOKEN = `/v1/public/${emu.projectId}/oauth2/token`;
    jwks = (await request(emu, 'GET', `/v1/sessions/jwks/${emu.projectId}`, undefined, { auth: false })).body;
  });
  after(async () => { await emu.stop(); });

  const create = async (body, auth = true) => {
    const r = await request(emu, 'POST', '/v1/m2m/clients', body, { auth });
    assert.equal(r.status, 201, r.raw);
    return r.body.m2m_client;
  };
  const token = (params, opts = {}) => request(emu, 'POST', opts.path || TOKEN, opts.json ? params : form(params),
    { auth: opts.basic || false, headers: opts.json ? {} : FORM });
  function assertOAuthError(r, status, error) {
    assert.equal(r.status, status, r.raw);
    assert.deepEqual(Object.keys(r.body).sort(), ['error', 'error_description', 'error_uri', 'request_id', 'status_code']);
    assert.equal(r.body.error, error);
    assert.equal(r.body.status_code, status);
    assert.equal(r.headers['cache-control'], 'no-store');
  }

  describe('clients', () => {
    it('create: client_id and client_secret (shown once), scopes, name, metadata', async () => {
      const r = await request(emu, 'POST', '/v1/m2m/clients', { client_name: 'billing', client_description: 'the billing job',
        scopes: ['read:users', 'write:users'], trusted_metadata: { team: 'payments' } });
      assert.equal(r.status, 201, r.raw);
      assert.equal(r.body.status_code, 201);
      assert.match(r.body.request_id, /^request-id-test-/);
      const c = r.body.m2m_client;
      assert.match(c.client_id, /^m2m-client-test-[0-9a-f-]{36}$/);
      assert.match(c.client_secret, /^[A-Za-z0-9_-]{44}$/);
      assert.equal(c.client_secret_last_four, c.client_secret.slice(-4));
      assert.equal(c.next_client_secret_last_four, null);
      assert.equal(c.status, 'active');
      assert.deepEqual(c.scopes, ['read:users', 'write:users']);
      assert.equal(c.client_name, 'billing');
      assert.deepEqual(c.trusted_metadata, { team: 'payments' });
      const g = await request(emu, 'GET', `/v1/m2m/clients/${c.client_id}`);
      assert.equal(g.status, 200);
      assert.equal(g.body.m2m_client.client_secret, undefined, 'never shown again');
      assert.equal(g.body.m2m_client.client_secret_last_four, c.client_secret_last_four);
    });

    it('chosen client_id and client_secret; duplicates and weak secrets refused', async () => {
      const c = await create({ client_id: 'my-service', client_secret: 'correct-horse-battery', scopes: [] });
      assert.equal(c.client_id, 'my-service');
      assert.equal(c.client_secret, 'correct-horse-battery');
      const dup = await request(emu, 'POST', '/v1/m2m/clients', { client_id: 'my-service', scopes: [] });
      assert.equal(dup.status, 400);
      assert.equal(dup.body.error_type, 'duplicate_client_id');
      for (const [b, type] of [[{ client_secret: 'short', scopes: [] }, 'invalid_client_secret'],
        [{ client_secret: 'aaaaaaaaaaaa', scopes: [] }, 'invalid_client_secret'],
        [{ client_id: 'has space', scopes: [] }, 'invalid_client_id'],
        [{}, 'bad_request'], [{ scopes: 'read' }, 'bad_request'], [{ scopes: ['a b'] }, 'bad_request']]) {
        const r = await request(emu, 'POST', '/v1/m2m/clients', b);
        assert.equal(r.status, 400, JSON.stringify(b));
        assert.equal(r.body.error_type, type, JSON.stringify(b));
      }
      assert.equal((await request(emu, 'POST', '/v1/m2m/clients', { scopes: [] }, { auth: false })).status, 401);
    });

    it('search by client_id, client_name, scopes with AND/OR; limit and cursor', async () => {
      const a = await create({ client_name: 'search-a', scopes: ['s:x'] });
      const b = await create({ client_name: 'search-b', scopes: ['s:x', 's:y'] });
      const find = async (query, extra = {}) => (await request(emu, 'POST', '/v1/m2m/clients/search', { query, ...extra })).body;
      let r = await find({ operator: 'AND', operands: [{ filter_name: 'scopes', filter_value: ['s:y'] }] });
      assert.deepEqual(r.m2m_clients.map((x) => x.client_id), [b.client_id]);
      r = await find({ operator: 'OR', operands: [{ filter_name: 'client_name', filter_value: ['search-a'] },
        { filter_name: 'client_id', filter_value: [b.client_id] }] });
      assert.deepEqual(r.m2m_clients.map((x) => x.client_id).sort(), [a.client_id, b.client_id].sort());
      assert.equal(r.results_metadata.total, 2);
      r = await find({ operator: 'AND', operands: [{ filter_name: 'scopes', filter_value: ['s:x'] }] }, { limit: 1 });
      assert.equal(r.m2m_clients.length, 1);
      assert.ok(r.results_metadata.next_cursor);
      const r2 = await find({ operator: 'AND', operands: [{ filter_name: 'scopes', filter_value: ['s:x'] }] },
        { limit: 1, cursor: r.results_metadata.next_cursor });
      assert.notEqual(r2.m2m_clients[0].client_id, r.m2m_clients[0].client_id);
      assert.equal(r2.results_metadata.next_cursor, null);
      assert.equal((await request(emu, 'POST', '/v1/m2m/clients/search', { query: { operator: 'XOR', operands: [] } })).status, 400);
    });

    it('update (PUT) and delete; an unknown client is 404 m2m_client_not_found', async () => {
      const c = await create({ scopes: ['a'] });
      const u = await request(emu, 'PUT', `/v1/m2m/clients/${c.client_id}`, { client_name: 'renamed', scopes: ['a', 'b'] });
      assert.equal(u.status, 200, u.raw);
      assert.equal(u.body.m2m_client.client_name, 'renamed');
      assert.deepEqual(u.body.m2m_client.scopes, ['a', 'b']);
      const d = await request(emu, 'DELETE', `/v1/m2m/clients/${c.client_id}`, {});
      assert.equal(d.status, 200);
      assert.equal(d.body.client_id, c.client_id);
      const g = await request(emu, 'GET', `/v1/m2m/clients/${c.client_id}`);
      assert.equal(g.status, 404);
      assert.equal(g.body.error_type, 'm2m_client_not_found');
      assert.equal((await request(emu, 'PATCH', `/v1/m2m/clients/${c.client_id}`, {})).status, 405);
    });

    it('secret rotation: start shows next_client_secret, both work; rotate keeps the new; cancel drops it', async () => {
      const c = await create({ scopes: ['r'] });
      const start = await request(emu, 'POST', `/v1/m2m/clients/${c.client_id}/secrets/rotate/start`, {});
      assert.equal(start.status, 200, start.raw);
      const next = start.body.m2m_client.next_client_secret;
      assert.match(next, /^[A-Za-z0-9_-]{44}$/);
      assert.equal(start.body.m2m_client.next_client_secret_last_four, next.slice(-4));
      const grant = (secret) => token({ grant_type: 'client_credentials', client_id: c.client_id, client_secret: secret });
      assert.equal((await grant(c.client_secret)).status, 200, 'old secret during the rotation');
      assert.equal((await grant(next)).status, 200, 'new secret during the rotation');
      const rot = await request(emu, 'POST', `/v1/m2m/clients/${c.client_id}/secrets/rotate`, {});
      assert.equal(rot.status, 200, rot.raw);
      assert.equal(rot.body.m2m_client.client_secret_last_four, next.slice(-4));
      assert.equal(rot.body.m2m_client.next_client_secret_last_four, null);
      assertOAuthError(await grant(c.client_secret), 401, 'invalid_client');
      assert.equal((await grant(next)).status, 200);
      const none = await request(emu, 'POST', `/v1/m2m/clients/${c.client_id}/secrets/rotate`, {});
      assert.equal(none.status, 404);
      assert.equal(none.body.error_type, 'next_client_secret_not_found');
      const s2 = await request(emu, 'POST', `/v1/m2m/clients/${c.client_id}/secrets/rotate/start`, {});
      await request(emu, 'POST', `/v1/m2m/clients/${c.client_id}/secrets/rotate/cancel`, {});
      assertOAuthError(await grant(s2.body.m2m_client.next_client_secret), 401, 'invalid_client');
      assert.equal((await grant(next)).status, 200);
    });

    it('clients belong to their project; the B2B project has M2M too', async () => {
      const c = await create({ scopes: ['x'] });
      assert.equal((await request(emu, 'GET', `/v1/m2m/clients/${c.client_id}`, undefined, { auth: 'b2b' })).status, 404);
      const b = await create({ scopes: ['y'] }, 'b2b');
      const r = await token({ grant_type: 'client_credentials', client_id: b.client_id, client_secret: b.client_secret },
        { path: `/v1/public/${emu.b2bProjectId}/oauth2/token` });
      assert.equal(r.status, 200, r.raw);
      assert.deepEqual(decodeJwt(r.body.access_token).payload.aud, [emu.b2bProjectId]);
      const wrong = await token({ grant_type: 'client_credentials', client_id: c.client_id, client_secret: c.client_secret },
        { path: `/v1/public/${emu.b2bProjectId}/oauth2/token` });
      assertOAuthError(wrong, 401, 'invalid_client');
    });
  });

  describe('token endpoint', () => {
    let c;
    before(async () => {
      c = await create({ scopes: ['read:users', 'write:users', 'pet:cats'] });
      await ctl(emu, 'POST', `/m2m/clients/${c.client_id}/claims`, { custom_claims: { tenant: 'acme', iss: 'ignored' } });
    });

    it('form body: {access_token, token_type bearer, expires_in}; an RS256 JWT of the project', async () => {
      const r = await token({ grant_type: 'client_credentials', client_id: c.client_id, client_secret: c.client_secret });
      assert.equal(r.status, 200, r.raw);
      assert.deepEqual(Object.keys(r.body).sort(), ['access_token', 'expires_in', 'request_id', 'status_code', 'token_type']);
      assert.equal(r.body.token_type, 'bearer');
      assert.equal(r.body.expires_in, 3600);
      assert.equal(r.headers['cache-control'], 'no-store');
      const { header, payload } = verifyWithJwks(r.body.access_token, jwks);
      assert.deepEqual(header, { alg: 'RS256', kid: jwks.keys[0].kid, typ: 'JWT' });
      assert.equal(payload.sub, c.client_id);
      assert.equal(payload.iss, `stytch.com/${emu.projectId}`);
      assert.deepEqual(payload.aud, [emu.projectId]);
      assert.equal(payload.scope, 'read:users write:users pet:cats');
      assert.equal(payload.nbf, payload.iat);
      assert.equal(payload.exp - payload.iat, 3600);
      assert.ok(Math.abs(payload.iat - Date.now() / 1000) < 5);
      assert.equal(payload.tenant, 'acme', 'custom claims at the top level');
      assert.equal(payload['https://stytch.com/session'], undefined);
    });

    it('JSON body and HTTP Basic credentials are accepted too; scope narrows', async () => {
      const j = await token({ grant_type: 'client_credentials', client_id: c.client_id, client_secret: c.client_secret,
        scope: 'read:users' }, { json: true });
      assert.equal(j.status, 200, j.raw);
      assert.equal(decodeJwt(j.body.access_token).payload.scope, 'read:users');
      const basic = 'Basic ' + Buffer.from(`${encodeURIComponent(c.client_id)}:${encodeURIComponent(c.client_secret)}`).toString('base64');
      const b = await token({ grant_type: 'client_credentials', scope: 'pet:cats write:users' }, { basic });
      assert.equal(b.status, 200, b.raw);
      assert.equal(decodeJwt(b.body.access_token).payload.scope, 'pet:cats write:users');
    });

    it("errors: OAuth2 style, with Stytch's status_code and request_id", async () => {
      const good = { grant_type: 'client_credentials', client_id: c.client_id, client_secret: c.client_secret };
      assertOAuthError(await token({ ...good, client_secret: 'wrong-secret' }), 401, 'invalid_client');
      assertOAuthError(await token({ ...good, client_id: 'm2m-client-test-nobody' }), 401, 'invalid_client');
      assertOAuthError(await token({ ...good, grant_type: 'password' }), 400, 'unsupported_grant_type');
      assertOAuthError(await token({ client_id: c.client_id, client_secret: c.client_secret }), 400, 'invalid_request');
      assertOAuthError(await token({ grant_type: 'client_credentials' }), 400, 'invalid_request');
      assertOAuthError(await token({ ...good, scope: 'read:users admin:all' }), 400, 'invalid_scope');
      const basic = 'Basic ' + Buffer.from(`${c.client_id}:${c.client_secret}`).toString('base64');
      assertOAuthError(await token(good, { basic }), 400, 'invalid_request');
      assertOAuthError(await token({ ...good, client_id: 42 }, { json: true }), 400, 'invalid_request');
      const off = await create({ scopes: [] });
      await request(emu, 'PUT', `/v1/m2m/clients/${off.client_id}`, { status: 'inactive' });
      assertOAuthError(await token({ grant_type: 'client_credentials', client_id: off.client_id, client_secret: off.client_secret }),
        401, 'invalid_client');
      const unknown = await token(good, { path: '/v1/public/project-test-nope/oauth2/token' });
      assert.equal(unknown.status, 400);
      assert.equal(unknown.body.error_type, 'invalid_project_id');
    });

    it("custom domain and m2m_lifetime settings: the token's iss and lifetime", async () => {
      await ctl(emu, 'POST', `/projects/${emu.projectId}/settings`, { custom_domain: 'https://login.example.test', m2m_lifetime: 60 });
      try {
        const r = await token({ grant_type: 'client_credentials', client_id: c.client_id, client_secret: c.client_secret });
        assert.equal(r.body.expires_in, 60);
        const p = decodeJwt(r.body.access_token).payload;
        assert.equal(p.iss, 'https://login.example.test');
        assert.equal(p.exp - p.iat, 60);
      } finally {
        await ctl(emu, 'POST', `/projects/${emu.projectId}/settings`, { custom_domain: null, m2m_lifetime: 3600 });
      }
    });

    it('counted as m2m_token, faults and rate limits apply', async () => {
      await ctl(emu, 'POST', '/reset');
      await ctl(emu, 'POST', '/faults', { endpoint: 'm2m_token', error: 'internal_server_error', count: 1 });
      const good = { grant_type: 'client_credentials', client_id: c.client_id, client_secret: c.client_secret };
      assert.equal((await token(good)).status, 500);
      assert.equal((await token(good)).status, 200);
      assert.equal((await ctl(emu, 'GET', '/counters')).m2m_token, 2);
    });
  });

  describe('control', () => {
    it('POST /emulator/m2m/clients makes a client with custom claims, in the project asked for', async () => {
      const c = await ctl(emu, 'POST', '/m2m/clients', { project_id: emu.b2bProjectId, scopes: ['a'], custom_claims: { k: 1 } });
      assert.equal(c.project_id, emu.b2bProjectId);
      assert.ok(c.client_secret);
      const r = await token({ grant_type: 'client_credentials', client_id: c.client_id, client_secret: c.client_secret },
        { path: `/v1/public/${emu.b2bProjectId}/oauth2/token` });
      assert.equal(decodeJwt(r.body.access_token).payload.k, 1);
    });

    it('POST /emulator/m2m/token: chosen scopes, claims, lifetime, iat; rogue and forged keys', async () => {
      const c = await create({ scopes: ['read:users'] });
      let t = (await ctl(emu, 'POST', '/m2m/token', { client_id: c.client_id })).access_token;
      let p = verifyWithJwks(t, jwks).payload;
      assert.equal(p.sub, c.client_id);
      assert.equal(p.scope, 'read:users');
      t = (await ctl(emu, 'POST', '/m2m/token', { scopes: ['x', 'y'], claims: { extra: true, nbf: null },
        lifetime: -10, iat: 1700000000 })).access_token;
      p = verifyWithJwks(t, jwks).payload;
      assert.match(p.sub, /^m2m-client-test-/);
      assert.equal(p.scope, 'x y');
      assert.equal(p.extra, true);
      assert.equal(p.nbf, undefined);
      assert.equal(p.exp, 1699999990);
      const rogue = (await ctl(emu, 'POST', '/m2m/token', { key: 'rogue' })).access_token;
      assert.throws(() => verifyWithJwks(rogue, jwks));
      const none = (await ctl(emu, 'POST', '/m2m/token', { signature: 'none', header: { alg: 'none' } })).access_token;
      assert.ok(none.endsWith('.'));
      assert.equal(decodeJwt(none).header.alg, 'none');
      assert.equal((await request(emu, 'POST', '/emulator/m2m/token', { client_id: 'nope' }, { auth: false })).status, 404);
    });
  });
});
