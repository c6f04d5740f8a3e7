'use strict';
// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// The HTTP surface Stytch's frontend SDK (@stytch/vanilla-js 6.3.0) calls
// from a browser, under /sdk/v1/: the project's bootstrap data, telemetry
// events, consumer email OTP and magic links, sessions/authenticate and
// revoke, users/me.  The SDK authenticates with the project's public token
// as Basic user name and, once signed in, the stytch_session cookie's
// value as password (packages/web/src/NetworkClient.mjs); a 2xx answer is
// {"data": ...}, an error Stytch's error body.  Cross-origin pages are
// answered with CORS headers for their origin, with credentials.
//
// Sign-in is signin.js's, sessions are api.js's: this file only maps the
// SDK's requests onto them.

const { requestId, isObj, sendJson } = require('./util.js');
const { ApiError } = require('./errors.js');
const store = require('./store.js');
const views = require('./views.js');
const api = require('./api.js');
const signin = require('./signin.js');

const PREFIX = '/sdk/v1';

// The headers the SDK sends (packages/core/src/NetworkClient.mjs).
const CORS_HEADERS = 'Authorization, Content-Type, X-SDK-Client, X-SDK-Parent-Host';

// ---------------------------------------------------------------- CORS

// Access-Control-* for a request from a page of another origin; nothing
// for one without Origin (same origin, through a proxy).
function cors(req, res) {
  const origin = req.headers.origin;
  if (typeof origin !== 'string' || !/^https?:\/\/[^\s/]+$/.test(origin)) return;
  res.setHeader('Access-Control-Allow-Origin', origin);
  res.setHeader('Access-Control-Allow-Credentials', 'true');
  res.setHeader('Vary', 'Origin');
}

// OPTIONS: the preflight of the SDK's JSON calls.
function preflight(req, res) {
  cors(req, res);
  res.writeHead(204, {
    'Access-Control-Allow-Methods': 'GET, POST, PUT, DELETE',
    'Access-Control-Allow-Headers': CORS_HEADERS,
    'Access-Control-Max-Age': '600',
    'Content-Length': 0,
  });
  res.end();
}

const isSdkPath = (pathname) => pathname === PREFIX || pathname.startsWith(PREFIX + '/');

// ---------------------------------------------------------------- credentials

// Basic public_token:password -> {token, password}, or null.
function basicPair(req) {
  const h = req.headers.authorization;
  const m = typeof h === 'string' ? /^basic\s+(\S+)\s*$/i.exec(h) : null;
  if (!m) return null;
  const pair = Buffer.from(m[1], 'base64').toString();
  const i = pair.indexOf(':');
  return i > 0 ? { token: pair.slice(0, i), password: pair.slice(i + 1) } : null;
}

// The project whose public token is the Basic user name.
function projectByPublicAuth(st, req) {
  const b = basicPair(req);
  const p = b ? store.projectByPublicToken(st, b.token) : undefined;
  if (!p) throw new ApiError('unauthorized_credentials');
  return p;
}

// The live session the Basic password names (the stytch_session cookie),
// or null when the password is the public token again (signed out).
function sessionOfAuth(project, c, type) {
  const b = basicPair(c.req);
  if (!b || b.password === '' || b.password === project.public_token) return null;
  return api.liveSession(project, project.tokens.get(b.password), type, c.now);
}

function mustSession(project, c, type) {
  const s = sessionOfAuth(project, c, type);
  if (!s) throw new ApiError('unauthorized_credentials');
  return s;
}

// ---------------------------------------------------------------- answers

function sendData(c, data) {
  sendJson(c.res, 200, { data });
}

function bootstrap(st, c) {
  const { project } = c;
  const b2b = project.vertical === 'b2b';
  sendData(c, {
    request_id: requestId(project.env), status_code: 200,
    project_name: `Stytch emulator (${project.project_id})`,
    disable_sdk_watermark: true, cname_domain: null, email_domains: [],
    captcha_settings: { enabled: false },
    pkce_required_for_email_magic_links: false, pkce_required_for_password_resets: false,
    pkce_required_for_oauth: false, pkce_required_for_sso: false,
    slug_pattern: null, create_organization_enabled: false, password_config: null,
    dfp_protected_auth_enabled: false, dfp_protected_auth_mode: null,
    rbac_policy: project.policy[b2b ? 'b2b' : 'consumer'],
    siwe_required_for_crypto_wallets: false,
    vertical: b2b ? 'B2B' : 'CONSUMER',
  });
}

// Telemetry: a list of {telemetry, event: {public_token, ...}}, sent
// without credentials; the SDK ignores the answer.
function events(st, c) {
  let list;
  try { list = JSON.parse(c.raw || '[]'); } catch { throw new ApiError('invalid_request_body'); }
  if (!Array.isArray(list) || !list.every((e) => isObj(e) && isObj(e.event))) throw new ApiError('bad_request');
  for (const e of list) {
    if (!store.projectByPublicToken(st, e.event.public_token)) throw new ApiError('unauthorized_credentials');
  }
  sendData(c, {});
}

