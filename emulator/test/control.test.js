'use strict';
// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// The /emulator/ control API: keys, JWT minting, faults, refuse, counters,
// recorded requests, reset, health, session expiry.
const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const http = require('node:http');
const { startEmulator, request, ctl, decodeJwt, verifyWithJwks } = require('../lib/testlib.js');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const AUTH = '/v1/sessions/authenticate';
const SIGNIN0 = { magic_links_send: 0, magic_links_authenticate: 0, otps_send: 0, otps_authenticate: 0,
  m2m_clients: 0, m2m_token: 0, sdk_bootstrap: 0, sdk_events: 0, sdk_otps_send: 0, sdk_otps_authenticate: 0,
  sdk_magic_links_send: 0, sdk_magic_links_authenticate: 0, sdk_authenticate: 0, sdk_revoke: 0, sdk_users_me: 0,
  connected_apps: 0 };

describe('control API', () => {
  let emu;
  let jwksPath;
  before(async () => { emu = await startEmulator(); jwksPath = `/v1/sessions/jwks/${emu.projectId}`; });
  after(async () => { await emu.stop(); });
  const jwks = async () => (await request(emu, 'GET', jwksPath, undefined, { auth: false })).body;

  it('GET /emulator/health', async () => {
    assert.deepEqual(await ctl(emu, 'GET', '/health'), { ok: true });
  });

  it('unknown control route is 404', async () => {
    const r = await request(emu, 'GET', '/emulator/nope', undefined, { auth: false });
    assert.equal(r.status, 404);
  });

  it('POST /emulator/sessions validates its body', async () => {
    for (const b of [{ type: 'x' }, { roles: 'admin' }, { custom_claims: [1] }]) {
      const r = await request(emu, 'POST', '/emulator/sessions', b, { auth: false });
      assert.equal(r.status, 400, JSON.stringify(b));
    }
    const r = await request(emu, 'POST', '/emulator/sessions', '{bad', { auth: false });
    assert.equal(r.status, 400);
  });

  describe('keys', () => {
    it('rotate: new key signs, old stays served; old JWTs still authenticate', async () => {
      const s = await ctl(emu, 'POST', '/sessions', {});
      const k0 = await ctl(emu, 'GET', '/keys');
      assert.equal(k0.served.length, 1);
      assert.equal(k0.signing, k0.served[0]);
      const rot = await ctl(emu, 'POST', '/keys/rotate');
      assert.equal(rot.previous, k0.signing);
      assert.match(rot.kid, /^jwk-test-/);
      assert.notEqual(rot.kid, rot.previous);
      const k1 = await ctl(emu, 'GET', '/keys');
      assert.equal(k1.signing, rot.kid);
      assert.deepEqual(k1.served.sort(), [rot.kid, rot.previous].sort());
      const set = await jwks();
      assert.deepEqual(set.keys.map((k) => k.kid).sort(), [rot.kid, rot.previous].sort());
      // old JWT (signed by previous) still authenticates; the new JWT uses the new kid
      const r = await request(emu, 'POST', AUTH, { session_jwt: s.session_jwt });
      assert.equal(r.status, 200, r.raw);
      assert.equal(decodeJwt(s.session_jwt).header.kid, rot.previous);
      assert.equal(decodeJwt(r.body.session_jwt).header.kid, rot.kid);
      verifyWithJwks(r.body.session_jwt, set);
    });

    it('retire: the key leaves the JWKS and its JWTs fail; the signing key cannot be retired', async () => {
      const s = await ctl(emu, 'POST', '/sessions', {});
      const oldKid = decodeJwt(s.session_jwt).header.kid;
      const rot = await ctl(emu, 'POST', '/keys/rotate');
      assert.equal(rot.previous, oldKid);
      const bad = await request(emu, 'POST', '/emulator/keys/retire', { kid: rot.kid }, { auth: false });
      assert.equal(bad.status, 400);
      const unknown = await request(emu, 'POST', '/emulator/keys/retire', { kid: 'jwk-test-nope' }, { auth: false });
      assert.equal(unknown.status, 404);
      assert.equal((await request(emu, 'POST', AUTH, { session_jwt: s.session_jwt })).status, 200);
      await ctl(emu, 'POST', '/keys/retire', { kid: oldKid });
      const k = await ctl(emu, 'GET', '/keys');
      assert.ok(!k.served.includes(oldKid));
      assert.ok(k.retired.includes(oldKid));
      assert.ok(!(await jwks()).keys.some((x) => x.kid === oldKid));
      const r = await request(emu, 'POST', AUTH, { session_jwt: s.session_jwt });
      assert.equal(r.status, 400);
      assert.equal(r.body.error_type, 'unable_to_parse_session_jwt');
      // A JWT can still be minted with the retired kid (to test clients).
      const j = (await ctl(emu, 'POST', '/jwt', { session_id: s.session_id, key: oldKid })).jwt;
      assert.equal(decodeJwt(j).header.kid, oldKid);
      assert.equal((await request(emu, 'POST', AUTH, { session_jwt: j })).status, 400);
      // The token path is unaffected.
      assert.equal((await request(emu, 'POST', AUTH, { session_token: s.session_token })).status, 200);
    });
  });

  describe('POST /emulator/jwt', () => {
    it('defaults: current key, 300 s lifetime, dummy user', async () => {
      const { jwt } = await ctl(emu, 'POST', '/jwt', {});
      const { header, payload } = verifyWithJwks(jwt, await jwks());
      assert.equal(header.kid, (await ctl(emu, 'GET', '/keys')).signing);
      assert.equal(payload.exp - payload.iat, 300);
      assert.match(payload.sub, /^user-test-/);
      assert.equal(payload['https://stytch.com/organization'], undefined);
    });

    it('dummy B2B member', async () => {
      const { jwt } = await ctl(emu, 'POST', '/jwt', { type: 'b2b' });
      const { payload } = decodeJwt(jwt);
      assert.match(payload.sub, /^member-test-/);
      assert.match(payload['https://stytch.com/organization'].organization_id, /^organization-test-/);
    });

    it('claims/header merge and null removal, iat, negative lifetime', async () => {
      const s = await ctl(emu, 'POST', '/sessions', { custom_claims: { a: 1 } });
      const { jwt } = await ctl(emu, 'POST', '/jwt', {
        session_id: s.session_id, iat: 1700000000, lifetime: -10,
        claims: { a: null, b: 'x', nbf: null }, header: { typ: null, cty: 'y' },
      });
      const { header, payload } = verifyWithJwks(jwt, await jwks());
      assert.deepEqual(Object.keys(header).sort(), ['alg', 'cty', 'kid']);
      assert.equal(payload.iat, 1700000000);
      assert.equal(payload.exp, 1699999990);
      assert.equal(payload.nbf, undefined);
      assert.equal(payload.a, undefined);
      assert.equal(payload.b, 'x');
      assert.equal(payload['https://stytch.com/session'].id, s.session_id);
    });

    it('signature none gives an empty signature; rogue key is not in the JWKS', async () => {
      const none = (await ctl(emu, 'POST', '/jwt', { signature: 'none' })).jwt;
      assert.ok(none.endsWith('.'));
      assert.equal(none.split('.').length, 3);
      const rogue = (await ctl(emu, 'POST', '/jwt', { key: 'rogue' })).jwt;
      assert.throws(() => verifyWithJwks(rogue, { keys: [] }));
      const set = await jwks();
      assert.ok(!set.keys.some((k) => k.kid === decodeJwt(rogue).header.kid));
    });

    it('unknown session_id or key is 400', async () => {
      assert.equal((await request(emu, 'POST', '/emulator/jwt', { session_id: 'nope' }, { auth: false })).status, 400);
      assert.equal((await request(emu, 'POST', '/emulator/jwt', { key: 'jwk-test-nope' }, { auth: false })).status, 400);
    });
  });

  it('POST /emulator/sessions/{id}/expire', async () => {
    const s = await ctl(emu, 'POST', '/sessions', {});
    const e = await ctl(emu, 'POST', `/sessions/${s.session_id}/expire`);
    assert.equal(e.ok, true);
    const r = await request(emu, 'POST', AUTH, { session_token: s.session_token });
    assert.equal(r.status, 404);
    assert.equal((await request(emu, 'POST', '/emulator/sessions/nope/expire', {}, { auth: false })).status, 404);
  });

  describe('counters, requests, reset', () => {
    beforeEach(async () => { await ctl(emu, 'POST', '/reset'); });

    it('counts each endpoint, consumer and B2B together plus b2b_* separately', async () => {
      const requestsOnly = ({ connections_accepted, connections_closed_idle, ...rest }) => { // eslint-disable-line no-unused-vars
        assert.ok(Number.isInteger(connections_accepted) && Number.isInteger(connections_closed_idle));
        return rest;
      };
      const c0 = requestsOnly(await ctl(emu, 'GET', '/counters'));
      assert.deepEqual(c0, { jwks: 0, authenticate: 0, revoke: 0, policy: 0, org_policy: 0,
        b2b_jwks: 0, b2b_authenticate: 0, b2b_revoke: 0, b2b_policy: 0, ...SIGNIN0, rate_limited: 0 });
      const s = await ctl(emu, 'POST', '/sessions', {});
      await request(emu, 'GET', jwksPath, undefined, { auth: false });
      await request(emu, 'GET', `/v1/b2b/sessions/jwks/${emu.b2bProjectId}`, undefined, { auth: false });
      await request(emu, 'POST', AUTH, { session_token: s.session_token });
      await request(emu, 'POST', AUTH, {}); // errors count too
      await request(emu, 'POST', '/v1/b2b/sessions/authenticate', {}, { auth: 'b2b' });
      await request(emu, 'GET', '/v1/rbac/policy');
      await request(emu, 'GET', '/v1/b2b/rbac/policy', undefined, { auth: 'b2b' });
      await request(emu, 'GET', '/v1/b2b/rbac/organizations/o1', undefined, { auth: 'b2b' });
      await request(emu, 'POST', '/v1/sessions/revoke', { session_id: s.session_id });
      const c = requestsOnly(await ctl(emu, 'GET', '/counters'));
      assert.deepEqual(c, { jwks: 2, authenticate: 3, revoke: 1, policy: 2, org_policy: 1,
        b2b_jwks: 1, b2b_authenticate: 1, b2b_revoke: 0, b2b_policy: 1, ...SIGNIN0, rate_limited: 0 });
    });

    it('GET /emulator/requests shows method, path, lowercased headers and body; limit; ring bound', async () => {
      await request(emu, 'POST', AUTH, { session_token: 't1' }, { headers: { 'X-Custom-Thing': 'abc' } });
      await request(emu, 'POST', '/v1/b2b/sessions/authenticate', { session_token: 't2' }, { auth: 'b2b' });
      await request(emu, 'POST', AUTH, 'not json');
      const all = (await ctl(emu, 'GET', '/requests?endpoint=authenticate')).requests;
      assert.equal(all.length, 3);
      assert.equal(all[0].method, 'POST');
      assert.equal(all[0].path, AUTH);
      assert.equal(all[0].headers['x-custom-thing'], 'abc');
      assert.match(all[0].headers.authorization, /^Basic /);
      assert.deepEqual(all[0].body, { session_token: 't1' });
      assert.equal(all[2].body, 'not json');
      const last = (await ctl(emu, 'GET', '/requests?endpoint=authenticate&limit=1')).requests;
      assert.equal(last.length, 1);
      assert.equal(last[0].body, 'not json');
      const b2b = (await ctl(emu, 'GET', '/requests?endpoint=b2b_authenticate')).requests;
      assert.deepEqual(b2b.map((x) => x.body), [{ session_token: 't2' }]);
      assert.deepEqual((await ctl(emu, 'GET', '/requests?endpoint=jwks')).requests, []);
      const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
      await Promise.all(Array.from({ length: 230 }, (_, i) => request(emu, 'POST', AUTH, { n: i }, { agent })));
      agent.destroy();
      const ring = (await ctl(emu, 'GET', '/requests?endpoint=authenticate&limit=1000')).requests;
      assert.equal(ring.length, 200);
      assert.equal((await ctl(emu, 'GET', '/counters')).authenticate, 233);
    });

    it('reset clears counters, requests and faults; {all:true} also sessions, keys, policies', async () => {
      const s = await ctl(emu, 'POST', '/sessions', {});
      await ctl(emu, 'POST', '/policy', { policy: { roles: [], resources: [], scopes: [] } });
      await ctl(emu, 'POST', '/faults', { endpoint: 'policy', status: 500 });
      await request(emu, 'POST', AUTH, { session_token: s.session_token });
      await ctl(emu, 'POST', '/reset');
      assert.equal((await ctl(emu, 'GET', '/counters')).authenticate, 0);
      assert.equal((await ctl(emu, 'GET', '/requests?endpoint=authenticate')).requests.length, 0);
      assert.equal((await request(emu, 'GET', '/v1/rbac/policy')).status, 200, 'fault cleared');
      assert.equal((await request(emu, 'POST', AUTH, { session_token: s.session_token })).status, 200, 'session kept');
      const kidBefore = (await ctl(emu, 'GET', '/keys')).signing;
      const r = await ctl(emu, 'POST', '/reset', { all: true });
      assert.equal(r.all, true);
      assert.equal((await request(emu, 'POST', AUTH, { session_token: s.session_token })).status, 404);
      const k = await ctl(emu, 'GET', '/keys');
      assert.notEqual(k.signing, kidBefore);
      assert.deepEqual(k.served, [k.signing]);
      assert.deepEqual((await request(emu, 'GET', '/v1/rbac/policy')).body.policy.roles.map((x) => x.role_id),
        ['stytch_user', 'editor', 'admin']);
    });
  });

  describe('faults', () => {
    beforeEach(async () => { await ctl(emu, 'POST', '/reset'); });
    after(async () => { await ctl(emu, 'DELETE', '/faults'); });

    it('status: a Stytch-shaped error body, until cleared', async () => {
      await ctl(emu, 'POST', '/faults', { endpoint: 'jwks', status: 503 });
      for (let i = 0; i < 3; i++) {
        const r = await request(emu, 'GET', jwksPath, undefined, { auth: false });
        assert.equal(r.status, 503);
        assert.equal(r.body.status_code, 503);
        assert.equal(r.body.error_type, 'server_unavailable');
        assert.ok(r.body.request_id && r.body.error_message);
      }
      // other endpoints unaffected
      assert.equal((await request(emu, 'GET', '/v1/rbac/policy')).status, 200);
      await ctl(emu, 'DELETE', '/faults');
      assert.equal((await request(emu, 'GET', jwksPath, undefined, { auth: false })).status, 200);
    });

    it('count: applies to the next N matching requests only; faulted requests are counted', async () => {
      await ctl(emu, 'POST', '/faults', { endpoint: 'authenticate', status: 500, count: 2 });
      const codes = [];
      for (let i = 0; i < 3; i++) codes.push((await request(emu, 'POST', AUTH, {})).status);
      assert.deepEqual(codes, [500, 500, 400]);
      assert.equal((await ctl(emu, 'GET', '/counters')).authenticate, 3);
      const r = await request(emu, 'POST', AUTH, {});
      assert.equal(r.body.error_type, 'no_session_arguments');
    });

    it('latency_ms delays the answer, then answers normally', async () => {
      await ctl(emu, 'POST', '/faults', { endpoint: 'policy', latency_ms: 300, count: 1 });
      let t = Date.now();
      const r = await request(emu, 'GET', '/v1/b2b/rbac/policy', undefined, { auth: 'b2b' });
      assert.ok(Date.now() - t >= 290, `took ${Date.now() - t}`);
      assert.equal(r.status, 200);
      assert.ok(r.body.policy);
      t = Date.now();
      await request(emu, 'GET', '/v1/b2b/rbac/policy', undefined, { auth: 'b2b' });
      assert.ok(Date.now() - t < 250);
    });

    it('latency with status', async () => {
      await ctl(emu, 'POST', '/faults', { endpoint: 'org_policy', latency_ms: 200, status: 429 });
      const t = Date.now();
      const r = await request(emu, 'GET', '/v1/b2b/rbac/organizations/o', undefined, { auth: 'b2b' });
      assert.ok(Date.now() - t >= 190);
      assert.equal(r.status, 429);
      assert.equal(r.body.error_type, 'too_many_requests');
    });

    it('body: malformed JSON, raw string, oversized 10 MB valid JSON', async () => {
      await ctl(emu, 'POST', '/faults', { endpoint: 'authenticate', body: 'malformed', count: 1 });
      let r = await request(emu, 'POST', AUTH, {});
      assert.equal(r.status, 200);
      assert.equal(r.body, undefined, 'not parseable');
      assert.ok(r.raw.startsWith('{'));
      await ctl(emu, 'POST', '/faults', { endpoint: 'authenticate', body: 'hello', status: 502, count: 1 });
      r = await request(emu, 'POST', AUTH, {});
      assert.equal(r.status, 502);
      assert.equal(r.raw, 'hello');
      await ctl(emu, 'POST', '/faults', { endpoint: 'jwks', body: 'oversized', count: 1 });
      r = await request(emu, 'GET', jwksPath, undefined, { auth: false });
      assert.equal(r.status, 200);
      assert.ok(r.raw.length >= 10 * 1024 * 1024, `length ${r.raw.length}`);
      assert.ok(r.body && r.body.request_id, 'valid JSON');
    });

    it('drop: the socket is destroyed without an answer', async () => {
      await ctl(emu, 'POST', '/faults', { endpoint: 'revoke', drop: true, count: 1 });
      await assert.rejects(request(emu, 'POST', '/v1/sessions/revoke', { session_id: 'x' }), /socket hang up|ECONNRESET/);
      const r = await request(emu, 'POST', '/v1/sessions/revoke', { session_id: 'x' });
      assert.equal(r.status, 404);
    });

    it('"*" matches every API endpoint; a specific fault wins; same endpoint replaces', async () => {
      await ctl(emu, 'POST', '/faults', { endpoint: '*', status: 500 });
      await ctl(emu, 'POST', '/faults', { endpoint: 'jwks', status: 502 });
      await ctl(emu, 'POST', '/faults', { endpoint: 'jwks', status: 504 });
      assert.equal((await request(emu, 'GET', '/v1/rbac/policy')).status, 500);
      assert.equal((await request(emu, 'POST', '/v1/b2b/sessions/authenticate', {}, { auth: 'b2b' })).status, 500);
      assert.equal((await request(emu, 'GET', jwksPath, undefined, { auth: false })).status, 504);
      assert.equal((await ctl(emu, 'GET', '/health')).ok, true, 'control API never faulted');
      const list = await ctl(emu, 'GET', '/faults');
      assert.deepEqual(Object.keys(list.faults).sort(), ['*', 'jwks']);
      await ctl(emu, 'DELETE', '/faults');
      assert.equal((await request(emu, 'GET', '/v1/rbac/policy')).status, 200);
    });

    it('rejects bad fault definitions', async () => {
      for (const b of [{ endpoint: 'nope' }, { endpoint: 'jwks', status: 42 }, { endpoint: 'jwks', count: 0 }]) {
        assert.equal((await request(emu, 'POST', '/emulator/faults', b, { auth: false })).status, 400, JSON.stringify(b));
      }
    });
  });

  it('POST /emulator/refuse: connections refused, then served again on the same port', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    assert.equal((await request(emu, 'GET', '/emulator/health', undefined, { auth: false, agent })).status, 200);
    const idle = net.connect(emu.port, '127.0.0.1');
    await new Promise((res) => idle.on('connect', res));
    const idleClosed = new Promise((res) => idle.on('close', res));
    const r = await request(emu, 'POST', '/emulator/refuse', { ms: 600 }, { auth: false });
    assert.equal(r.status, 200);
    await sleep(100);
    const refused = await new Promise((resolve) => {
      const s = net.connect(emu.port, '127.0.0.1');
      s.on('connect', () => { s.destroy(); resolve(false); });
      s.on('error', (e) => resolve(e.code));
    });
    assert.equal(refused, 'ECONNREFUSED');
    await idleClosed; // the open connection was destroyed too
    await sleep(800);
    assert.deepEqual(await ctl(emu, 'GET', '/health'), { ok: true });
    agent.destroy();
  });
});
