'use strict';
// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// Small stateless helpers shared by the emulator's modules: identifiers in
// Stytch's formats, RFC 3339 times, base64url, JSON answers.

const crypto = require('node:crypto');

const uuid = () => crypto.randomUUID();

// Stytch puts the environment in every identifier: user-test-..., jwk-live-...
function envOf(projectId) {
  return projectId.startsWith('project-live-') ? 'live' : 'test';
}
const newId = (env, prefix) => `${prefix}-${env}-${uuid()}`;
const requestId = (env) => `request-id-${env}-${uuid()}`;

// Stytch's examples show whole seconds with a Z and no fraction.
function iso(ms) {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19) + 'Z';
}

// A time given to a control endpoint: RFC 3339 text or epoch seconds.
function parseTime(v, what) {
  if (typeof v === 'number' && Number.isFinite(v)) return v * 1000;
  if (typeof v === 'string') {
    const t = Date.parse(v);
    if (Number.isFinite(t)) return t;
  }
  throw new Error(`${what} must be an RFC 3339 time or epoch seconds`);
}

const b64url = (buf) => Buffer.from(buf).toString('base64url');
function b64urlPadded(buf) {
  const s = b64url(buf);
  return s + '='.repeat((4 - (s.length % 4)) % 4);
}

const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const isStrList = (v) => Array.isArray(v) && v.every((x) => typeof x === 'string');

// A secret of 44 base64url characters, the length of Stytch's session
// tokens and client secrets.
const secretToken = () => crypto.randomBytes(33).toString('base64url');

function send(res, status, body, extraHeaders) {
  if (res.destroyed) return;
  const headers = { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) };
  if (extraHeaders) Object.assign(headers, extraHeaders);
  res.writeHead(status, headers);
  res.end(body);
}
const sendJson = (res, status, obj) => send(res, status, JSON.stringify(obj));

module.exports = {
  uuid, envOf, newId, requestId, iso, parseTime, b64url, b64urlPadded, isObj, isStrList,
  secretToken, send, sendJson,
};
