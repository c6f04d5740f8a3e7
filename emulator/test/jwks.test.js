'use strict';
// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// JWKS endpoints: shape, auth optional, x5c/x5tS256 consistency, unknown project.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { startEmulator, request } = require('../lib/testlib.js');

describe('GET /v1/[b2b/]sessions/jwks/{project_id}', () => {
  let emu;
  before(async () => { emu = await startEmulator(); });
  after(async () => { await emu.stop(); });

  for (const [prefix, b2b] of [['/v1/sessions/jwks/', false], ['/v1/b2b/sessions/jwks/', true]]) {
    const pid = () => (b2b ? emu.b2bProjectId : emu.projectId);
    it(`${prefix} serves RSA keys with all fields, without auth`, async () => {
      const r = await request(emu, 'GET', prefix + pid(), undefined, { auth: false });
      assert.equal(r.status, 200);
      assert.equal(r.body.status_code, 200);
      assert.match(r.body.request_id, /^request-id-test-[0-9a-f-]{36}$/);
      assert.equal(r.headers['content-type'], 'application/json');
      assert.equal(r.headers['cache-control'], 'public, max-age=900');
      assert.equal(r.body.keys.length, 1);
      const k = r.body.keys[0];
      assert.deepEqual(Object.keys(k).sort(), ['alg', 'e', 'key_ops', 'kid', 'kty', 'n', 'use', 'x5c', 'x5tS256']);
      assert.match(k.kid, /^jwk-test-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      assert.equal(k.kty, 'RSA');
      assert.equal(k.alg, 'RS256');
      assert.equal(k.use, 'sig');
      assert.deepEqual(k.key_ops, ['verify']);
      assert.equal(k.e, 'AQAB');
      assert.equal(Buffer.from(k.n, 'base64url').length, 256, '2048-bit modulus');
      // x5c: a self-signed O=Stytch certificate wrapping the same key.
      const der = Buffer.from(k.x5c[0], 'base64');
      const cert = new crypto.X509Certificate(der);
      assert.equal(cert.subject, 'O=Stytch');
      assert.equal(cert.issuer, 'O=Stytch');
      assert.equal(cert.ca, false);
      const jwkKey = crypto.createPublicKey({ key: { kty: 'RSA', n: k.n, e: k.e }, format: 'jwk' });
      assert.ok(cert.publicKey.equals(jwkKey), 'x5c key == n/e');
      assert.ok(cert.verify(cert.publicKey), 'x5c self-signature verifies');
      const years = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / (365.25 * 86400000);
      assert.ok(years > 9.9 && years < 10.1, `10-year validity, got ${years}`);
      // x5tS256: base64url with padding of SHA-256(DER)
      const t = crypto.createHash('sha256').update(der).digest('base64url');
      assert.equal(k.x5tS256, t + '=');
    });

    it(`${prefix} accepts Basic auth too (ruby sends it)`, async () => {
      const r = await request(emu, 'GET', prefix + pid(), undefined, { auth: b2b ? 'b2b' : true });
      assert.equal(r.status, 200);
      assert.equal(r.body.keys.length, 1);
    });

    it(`${prefix} rejects an unknown project id with 400 invalid_project_id`, async () => {
      const r = await request(emu, 'GET', prefix + 'project-test-99999999-9999-9999-9999-999999999999', undefined, { auth: false });
      assert.equal(r.status, 400);
      assert.equal(r.body.status_code, 400);
      assert.equal(r.body.error_type, 'invalid_project_id');
      assert.ok(r.body.request_id && r.body.error_message && r.body.error_url);
    });
  }

  it('each project serves its own keys on the JWKS endpoint of its vertical only', async () => {
    const a = await request(emu, 'GET', '/v1/sessions/jwks/' + emu.projectId, undefined, { auth: false });
    const b = await request(emu, 'GET', '/v1/b2b/sessions/jwks/' + emu.b2bProjectId, undefined, { auth: false });
    assert.notEqual(a.body.keys[0].kid, b.body.keys[0].kid);
    const wrongB2b = await request(emu, 'GET', '/v1/b2b/sessions/jwks/' + emu.projectId, undefined, { auth: false });
    assert.equal(wrongB2b.status, 400);
    assert.equal(wrongB2b.body.error_type, 'invalid_b2b_endpoint');
    assert.equal(wrongB2b.body.error_message, 'This endpoint is only enabled for B2B projects.');
    const wrongConsumer = await request(emu, 'GET', '/v1/sessions/jwks/' + emu.b2bProjectId, undefined, { auth: false });
    assert.equal(wrongConsumer.status, 400);
    assert.equal(wrongConsumer.body.error_type, 'invalid_consumer_endpoint');
    assert.equal(wrongConsumer.body.error_message, 'This endpoint is only enabled for consumer projects.');
  });

  it('unknown API route gives a Stytch-shaped 404', async () => {
    const r = await request(emu, 'GET', '/v1/nope');
    assert.equal(r.status, 404);
    assert.equal(r.body.error_type, 'route_not_found');
  });

  it('wrong method gives 405', async () => {
    const r = await request(emu, 'POST', '/v1/sessions/jwks/' + emu.projectId, {});
    assert.equal(r.status, 405);
    assert.equal(r.body.error_type, 'method_not_allowed');
  });
});
