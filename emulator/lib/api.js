'use strict';
// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// The sessions and RBAC part of the Stytch API, consumer and B2B, as
// stytch-node's lib/b2c and lib/b2b call it: authenticate, revoke, JWKS,
// policies; and the helpers the other API modules share (credentials,
// bodies, session arguments).

const { requestId, isObj, send, sendJson } = require('./util.js');
const { ApiError } = require('./errors.js');
const store = require('./store.js');
const tokens = require('./tokens.js');
const views = require('./views.js');

// ---------------------------------------------------------------- credentials

// The project whose project_id:secret the Basic credentials carry.
function projectByAuth(st, req) {
  const h = req.headers.authorization;
  if (typeof h !== 'string') throw new ApiError('unauthorized_credentials');
  for (const p of st.projects.values()) if (h === p.basicAuth) return p;
  const m = /^basic\s+(\S+)\s*$/i.exec(h);
  if (m) {
    const pair = Buffer.from(m[1], 'base64').toString();
    const i = pair.indexOf(':');
    const p = i > 0 ? st.projects.get(pair.slice(0, i)) : undefined;
    if (p && pair.slice(i + 1) === p.secret) return p;
  }
  throw new ApiError('unauthorized_credentials');
}

function parseBody(raw) {
  if (!raw || raw.length === 0) return {};
  try {
    const v = JSON.parse(raw);
    if (!isObj(v)) throw new Error();
    return v;
  } catch { throw new ApiError('invalid_request_body'); }
}

// Issuers a JWT of the project may carry: stytch.com/<project_id>, the
// project's custom domain, and the emulator's own URL (the base URL an SDK
// is given; stytch-node lib/b2c/client.ts accepts both).
function issuersOf(st, project) {
  const list = [project.issuer];
  if (project.custom_domain) list.push(project.custom_domain);
  if (st.baseUrl) list.push(st.baseUrl);
  return list;
}

// ---------------------------------------------------------------- sessions

function liveSession(project, sid, type, t) {
  const s = sid === undefined ? undefined : project.sessions.get(sid);
  if (!s || s.revoked || s.type !== type || t >= s.expires_at) throw new ApiError('session_not_found');
  return s;
}

const given = (v) => v !== undefined && v !== null && v !== '';

// Session tokens are base64url; anything else cannot be one.
const TOKEN_RE = /^[A-Za-z0-9_-]+$/;

function sessionFromArgs(st, project, body, type, t) {
  const hasToken = given(body.session_token);
  const hasJwt = given(body.session_jwt);
  if (hasToken && hasJwt) throw new ApiError('too_many_session_arguments');
  if (!hasToken && !hasJwt) throw new ApiError('no_session_arguments');
  if (hasToken) {
    const tok = body.session_token;
    if (typeof tok !== 'string' || tok.length > 1024 || !TOKEN_RE.test(tok)) throw new ApiError('invalid_session_token');
    return liveSession(project, project.tokens.get(tok), type, t);
  }
  const payload = tokens.verifySessionJwt(project, body.session_jwt, issuersOf(st, project));
  const s = liveSession(project, payload[tokens.SESSION_CLAIM].id, type, t);
  if (payload.sub !== s.subject) throw new ApiError('session_not_found');
  return s;
}

// ---------------------------------------------------------------- RBAC

// The roles of the subject that grant the check (stytch-node
// lib/shared/rbac_local.ts: exact resource, the action or "*").
function grantingRoles(roles, subjectRoles, check) {
  const granting = [];
  for (const role of roles) {
    if (!role || !subjectRoles.includes(role.role_id)) continue;
    for (const perm of role.permissions || []) {
      if (perm.resource_id === check.resource_id &&
          Array.isArray(perm.actions) && (perm.actions.includes(check.action) || perm.actions.includes('*'))) {
        granting.push(role.role_id);
        break;
      }
    }
  }
  return granting;
}

function authorize(project, s, check) {
  if (!isObj(check) || typeof check.resource_id !== 'string' || typeof check.action !== 'string' ||
      (s.type === 'b2b' && typeof check.organization_id !== 'string')) {
    throw new ApiError('invalid_authorization_check');
  }
  if (s.type === 'b2b') {
    if (check.organization_id !== s.organization_id) throw new ApiError('session_authorization_tenancy_error');
    const orgRoles = (project.orgPolicies.get(s.organization_id) || { roles: [] }).roles || [];
    const g = grantingRoles([...(project.policy.b2b.roles || []), ...orgRoles], s.roles, check);
    if (!g.length) throw new ApiError('session_authorization_error');
    return g;
  }
  const g = grantingRoles(project.policy.consumer.roles || [], s.roles, check);
  if (!g.length) throw new ApiError('consumer_session_authorization_error');
  return g;
}

// ---------------------------------------------------------------- handlers

// session_duration_minutes, if given: 5..527040.
function checkDuration(body) {
  if (!given(body.session_duration_minutes)) return undefined;
  const d = body.session_duration_minutes;
  if (!Number.isInteger(d) || d < 5 || d > 527040) throw new ApiError('invalid_session_duration_minutes');
  return d;
}

// session_custom_claims, if given: an object that keeps the session's
// claims within 4 KB once merged.
function checkCustomClaims(body, current) {
  const claims = body.session_custom_claims;
  if (claims === undefined || claims === null) return undefined;
  if (!isObj(claims)) throw new ApiError('invalid_session_custom_claims');
  const merged = { ...current };
  store.mergeClaims(merged, claims);
  if (Buffer.byteLength(JSON.stringify(merged)) > 4096) {
    throw new ApiError('invalid_session_custom_claims', 'session_custom_claims exceed the 4 KB limit.');
  }
  return claims;
}

