'use strict';
// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// Child process of emulator/test/sdk.test.js: drives the official Stytch Node
// SDK (from STYTCH_SDK_DIR, where emulator/lib/test-clients.js found it)
// against the emulator and prints one JSON report per step on stdout.
// Input: argv[2] = JSON {base_url, project_id, secret, consumer:{...},
// b2b:{project_id, secret, ...}}.
// NODE_EXTRA_CA_CERTS must point at the emulator's certificate.

const path = require('node:path');

const stytch = require(path.join(process.env.STYTCH_SDK_DIR, 'node_modules', 'stytch'));
const input = JSON.parse(process.argv[2]);

const results = {};
async function step(name, fn) {
  try {
    results[name] = { ok: true, value: await fn() };
  } catch (e) {
    results[name] = {
      ok: false,
      error: {
        name: e && e.constructor && e.constructor.name, message: String(e && e.message).slice(0, 500),
        status_code: e && e.status_code, error_type: e && e.error_type, code: e && e.code,
      },
    };
  }
}

async function main() {
  const cfg = { project_id: input.project_id, secret: input.secret, custom_base_url: input.base_url };
  const c = input.consumer;
  const client = new stytch.Client(cfg);
  await step('consumer.authenticate', async () => {
    const r = await client.sessions.authenticate({ session_token: c.session_token });
    return { status_code: r.status_code, session_id: r.session.session_id, user_id: r.user.user_id,
      session_jwt: r.session_jwt, session_token: r.session_token };
  });
  await step('consumer.authenticateJwt.local', async () => {
    const r = await client.sessions.authenticateJwt({ session_jwt: c.session_jwt });
    return { session_id: r.session.session_id, user_id: r.session.user_id, roles: r.session.roles,
      session_jwt: r.session_jwt, status_code: r.status_code, custom_claims: r.session.custom_claims };
  });
  await step('consumer.authenticateJwt.expired', async () => {
    const r = await client.sessions.authenticateJwt({ session_jwt: c.expired_jwt });
    return { session_id: r.session.session_id, session_jwt: r.session_jwt, status_code: r.status_code };
  });
  await step('consumer.authenticateJwt.rbac_allowed', async () => {
    const r = await client.sessions.authenticateJwt({ session_jwt: c.session_jwt,
      authorization_check: { resource_id: 'documents', action: 'write' } });
    return { session_id: r.session.session_id, status_code: r.status_code };
  });
  await step('consumer.authenticateJwt.rbac_denied', async () => {
    const r = await client.sessions.authenticateJwt({ session_jwt: c.session_jwt,
      authorization_check: { resource_id: 'documents', action: 'delete' } });
    return { status_code: r.status_code };
  });
  await step('consumer.getJWKS', async () => {
    const r = await client.sessions.getJWKS({ project_id: input.project_id });
    return { status_code: r.status_code, kids: r.keys.map((k) => k.kid) };
  });
  await step('consumer.revoke', async () => {
    const r = await client.sessions.revoke({ session_id: c.revoke_session_id });
    return { status_code: r.status_code };
  });
  await step('consumer.authenticate.revoked', async () => {
    const r = await client.sessions.authenticate({ session_token: c.revoke_session_token });
    return { status_code: r.status_code };
  });
  await step('consumer.authenticateJwt.revoked_expired', async () => {
    const r = await client.sessions.authenticateJwt({ session_jwt: c.revoke_expired_jwt });
    return { status_code: r.status_code };
  });

  const b = input.b2b;
  const b2b = new stytch.B2BClient({ project_id: b.project_id, secret: b.secret, custom_base_url: input.base_url });
  await step('b2b.authenticate', async () => {
    const r = await b2b.sessions.authenticate({ session_token: b.session_token });
    return { status_code: r.status_code, member_session_id: r.member_session.member_session_id,
      member_id: r.member.member_id, organization_slug: r.organization.organization_slug, session_jwt: r.session_jwt };
  });
  await step('b2b.authenticateJwt.local', async () => {
    const r = await b2b.sessions.authenticateJwt({ session_jwt: b.session_jwt });
    return { member_session_id: r.member_session.member_session_id, organization_id: r.member_session.organization_id,
      organization_slug: r.member_session.organization_slug, roles: r.member_session.roles,
      authentication_factors: r.member_session.authentication_factors,
      session_jwt: r.session_jwt, status_code: r.status_code };
  });
  await step('b2b.authenticateJwt.expired', async () => {
    const r = await b2b.sessions.authenticateJwt({ session_jwt: b.expired_jwt });
    return { member_session_id: r.member_session.member_session_id, session_jwt: r.session_jwt, status_code: r.status_code };
  });
  await step('b2b.authenticateJwt.rbac_allowed', async () => {
    const r = await b2b.sessions.authenticateJwt({ session_jwt: b.session_jwt,
      authorization_check: { organization_id: b.organization_id, resource_id: 'documents', action: 'read' } });
    return { member_session_id: r.member_session.member_session_id, status_code: r.status_code };
  });
  await step('b2b.authenticateJwt.tenancy_denied', async () => {
    const r = await b2b.sessions.authenticateJwt({ session_jwt: b.session_jwt,
      authorization_check: { organization_id: 'organization-test-other', resource_id: 'documents', action: 'read' } });
    return { status_code: r.status_code };
  });
  await step('b2b.getJWKS', async () => {
    const r = await b2b.sessions.getJWKS({ project_id: b.project_id });
    return { status_code: r.status_code, kids: r.keys.map((k) => k.kid) };
  });
  await step('b2b.wrong_vertical', async () => {
    const wrong = new stytch.B2BClient(cfg);
    const r = await wrong.sessions.authenticate({ session_token: b.session_token });
    return { status_code: r.status_code };
  });
  await step('b2b.revoke', async () => {
    const r = await b2b.sessions.revoke({ member_session_id: b.revoke_session_id });
    return { status_code: r.status_code };
  });
  await step('b2b.authenticate.revoked', async () => {
    const r = await b2b.sessions.authenticate({ session_token: b.revoke_session_token });
    return { status_code: r.status_code };
  });
  await m2mSteps(client, b2b, input.m2m);
  process.stdout.write(JSON.stringify({ sdk_version: require(path.join(process.env.STYTCH_SDK_DIR,
    'node_modules', 'stytch', 'package.json')).version, results }) + '\n');
}

