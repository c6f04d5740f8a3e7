'use strict';
// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// Several projects: each with its own id, secret, key set, sessions and
// policies; control calls that take a project_id.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startEmulator, request, ctl, decodeJwt, verifyWithJwks } = require('../lib/testlib.js');

const AUTH = '/v1/sessions/authenticate';
const basicOf = (p) => 'Basic ' + Buffer.from(`${p.project_id}:${p.secret}`).toString('base64');

describe('projects', () => {
  let emu;
  before(async () => { emu = await startEmulator(); });
  after(async () => { await emu.stop(); });

  it('POST /emulator/projects makes a project with its own id, secret and key set', async () => {
    const p = await ctl(emu, 'POST', '/projects', { vertical: 'consumer' });
    assert.match(p.project_id, /^project-test-[0-9a-f-]{36}$/);
    assert.match(p.secret, /^secret-test-/);
    assert.equal(p.vertical, 'consumer');
    assert.equal(p.default, false);
    const own = (await request(emu, 'GET', `/v1/sessions/jwks/${p.project_id}`, undefined, { auth: false })).body;
    const def = (await request(emu, 'GET', `/v1/sessions/jwks/${emu.projectId}`, undefined, { auth: false })).body;
    assert.equal(own.keys.length, 1);
    assert.notEqual(own.keys[0].kid, def.keys[0].kid);
    assert.notEqual(own.keys[0].n, def.keys[0].n);

    const s = await ctl(emu, 'POST', '/sessions', { project_id: p.project_id });
    assert.equal(s.project_id, p.project_id);
    const { payload } = verifyWithJwks(s.session_jwt, own);
    assert.equal(payload.iss, `stytch.com/${p.project_id}`);
    assert.deepEqual(payload.aud, [p.project_id]);
    const r = await request(emu, 'POST', AUTH, { session_token: s.session_token }, { auth: basicOf(p) });
    assert.equal(r.status, 200, r.raw);
    assert.equal(r.body.session.session_id, s.session_id);
  });

  it('a project sees only its own sessions; its secret only opens its door', async () => {
    const a = await ctl(emu, 'POST', '/projects', { vertical: 'consumer' });
    const sa = await ctl(emu, 'POST', '/sessions', { project_id: a.project_id });
    const sd = await ctl(emu, 'POST', '/sessions', {});
    // the default project does not know a's session, by token or by JWT
    assert.equal((await request(emu, 'POST', AUTH, { session_token: sa.session_token })).status, 404);
    const byJwt = await request(emu, 'POST', AUTH, { session_jwt: sa.session_jwt });
    assert.ok(byJwt.status >= 400 && byJwt.status < 500, byJwt.raw);
    // nor does a know the default project's
    assert.equal((await request(emu, 'POST', AUTH, { session_token: sd.session_token },
      { auth: basicOf(a) })).status, 404);
    // a's id with the default project's secret is refused
    const wrong = 'Basic ' + Buffer.from(`${a.project_id}:${emu.secret}`).toString('base64');
    const r = await request(emu, 'POST', AUTH, { session_token: sa.session_token }, { auth: wrong });
    assert.equal(r.status, 401);
    assert.equal(r.body.error_type, 'unauthorized_credentials');
  });

  it('project_id and secret may be chosen; a live id makes live identifiers', async () => {
    const id = 'project-live-12345678-aaaa-bbbb-cccc-1234567890ab';
    const p = await ctl(emu, 'POST', '/projects', { vertical: 'consumer', project_id: id, secret: 'my-secret' });
    assert.equal(p.project_id, id);
    assert.equal(p.secret, 'my-secret');
    const s = await ctl(emu, 'POST', '/sessions', { project_id: id });
    assert.match(s.session_id, /^session-live-/);
    assert.match(s.user_id, /^user-live-/);
    assert.match(decodeJwt(s.session_jwt).header.kid, /^jwk-live-/);
    const again = await request(emu, 'POST', '/emulator/projects', { vertical: 'consumer', project_id: id }, { auth: false });
    assert.equal(again.status, 400, 'the id is taken');
  });

  it('rejects a bad vertical, project id or secret', async () => {
    for (const b of [{}, { vertical: 'enterprise' }, { vertical: 'b2b', project_id: 'proj-1' },
      { vertical: 'b2b', project_id: 'project-test-a/b' }, { vertical: 'b2b', secret: 'a:b' },
      { vertical: 'b2b', secret: 'with space' }]) {
      const r = await request(emu, 'POST', '/emulator/projects', b, { auth: false });
      assert.equal(r.status, 400, JSON.stringify(b));
    }
  });

  it('GET lists the projects; GET/DELETE one; the default cannot be deleted', async () => {
    const p = await ctl(emu, 'POST', '/projects', { vertical: 'b2b' });
    const list = (await ctl(emu, 'GET', '/projects')).projects;
    assert.ok(list.some((x) => x.project_id === emu.projectId && x.default));
    assert.ok(list.some((x) => x.project_id === p.project_id && x.vertical === 'b2b'));
    assert.equal((await ctl(emu, 'GET', `/projects/${p.project_id}`)).secret, p.secret);
    await ctl(emu, 'DELETE', `/projects/${p.project_id}`);
    assert.equal((await request(emu, 'GET', `/emulator/projects/${p.project_id}`, undefined, { auth: false })).status, 404);
    assert.equal((await request(emu, 'GET', `/v1/b2b/sessions/jwks/${p.project_id}`, undefined, { auth: false })).status, 400);
    assert.equal((await request(emu, 'DELETE', `/emulator/projects/${emu.projectId}`, undefined, { auth: false })).status, 400);
  });

  it('a B2B project makes member sessions by default and refuses consumer ones', async () => {
    const p = await ctl(emu, 'POST', '/projects', { vertical: 'b2b' });
    const s = await ctl(emu, 'POST', '/sessions', { project_id: p.project_id });
    assert.match(s.member_id, /^member-test-/);
    const r = await request(emu, 'POST', '/v1/b2b/sessions/authenticate', { session_jwt: s.session_jwt }, { auth: basicOf(p) });
    assert.equal(r.status, 200, r.raw);
    const bad = await request(emu, 'POST', '/emulator/sessions', { project_id: p.project_id, type: 'consumer' }, { auth: false });
    assert.equal(bad.status, 400);
  });

  it('control calls take project_id: jwt, keys, policy, org-policy, session lookups', async () => {
    const p = await ctl(emu, 'POST', '/projects', { vertical: 'consumer' });
    const q = `?project_id=${p.project_id}`;
    const k0 = await ctl(emu, 'GET', `/keys${q}`);
    const rot = await ctl(emu, 'POST', '/keys/rotate', { project_id: p.project_id });
    assert.equal(rot.previous, k0.signing);
    assert.notEqual((await ctl(emu, 'GET', '/keys')).signing, rot.kid, 'the default project keeps its key');
    const { jwt } = await ctl(emu, 'POST', '/jwt', { project_id: p.project_id });
    assert.equal(decodeJwt(jwt).header.kid, rot.kid);
    assert.deepEqual(decodeJwt(jwt).payload.aud, [p.project_id]);
    await ctl(emu, 'POST', '/keys/retire', { project_id: p.project_id, kid: k0.signing });
    assert.deepEqual((await ctl(emu, 'GET', `/keys${q}`)).retired, [k0.signing]);

    await ctl(emu, 'POST', '/policy', { project_id: p.project_id, policy: { roles: [{ role_id: 'only-here', permissions: [] }] } });
    const pol = await request(emu, 'GET', '/v1/rbac/policy', undefined, { auth: basicOf(p) });
    assert.deepEqual(pol.body.policy.roles.map((r) => r.role_id), ['only-here']);
    const def = await request(emu, 'GET', '/v1/rbac/policy');
    assert.ok(def.body.policy.roles.some((r) => r.role_id === 'stytch_user'), 'the default policy is untouched');

    const s = await ctl(emu, 'POST', '/sessions', { project_id: p.project_id });
    // a session id is found in whichever project holds it
    assert.equal((await ctl(emu, 'GET', `/sessions/${s.session_id}`)).project_id, p.project_id);
    const j = (await ctl(emu, 'POST', '/jwt', { session_id: s.session_id })).jwt;
    assert.deepEqual(decodeJwt(j).payload.aud, [p.project_id]);
    await ctl(emu, 'POST', `/sessions/${s.session_id}/expire`, {});
    assert.equal((await request(emu, 'POST', AUTH, { session_token: s.session_token }, { auth: basicOf(p) })).status, 404);
    for (const [m, path, b] of [['POST', '/emulator/sessions', { project_id: 'project-test-nope' }],
      ['GET', '/emulator/keys?project_id=project-test-nope'], ['POST', '/emulator/jwt', { project_id: 'project-test-nope' }]]) {
      assert.equal((await request(emu, m, path, b, { auth: false })).status, 404, path);
    }
  });

  describe('custom domains', () => {
    const DOMAIN = 'https://login.example.test';

    it('a project with a custom domain mints JWTs with iss = that URL; both issuers authenticate', async () => {
      const p = await ctl(emu, 'POST', '/projects', { vertical: 'consumer', custom_domain: `${DOMAIN}/` });
      assert.equal(p.custom_domain, DOMAIN, 'trailing slash trimmed');
      assert.equal(p.issuer, DOMAIN);
      assert.ok(p.issuers.includes(`stytch.com/${p.project_id}`) && p.issuers.includes(DOMAIN));
      const s = await ctl(emu, 'POST', '/sessions', { project_id: p.project_id });
      assert.equal(decodeJwt(s.session_jwt).payload.iss, DOMAIN);
      const auth = { auth: basicOf(p) };
      const r = await request(emu, 'POST', AUTH, { session_jwt: s.session_jwt }, auth);
      assert.equal(r.status, 200, r.raw);
      assert.equal(decodeJwt(r.body.session_jwt).payload.iss, DOMAIN, 'the refreshed JWT too');
      const classic = (await ctl(emu, 'POST', '/jwt', { session_id: s.session_id,
        claims: { iss: `stytch.com/${p.project_id}` } })).jwt;
      assert.equal((await request(emu, 'POST', AUTH, { session_jwt: classic }, auth)).status, 200);
      const other = (await ctl(emu, 'POST', '/jwt', { session_id: s.session_id,
        claims: { iss: 'https://login.other.test' } })).jwt;
      const bad = await request(emu, 'POST', AUTH, { session_jwt: other }, auth);
      assert.ok(bad.status >= 400 && bad.status < 500, bad.raw);
    });

    it('set and cleared by POST /emulator/projects/{id}/settings, on the default project too', async () => {
      const set = await ctl(emu, 'POST', `/projects/${emu.projectId}/settings`, { custom_domain: DOMAIN });
      assert.equal(set.issuer, DOMAIN);
      const s = await ctl(emu, 'POST', '/sessions', {});
      assert.equal(decodeJwt(s.session_jwt).payload.iss, DOMAIN);
      assert.equal((await request(emu, 'POST', AUTH, { session_jwt: s.session_jwt })).status, 200);
      const cleared = await ctl(emu, 'POST', `/projects/${emu.projectId}/settings`, { custom_domain: null });
      assert.equal(cleared.custom_domain, null);
      assert.equal(cleared.issuer, `stytch.com/${emu.projectId}`);
      const r = await request(emu, 'POST', AUTH, { session_token: s.session_token });
      assert.equal(decodeJwt(r.body.session_jwt).payload.iss, `stytch.com/${emu.projectId}`);
      const stale = await request(emu, 'POST', AUTH, { session_jwt: s.session_jwt });
      assert.ok(stale.status >= 400 && stale.status < 500, 'the custom issuer is no longer accepted');
    });

    it('rejects what is not an origin, and changes nothing then', async () => {
      for (const v of ['login.example.test', 'https://login.example.test/path', 'ftp://x.test', 42, '']) {
        const r = await request(emu, 'POST', `/emulator/projects/${emu.projectId}/settings`, { custom_domain: v }, { auth: false });
        assert.equal(r.status, 400, JSON.stringify(v));
        const r2 = await request(emu, 'POST', '/emulator/projects', { vertical: 'b2b', custom_domain: v }, { auth: false });
        assert.equal(r2.status, 400, JSON.stringify(v));
      }
      assert.equal((await ctl(emu, 'GET', `/projects/${emu.projectId}`)).custom_domain, null);
    });
  });

  it('reset {all:true} removes the projects tests made and keeps the two built-in ones', async () => {
    const p = await ctl(emu, 'POST', '/projects', { vertical: 'consumer' });
    await ctl(emu, 'POST', '/reset', { all: true });
    const list = (await ctl(emu, 'GET', '/projects')).projects;
    assert.deepEqual(list.map((x) => [x.project_id, x.vertical, x.default]),
      [[emu.projectId, 'consumer', true], [emu.b2bProjectId, 'b2b', true]]);
    assert.equal((await request(emu, 'GET', `/v1/sessions/jwks/${p.project_id}`, undefined, { auth: false })).status, 400);
  });
});

