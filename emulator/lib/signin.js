'use strict';
// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// Consumer sign-in: email magic links and email one-time passcodes, with
// Stytch's request and response shapes (stytch-node lib/b2c/magic_links.ts,
// magic_links_email.ts, otps.ts, otps_email.ts) and errors.  Users are
// made by email on their first sign-in; what Stytch would email lands in
// the emulator's outbox (GET /emulator/outbox).

const crypto = require('node:crypto');
const { newId, requestId, b64urlPadded, sendJson } = require('./util.js');
const { ApiError } = require('./errors.js');
const store = require('./store.js');
const tokens = require('./tokens.js');
const views = require('./views.js');
const api = require('./api.js');
const { makeFactor } = require('./factors.js');

const OUTBOX_MAX = 500;
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function checkEmail(body) {
  if (typeof body.email !== 'string' || body.email.length > 254 || !EMAIL_RE.test(body.email)) {
    throw new ApiError('invalid_email');
  }
  return body.email;
}

// An optional integer in lo..hi, else dflt.
function minutes(body, name, lo, hi, dflt) {
  const v = body[name];
  if (v === undefined || v === null) return dflt;
  if (!Number.isInteger(v) || v < lo || v > hi) throw new ApiError('bad_request', `${name} must be an integer in ${lo}..${hi}.`);
  return v;
}

function redirectUrl(body, name, dflt) {
  const v = body[name];
  if (v === undefined || v === null || v === '') return dflt;
  let u;
  try { u = new URL(v); } catch { u = null; }
  if (!u || (u.protocol !== 'https:' && u.protocol !== 'http:')) {
    throw new ApiError('bad_request', `${name} must be an absolute http(s) URL.`);
  }
  return v;
}

function attributesOf(body) {
  if (body.attributes === undefined || body.attributes === null) return undefined;
  try { return store.checkAttributes(body.attributes); } catch (e) { throw new ApiError('bad_request', e.message); }
}

// The user an email signs in: found, or made (login_or_create).
function userFor(st, project, email, create, now) {
  const u = store.userByEmail(project, email);
  if (u) return { user: u, created: false };
  if (!create) throw new ApiError('email_not_found');
  return { user: store.addUser(st, project, newId(project.env, 'user'), email, false, now), created: true };
}

function post(st, msg) {
  st.outbox.push(msg);
  if (st.outbox.length > OUTBOX_MAX) st.outbox.shift();
}

// ---------------------------------------------------------------- sending

// Each of these returns the API's answer for a parsed body; the API's
// routes send it as it is, the frontend SDK's (sdk-frontend.js) in their
// envelope.
function sendMagicLink(st, c, body, create) {
  const { project } = c;
  const email = checkEmail(body);
  const dflt = project.redirect_url;
  const loginUrl = redirectUrl(body, 'login_magic_link_url', dflt);
  const signupUrl = redirectUrl(body, 'signup_magic_link_url', dflt);
  const loginMin = minutes(body, 'login_expiration_minutes', 5, 10080, 60);
  const signupMin = minutes(body, 'signup_expiration_minutes', 5, 10080, 10080);
  const attributes = attributesOf(body);
  const { user, created } = userFor(st, project, email, create, c.now);
  // A first sign-in is a sign-up: its link and lifetime are the signup ones.
  const signup = created || !user.verified;
  const token = b64urlPadded(crypto.randomBytes(32));
  const link = `${signup ? signupUrl : loginUrl}${(signup ? signupUrl : loginUrl).includes('?') ? '&' : '?'}` +
    `stytch_token_type=magic_links&token=${encodeURIComponent(token)}`;
  const ml = {
    token, user_id: user.user_id, email_id: user.email_id, email, created_at: c.now,
    expires_at: c.now + (signup ? signupMin : loginMin) * 60000, used: false, attributes,
  };
  project.magicLinks.set(token, ml);
  post(st, { message_id: newId(project.env, 'message'), project_id: project.project_id, type: 'magic_link',
    email, user_id: user.user_id, email_id: user.email_id, subject: signup ? 'Sign up' : 'Log in',
    token, link, created_at: c.now, expires_at: ml.expires_at, ref: ml });
  const out = { request_id: requestId(project.env), status_code: 200, user_id: user.user_id, email_id: user.email_id };
  if (create) out.user_created = created;
  return out;
}

function sendOtp(st, c, body, create) {
  const { project } = c;
  const email = checkEmail(body);
  const life = minutes(body, 'expiration_minutes', 1, 10, 2);
  const attributes = attributesOf(body);
  const { user, created } = userFor(st, project, email, create, c.now);
  const code = String(crypto.randomInt(0, 1000000)).padStart(6, '0');
  const otp = { code, user_id: user.user_id, email_id: user.email_id, email, created_at: c.now,
    expires_at: c.now + life * 60000, used: false, attributes };
  // A new passcode replaces the one sent before for the same address.
  const list = project.otps.get(user.email_id) || [];
  for (const o of list) if (!o.used) o.replaced = true;
  list.push(otp);
  if (list.length > 20) list.shift();
  project.otps.set(user.email_id, list);
  post(st, { message_id: newId(project.env, 'message'), project_id: project.project_id, type: 'otp',
    email, user_id: user.user_id, email_id: user.email_id, subject: 'Your verification code',
    code, method_id: user.email_id, created_at: c.now, expires_at: otp.expires_at, ref: otp });
  const out = { request_id: requestId(project.env), status_code: 200, user_id: user.user_id, email_id: user.email_id };
  if (create) out.user_created = created;
  return out;
}

// ---------------------------------------------------------------- authenticating

