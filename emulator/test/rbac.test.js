'use strict';
// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// RBAC policy endpoints and authorization_check evaluation, as Stytch does it.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startEmulator, request, ctl } = require('../lib/testlib.js');

function assertError(r, status, type) {
  assert.equal(r.status, status, r.raw);
  assert.equal(r.body.status_code, status);
  assert.equal(r.body.error_type, type);
  assert.ok(r.body.request_id && r.body.error_message);
}

describe('RBAC', () => {
  let emu;
  before(async () => { emu = await startEmulator(); });
  after(async () => { await emu.stop(); });

  it('GET /v1/rbac/policy: default consumer policy', async () => {
    const r = await request(emu, 'GET', '/v1/rbac/policy');
    assert.equal(r.status, 200);
    assert.equal(r.body.status_code, 200);
    assert.ok(r.body.request_id);
    const p = r.body.policy;
    assert.deepEqual(p.roles.map((x) => x.role_id), ['stytch_user', 'editor', 'admin']);
    for (const role of p.roles) {
      assert.equal(typeof role.description, 'string');
      assert.ok(Array.isArray(role.permissions));
    }
    assert.deepEqual(p.roles[1].permissions, [{ resource_id: 'documents', actions: ['read', 'write'] }]);
    assert.deepEqual(p.roles[2].permissions, [{ resource_id: 'documents', actions: ['*'] }]);
    assert.deepEqual(p.resources.map((x) => x.resource_id), ['documents']);
    assert.deepEqual(p.scopes, []);
  });

  it('GET /v1/b2b/rbac/policy: default B2B policy', async () => {
    const r = await request(emu, 'GET', '/v1/b2b/rbac/policy', undefined, { auth: 'b2b' });
    assert.equal(r.status, 200);
    const p = r.body.policy;
    const ids = p.roles.map((x) => x.role_id);
    for (const id of ['stytch_member', 'stytch_admin', 'editor', 'admin']) assert.ok(ids.includes(id), id);
    const res = p.resources.map((x) => x.resource_id);
    for (const id of ['stytch.self', 'stytch.organization', 'stytch.member', 'stytch.sso', 'stytch.scim', 'documents']) {
      assert.ok(res.includes(id), id);
    }
    assert.ok(Array.isArray(p.scopes));
  });

  it('GET /v1/b2b/rbac/organizations/{id}: empty roles without an org policy', async () => {
    const r = await request(emu, 'GET', '/v1/b2b/rbac/organizations/organization-test-x', undefined, { auth: 'b2b' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.org_policy.roles, []);
    assert.ok(r.body.request_id);
  });

  it('policy endpoints need Basic auth', async () => {
    for (const p of ['/v1/rbac/policy', '/v1/b2b/rbac/policy', '/v1/b2b/rbac/organizations/o']) {
      assertError(await request(emu, 'GET', p, undefined, { auth: false }), 401, 'unauthorized_credentials');
    }
  });

  describe('consumer authorization_check', () => {
    const AUTH = '/v1/sessions/authenticate';
    let editor;
    let admin;
    let user;
    before(async () => {
      editor = await ctl(emu, 'POST', '/sessions', { roles: ['stytch_user', 'editor'] });
      admin = await ctl(emu, 'POST', '/sessions', { roles: ['stytch_user', 'admin'] });
      user = await ctl(emu, 'POST', '/sessions', {});
    });

    it('editor may read: 200 with verdict', async () => {
      const r = await request(emu, 'POST', AUTH, { session_token: editor.session_token,
        authorization_check: { resource_id: 'documents', action: 'read' } });
      assert.equal(r.status, 200, r.raw);
      assert.deepEqual(r.body.verdict, { authorized: true, granting_roles: ['editor'] });
    });

    it('editor may not delete: 403 consumer_session_authorization_error', async () => {
      const r = await request(emu, 'POST', AUTH, { session_jwt: editor.session_jwt,
        authorization_check: { resource_id: 'documents', action: 'delete' } });
      assertError(r, 403, 'consumer_session_authorization_error');
    });

    it('admin\'s "*" grants delete; no wildcard on resource', async () => {
      const r = await request(emu, 'POST', AUTH, { session_token: admin.session_token,
        authorization_check: { resource_id: 'documents', action: 'delete' } });
      assert.equal(r.status, 200);
      assert.deepEqual(r.body.verdict.granting_roles, ['admin']);
      assertError(await request(emu, 'POST', AUTH, { session_token: admin.session_token,
        authorization_check: { resource_id: 'other', action: 'delete' } }), 403, 'consumer_session_authorization_error');
    });

    it('plain stytch_user is denied', async () => {
      assertError(await request(emu, 'POST', AUTH, { session_token: user.session_token,
        authorization_check: { resource_id: 'documents', action: 'read' } }), 403, 'consumer_session_authorization_error');
    });

    it('a malformed authorization_check is 400', async () => {
      assertError(await request(emu, 'POST', AUTH, { session_token: user.session_token,
        authorization_check: { resource_id: 'documents' } }), 400, 'invalid_authorization_check');
    });

    it('a denial does not apply session_duration_minutes', async () => {
      const before = (await request(emu, 'POST', AUTH, { session_token: editor.session_token })).body.session.expires_at;
      await request(emu, 'POST', AUTH, { session_token: editor.session_token, session_duration_minutes: 1000,
        authorization_check: { resource_id: 'documents', action: 'delete' } });
      const after = (await request(emu, 'POST', AUTH, { session_token: editor.session_token })).body.session.expires_at;
      assert.equal(after, before);
    });

    it('POST /emulator/policy replaces the consumer policy', async () => {
      await ctl(emu, 'POST', '/policy', { policy: {
        roles: [{ role_id: 'stytch_user', description: '', permissions: [{ resource_id: 'documents', actions: ['read'] }] }],
        resources: [{ resource_id: 'documents', description: '', actions: ['read'] }], scopes: [] } });
      const p = (await request(emu, 'GET', '/v1/rbac/policy')).body.policy;
      assert.deepEqual(p.roles.map((x) => x.role_id), ['stytch_user']);
      const r = await request(emu, 'POST', AUTH, { session_token: user.session_token,
        authorization_check: { resource_id: 'documents', action: 'read' } });
      assert.equal(r.status, 200);
      assert.deepEqual(r.body.verdict.granting_roles, ['stytch_user']);
      assertError(await request(emu, 'POST', AUTH, { session_token: editor.session_token,
        authorization_check: { resource_id: 'documents', action: 'write' } }), 403, 'consumer_session_authorization_error');
      // B2B policy untouched
      const b = (await request(emu, 'GET', '/v1/b2b/rbac/policy', undefined, { auth: 'b2b' })).body.policy;
      assert.ok(b.roles.some((x) => x.role_id === 'stytch_member'));
    });

    it('POST /emulator/policy rejects a bad policy', async () => {
      const r = await request(emu, 'POST', '/emulator/policy', { policy: { roles: 'x' } }, { auth: false });
      assert.equal(r.status, 400);
    });
  });

  describe('B2B authorization_check', () => {
    const B2B = '/v1/b2b/sessions/authenticate';
    const b2bAuth = (path, body) => request(emu, 'POST', path, body, { auth: 'b2b' });
    const ORG = 'organization-test-aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
    let member;
    before(async () => {
      member = await ctl(emu, 'POST', '/sessions', { type: 'b2b', organization_id: ORG, roles: ['stytch_member', 'reviewer'] });
    });

    it('tenancy is checked first: another org is 403 session_authorization_tenancy_error', async () => {
      assertError(await b2bAuth(B2B, { session_token: member.session_token,
        authorization_check: { organization_id: 'organization-test-other', resource_id: 'stytch.self', action: 'delete' } }),
      403, 'session_authorization_tenancy_error');
    });

    it('project policy roles grant: stytch_member on stytch.self', async () => {
      const r = await b2bAuth(B2B, { session_jwt: member.session_jwt,
        authorization_check: { organization_id: ORG, resource_id: 'stytch.self', action: 'delete' } });
      assert.equal(r.status, 200, r.raw);
      assert.deepEqual(r.body.verdict, { authorized: true, granting_roles: ['stytch_member'] });
    });

    it('denied without a granting role: 403 session_authorization_error', async () => {
      assertError(await b2bAuth(B2B, { session_token: member.session_token,
        authorization_check: { organization_id: ORG, resource_id: 'documents', action: 'read' } }),
      403, 'session_authorization_error');
    });

    it('org policy roles are added for that org only', async () => {
      await ctl(emu, 'POST', '/org-policy', { organization_id: ORG, org_policy: { roles: [
        { role_id: 'reviewer', description: 'org role', permissions: [{ resource_id: 'documents', actions: ['read'] }] }] } });
      const g = await request(emu, 'GET', `/v1/b2b/rbac/organizations/${ORG}`, undefined, { auth: 'b2b' });
      assert.equal(g.status, 200);
      assert.deepEqual(g.body.org_policy.roles.map((x) => x.role_id), ['reviewer']);
      const r = await b2bAuth(B2B, { session_token: member.session_token,
        authorization_check: { organization_id: ORG, resource_id: 'documents', action: 'read' } });
      assert.equal(r.status, 200, r.raw);
      assert.deepEqual(r.body.verdict.granting_roles, ['reviewer']);
      assertError(await b2bAuth(B2B, { session_token: member.session_token,
        authorization_check: { organization_id: ORG, resource_id: 'documents', action: 'write' } }),
      403, 'session_authorization_error');
      const other = await ctl(emu, 'POST', '/sessions', { type: 'b2b', roles: ['stytch_member', 'reviewer'] });
      assertError(await b2bAuth(B2B, { session_token: other.session_token,
        authorization_check: { organization_id: other.organization_id, resource_id: 'documents', action: 'read' } }),
      403, 'session_authorization_error');
    });

    it('B2B check without organization_id is 400', async () => {
      assertError(await b2bAuth(B2B, { session_token: member.session_token,
        authorization_check: { resource_id: 'documents', action: 'read' } }), 400, 'invalid_authorization_check');
    });

    it('POST /emulator/policy with b2b replaces the B2B policy', async () => {
      await ctl(emu, 'POST', '/policy', { b2b: true, policy: { roles: [
        { role_id: 'stytch_member', description: '', permissions: [{ resource_id: 'documents', actions: ['*'] }] }],
      resources: [], scopes: [] } });
      const r = await b2bAuth(B2B, { session_token: member.session_token,
        authorization_check: { organization_id: ORG, resource_id: 'documents', action: 'write' } });
      assert.equal(r.status, 200, r.raw);
      assert.deepEqual(r.body.verdict.granting_roles, ['stytch_member']);
    });
  });
});
