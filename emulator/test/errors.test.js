'use strict';
// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// Stytch's real errors: faults that answer a named Stytch error with its
// status and body, a CDN's HTML page, and each project's rate limits.
const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { startEmulator, request, ctl } = require('../lib/testlib.js');

const AUTH = '/v1/sessions/authenticate';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function assertStytchError(r, status, type) {
  assert.equal(r.status, status, r.raw);
  assert.match(r.headers['content-type'], /^application\/json/);
  assert.deepEqual(Object.keys(r.body).sort(), ['error_message', 'error_type', 'error_url', 'request_id', 'status_code']);
  assert.equal(r.body.status_code, status);
  assert.equal(r.body.error_type, type);
  assert.ok(r.body.error_message.length > 0);
  assert.match(r.body.request_id, /^request-id-test-/);
  assert.equal(r.body.error_url, `https://stytch.com/docs/api/errors/${status}#${type}`);
}

describe('Stytch errors', () => {
  let emu;
  let s;
  before(async () => { emu = await startEmulator(); s = await ctl(emu, 'POST', '/sessions', {}); });
  after(async () => { await emu.stop(); });
  beforeEach(async () => { await ctl(emu, 'POST', '/reset'); });

  describe('faults with a named error', () => {
    const named = [
      ['unauthorized_credentials', 401], ['use_https', 403], ['unauthorized_project_id_test', 401],
      ['unauthorized_project_id_live', 401], ['invalid_b2b_endpoint', 400], ['invalid_consumer_endpoint', 400],
      ['route_not_found', 404], ['too_many_requests', 429], ['session_not_found', 404],
      ['invalid_session_token', 400], ['unable_to_parse_session_jwt', 400], ['internal_server_error', 500],
      ['server_unavailable', 503],
    ];
    for (const [type, status] of named) {
      it(`${type}: ${status} with Stytch's error body`, async () => {
        await ctl(emu, 'POST', '/faults', { endpoint: 'authenticate', error: type, count: 1 });
        assertStytchError(await request(emu, 'POST', AUTH, { session_token: s.session_token }), status, type);
        assert.equal((await request(emu, 'POST', AUTH, { session_token: s.session_token })).status, 200, 'count 1');
      });
    }

    it('any endpoint, and the status may be overridden', async () => {
      await ctl(emu, 'POST', '/faults', { endpoint: 'jwks', error: 'internal_server_error', status: 502 });
      assertStytchError(await request(emu, 'GET', `/v1/sessions/jwks/${emu.projectId}`, undefined, { auth: false }),
        502, 'internal_server_error');
      await ctl(emu, 'POST', '/faults', { endpoint: '*', error: 'use_https' });
      assertStytchError(await request(emu, 'GET', '/v1/rbac/policy'), 403, 'use_https');
    });

    it('rejects an unknown error type, or one given with a body', async () => {
      for (const b of [{ endpoint: 'authenticate', error: 'made_up_error' },
        { endpoint: 'authenticate', error: 'session_not_found', body: 'x' },
        { endpoint: 'authenticate', html: 42 }]) {
        assert.equal((await request(emu, 'POST', '/emulator/faults', b, { auth: false })).status, 400, JSON.stringify(b));
      }
    });
  });

  describe('a CDN error page', () => {
    it('html: true gives an HTML page with the status (502 by default)', async () => {
      await ctl(emu, 'POST', '/faults', { endpoint: 'authenticate', html: true, count: 2 });
      let r = await request(emu, 'POST', AUTH, { session_token: s.session_token });
      assert.equal(r.status, 502);
      assert.match(r.headers['content-type'], /^text\/html/);
      assert.match(r.raw, /<html>.*502 Bad Gateway/s);
      assert.equal(r.body, undefined, 'not JSON');
      await ctl(emu, 'POST', '/faults', { endpoint: 'authenticate', html: '<html>custom</html>', status: 520 });
      r = await request(emu, 'POST', AUTH, { session_token: s.session_token });
      assert.equal(r.status, 520);
      assert.equal(r.raw, '<html>custom</html>');
      assert.match(r.headers['content-type'], /^text\/html/);
    });
  });

  describe('rate limits', () => {
    const settings = (b) => ctl(emu, 'POST', `/projects/${emu.projectId}/settings`, b);
    after(async () => { await settings({ rate_limit: null }); });

    it('authenticate: above N a second, 429 too_many_requests, counted', async () => {
      const v = await settings({ rate_limit: { authenticate: 3 } });
      assert.deepEqual(v.rate_limit, { authenticate: 3 });
      const codes = [];
      for (let i = 0; i < 5; i++) codes.push(await request(emu, 'POST', AUTH, { session_token: s.session_token }));
      assert.deepEqual(codes.map((r) => r.status), [200, 200, 200, 429, 429]);
      assertStytchError(codes[3], 429, 'too_many_requests');
      assert.equal((await request(emu, 'GET', '/v1/rbac/policy')).status, 200, 'other endpoints are not limited');
      const c = await ctl(emu, 'GET', '/counters');
      assert.equal(c.rate_limited, 2);
      assert.equal(c.authenticate, 5, 'refused requests are counted as requests too');
      await sleep(1050);
      assert.equal((await request(emu, 'POST', AUTH, { session_token: s.session_token })).status, 200, 'a second later');
    });

    it('all: every endpoint of the project; other projects are not limited', async () => {
      await settings({ rate_limit: { authenticate: null, all: 2 } });
      const other = await ctl(emu, 'POST', '/projects', { vertical: 'consumer' });
      const codes = [];
      codes.push((await request(emu, 'GET', '/v1/rbac/policy')).status);
      codes.push((await request(emu, 'POST', AUTH, { session_token: s.session_token })).status);
      codes.push((await request(emu, 'GET', '/v1/rbac/policy')).status);
      assert.deepEqual(codes, [200, 200, 429]);
      const auth = 'Basic ' + Buffer.from(`${other.project_id}:${other.secret}`).toString('base64');
      for (let i = 0; i < 3; i++) assert.equal((await request(emu, 'GET', '/v1/rbac/policy', undefined, { auth })).status, 200);
    });

    it('concurrent bursts: exactly N get through', async () => {
      await settings({ rate_limit: { all: null, authenticate: 10 } });
      const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });
      const rs = await Promise.all(Array.from({ length: 25 },
        () => request(emu, 'POST', AUTH, { session_token: s.session_token }, { agent })));
      agent.destroy();
      assert.equal(rs.filter((r) => r.status === 200).length, 10);
      assert.equal(rs.filter((r) => r.status === 429).length, 15);
    });

    it('rejects bad settings', async () => {
      for (const v of [0, -1, 1.5, 'x', { authenticate: 0 }, { everything: 1 }, [1]]) {
        const r = await request(emu, 'POST', `/emulator/projects/${emu.projectId}/settings`, { rate_limit: v }, { auth: false });
        assert.equal(r.status, 400, JSON.stringify(v));
      }
    });
  });
});