// What both authenticate calls do once the token or code is good: the
// user's email is verified, and a session is started (with
// session_duration_minutes) or the given one gains the factor (and is
// extended by it).  Without either no session is made, as Stytch says.
function signIn(st, c, body, user, factorSpec, attributes) {
  const { project } = c;
  const t = c.now;
  const duration = api.checkDuration(body);
  const existing = api.given(body.session_token) || api.given(body.session_jwt)
    ? api.sessionFromArgs(st, project, body, 'consumer', t) : null;
  if (existing && existing.subject !== user.user_id) throw new ApiError('session_not_found');
  const claims = api.checkCustomClaims(body, existing ? existing.custom_claims : {});
  user.verified = true;
  let s = existing;
  if (s) {
    s.factors = s.factors.filter((f) => !(f.type === factorSpec.type && f.email_factor &&
      f.email_factor.email_id === user.email_id));
    s.factors.push(makeFactor(project.env, s, factorSpec, t));
    if (duration !== undefined) s.expires_at = t + duration * 60000;
    if (claims) store.mergeClaims(s.custom_claims, claims);
    s.last_accessed_at = t;
    s.version++;
    store.stateChanged(st);
  } else if (duration !== undefined) {
    s = store.newSession(st, project, {
      type: 'consumer', subject: user.user_id, email: user.email, email_id: user.email_id, roles: ['stytch_user'],
      custom_claims: claims, attributes: { ip_address: '', user_agent: '', ...attributes },
      factors: [factorSpec], duration_ms: duration * 60000,
    }, t);
  }
  store.stateChanged(st);
  return {
    request_id: requestId(project.env), status_code: 200, user_id: user.user_id, method_id: user.email_id,
    session_token: s ? s.token : '', session_jwt: s ? tokens.sessionJwt(project, s, t) : '',
    session: s ? views.consumerSession(s) : null,
    user: views.userObject(project, s, user), reset_sessions: false,
  };
}

function authenticateMagicLink(st, c, body) {
  const { project } = c;
  if (typeof body.token !== 'string' || body.token === '') throw new ApiError('bad_request', 'token is required.');
  const ml = project.magicLinks.get(body.token);
  if (!ml) throw new ApiError('magic_link_not_found');
  if (ml.used || c.now >= ml.expires_at) throw new ApiError('unable_to_auth_magic_link');
  const user = project.users.get(ml.user_id);
  // Checked before the link is spent: a bad session argument leaves it usable.
  const out = signIn(st, c, body, user, { type: 'magic_link' }, attributesOf(body) || ml.attributes);
  ml.used = true;
  return out;
}

const METHOD_ID_RE = /^email-(test|live)-[0-9a-f-]{36}$/;

function authenticateOtp(st, c, body) {
  const { project } = c;
  if (typeof body.method_id !== 'string' || !METHOD_ID_RE.test(body.method_id)) throw new ApiError('invalid_method_id');
  if (typeof body.code !== 'string' || !/^\d{6}$/.test(body.code)) throw new ApiError('invalid_code');
  const otp = (project.otps.get(body.method_id) || []).find((o) => o.code === body.code);
  if (!otp) throw new ApiError('otp_code_not_found');
  if (otp.used || otp.replaced || c.now >= otp.expires_at) throw new ApiError('unable_to_auth_otp_code');
  const user = project.users.get(otp.user_id);
  const out = signIn(st, c, body, user, { type: 'otp', delivery_method: 'email' }, attributesOf(body) || otp.attributes);
  otp.used = true;
  return out;
}

// ---------------------------------------------------------------- outbox

// The outbox's view of a message, newest first.
function outbox(st, filter) {
  const out = [];
  for (let i = st.outbox.length - 1; i >= 0; i--) {
    const m = st.outbox[i];
    if (filter.email && m.email.toLowerCase() !== filter.email.toLowerCase()) continue;
    if (filter.project_id && m.project_id !== filter.project_id) continue;
    if (filter.type && m.type !== filter.type) continue;
    const { ref, ...view } = m;
    view.used = ref.used;
    view.created_at = new Date(m.created_at).toISOString();
    view.expires_at = new Date(ref.expires_at).toISOString();
    out.push(view);
  }
  return out;
}

// Makes a magic link or passcode expire now (tests of expired ones).
function expire(st, b) {
  const hits = st.outbox.filter((m) => (b.token !== undefined && m.token === b.token) ||
    (b.code !== undefined && m.code === b.code && (b.method_id === undefined || m.method_id === b.method_id)) ||
    (b.email !== undefined && b.token === undefined && b.code === undefined && m.email === b.email));
  for (const m of hits) m.ref.expires_at = Date.now();
  return hits.length;
}

// An API route: the body parsed, the answer sent as it is.
const apiCall = (fn, ...rest) => (st, c) => sendJson(c.res, 200, fn(st, c, api.parseBody(c.raw), ...rest));

const ROUTES = [
  api.route('/v1/magic_links/email/login_or_create', 'magic_links_send', 'consumer', 'POST', 'basic',
    apiCall(sendMagicLink, true)),
  api.route('/v1/magic_links/email/send', 'magic_links_send', 'consumer', 'POST', 'basic',
    apiCall(sendMagicLink, false)),
  api.route('/v1/magic_links/authenticate', 'magic_links_authenticate', 'consumer', 'POST', 'basic',
    apiCall(authenticateMagicLink)),
  api.route('/v1/otps/email/login_or_create', 'otps_send', 'consumer', 'POST', 'basic', apiCall(sendOtp, true)),
  api.route('/v1/otps/email/send', 'otps_send', 'consumer', 'POST', 'basic', apiCall(sendOtp, false)),
  api.route('/v1/otps/authenticate', 'otps_authenticate', 'consumer', 'POST', 'basic', apiCall(authenticateOtp)),
];

module.exports = { ROUTES, outbox, expire, sendMagicLink, sendOtp, authenticateMagicLink, authenticateOtp };