// m2m.clients, m2m.token and m2m.authenticateToken (local verification
// with the project's JWKS, then the scope check) for both clients.
async function m2mSteps(client, b2b, m) {
  let mc;
  let token;
  const auth = (name, access_token, required_scopes) => step(name, async () => {
    const r = await client.m2m.authenticateToken({ access_token, required_scopes });
    return { client_id: r.client_id, scopes: r.scopes, custom_claims: r.custom_claims };
  });
  await step('m2m.clients.create', async () => {
    const r = await client.m2m.clients.create({ client_name: 'sdk', scopes: ['read:users', 'write:users', 'pet:cats'] });
    mc = r.m2m_client;
    return { status_code: r.status_code, client_id: mc.client_id, scopes: mc.scopes };
  });
  await step('m2m.token', async () => {
    const r = await client.m2m.token({ client_id: mc.client_id, client_secret: mc.client_secret });
    token = r.access_token;
    return { token_type: r.token_type, expires_in: r.expires_in, access_token: r.access_token };
  });
  await auth('m2m.authenticateToken', token);
  await auth('m2m.authenticateToken.required_ok', token, ['pet:cats', 'read:users']);
  await auth('m2m.authenticateToken.required_missing', token, ['pet:dogs']);
  await step('m2m.token.narrowed', async () => {
    const r = await client.m2m.token({ client_id: mc.client_id, client_secret: mc.client_secret, scopes: ['read:users'] });
    token = r.access_token;
    return { access_token: r.access_token };
  });
  await auth('m2m.authenticateToken.narrowed_ok', token, ['read:users']);
  await auth('m2m.authenticateToken.narrowed_missing', token, ['write:users']);
  await step('m2m.token.wrong_secret', async () => {
    const r = await client.m2m.token({ client_id: mc.client_id, client_secret: 'not-the-secret' });
    return { access_token: r.access_token };
  });
  await auth('m2m.authenticateToken.wildcard', m.wildcard_token, ['read:users']);
  await auth('m2m.authenticateToken.rogue', m.rogue_token);
  await auth('m2m.authenticateToken.expired', m.expired_token);
  let next;
  await step('m2m.rotateStart', async () => {
    const r = await client.m2m.clients.secrets.rotateStart({ client_id: mc.client_id });
    next = r.m2m_client.next_client_secret;
    return { next_last_four: r.m2m_client.next_client_secret_last_four };
  });
  await step('m2m.token.next_secret', async () => {
    const r = await client.m2m.token({ client_id: mc.client_id, client_secret: next });
    return { token_type: r.token_type };
  });
  await step('m2m.rotate', async () => {
    const r = await client.m2m.clients.secrets.rotate({ client_id: mc.client_id });
    return { last_four: r.m2m_client.client_secret_last_four };
  });
  await step('m2m.token.old_secret', async () => {
    const r = await client.m2m.token({ client_id: mc.client_id, client_secret: mc.client_secret });
    return { token_type: r.token_type };
  });
  await step('b2b.m2m', async () => {
    const c = (await b2b.m2m.clients.create({ scopes: ['read:reports'] })).m2m_client;
    const t = await b2b.m2m.token({ client_id: c.client_id, client_secret: c.client_secret });
    const r = await b2b.m2m.authenticateToken({ access_token: t.access_token, required_scopes: ['read:reports'] });
    return { client_id: c.client_id, authenticated: r.client_id, scopes: r.scopes };
  });
}

main().catch((e) => { process.stderr.write(`${e.stack}\n`); process.exit(1); });