function authenticateAnswer(st, project, s, t) {
  const jwt = tokens.sessionJwt(project, s, t);
  if (s.type === 'b2b') {
    return {
      request_id: requestId(project.env), status_code: 200,
      member_session: views.memberSession(project, s), session_token: s.token, session_jwt: jwt,
      member: views.memberObject(s), organization: views.organizationObject(project.orgs.get(s.organization_id)),
      member_id: s.subject, organization_id: s.organization_id,
      member_device: null,
    };
  }
  return {
    request_id: requestId(project.env), status_code: 200,
    session: views.consumerSession(s), session_token: s.token, session_jwt: jwt,
    user: views.userObject(project, s), user_id: s.subject,
  };
}

function handleAuthenticate(st, c, b2b) {
  const { project } = c;
  const body = parseBody(c.raw);
  const t = c.now;
  const s = sessionFromArgs(st, project, body, b2b ? 'b2b' : 'consumer', t);

  const duration = checkDuration(body);
  const claims = checkCustomClaims(body, s.custom_claims);
  let verdict;
  if (given(body.authorization_check)) {
    verdict = { authorized: true, granting_roles: authorize(project, s, body.authorization_check) };
  }

  // Nothing changes until every check has passed: a denial does not extend.
  if (duration !== undefined) { s.expires_at = t + duration * 60000; s.version++; }
  if (claims) { store.mergeClaims(s.custom_claims, claims); s.version++; }
  s.last_accessed_at = t;
  store.stateChanged(st);

  const out = authenticateAnswer(st, project, s, t);
  if (verdict) out.verdict = verdict;
  sendJson(c.res, 200, out);
}

function handleRevoke(st, c, b2b) {
  const { project } = c;
  const body = parseBody(c.raw);
  const idField = b2b ? 'member_session_id' : 'session_id';
  const args = [idField, 'session_token', 'session_jwt'].filter((k) => given(body[k]));
  if (args.length === 0) throw new ApiError('no_session_arguments', `Request must include one of ${idField}, session_token or session_jwt.`);
  if (args.length > 1) throw new ApiError('too_many_session_arguments', `Request must include only one of ${idField}, session_token or session_jwt.`);
  let sid;
  if (args[0] === idField) sid = body[idField];
  else if (args[0] === 'session_token') {
    if (typeof body.session_token !== 'string' || !TOKEN_RE.test(body.session_token)) throw new ApiError('invalid_session_token');
    sid = project.tokens.get(body.session_token);
  }
  else sid = tokens.verifySessionJwt(project, body.session_jwt, issuersOf(st, project))[tokens.SESSION_CLAIM].id;
  const s = liveSession(project, typeof sid === 'string' ? sid : undefined, b2b ? 'b2b' : 'consumer', c.now);
  store.revokeSession(st, project, s);
  sendJson(c.res, 200, { request_id: requestId(project.env), status_code: 200 });
}

function handleJwks(st, c) {
  const { project } = c;
  send(c.res, 200, project.keySet.jwksHead + requestId(project.env) + '"}', { 'Cache-Control': 'public, max-age=900' });
}

function handlePolicy(st, c, b2b) {
  const { project } = c;
  send(c.res, 200, `{"request_id":"${requestId(project.env)}","status_code":200,"policy":${project.policyJson[b2b ? 'b2b' : 'consumer']}}`);
}

function handleOrgPolicy(st, c) {
  const { project } = c;
  const orgId = c.params[0];
  const p = project.orgPolicies.get(orgId) || { roles: [] };
  sendJson(c.res, 200, { request_id: requestId(project.env), status_code: 200,
    org_policy: { organization_id: orgId, roles: p.roles || [] } });
}

// ---------------------------------------------------------------- routes

// endpoint: the name counters, recordings and faults use; b2b: counted as
// b2b_<endpoint> too; vertical: the only kind of project it serves; auth:
// how the project is found (Basic credentials, or the project_id in the
// path: the first group of re).
function route(where, endpoint, vertical, method, auth, handler) {
  return { [typeof where === 'string' ? 'path' : 're']: where, endpoint, b2b: vertical === 'b2b', vertical,
    method, auth, handler };
}

const ROUTES = [
  route('/v1/sessions/authenticate', 'authenticate', 'consumer', 'POST', 'basic', (st, c) => handleAuthenticate(st, c, false)),
  route('/v1/b2b/sessions/authenticate', 'authenticate', 'b2b', 'POST', 'basic', (st, c) => handleAuthenticate(st, c, true)),
  route('/v1/sessions/revoke', 'revoke', 'consumer', 'POST', 'basic', (st, c) => handleRevoke(st, c, false)),
  route('/v1/b2b/sessions/revoke', 'revoke', 'b2b', 'POST', 'basic', (st, c) => handleRevoke(st, c, true)),
  route('/v1/rbac/policy', 'policy', 'consumer', 'GET', 'basic', (st, c) => handlePolicy(st, c, false)),
  route('/v1/b2b/rbac/policy', 'policy', 'b2b', 'GET', 'basic', (st, c) => handlePolicy(st, c, true)),
  route(/^\/v1\/sessions\/jwks\/([^/]+)$/, 'jwks', 'consumer', 'GET', 'path', handleJwks),
  route(/^\/v1\/b2b\/sessions\/jwks\/([^/]+)$/, 'jwks', 'b2b', 'GET', 'path', handleJwks),
  route(/^\/v1\/b2b\/rbac\/organizations\/([^/]+)$/, 'org_policy', 'b2b', 'GET', 'basic', handleOrgPolicy),
];

module.exports = {
  ROUTES, route, projectByAuth, parseBody, given, issuersOf, liveSession, sessionFromArgs, authenticateAnswer,
  checkDuration, checkCustomClaims,
};
