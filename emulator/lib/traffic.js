'use strict';
// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// What happens to API traffic besides its answer: counting and recording
// requests for tests, the faults tests inject (latency, a named Stytch
// error, a status or body of their choosing, a CDN's HTML page, a dropped
// connection) and each project's rate limits.

const { ERRORS, STATUS_ERROR_TYPE, errorBody, htmlErrorPage } = require('./errors.js');

const RING = 200;

// The names API endpoints are counted, recorded and faulted by; each
// route in routes.js names one.
const ENDPOINTS = ['jwks', 'authenticate', 'revoke', 'policy', 'org_policy',
  'magic_links_send', 'magic_links_authenticate', 'otps_send', 'otps_authenticate', 'm2m_clients', 'm2m_token',
  // the frontend SDK's (sdk-frontend.js)
  'sdk_bootstrap', 'sdk_events', 'sdk_otps_send', 'sdk_otps_authenticate', 'sdk_magic_links_send',
  'sdk_magic_links_authenticate', 'sdk_authenticate', 'sdk_revoke', 'sdk_users_me',
  // Connected Apps (connected-apps.js)
  'connected_apps'];

function resetTraffic(st) {
  st.counters = { jwks: 0, authenticate: 0, revoke: 0, policy: 0, org_policy: 0,
    b2b_jwks: 0, b2b_authenticate: 0, b2b_revoke: 0, b2b_policy: 0 };
  for (const e of ENDPOINTS) if (st.counters[e] === undefined) st.counters[e] = 0;
  Object.assign(st.counters, { rate_limited: 0, connections_accepted: 0, connections_closed_idle: 0 });
  st.recorded = {};
  for (const e of ENDPOINTS) st.recorded[e] = { items: [], next: 0 };
  st.faults.clear();
  for (const p of st.projects.values()) p.rateWindows = { all: [], authenticate: [] };
}

function count(st, endpoint, b2b) {
  st.counters[endpoint]++;
  if (b2b && st.counters['b2b_' + endpoint] !== undefined) st.counters['b2b_' + endpoint]++;
}

function record(st, endpoint, req, raw) {
  const r = st.recorded[endpoint];
  const item = { method: req.method, path: req.url, headers: req.headers, raw };
  if (r.items.length < RING) r.items.push(item);
  else r.items[r.next] = item;
  r.next = (r.next + 1) % RING;
}

function recordedList(st, endpoint) {
  const r = st.recorded[endpoint];
  if (r.items.length < RING) return r.items.slice();
  return [...r.items.slice(r.next), ...r.items.slice(0, r.next)];
}

// A fault definition from POST /emulator/faults, checked.
function parseFault(b) {
  const f = {};
  if (b.latency_ms !== undefined) f.latency_ms = Number(b.latency_ms);
  if (b.status !== undefined) {
    f.status = Number(b.status);
    if (!Number.isInteger(f.status) || f.status < 100 || f.status > 599) throw new Error('bad status');
  }
  if (b.body !== undefined) {
    if (typeof b.body !== 'string') throw new Error('body must be a string');
    f.body = b.body;
  }
  if (b.error !== undefined) {
    if (typeof b.error !== 'string' || !ERRORS[b.error]) {
      throw new Error(`error must be one of ${Object.keys(ERRORS).join(', ')}`);
    }
    f.error = b.error;
  }
  if (b.html !== undefined && b.html !== false) {
    if (b.html !== true && typeof b.html !== 'string') throw new Error('html must be true or a string');
    f.html = b.html;
  }
  if ([f.body, f.error, f.html].filter((x) => x !== undefined).length > 1) {
    throw new Error('give one of body, error and html');
  }
  if (b.drop) f.drop = true;
  if (b.count !== undefined) {
    f.count = Number(b.count);
    if (!Number.isInteger(f.count) || f.count < 1) throw new Error('count must be a positive integer');
  }
  return f;
}

// The fault for this endpoint, if any; a specific one wins over "*".
function takeFault(st, endpoint) {
  let key = endpoint;
  let f = st.faults.get(endpoint);
  if (!f) { f = st.faults.get('*'); key = '*'; }
  if (!f) return null;
  if (f.count !== undefined) {
    f.count--;
    if (f.count <= 0) st.faults.delete(key);
  }
  return f;
}

// Valid JSON of 10 MB, made once.
function oversizedBody(st, status) {
  if (!st.cache.oversized) {
    const pad = '"' + 'x'.repeat(1022) + '",';
    st.cache.oversized = Buffer.from(pad.repeat(10 * 1024) + '"end"]}');
  }
  return Buffer.concat([Buffer.from(`{"request_id":"request-id-test-oversized","status_code":${status},"padding":[`),
    st.cache.oversized]);
}

// Answers as the fault says, or calls run() when the fault only delays.
function applyFault(st, env, f, req, res, run) {
  if (f.drop) { req.socket.destroy(); return; }
  if (f.error !== undefined) {
    const [known, message] = ERRORS[f.error];
    const status = f.status !== undefined ? f.status : known;
    answer(res, status, 'application/json', errorBody(env, status, f.error, message));
    return;
  }
  if (f.html !== undefined) {
    const status = f.status !== undefined ? f.status : 502;
    answer(res, status, 'text/html; charset=UTF-8', f.html === true ? htmlErrorPage(status) : f.html);
    return;
  }
  if (f.status === undefined && f.body === undefined) { run(); return; }
  const status = f.status !== undefined ? f.status : 200;
  let body;
  if (f.body === 'malformed') body = `{"request_id":"request-id-test-malformed","status_code":${status},"session":{"session_id":`;
  else if (f.body === 'oversized') body = oversizedBody(st, status);
  else if (typeof f.body === 'string') body = f.body;
  else {
    const type = STATUS_ERROR_TYPE[status] || 'emulated_error';
    const known = ERRORS[type];
    body = errorBody(env, status, type, known ? known[1] : `Emulated HTTP ${status} error.`);
  }
  answer(res, status, 'application/json', body);
}

function answer(res, status, type, body) {
  if (res.destroyed) return;
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

// ---------------------------------------------------------------- rate limits

// A project's rate_limit setting: {authenticate?, all?}, requests a second
// (a positive integer, or null for none).
function parseRateLimit(v, current) {
  if (v === null) return {};
  const bad = () => new Error('rate_limit must be null or {authenticate?, all?} with positive integers or null');
  if (typeof v !== 'object' || Array.isArray(v)) throw bad();
  const next = { ...current };
  for (const [k, n] of Object.entries(v)) {
    if (k !== 'authenticate' && k !== 'all') throw bad();
    if (n === null) delete next[k];
    else if (Number.isInteger(n) && n > 0) next[k] = n;
    else throw bad();
  }
  return next;
}

// Whether a request of the project is over its limits.  Each limit counts
// the requests it let through in the last second (a sliding window), so
// that a burst is refused wherever the second boundary falls.
function overRateLimit(project, endpoint, now) {
  const limits = project.rate_limit;
  const windows = [];
  if (limits.all) windows.push(['all', limits.all]);
  if (limits.authenticate && endpoint === 'authenticate') windows.push(['authenticate', limits.authenticate]);
  for (const [name, limit] of windows) {
    const w = project.rateWindows[name];
    while (w.length && now - w[0] >= 1000) w.shift();
    if (w.length >= limit) return true;
  }
  for (const [name] of windows) project.rateWindows[name].push(now);
  return false;
}

module.exports = {
  RING, ENDPOINTS, resetTraffic, count, record, recordedList, parseFault, takeFault, applyFault, parseRateLimit, overRateLimit,
};
