'use strict';
// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// The control API under /emulator/ that tests drive: projects and their
// settings, sessions, hand-made JWTs and M2M tokens, M2M clients,
// policies, keys, faults, the outbox, counters, recorded requests, idle
// timeouts, reset, and refusing connections for a while; Connected Apps'
// calls (connected-apps.js's CONTROL_ROUTES).  Plain JSON, no auth; never
// counted, recorded or faulted.  Control errors are 400/404 {error: "..."}.

const { newId, iso, isObj, sendJson } = require('./util.js');
const api = require('./api.js');
const factors = require('./factors.js');
const signin = require('./signin.js');
const m2m = require('./m2m.js');
const connectedApps = require('./connected-apps.js');
const store = require('./store.js');
const tokens = require('./tokens.js');
const traffic = require('./traffic.js');
const views = require('./views.js');

const controlError = (res, status, message) => sendJson(res, status, { error: message });

function validRoles(roles) {
  return Array.isArray(roles) && roles.every((r) => isObj(r) && typeof r.role_id === 'string' &&
    (r.permissions === undefined || Array.isArray(r.permissions)));
}

function projectView(st, p) {
  return {
    project_id: p.project_id, secret: p.secret, public_token: p.public_token, vertical: p.vertical,
    default: p.builtin,
    custom_domain: p.custom_domain, issuer: tokens.mintIssuer(p), issuers: api.issuersOf(st, p),
    jwt_lifetime: p.jwt_lifetime, m2m_lifetime: p.m2m_lifetime, redirect_url: p.redirect_url,
    rate_limit: p.rate_limit, clock_offset: p.clock_offset,
  };
}

// The project a call names in its body or query (project_id), or the
// built-in project of the vertical it asks for (b2b), consumer by default.
// A project of the other vertical is refused.
function projectOf(st, c, b2b) {
  const id = c.body.project_id !== undefined ? c.body.project_id : (c.query.get('project_id') || undefined);
  const p = store.projectById(st, id, b2b);
  if (b2b !== undefined && p.vertical !== (b2b ? 'b2b' : 'consumer')) {
    throw new Error(`project ${p.project_id} is a ${p.vertical} project`);
  }
  return p;
}

// What a call asks for: b2b when its type (or b2b flag) says so, consumer
// when it says the other, undefined when it says nothing.
function wantsB2b(v) {
  if (v === undefined || v === null) return undefined;
  return v === 'b2b' || v === true;
}

function sessionOf(st, c) {
  const id = c.body.project_id !== undefined ? c.body.project_id : (c.query.get('project_id') || undefined);
  const found = store.findSession(st, c.params[0], id);
  if (!found) throw Object.assign(new Error('unknown session'), { httpStatus: 404 });
  return found;
}

function sessionAnswer(st, project, s, now) {
  const out = { session_id: s.session_id, session_token: s.token, session_jwt: tokens.sessionJwt(project, s, now),
    project_id: project.project_id };
  if (s.type === 'b2b') {
    out.member_id = s.subject;
    out.organization_id = s.organization_id;
    out.organization_slug = project.orgs.get(s.organization_id).slug;
    out.session = views.memberSession(project, s);
    out.member_session = out.session;
  } else {
    out.user_id = s.subject;
    out.session = views.consumerSession(s);
  }
  return out;
}

function mintJwt(st, project, b, now) {
  let s;
  if (b.session_id !== undefined) {
    const found = store.findSession(st, b.session_id, b.project_id);
    if (!found) throw new Error(`unknown session_id ${b.session_id}`);
    ({ project, s } = found);
  } else {
    // A subject whose session the emulator does not know.
    const env = project.env;
    const b2b = project.vertical === 'b2b';
    s = {
      type: b2b ? 'b2b' : 'consumer', session_id: newId(env, 'session'),
      subject: newId(env, b2b ? 'member' : 'user'), email: 'dummy@example.com', email_id: newId(env, 'email'),
      roles: [b2b ? 'stytch_member' : 'stytch_user'], omit_roles: false, custom_claims: {},
      started_at: now, last_accessed_at: now, expires_at: now + 3600000,
      attributes: { ip_address: '203.0.113.1', user_agent: 'stytch-emulator' },
      organization_id: b2b ? newId(env, 'organization') : null,
    };
    s.factors = factors.defaultFactors(env, s, now);
    if (b2b) store.getOrg(project, s.organization_id, undefined, now);
  }
  const iat = b.iat !== undefined ? Number(b.iat) : Math.floor(now / 1000);
  const lifetime = b.lifetime !== undefined ? Number(b.lifetime) : project.jwt_lifetime;
  if (!Number.isFinite(iat) || !Number.isFinite(lifetime)) throw new Error('iat and lifetime must be numbers');
  return tokens.handMadeJwt(st, project, tokens.sessionPayload(project, s, iat, lifetime), b);
}