// The session a sign-in adds its factor to: the signed-in one, when the
// user signing in is its user; else a new session is started.
function withSession(project, c, body, userId) {
  const out = { ...body };
  delete out.session_token;
  delete out.session_jwt;
  const s = sessionOfAuth(project, { ...c }, 'consumer');
  if (s && s.subject === userId) out.session_token = s.token;
  return out;
}

function bodyOf(c) {
  const body = api.parseBody(c.raw);
  // Sent by the SDK for Stytch's own bot protection, off here.
  delete body.captcha_token;
  delete body.dfp_telemetry_id;
  delete body.code_challenge;
  return body;
}

function otpSend(st, c) {
  const out = signin.sendOtp(st, c, bodyOf(c), true);
  out.method_id = out.email_id;
  sendData(c, out);
}

function otpAuthenticate(st, c) {
  const { project } = c;
  const b = bodyOf(c);
  const body = { ...b, code: b.token };
  delete body.token;
  const list = typeof body.method_id === 'string' ? project.otps.get(body.method_id) || [] : [];
  const otp = list.find((o) => o.code === body.code);
  sendData(c, signin.authenticateOtp(st, c, withSession(project, c, body, otp && otp.user_id)));
}

function magicLinkSend(st, c) {
  sendData(c, signin.sendMagicLink(st, c, bodyOf(c), true));
}

function magicLinkAuthenticate(st, c) {
  const { project } = c;
  const body = bodyOf(c);
  delete body.code_verifier;
  const ml = typeof body.token === 'string' ? project.magicLinks.get(body.token) : undefined;
  sendData(c, signin.authenticateMagicLink(st, c, withSession(project, c, body, ml && ml.user_id)));
}

// POST sessions/authenticate {session_duration_minutes?}: the session of
// the credentials, extended when asked.
function sessionAuthenticate(st, c) {
  const { project } = c;
  const body = bodyOf(c);
  const s = mustSession(project, c, 'consumer');
  const duration = api.checkDuration(body);
  if (duration !== undefined) { s.expires_at = c.now + duration * 60000; s.version++; }
  s.last_accessed_at = c.now;
  store.stateChanged(st);
  sendData(c, api.authenticateAnswer(st, project, s, c.now));
}

function sessionRevoke(st, c) {
  const { project } = c;
  store.revokeSession(st, project, mustSession(project, c, 'consumer'));
  sendData(c, { request_id: requestId(project.env), status_code: 200 });
}

function usersMe(st, c) {
  const { project } = c;
  const s = mustSession(project, c, 'consumer');
  sendData(c, { request_id: requestId(project.env), status_code: 200, ...views.userObject(project, s) });
}

// ---------------------------------------------------------------- routes

// A route of the SDK's surface: the project by its public token in the
// Basic credentials (or, for bootstrap, in the path).
function sdkRoute(where, endpoint, method, handler, resolve = projectByPublicAuth) {
  const r = api.route(where, `sdk_${endpoint}`, 'consumer', method, 'public', handler);
  r.resolve = resolve;
  return r;
}

const ROUTES = [
  sdkRoute(/^\/sdk\/v1\/projects\/bootstrap\/([^/]+)$/, 'bootstrap', 'GET', bootstrap, (st, req, params) => {
    const p = store.projectByPublicToken(st, params[0]);
    if (!p) throw new ApiError('unauthorized_credentials');
    return p;
  }),
  sdkRoute(`${PREFIX}/events`, 'events', 'POST', events, (st) => store.defaultProject(st)),
  sdkRoute(`${PREFIX}/otps/email/login_or_create`, 'otps_send', 'POST', otpSend),
  sdkRoute(`${PREFIX}/otps/authenticate`, 'otps_authenticate', 'POST', otpAuthenticate),
  sdkRoute(`${PREFIX}/magic_links/email/login_or_create`, 'magic_links_send', 'POST', magicLinkSend),
  sdkRoute(`${PREFIX}/magic_links/authenticate`, 'magic_links_authenticate', 'POST', magicLinkAuthenticate),
  sdkRoute(`${PREFIX}/sessions/authenticate`, 'authenticate', 'POST', sessionAuthenticate),
  sdkRoute(`${PREFIX}/sessions/revoke`, 'revoke', 'POST', sessionRevoke),
  sdkRoute(`${PREFIX}/users/me`, 'users_me', 'GET', usersMe),
];
// bootstrap and events serve projects of both verticals.
ROUTES[0].vertical = undefined;
ROUTES[1].vertical = undefined;

module.exports = { ROUTES, cors, preflight, isSdkPath };