describe('short-lived JWTs: jwt_lifetime', () => {
  let emu;
  before(async () => { emu = await startEmulator(); });
  after(async () => { await emu.stop(); });
  const life = (jwt) => { const p = decodeJwt(jwt).payload; return p.exp - p.iat; };

  it('set at creation: every mint of the project uses it (sessions, authenticate, /emulator/jwt)', async () => {
    const p = await ctl(emu, 'POST', '/projects', { vertical: 'consumer', jwt_lifetime: 7 });
    assert.equal(p.jwt_lifetime, 7);
    const s = await ctl(emu, 'POST', '/sessions', { project_id: p.project_id });
    assert.equal(life(s.session_jwt), 7);
    const r = await request(emu, 'POST', AUTH, { session_token: s.session_token }, { auth: basicOf(p) });
    assert.equal(life(r.body.session_jwt), 7);
    assert.equal(life((await ctl(emu, 'POST', '/jwt', { project_id: p.project_id })).jwt), 7);
    assert.equal(life((await ctl(emu, 'POST', '/jwt', { session_id: s.session_id })).jwt), 7);
    assert.equal(life((await ctl(emu, 'POST', '/jwt', { session_id: s.session_id, lifetime: 60 })).jwt), 60, 'lifetime still wins');
    assert.equal(life((await ctl(emu, 'POST', '/sessions', {})).session_jwt), 300, 'the default project keeps 300');
  });

  it('settable on the default project; an expired short JWT is refreshed by the API', async () => {
    const v = await ctl(emu, 'POST', `/projects/${emu.projectId}/settings`, { jwt_lifetime: 1 });
    assert.equal(v.jwt_lifetime, 1);
    const s = await ctl(emu, 'POST', '/sessions', {});
    assert.equal(life(s.session_jwt), 1);
    await new Promise((r) => setTimeout(r, 2100));
    assert.ok(decodeJwt(s.session_jwt).payload.exp < Date.now() / 1000, 'expired');
    const r = await request(emu, 'POST', AUTH, { session_jwt: s.session_jwt });
    assert.equal(r.status, 200, r.raw);
    assert.ok(decodeJwt(r.body.session_jwt).payload.exp >= Date.now() / 1000);
    await ctl(emu, 'POST', `/projects/${emu.projectId}/settings`, { jwt_lifetime: 300 });
    const again = await request(emu, 'POST', AUTH, { session_token: s.session_token });
    assert.equal(life(again.body.session_jwt), 300, 'a new setting is used at once, even within the same second');
  });

  it('rejects what is not 1..86400 seconds', async () => {
    for (const v of [0, -5, 1.5, '10', 86401, null]) {
      const r = await request(emu, 'POST', `/emulator/projects/${emu.projectId}/settings`, { jwt_lifetime: v }, { auth: false });
      assert.equal(r.status, 400, JSON.stringify(v));
    }
  });
});