// An M2M client of the named project, or of whichever project has it.
function m2mClientOf(st, c, clientId) {
  const id = c.body.project_id !== undefined ? c.body.project_id : (c.query.get('project_id') || undefined);
  const list = id === undefined ? [...st.projects.values()] : [store.projectById(st, id)];
  for (const project of list) {
    const client = project.m2mClients.get(clientId);
    if (client) return { project, client };
  }
  throw Object.assign(new Error(`unknown M2M client ${clientId}`), { httpStatus: 404 });
}

// A hand-made M2M access token: b as POST /emulator/m2m/token.
function mintM2m(st, c) {
  const b = c.body;
  let project;
  let clientId;
  let scopes;
  let claims = {};
  if (b.client_id !== undefined) {
    const found = m2mClientOf(st, c, b.client_id);
    ({ project } = found);
    clientId = found.client.client_id;
    scopes = found.client.scopes;
    claims = found.client.custom_claims;
  } else {
    project = projectOf(st, c);
    clientId = newId(project.env, 'm2m-client');
    scopes = [];
  }
  if (b.scopes !== undefined) {
    if (typeof b.scopes === 'string') scopes = b.scopes.split(' ').filter(Boolean);
    else if (Array.isArray(b.scopes) && b.scopes.every((x) => typeof x === 'string')) scopes = b.scopes;
    else throw new Error('scopes must be a list of strings or a space-separated string');
  }
  const iat = b.iat !== undefined ? Number(b.iat) : Math.floor(c.now / 1000);
  const lifetime = b.lifetime !== undefined ? Number(b.lifetime) : project.m2m_lifetime;
  if (!Number.isFinite(iat) || !Number.isFinite(lifetime)) throw new Error('iat and lifetime must be numbers');
  const payload = tokens.m2mPayload(project, clientId, scopes, claims, iat, lifetime);
  return { access_token: tokens.handMadeJwt(st, project, payload, b), client_id: clientId, project_id: project.project_id };
}

function listRequests(st, query) {
  let ep = query.get('endpoint') || 'authenticate';
  let b2bOnly = false;
  if (ep.startsWith('b2b_')) { b2bOnly = true; ep = ep.slice(4); }
  if (!traffic.ENDPOINTS.includes(ep)) return null;
  let list = traffic.recordedList(st, ep);
  if (b2bOnly) list = list.filter((r) => r.path.startsWith('/v1/b2b/'));
  const limit = query.has('limit') ? Number(query.get('limit')) : traffic.RING;
  if (Number.isInteger(limit) && limit >= 0) list = limit === 0 ? [] : list.slice(-limit);
  return list.map((r) => {
    let parsed = r.raw;
    try { parsed = r.raw ? JSON.parse(r.raw) : null; } catch { /* keep raw */ }
    return { method: r.method, path: r.path, headers: r.headers, body: parsed };
  });
}

