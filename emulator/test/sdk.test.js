'use strict';
// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// The official Stytch Node SDK (npm package "stytch") against the emulator
// over TLS: sessions.authenticate, authenticateJwt (local and expired ->
// API fallback), RBAC, getJWKS, revoke, for consumer and B2B clients.
//
// The SDK is the one emulator/test/clients/package-lock.json pins, installed
// by `scripts/install-deps test` (emulator/lib/test-clients.js finds it).
const { it } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { execFile } = require('node:child_process');
const { startEmulator, ctl, decodeJwt } = require('../lib/testlib.js');
const testClients = require('../lib/test-clients.js');

const SDK = testClients.find('stytch');
const CLIENT = path.resolve(__dirname, '..', 'lib', 'sdk-client.js');

function runClient(emu, input) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLIENT, JSON.stringify(input)], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: emu.cert, STYTCH_SDK_DIR: SDK.dir },
      timeout: 60000, maxBuffer: 16 * 1024 * 1024,
    }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`sdk client failed: ${err.message}\n${stderr}`));
      try { resolve(JSON.parse(stdout.trim().split('\n').pop())); } catch (e) {
        reject(new Error(`sdk client output: ${stdout}\n${stderr}`));
      }
    });
  });
}

it('official Stytch Node SDK works against the emulator (TLS)', { timeout: 300000 }, async (t) => {
  assert.ok(!SDK.missing, SDK.missing);
  t.diagnostic(`stytch SDK ${SDK.version} (in ${SDK.dir})`);

  const emu = await startEmulator(['--tls']);
  try {
    const past = Math.floor(Date.now() / 1000) - 3600;
    const cs = await ctl(emu, 'POST', '/sessions', { roles: ['stytch_user', 'editor'], custom_claims: { tier: 'gold' } });
    const cr = await ctl(emu, 'POST', '/sessions', {});
    const bs = await ctl(emu, 'POST', '/sessions', { type: 'b2b', organization_slug: 'acme', roles: ['stytch_member', 'editor'],
      factors: [{ type: 'sso', protocol: 'saml', connection_id: 'saml-connection-test-51a2b3c4-0000-4000-8000-000000000001' }] });
    const br = await ctl(emu, 'POST', '/sessions', { type: 'b2b' });
    const input = {
      base_url: `https://127.0.0.1:${emu.port}`, project_id: emu.projectId, secret: emu.secret,
      consumer: {
        session_token: cs.session_token, session_jwt: cs.session_jwt,
        expired_jwt: (await ctl(emu, 'POST', '/jwt', { session_id: cs.session_id, iat: past })).jwt,
        revoke_session_id: cr.session_id, revoke_session_token: cr.session_token,
        revoke_expired_jwt: (await ctl(emu, 'POST', '/jwt', { session_id: cr.session_id, iat: past })).jwt,
      },
      b2b: {
        project_id: emu.b2bProjectId, secret: emu.b2bSecret,
        session_token: bs.session_token, session_jwt: bs.session_jwt, organization_id: bs.organization_id,
        expired_jwt: (await ctl(emu, 'POST', '/jwt', { session_id: bs.session_id, iat: past })).jwt,
        revoke_session_id: br.session_id, revoke_session_token: br.session_token,
      },
    };
    input.m2m = {
      wildcard_token: (await ctl(emu, 'POST', '/m2m/token', { scopes: ['read:*'] })).access_token,
      rogue_token: (await ctl(emu, 'POST', '/m2m/token', { scopes: ['read:users'], key: 'rogue' })).access_token,
      expired_token: (await ctl(emu, 'POST', '/m2m/token', { iat: past })).access_token,
    };
    await ctl(emu, 'POST', '/reset');
    const out = await runClient(emu, input);
    const R = out.results;
    const ok = (name) => {
      assert.ok(R[name], `step ${name} ran`);
      assert.equal(R[name].ok, true, `${name}: ${JSON.stringify(R[name].error)}`);
      return R[name].value;
    };
    const fails = (name, status, type) => {
      assert.equal(R[name].ok, false, `${name} should fail: ${JSON.stringify(R[name].value)}`);
      assert.equal(R[name].error.name, 'StytchError', JSON.stringify(R[name].error));
      assert.equal(R[name].error.status_code, status);
      assert.equal(R[name].error.error_type, type);
    };

    // consumer
    let v = ok('consumer.authenticate');
    assert.equal(v.status_code, 200);
    assert.equal(v.session_id, cs.session_id);
    assert.equal(v.session_token, cs.session_token);
    v = ok('consumer.authenticateJwt.local');
    assert.equal(v.session_id, cs.session_id);
    assert.equal(v.user_id, cs.user_id);
    assert.equal(v.session_jwt, cs.session_jwt, 'local path returns the same JWT');
    assert.equal(v.status_code, undefined, 'local path: no API response');
    assert.deepEqual(v.roles, ['stytch_user', 'editor']);
    assert.equal(v.custom_claims.tier, 'gold');
    v = ok('consumer.authenticateJwt.expired');
    assert.equal(v.status_code, 200, 'expired JWT went to the API');
    assert.equal(v.session_id, cs.session_id);
    assert.notEqual(v.session_jwt, input.consumer.expired_jwt);
    assert.ok(decodeJwt(v.session_jwt).payload.exp > Date.now() / 1000, 'fresh JWT');
    v = ok('consumer.authenticateJwt.rbac_allowed');
    assert.equal(v.status_code, undefined, 'RBAC allowed locally');
    fails('consumer.authenticateJwt.rbac_denied', 403, 'consumer_session_authorization_error');
    v = ok('consumer.getJWKS');
    assert.equal(v.status_code, 200);
    assert.equal(v.kids.length, 1);
    assert.equal(v.kids[0], decodeJwt(cs.session_jwt).header.kid);
    assert.equal(ok('consumer.revoke').status_code, 200);
    fails('consumer.authenticate.revoked', 404, 'session_not_found');
    fails('consumer.authenticateJwt.revoked_expired', 404, 'session_not_found');

    // B2B
    v = ok('b2b.authenticate');
    assert.equal(v.status_code, 200);
    assert.equal(v.member_session_id, bs.session_id);
    assert.equal(v.member_id, bs.member_id);
    assert.equal(v.organization_slug, 'acme');
    v = ok('b2b.authenticateJwt.local');
    assert.equal(v.status_code, undefined);
    assert.equal(v.member_session_id, bs.session_id);
    assert.equal(v.organization_id, bs.organization_id);
    assert.equal(v.organization_slug, 'acme');
    assert.deepEqual(v.roles, ['stytch_member', 'editor']);
    assert.equal(v.authentication_factors[0].saml_sso_factor.provider_id, 'saml-connection-test-51a2b3c4-0000-4000-8000-000000000001');
    v = ok('b2b.authenticateJwt.expired');
    assert.equal(v.status_code, 200);
    assert.equal(v.member_session_id, bs.session_id);
    assert.ok(decodeJwt(v.session_jwt).payload.exp > Date.now() / 1000);
    ok('b2b.authenticateJwt.rbac_allowed');
    fails('b2b.authenticateJwt.tenancy_denied', 403, 'session_authorization_tenancy_error');
    v = ok('b2b.getJWKS');
    assert.equal(v.status_code, 200);
    assert.equal(v.kids.length, 1);
    fails('b2b.wrong_vertical', 400, 'invalid_b2b_endpoint');
    assert.equal(ok('b2b.revoke').status_code, 200);
    fails('b2b.authenticate.revoked', 404, 'session_not_found');

    // M2M
    v = ok('m2m.clients.create');
    assert.equal(v.status_code, 201);
    assert.match(v.client_id, /^m2m-client-test-/);
    v = ok('m2m.token');
    assert.equal(v.token_type, 'bearer');
    assert.equal(v.expires_in, 3600);
    v = ok('m2m.authenticateToken');
    assert.equal(v.client_id, R['m2m.clients.create'].value.client_id);
    assert.deepEqual(v.scopes, ['read:users', 'write:users', 'pet:cats']);
    assert.deepEqual(v.custom_claims, {});
    ok('m2m.authenticateToken.required_ok');
    const clientError = (name, code) => {
      assert.equal(R[name].ok, false, `${name} should fail: ${JSON.stringify(R[name].value)}`);
      assert.equal(R[name].error.name, 'ClientError', JSON.stringify(R[name].error));
      assert.equal(R[name].error.code, code, JSON.stringify(R[name].error));
    };
    clientError('m2m.authenticateToken.required_missing', 'missing_scopes');
    assert.deepEqual(ok('m2m.authenticateToken.narrowed_ok').scopes, ['read:users']);
    clientError('m2m.authenticateToken.narrowed_missing', 'missing_scopes');
    fails('m2m.token.wrong_secret', 401, 'invalid_client');
    ok('m2m.authenticateToken.wildcard');
    clientError('m2m.authenticateToken.rogue', 'jwt_invalid');
    clientError('m2m.authenticateToken.expired', 'jwt_invalid');
    ok('m2m.rotateStart');
    ok('m2m.token.next_secret');
    ok('m2m.rotate');
    fails('m2m.token.old_secret', 401, 'invalid_client');
    v = ok('b2b.m2m');
    assert.equal(v.authenticated, v.client_id);
    assert.deepEqual(v.scopes, ['read:reports']);

    // What reached the emulator: the SDK's own JWKS and policy fetches.
    const c = await ctl(emu, 'GET', '/counters');
    assert.ok(c.jwks >= 2, `JWKS fetched by the SDK (consumer and B2B): ${JSON.stringify(c)}`);
    assert.ok(c.b2b_jwks >= 1);
    assert.ok(c.policy >= 1 && c.b2b_policy >= 1, 'RBAC policies fetched');
    const reqs = (await ctl(emu, 'GET', '/requests?endpoint=authenticate')).requests;
    const consumer = reqs.filter((r) => r.path === '/v1/sessions/authenticate').pop();
    const b2bReq = reqs.filter((r) => r.path === '/v1/b2b/sessions/authenticate').pop();
    assert.match(consumer.headers['user-agent'], /^Stytch Node v/);
    assert.equal(consumer.headers.authorization,
      'Basic ' + Buffer.from(`${emu.projectId}:${emu.secret}`).toString('base64'));
    assert.equal(b2bReq.headers.authorization,
      'Basic ' + Buffer.from(`${emu.b2bProjectId}:${emu.b2bSecret}`).toString('base64'));
  } finally {
    await emu.stop();
  }
});