describe('one vertical per project', () => {
  let emu;
  before(async () => { emu = await startEmulator(); });
  after(async () => { await emu.stop(); });

  const CONSUMER_ONLY = [['POST', '/v1/sessions/authenticate'], ['POST', '/v1/sessions/revoke'], ['GET', '/v1/rbac/policy'],
    ['POST', '/v1/magic_links/email/login_or_create'], ['POST', '/v1/magic_links/authenticate'],
    ['POST', '/v1/otps/email/login_or_create'], ['POST', '/v1/otps/authenticate']];
  const B2B_ONLY = [['POST', '/v1/b2b/sessions/authenticate'], ['POST', '/v1/b2b/sessions/revoke'],
    ['GET', '/v1/b2b/rbac/policy'], ['GET', '/v1/b2b/rbac/organizations/organization-test-x']];

  it("a consumer project's credentials on B2B endpoints: 400 invalid_b2b_endpoint", async () => {
    for (const [m, path] of B2B_ONLY) {
      const r = await request(emu, m, path, m === 'POST' ? {} : undefined);
      assert.equal(r.status, 400, `${path}: ${r.raw}`);
      assert.equal(r.body.error_type, 'invalid_b2b_endpoint');
      assert.equal(r.body.error_message, 'This endpoint is only enabled for B2B projects.');
    }
  });

  it("a B2B project's credentials on consumer endpoints: 400 invalid_consumer_endpoint", async () => {
    for (const [m, path] of CONSUMER_ONLY) {
      const r = await request(emu, m, path, m === 'POST' ? {} : undefined, { auth: 'b2b' });
      assert.equal(r.status, 400, `${path}: ${r.raw}`);
      assert.equal(r.body.error_type, 'invalid_consumer_endpoint');
    }
  });

  it('credentials are checked before the vertical', async () => {
    const r = await request(emu, 'POST', '/v1/b2b/sessions/authenticate', {}, { auth: basicOf({ project_id: emu.projectId, secret: 'x' }) });
    assert.equal(r.body.error_type, 'unauthorized_credentials');
  });

  it('control: B2B sessions, dummy JWTs, policies and org policies go to the B2B project unless project_id says', async () => {
    const s = await ctl(emu, 'POST', '/sessions', { type: 'b2b' });
    assert.equal(s.project_id, emu.b2bProjectId);
    const { jwt } = await ctl(emu, 'POST', '/jwt', { type: 'b2b' });
    assert.deepEqual(decodeJwt(jwt).payload.aud, [emu.b2bProjectId]);
    assert.match(decodeJwt(jwt).payload.sub, /^member-test-/);
    const j2 = (await ctl(emu, 'POST', '/jwt', { session_id: s.session_id })).jwt;
    assert.deepEqual(decodeJwt(j2).payload.aud, [emu.b2bProjectId]);
    await ctl(emu, 'POST', '/policy', { b2b: true, policy: { roles: [{ role_id: 'b2b-only', permissions: [] }] } });
    const pol = await request(emu, 'GET', '/v1/b2b/rbac/policy', undefined, { auth: 'b2b' });
    assert.deepEqual(pol.body.policy.roles.map((r) => r.role_id), ['b2b-only']);
    await ctl(emu, 'POST', '/org-policy', { organization_id: 'organization-test-o', org_policy: { roles: [{ role_id: 'o' }] } });
    const op = await request(emu, 'GET', '/v1/b2b/rbac/organizations/organization-test-o', undefined, { auth: 'b2b' });
    assert.deepEqual(op.body.org_policy.roles.map((r) => r.role_id), ['o']);
    // a consumer project cannot hold B2B things, nor the reverse
    for (const [path, body] of [['/emulator/sessions', { type: 'b2b', project_id: emu.projectId }],
      ['/emulator/sessions', { type: 'consumer', project_id: emu.b2bProjectId }],
      ['/emulator/jwt', { type: 'b2b', project_id: emu.projectId }],
      ['/emulator/policy', { b2b: true, project_id: emu.projectId, policy: { roles: [] } }],
      ['/emulator/org-policy', { project_id: emu.projectId, organization_id: 'o', org_policy: { roles: [] } }]]) {
      assert.equal((await request(emu, 'POST', path, body, { auth: false })).status, 400, JSON.stringify(body));
    }
  });
});
