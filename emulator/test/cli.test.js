'use strict';
// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// Command line: ready line, defaults, options, TLS, --state, signals.
const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const tls = require('node:tls');
const crypto = require('node:crypto');
const { spawnSync } = require('node:child_process');
const { startEmulator, request, ctl, verifyWithJwks, EMULATOR } = require('../lib/testlib.js');

describe('command line', () => {
  it('prints exactly one ready line with the defaults and the real port', async () => {
    const emu = await startEmulator();
    try {
      assert.equal(emu.lines.length, 1);
      assert.match(emu.lines[0],
        /^stytch-emulator listening on http:\/\/127\.0\.0\.1:\d+ project_id=\S+ secret=\S+ b2b_project_id=\S+ b2b_secret=\S+ public_token=public-token-test-\S+ b2b_public_token=public-token-test-\S+$/);
      assert.equal(emu.projectId, 'project-test-00000000-0000-0000-0000-000000000000');
      assert.equal(emu.secret, 'secret-test-emulator');
      assert.equal(emu.b2bProjectId, 'project-test-11111111-1111-1111-1111-111111111111');
      assert.equal(emu.b2bSecret, 'secret-test-emulator-b2b');
      // the parsers of the older line (t/lib/StytchTest.pm, scripts/demo) still find today's fields first
      assert.match(emu.lines[0], / project_id=project-test-0{8}-0{4}-0{4}-0{4}-0{12} secret=secret-test-emulator /);
      assert.ok(emu.port > 0);
      assert.deepEqual(await ctl(emu, 'GET', '/health'), { ok: true });
    } finally {
      const { code } = await emu.stop('SIGTERM');
      assert.equal(code, 0);
    }
  });

  it('exits 0 on SIGINT', async () => {
    const emu = await startEmulator();
    const { code, signal } = await emu.stop('SIGINT');
    assert.equal(code, 0);
    assert.equal(signal, null);
  });

  it('--project-id and --secret (also --opt=value form) are used for auth and issuer', async () => {
    const emu = await startEmulator(['--project-id=project-live-12345678-1234-1234-1234-123456789abc', '--secret', 's3cret']);
    try {
      assert.equal(emu.projectId, 'project-live-12345678-1234-1234-1234-123456789abc');
      assert.equal(emu.secret, 's3cret');
      const s = await ctl(emu, 'POST', '/sessions', {});
      assert.match(s.session_id, /^session-live-/);
      const r = await request(emu, 'POST', '/v1/sessions/authenticate', { session_token: s.session_token });
      assert.equal(r.status, 200, r.raw);
      const jwks = (await request(emu, 'GET', `/v1/sessions/jwks/${emu.projectId}`)).body;
      const { payload } = verifyWithJwks(r.body.session_jwt, jwks);
      assert.equal(payload.iss, `stytch.com/${emu.projectId}`);
      assert.deepEqual(payload.aud, [emu.projectId]);
      const bad = await request(emu, 'POST', '/v1/sessions/authenticate', { session_token: s.session_token },
        { auth: 'Basic ' + Buffer.from('project-test-00000000-0000-0000-0000-000000000000:secret-test-emulator').toString('base64') });
      assert.equal(bad.status, 401);
      assert.equal((await request(emu, 'GET', '/v1/sessions/jwks/project-test-00000000-0000-0000-0000-000000000000')).status, 400);
    } finally { await emu.stop(); }
  });

  it('--b2b-project-id and --b2b-secret name the B2B project', async () => {
    const emu = await startEmulator(['--b2b-project-id', 'project-test-22222222-2222-2222-2222-222222222222',
      '--b2b-secret=b2b-s3cret']);
    try {
      assert.equal(emu.b2bProjectId, 'project-test-22222222-2222-2222-2222-222222222222');
      assert.equal(emu.b2bSecret, 'b2b-s3cret');
      const s = await ctl(emu, 'POST', '/sessions', { type: 'b2b' });
      assert.equal(s.project_id, emu.b2bProjectId);
      const r = await request(emu, 'POST', '/v1/b2b/sessions/authenticate', { session_token: s.session_token }, { auth: 'b2b' });
      assert.equal(r.status, 200, r.raw);
    } finally { await emu.stop(); }
  });

  it('bad arguments exit 2 with usage', () => {
    for (const args of [[], ['--port'], ['--port', 'x'], ['--port', '0', '--bogus'], ['--port', '0', '--tls-cert', 'a'],
      ['--port', '0', '--idle-timeout', '-1'], ['--port', '0', '--b2b-project-id', 'project-test-00000000-0000-0000-0000-000000000000'],
      ['--port', '0', '--secret', 'with space']]) {
      const r = spawnSync(process.execPath, [EMULATOR, ...args], { encoding: 'utf8' });
      assert.equal(r.status, 2, args.join(' '));
      assert.match(r.stderr, /usage/);
    }
  });

  it('a port in use fails with exit 1', async () => {
    const emu = await startEmulator();
    try {
      const r = spawnSync(process.execPath, [EMULATOR, '--port', String(emu.port)], { encoding: 'utf8', timeout: 10000 });
      assert.equal(r.status, 1);
      assert.match(r.stderr, /EADDRINUSE/);
    } finally { await emu.stop(); }
  });

  it('--tls: self-signed certificate for 127.0.0.1 and localhost, printed first', async () => {
    const emu = await startEmulator(['--tls']);
    let certFile;
    try {
      assert.equal(emu.lines.length, 2);
      assert.match(emu.lines[0], /^certificate: \//);
      assert.match(emu.lines[1], /^stytch-emulator listening on https:\/\/127\.0\.0\.1:\d+ /);
      certFile = emu.cert;
      const pem = fs.readFileSync(certFile, 'utf8');
      const cert = new crypto.X509Certificate(pem);
      assert.match(cert.subjectAltName, /DNS:localhost/);
      assert.match(cert.subjectAltName, /IP Address:127\.0\.0\.1/);
      assert.ok(cert.checkHost('localhost'));
      assert.ok(cert.checkIP('127.0.0.1'));
      assert.ok(cert.verify(cert.publicKey));
      // Real TLS verification against this CA, by IP and by name.
      for (const servername of [undefined, 'localhost']) {
        await new Promise((resolve, reject) => {
          const s = tls.connect({ host: '127.0.0.1', port: emu.port, ca: pem, servername }, () => {
            assert.equal(s.authorized, true);
            s.end();
            resolve();
          });
          s.on('error', reject);
        });
      }
      // Without the CA the handshake fails.
      await assert.rejects(new Promise((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port: emu.port }, resolve);
        s.on('error', reject);
      }), /self.signed|unable to verify/i);
      const s = await ctl(emu, 'POST', '/sessions', {});
      const r = await request(emu, 'POST', '/v1/sessions/authenticate', { session_jwt: s.session_jwt });
      assert.equal(r.status, 200);
    } finally {
      assert.equal((await emu.stop()).code, 0);
    }
    assert.equal(fs.existsSync(certFile), false, 'generated cert removed on exit');
  });

  it('--tls-cert/--tls-key serve the given certificate', async () => {
    const gen = await startEmulator(['--tls']);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emu-cli-'));
    const cert = path.join(dir, 'c.pem');
    const key = path.join(dir, 'k.pem');
    fs.copyFileSync(gen.cert, cert);
    fs.copyFileSync(path.join(path.dirname(gen.cert), 'key.pem'), key);
    await gen.stop();
    const emu = await startEmulator(['--tls-cert', cert, '--tls-key', key]);
    try {
      assert.equal(emu.scheme, 'https');
      assert.equal(emu.lines.length, 1, 'no certificate line when a cert is given');
      emu.cert = cert;
      assert.deepEqual((await request(emu, 'GET', '/emulator/health', undefined, { auth: false })).body, { ok: true });
    } finally { await emu.stop(); fs.rmSync(dir, { recursive: true }); }
  });

  it('--state persists keys, sessions and policies across restarts', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emu-state-'));
    const file = path.join(dir, 'state.json');
    try {
      let emu = await startEmulator(['--state', file]);
      const s = await ctl(emu, 'POST', '/sessions', { roles: ['stytch_user', 'editor'], custom_claims: { x: 1 } });
      const b = await ctl(emu, 'POST', '/sessions', { type: 'b2b', organization_slug: 'acme' });
      const rot = await ctl(emu, 'POST', '/keys/rotate');
      await ctl(emu, 'POST', '/policy', { policy: { roles: [{ role_id: 'editor', description: '', permissions: [{ resource_id: 'files', actions: ['read'] }] }], resources: [], scopes: [] } });
      await ctl(emu, 'POST', '/org-policy', { organization_id: b.organization_id, org_policy: { roles: [{ role_id: 'r', description: '', permissions: [] }] } });
      const v = await ctl(emu, 'POST', '/sessions', {});
      await request(emu, 'POST', '/v1/sessions/revoke', { session_id: v.session_id });
      assert.equal((await emu.stop()).code, 0);
      const st = JSON.parse(fs.readFileSync(file, 'utf8'));
      assert.equal(st.version, 2);
      assert.equal(st.projects.find((p) => p.project_id === emu.projectId).keys.length, 2);

      emu = await startEmulator(['--state', file]);
      try {
        const keys = await ctl(emu, 'GET', '/keys');
        assert.equal(keys.signing, rot.kid);
        assert.deepEqual(keys.served.sort(), [rot.kid, rot.previous].sort());
        const r = await request(emu, 'POST', '/v1/sessions/authenticate', { session_jwt: s.session_jwt,
          authorization_check: { resource_id: 'files', action: 'read' } });
        assert.equal(r.status, 200, r.raw);
        assert.deepEqual(r.body.session.custom_claims, { x: 1 });
        const jwks = (await request(emu, 'GET', `/v1/sessions/jwks/${emu.projectId}`)).body;
        assert.equal(verifyWithJwks(r.body.session_jwt, jwks).header.kid, rot.kid);
        const rb = await request(emu, 'POST', '/v1/b2b/sessions/authenticate', { session_token: b.session_token },
          { auth: 'b2b' });
        assert.equal(rb.status, 200);
        assert.equal(rb.body.organization.organization_slug, 'acme');
        const op = await request(emu, 'GET', `/v1/b2b/rbac/organizations/${b.organization_id}`, undefined, { auth: 'b2b' });
        assert.deepEqual(op.body.org_policy.roles.map((x) => x.role_id), ['r']);
        assert.equal((await request(emu, 'POST', '/v1/sessions/authenticate', { session_token: v.session_token })).status, 404);
      } finally { await emu.stop(); }
    } finally { fs.rmSync(dir, { recursive: true, force: true }); }
  });

  it('--state keeps the projects tests made, with their keys and sessions', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emu-state-'));
    const file = path.join(dir, 'state.json');
    try {
      let emu = await startEmulator(['--state', file]);
      const p = await ctl(emu, 'POST', '/projects', { vertical: 'b2b', secret: 'kept-secret' });
      const s = await ctl(emu, 'POST', '/sessions', { project_id: p.project_id, organization_slug: 'kept' });
      const kid = (await ctl(emu, 'GET', `/keys?project_id=${p.project_id}`)).signing;
      assert.equal((await emu.stop()).code, 0);
      emu = await startEmulator(['--state', file]);
      try {
        const again = await ctl(emu, 'GET', `/projects/${p.project_id}`);
        assert.equal(again.secret, 'kept-secret');
        assert.equal(again.vertical, 'b2b');
        assert.equal((await ctl(emu, 'GET', `/keys?project_id=${p.project_id}`)).signing, kid);
        const r = await request(emu, 'POST', '/v1/b2b/sessions/authenticate', { session_jwt: s.session_jwt },
          { auth: 'Basic ' + Buffer.from(`${p.project_id}:kept-secret`).toString('base64') });
        assert.equal(r.status, 200, r.raw);
        assert.equal(r.body.organization.organization_slug, 'kept');
      } finally { await emu.stop(); }
    } finally { fs.rmSync(dir, { recursive: true, force: true }); }
  });

  it('--state still reads a version 1 file (the default project alone)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emu-state-'));
    const file = path.join(dir, 'state.json');
    try {
      let emu = await startEmulator(['--state', file]);
      const s = await ctl(emu, 'POST', '/sessions', {});
      assert.equal((await emu.stop()).code, 0);
      const v2 = JSON.parse(fs.readFileSync(file, 'utf8'));
      const { secret, vertical, builtin, ...v1 } = v2.projects[0]; // eslint-disable-line no-unused-vars
      fs.writeFileSync(file, JSON.stringify({ version: 1, ...v1 }));
      emu = await startEmulator(['--state', file]);
      try {
        assert.equal((await request(emu, 'POST', '/v1/sessions/authenticate', { session_jwt: s.session_jwt })).status, 200);
      } finally { await emu.stop(); }
    } finally { fs.rmSync(dir, { recursive: true, force: true }); }
  });
});