// Each route: [method, pattern, handler(st, c)] where c = {req, res, body,
// query, params, now}; a handler returns the JSON to answer with, or
// undefined when it answered itself.
const ROUTES = [
  ['GET', /^\/health$/, () => ({ ok: true })],
  ['POST', /^\/projects$/, (st, c) => projectView(st, store.createProject(st, c.body))],
  ['GET', /^\/projects$/, (st) => ({ projects: [...st.projects.values()].map((p) => projectView(st, p)) })],
  ['GET', /^\/projects\/([^/]+)$/, (st, c) => projectView(st, store.projectById(st, c.params[0]))],
  ['POST', /^\/projects\/([^/]+)\/settings$/, (st, c) => {
    const p = store.projectById(st, c.params[0]);
    store.applySettings(st, p, c.body);
    return projectView(st, p);
  }],
  ['DELETE', /^\/projects\/([^/]+)$/, (st, c) => {
    store.deleteProject(st, store.projectById(st, c.params[0]));
    return { ok: true };
  }],
  ['POST', /^\/sessions$/, (st, c) => {
    const project = projectOf(st, c, wantsB2b(c.body.type));
    return sessionAnswer(st, project, store.createSession(st, project, c.body, c.now), c.now);
  }],
  ['POST', /^\/sessions\/([^/]+)\/expire$/, (st, c) => {
    const { s } = sessionOf(st, c);
    s.expires_at = c.now;
    s.version++;
    store.stateChanged(st);
    return { ok: true, session_id: s.session_id, expires_at: iso(s.expires_at) };
  }],
  ['POST', /^\/sessions\/([^/]+)\/roles$/, (st, c) => {
    // The session's roles change at Stytch; JWTs minted before keep theirs.
    const { s } = sessionOf(st, c);
    const roles = c.body.roles;
    if (!Array.isArray(roles) || roles.some((r) => typeof r !== 'string')) {
      return controlError(c.res, 400, 'roles must be a list of strings');
    }
    s.roles = [...roles];
    s.version++;
    store.stateChanged(st);
    return { ok: true, session_id: s.session_id, roles: s.roles };
  }],
  ['GET', /^\/sessions\/([^/]+)$/, (st, c) => {
    const { project, s } = sessionOf(st, c);
    return { session: views.sessionView(project, s), type: s.type, revoked: s.revoked,
      expired: c.now >= s.expires_at, session_token: s.token, project_id: project.project_id };
  }],
  ['GET', /^\/state$/, (st) => store.serialiseState(st)],
  ['POST', /^\/m2m\/clients$/, (st, c) => {
    const { custom_claims: claims, project_id: projectId, ...apiBody } = c.body; // eslint-disable-line no-unused-vars
    if (claims !== undefined && !isObj(claims)) throw new Error('custom_claims must be an object');
    const project = projectOf(st, c);
    const client = m2m.createClient(st, project, apiBody, claims);
    return { ...m2m.clientView(client, 'secret'), custom_claims: client.custom_claims, project_id: project.project_id };
  }],
  ['POST', /^\/m2m\/clients\/([^/]+)\/claims$/, (st, c) => {
    const { client } = m2mClientOf(st, c, c.params[0]);
    if (!isObj(c.body.custom_claims)) throw new Error('custom_claims must be an object (a null value removes a claim)');
    for (const [k, v] of Object.entries(c.body.custom_claims)) {
      if (v === null) delete client.custom_claims[k];
      else client.custom_claims[k] = v;
    }
    store.stateChanged(st);
    return { client_id: client.client_id, custom_claims: client.custom_claims };
  }],
  ['POST', /^\/m2m\/token$/, (st, c) => mintM2m(st, c)],
  ['POST', /^\/jwt$/, (st, c) => ({ jwt: mintJwt(st, c.body.session_id === undefined
    ? projectOf(st, c, wantsB2b(c.body.type)) : projectOf(st, c), c.body, c.now) })],
  ['POST', /^\/policy$/, (st, c) => {
    const p = c.body.policy;
    if (!isObj(p) || !validRoles(p.roles)) {
      return controlError(c.res, 400, 'policy must be {roles:[{role_id, permissions}], resources, scopes}');
    }
    const project = projectOf(st, c, wantsB2b(c.body.b2b));
    store.setPolicy(project, project.vertical,
      { roles: p.roles, resources: p.resources || [], scopes: p.scopes || [] });
    store.stateChanged(st);
    return { ok: true };
  }],
  ['POST', /^\/org-policy$/, (st, c) => {
    const b = c.body;
    if (typeof b.organization_id !== 'string' || !isObj(b.org_policy) || !validRoles(b.org_policy.roles)) {
      return controlError(c.res, 400, 'body must be {organization_id, org_policy:{roles:[...]}}');
    }
    projectOf(st, c, true).orgPolicies.set(b.organization_id, { roles: b.org_policy.roles });
    store.stateChanged(st);
    return { ok: true };
  }],
  ['GET', /^\/keys$/, (st, c) => tokens.keysInfo(projectOf(st, c).keySet)],
  ['POST', /^\/keys\/rotate$/, (st, c) => {
    const project = projectOf(st, c);
    const r = tokens.rotateKeys(project.keySet, project.env);
    store.stateChanged(st);
    return r;
  }],
  ['POST', /^\/keys\/retire$/, (st, c) => {
    const ks = projectOf(st, c).keySet;
    tokens.retireKey(ks, c.body.kid);
    store.stateChanged(st);
    return { ok: true, ...tokens.keysInfo(ks) };
  }],
  ['POST', /^\/faults$/, (st, c) => {
    const ep = c.body.endpoint;
    if (ep !== '*' && !traffic.ENDPOINTS.includes(ep)) {
      return controlError(c.res, 400, `endpoint must be one of ${traffic.ENDPOINTS.join(', ')}, *`);
    }
    const f = traffic.parseFault(c.body);
    st.faults.set(ep, f);
    return { ok: true, endpoint: ep, fault: f };
  }],
  ['DELETE', /^\/faults$/, (st) => { st.faults.clear(); return { ok: true }; }],
  ['GET', /^\/faults$/, (st) => ({ faults: Object.fromEntries(st.faults) })],
  ['POST', /^\/refuse$/, (st, c) => {
    const ms = Number(c.body.ms);
    if (!Number.isFinite(ms) || ms < 0) return controlError(c.res, 400, 'ms must be a non-negative number');
    c.res.writeHead(200, { 'Content-Type': 'application/json', Connection: 'close' });
    c.res.end(JSON.stringify({ ok: true, ms }), () => c.refuse(ms));
    return undefined;
  }],
  ['GET', /^\/outbox$/, (st, c) => ({ messages: signin.outbox(st, {
    email: c.query.get('email'), project_id: c.query.get('project_id'), type: c.query.get('type') }) })],
  ['DELETE', /^\/outbox$/, (st) => { st.outbox = []; return { ok: true }; }],
  ['POST', /^\/outbox\/expire$/, (st, c) => {
    const n = signin.expire(st, c.body);
    if (!n) return controlError(c.res, 404, 'no such message: give token, code (and method_id) or email');
    return { ok: true, expired: n };
  }],
  ['GET', /^\/counters$/, (st) => st.counters],
  ['POST', /^\/idle-timeout$/, (st, c) => {
    const ms = c.body.ms;
    if (!Number.isInteger(ms) || ms < 0) return controlError(c.res, 400, 'ms must be a non-negative integer (0: never)');
    st.net.idleTimeoutMs = ms;
    return { ok: true, idle_timeout_ms: ms };
  }],
  ['GET', /^\/connections$/, (st) => ({ idle_timeout_ms: st.net.idleTimeoutMs, open: st.net.sockets.size,
    accepted: st.counters.connections_accepted, closed_idle: st.counters.connections_closed_idle })],
  ['GET', /^\/requests$/, (st, c) => {
    const list = listRequests(st, c.query);
    if (!list) return controlError(c.res, 400, 'unknown endpoint');
    return { requests: list };
  }],
  ['POST', /^\/reset$/, (st, c) => {
    traffic.resetTraffic(st);
    if (c.body.all) { store.resetWorld(st); store.stateChanged(st); }
    return { ok: true, all: !!c.body.all };
  }],
  ...connectedApps.CONTROL_ROUTES,
];

function handleControl(st, req, res, pathname, query, raw, extra) {
  let body = {};
  if (raw && raw.length) {
    try { body = JSON.parse(raw); } catch { return controlError(res, 400, 'body is not JSON'); }
    if (!isObj(body)) return controlError(res, 400, 'body must be a JSON object');
  }
  const route = pathname.slice('/emulator'.length);
  for (const [method, re, handler] of ROUTES) {
    if (req.method !== method) continue;
    const m = re.exec(route);
    if (!m) continue;
    try {
      const c = { req, res, body, query, params: m.slice(1).map(decodeURIComponent), now: Date.now(), ...extra };
      const out = handler(st, c);
      if (out !== undefined && !res.headersSent) sendJson(res, 200, out);
    } catch (e) {
      controlError(res, e.httpStatus || 400, e.message);
    }
    return undefined;
  }
  return controlError(res, 404, `no control route ${req.method} ${pathname}`);
}

module.exports = { handleControl };
