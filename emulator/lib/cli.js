'use strict';
// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// The command line: options, the TLS certificate, the ready line, --state
// loading and saving, and the signals that stop the emulator.

const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const x509 = require('./x509.js');
const store = require('./store.js');
const server = require('./server.js');

const USAGE = 'usage: stytch-emulator --port PORT [--host 127.0.0.1] [--tls] ' +
  '[--tls-cert F --tls-key F] [--project-id ID] [--secret S] [--b2b-project-id ID] [--b2b-secret S]\n' +
  '       [--state FILE] [--idle-timeout MS]\n';

function usage(msg) {
  if (msg) process.stderr.write(`stytch-emulator: ${msg}\n`);
  process.stderr.write(USAGE);
  process.exit(msg ? 2 : 0);
}

function parseArgs(argv) {
  const o = {
    host: '127.0.0.1', port: null, tls: false, tlsCert: null, tlsKey: null,
    projectId: 'project-test-00000000-0000-0000-0000-000000000000',
    secret: 'secret-test-emulator',
    b2bProjectId: 'project-test-11111111-1111-1111-1111-111111111111',
    b2bSecret: 'secret-test-emulator-b2b',
    state: null, idleTimeout: 65000,
  };
  const withValue = { '--port': 'port', '--host': 'host', '--tls-cert': 'tlsCert',
    '--tls-key': 'tlsKey', '--project-id': 'projectId', '--secret': 'secret', '--state': 'state',
    '--idle-timeout': 'idleTimeout', '--b2b-project-id': 'b2bProjectId', '--b2b-secret': 'b2bSecret' };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let v;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) { v = a.slice(eq + 1); a = a.slice(0, eq); }
    if (a === '--help' || a === '-h') usage();
    else if (a === '--tls') o.tls = true;
    else if (withValue[a]) {
      if (v === undefined) { v = argv[++i]; if (v === undefined) usage(`${a} needs a value`); }
      o[withValue[a]] = v;
    } else usage(`unknown argument ${a}`);
  }
  if (o.port === null) usage('--port is required');
  o.port = Number(o.port);
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) usage('bad --port');
  o.idleTimeout = Number(o.idleTimeout);
  if (!Number.isInteger(o.idleTimeout) || o.idleTimeout < 0) usage('bad --idle-timeout');
  if ((o.tlsCert && !o.tlsKey) || (!o.tlsCert && o.tlsKey)) usage('--tls-cert and --tls-key go together');
  if (o.projectId === o.b2bProjectId) usage('--project-id and --b2b-project-id must differ');
  for (const [flag, v] of [['--project-id', o.projectId], ['--b2b-project-id', o.b2bProjectId]]) {
    if (!/^[A-Za-z0-9_-]+$/.test(v)) usage(`bad ${flag}`);
  }
  for (const [flag, v] of [['--secret', o.secret], ['--b2b-secret', o.b2bSecret]]) {
    if (!/^[\x21-\x7e]+$/.test(v)) usage(`bad ${flag}`);
  }
  if (o.tlsCert) o.tls = true;
  return o;
}

// A self-signed certificate for localhost, written to a fresh directory
// (removed on a clean exit) and announced on the first output line.
function tlsOptions(st, o) {
  if (o.tlsCert) return { cert: fs.readFileSync(o.tlsCert), key: fs.readFileSync(o.tlsKey) };
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const der = x509.selfSigned({
    privateKey, publicKey, subject: [[x509.OID.commonName, 'localhost'], [x509.OID.organization, 'Stytch emulator']],
    days: 825, ca: true, keyUsage: 'tls', dnsNames: ['localhost'], ips: ['127.0.0.1', '::1'],
  });
  st.net.tmpTlsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stytch-emulator-tls-'));
  const certFile = path.join(st.net.tmpTlsDir, 'cert.pem');
  const keyFile = path.join(st.net.tmpTlsDir, 'key.pem');
  const cert = x509.toPem(der);
  const key = privateKey.export({ type: 'pkcs8', format: 'pem' });
  fs.writeFileSync(certFile, cert);
  fs.writeFileSync(keyFile, key, { mode: 0o600 });
  process.stdout.write(`certificate: ${certFile}\n`);
  return { cert, key };
}

// Today's fields first, so that older parsers keep working.
function readyLine(st) {
  const p = store.defaultProject(st);
  const b = store.b2bProject(st);
  return `stytch-emulator listening on ${st.baseUrl} project_id=${p.project_id} secret=${p.secret}` +
    ` b2b_project_id=${b.project_id} b2b_secret=${b.secret}` +
    ` public_token=${p.public_token} b2b_public_token=${b.public_token}\n`;
}

function main(argv) {
  const o = parseArgs(argv);
  const st = store.createState(o);
  if (o.state && fs.existsSync(o.state)) store.loadState(st, o.state);

  const srv = server.createServer(st, o.tls ? tlsOptions(st, o) : null);
  let first = true;
  srv.on('listening', () => {
    if (!first) return;
    first = false;
    st.net.boundPort = srv.address().port;
    const hostForUrl = o.host.includes(':') ? `[${o.host}]` : o.host;
    st.baseUrl = `${o.tls ? 'https' : 'http'}://${hostForUrl}:${st.net.boundPort}`;
    if (o.state) store.saveState(st);
    process.stdout.write(readyLine(st));
  });
  srv.on('error', (e) => {
    process.stderr.write(`stytch-emulator: ${e.message}\n`);
    if (first) process.exit(1);
    // A re-listen after /emulator/refuse failed: try again shortly.
    setTimeout(() => srv.listen(st.net.boundPort, o.host), 100);
  });
  srv.listen(o.port, o.host);

  const stop = () => {
    try { if (st.saveTimer) clearTimeout(st.saveTimer); store.saveState(st); } catch (e) {
      process.stderr.write(`stytch-emulator: saving state: ${e.message}\n`);
    }
    if (st.net.tmpTlsDir) fs.rmSync(st.net.tmpTlsDir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

module.exports = { main, parseArgs };
