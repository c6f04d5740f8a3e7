'use strict';
// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// The emulator's state: one object made by createState() and passed to
// every module.  It holds the projects (each with its settings, key set,
// policies, organizations, users, sessions, magic links, passcodes and M2M
// clients), the outbox, the traffic bookkeeping (counters, recorded
// requests, faults) and the server's own settings; this file makes
// projects, users and sessions, and loads and saves it all for --state.

const fs = require('node:fs');
const { envOf, newId, isObj, secretToken } = require('./util.js');
const tokens = require('./tokens.js');
const traffic = require('./traffic.js');
const factors = require('./factors.js');

// ---------------------------------------------------------------- policies

function docRoles() {
  return [
    { role_id: 'editor', description: 'Can read and write documents',
      permissions: [{ resource_id: 'documents', actions: ['read', 'write'] }] },
    { role_id: 'admin', description: 'Can do anything with documents',
      permissions: [{ resource_id: 'documents', actions: ['*'] }] },
  ];
}
const docResource = () => ({ resource_id: 'documents', description: 'Documents',
  actions: ['create', 'read', 'write', 'delete'] });

function defaultConsumerPolicy() {
  return {
    roles: [{ role_id: 'stytch_user', description: 'Granted to all Users.', permissions: [] }, ...docRoles()],
    resources: [docResource()],
    scopes: [],
  };
}

// Stytch's default B2B resources and roles
// (https://www.stytch.com/docs/b2b/guides/rbac/stytch-default).
function defaultB2BPolicy() {
  const stytchResources = [
    { resource_id: 'stytch.self', description: 'The authenticated Member',
      actions: ['update.info.name', 'update.info.untrusted-metadata', 'update.info.mfa-phone',
        'update.info.delete.mfa-phone', 'update.info.delete.password', 'update.settings.mfa-enrolled',
        'update.settings.default-mfa-method', 'revoke-sessions', 'delete'] },
    { resource_id: 'stytch.organization', description: 'The Organization',
      actions: ['update.info.name', 'update.info.slug', 'update.info.logo-url',
        'update.settings.allowed-auth-methods', 'update.settings.email-jit-provisioning', 'delete'] },
    { resource_id: 'stytch.member', description: 'Members of the Organization',
      actions: ['create', 'update.info.name', 'update.info.email', 'update.settings.roles',
        'search', 'revoke-sessions', 'delete'] },
    { resource_id: 'stytch.sso', description: 'SSO connections', actions: ['create', 'update', 'delete'] },
    { resource_id: 'stytch.scim', description: 'SCIM connections', actions: ['create', 'update', 'delete'] },
  ];
  return {
    roles: [
      { role_id: 'stytch_member', description: 'Granted to all Members upon creation.',
        permissions: [{ resource_id: 'stytch.self', actions: ['*'] },
          { resource_id: 'stytch.member', actions: ['search'] }] },
      { role_id: 'stytch_admin', description: 'Granted to the Member who created the Organization.',
        permissions: stytchResources.map((r) => ({ resource_id: r.resource_id, actions: ['*'] })) },
      ...docRoles(),
    ],
    resources: [...stytchResources, docResource()],
    scopes: [],
  };
}

function setPolicy(project, kind, p) {
  project.policy[kind] = p;
  project.policyJson[kind] = JSON.stringify(p);
}

// ---------------------------------------------------------------- projects

// A project's world: everything --state saves and reset {all} renews.
function resetProjectWorld(project) {
  project.custom_domain = null;
  project.jwt_lifetime = 300;
  project.m2m_lifetime = 3600;
  project.clock_offset = 0;
  project.redirect_url = 'http://localhost:3000/authenticate';
  project.rate_limit = {};
  project.rateWindows = { all: [], authenticate: [] };
  project.keySet = tokens.createKeySet(project.env);
  project.sessions = new Map(); // session_id -> session
  project.users = new Map(); // user_id -> consumer user
  project.usersByEmail = new Map(); // lower-case email -> user_id
  project.magicLinks = new Map(); // token -> magic link
  project.otps = new Map(); // email_id -> passcodes sent to it
  project.m2mClients = new Map(); // client_id -> M2M client
  project.oauth = null; // Connected Apps, made on first use by connected-apps.js
  project.tokens = new Map(); // session_token -> session_id
  project.orgs = new Map(); // organization_id -> {organization_id, slug, name, created_at}
  project.orgPolicies = new Map(); // organization_id -> {roles}
  project.policy = { consumer: null, b2b: null };
  project.policyJson = { consumer: '', b2b: '' };
  setPolicy(project, 'consumer', defaultConsumerPolicy());
  setPolicy(project, 'b2b', defaultB2BPolicy());
}

// spec: {project_id, secret, vertical: "consumer"|"b2b", builtin?}.  A
// project is one vertical, as a real Stytch project is.
function makeProject(spec) {
  const project = {
    project_id: spec.project_id,
    secret: spec.secret,
    env: envOf(spec.project_id),
    issuer: `stytch.com/${spec.project_id}`,
    vertical: spec.vertical,
    builtin: !!spec.builtin,
  };
  project.basicAuth = 'Basic ' + Buffer.from(`${project.project_id}:${project.secret}`).toString('base64');
  // What Stytch's frontend SDKs are given instead of the secret.
  project.public_token = newId(project.env, 'public-token');
  resetProjectWorld(project);
  return project;
}

function addProject(st, spec) {
  const project = makeProject(spec);
  st.projects.set(project.project_id, project);
  return project;
}

const PROJECT_ID_RE = /^project-(test|live)-[A-Za-z0-9-]{1,64}$/;

// A custom domain as Stytch's frontend SDK on a CNAME uses it for the JWT
// issuer: an origin, without a trailing slash.
function parseCustomDomain(v) {
  if (v === null) return null;
  if (typeof v !== 'string' || !/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?\/*$/.test(v)) {
    throw new Error('custom_domain must be an origin such as https://login.example.test, or null');
  }
  return v.replace(/\/+$/, '');
}

// Seconds a minted session JWT lives: Stytch's are 300; tests may want a
// few seconds.
// Where magic links lead when a request names no URL: Stytch takes the
// project's default redirect URL from its dashboard.
function parseRedirectUrl(v) {
  let u;
  try { u = new URL(v); } catch { u = null; }
  if (typeof v !== 'string' || !u || (u.protocol !== 'https:' && u.protocol !== 'http:')) {
    throw new Error('redirect_url must be an absolute http(s) URL');
  }
  return v;
}

function parseLifetime(v, name) {
  if (!Number.isInteger(v) || v < 1 || v > 86400) throw new Error(`${name} must be an integer of seconds in 1..86400`);
  return v;
}

// Settings a project may change at any time: {custom_domain?,
// jwt_lifetime?, m2m_lifetime?, redirect_url?, rate_limit?, clock_offset?
// (seconds added to the clock that session JWTs are minted by: Stytch's
// clock and the server's that checks them part)}.  All are checked before any is changed.
function checkSettings(b, project) {
  const next = {};
  if (b.custom_domain !== undefined) next.custom_domain = parseCustomDomain(b.custom_domain);
  if (b.jwt_lifetime !== undefined) next.jwt_lifetime = parseLifetime(b.jwt_lifetime, 'jwt_lifetime');
  // M2M access tokens live an hour at Stytch.
  if (b.m2m_lifetime !== undefined) next.m2m_lifetime = parseLifetime(b.m2m_lifetime, 'm2m_lifetime');
  if (b.redirect_url !== undefined) next.redirect_url = parseRedirectUrl(b.redirect_url);
  if (b.clock_offset !== undefined) {
    if (!Number.isInteger(b.clock_offset) || Math.abs(b.clock_offset) > 86400) {
      throw new Error('clock_offset must be an integer of seconds in -86400..86400');
    }
    next.clock_offset = b.clock_offset;
  }
  if (b.rate_limit !== undefined) next.rate_limit = traffic.parseRateLimit(b.rate_limit, project ? project.rate_limit : {});
  return next;
}

function applySettings(st, project, b) {
  const next = checkSettings(b, project);
  Object.assign(project, next);
  // New limits count from now.
  if (next.rate_limit) project.rateWindows = { all: [], authenticate: [] };
  // JWTs verified against the old issuers must be looked at again.
  project.keySet.verified.clear();
  stateChanged(st);
}

// A project made by POST /emulator/projects: body {vertical, project_id?,
// secret?, and the settings of applySettings}.
function createProject(st, b) {
  if (b.vertical !== 'consumer' && b.vertical !== 'b2b') throw new Error('vertical must be consumer or b2b');
  const projectId = b.project_id === undefined ? newId('test', 'project') : b.project_id;
  if (typeof projectId !== 'string' || !PROJECT_ID_RE.test(projectId)) {
    throw new Error('project_id must look like project-test-<uuid> or project-live-<uuid>');
  }
  if (st.projects.has(projectId)) throw new Error(`project ${projectId} exists`);
  const secret = b.secret === undefined ? `secret-${envOf(projectId)}-${secretToken()}` : b.secret;
  if (typeof secret !== 'string' || !/^[\x21-\x7e]{1,200}$/.test(secret) || secret.includes(':')) {
    throw new Error('secret must be printable ASCII without spaces or ":"');
  }
  const settings = checkSettings(b);
  const project = addProject(st, { project_id: projectId, secret, vertical: b.vertical });
  Object.assign(project, settings);
  stateChanged(st);
  return project;
}

function deleteProject(st, project) {
  if (project.builtin) throw new Error('a built-in project cannot be deleted');
  st.projects.delete(project.project_id);
  stateChanged(st);
}

// The project whose frontend SDKs use the public token, or undefined.
function projectByPublicToken(st, token) {
  for (const p of st.projects.values()) if (p.public_token === token) return p;
  return undefined;
}

const defaultProject = (st) => st.projects.get(st.defaultProjectId);
const b2bProject = (st) => st.projects.get(st.b2bProjectId);

// The project a control call names (project_id), or the built-in one of
// the vertical it asks for (the default, consumer one without b2b).
function projectById(st, projectId, b2b) {
  if (projectId === undefined || projectId === null) return b2b ? b2bProject(st) : defaultProject(st);
  const p = st.projects.get(projectId);
  if (!p) throw Object.assign(new Error(`unknown project ${projectId}`), { httpStatus: 404 });
  return p;
}

// A session of any project, or of the one named.
function findSession(st, sessionId, projectId) {
  const list = projectId === undefined || projectId === null ? [...st.projects.values()] : [projectById(st, projectId)];
  for (const project of list) {
    const s = project.sessions.get(sessionId);
    if (s) return { project, s };
  }
  return null;
}

// ---------------------------------------------------------------- state

function createState(opts) {
  const st = {
    opts: { host: opts.host, tls: !!opts.tls, stateFile: opts.state || null },
    projects: new Map(), // project_id -> project
    defaultProjectId: opts.projectId, // the consumer project of the command line
    b2bProjectId: opts.b2bProjectId, // and its B2B project
    baseUrl: null, // set once listening; also accepted as a JWT issuer
    rogueKey: null, // signs JWTs for negative tests; no key set serves it
    counters: null,
    recorded: null,
    faults: new Map(), // endpoint or '*' -> fault
    outbox: [], // what Stytch would have emailed, oldest first
    cache: { oversized: null },
    net: { server: null, boundPort: null, sockets: new Set(), tmpTlsDir: null,
      idleTimeoutMs: opts.idleTimeout === undefined ? 65000 : opts.idleTimeout },
    saveTimer: null,
  };
  traffic.resetTraffic(st);
  addProject(st, { project_id: opts.projectId, secret: opts.secret, vertical: 'consumer', builtin: true });
  addProject(st, { project_id: opts.b2bProjectId, secret: opts.b2bSecret, vertical: 'b2b', builtin: true });
  return st;
}

// Projects made by tests go; the built-in ones start afresh.
function resetWorld(st) {
  st.outbox = [];
  for (const p of [...st.projects.values()]) {
    if (p.builtin) resetProjectWorld(p);
    else st.projects.delete(p.project_id);
  }
}

// ---------------------------------------------------------------- sessions

const RESERVED_CLAIMS = new Set(['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti']);
function mergeClaims(target, claims) {
  for (const [k, v] of Object.entries(claims)) {
    if (RESERVED_CLAIMS.has(k) || k.startsWith('https://stytch.com/')) continue;
    if (v === null) delete target[k];
    else target[k] = v;
  }
}

function getOrg(project, orgId, slug, now) {
  let o = project.orgs.get(orgId);
  if (!o) {
    const s = slug || `org-${orgId.replace(/^organization-(test|live)-/, '').slice(0, 8)}`;
    o = { organization_id: orgId, slug: s, name: s, created_at: now };
    project.orgs.set(orgId, o);
  } else if (slug && slug !== o.slug) {
    o.slug = slug;
  }
  return o;
}

// ---------------------------------------------------------------- users

// A consumer user: {user_id, email, email_id, verified, created_at}.  The
// email index finds the first user with an address, as sign-ins do.
function addUser(st, project, userId, email, verified, now) {
  const u = { user_id: userId, email, email_id: newId(project.env, 'email'), verified, created_at: now };
  project.users.set(userId, u);
  const key = email.toLowerCase();
  if (!project.usersByEmail.has(key)) project.usersByEmail.set(key, userId);
  stateChanged(st);
  return u;
}

function userByEmail(project, email) {
  const id = project.usersByEmail.get(email.toLowerCase());
  return id === undefined ? undefined : project.users.get(id);
}

// ---------------------------------------------------------------- sessions

// A live session record.  f: {type, subject, email, email_id, roles,
// omit_roles?, organization_id?, custom_claims?, attributes, factors (specs
// for factors.js, or undefined for the default), duration_ms}.
function newSession(st, project, f, now) {
  const env = project.env;
  const s = {
    type: f.type,
    session_id: newId(env, 'session'),
    token: secretToken(),
    subject: f.subject,
    organization_id: f.organization_id || null,
    email: f.email,
    email_id: f.email_id,
    roles: [...f.roles],
    omit_roles: !!f.omit_roles,
    custom_claims: {},
    started_at: now,
    last_accessed_at: now,
    expires_at: now + f.duration_ms,
    created_at: now,
    revoked: false,
    attributes: { ...f.attributes },
    factors: null,
    version: 0,
    jwtCache: null,
  };
  s.factors = factors.factorsFrom(env, s, f.factors, now);
  if (f.custom_claims) mergeClaims(s.custom_claims, f.custom_claims);
  project.sessions.set(s.session_id, s);
  project.tokens.set(s.token, s.session_id);
  stateChanged(st);
  return s;
}

function checkAttributes(a) {
  if (!isObj(a) || Object.entries(a).some(([k, v]) => !['ip_address', 'user_agent'].includes(k) || typeof v !== 'string')) {
    throw new Error('attributes must be {ip_address?, user_agent?} strings');
  }
  return a;
}

// A session made by the control API: body fields as POST /emulator/sessions.
function createSession(st, project, b, now) {
  const type = b.type === undefined ? (project.vertical === 'b2b' ? 'b2b' : 'consumer') : b.type;
  if (type !== 'consumer' && type !== 'b2b') throw new Error('type must be consumer or b2b');
  if (type !== project.vertical) {
    throw new Error(`project ${project.project_id} is a ${project.vertical} project`);
  }
  const duration = b.duration_minutes === undefined ? 60 : Number(b.duration_minutes);
  if (!Number.isFinite(duration)) throw new Error('duration_minutes must be a number');
  if (b.roles !== undefined && (!Array.isArray(b.roles) || b.roles.some((r) => typeof r !== 'string'))) {
    throw new Error('roles must be a list of strings');
  }
  if (b.custom_claims !== undefined && !isObj(b.custom_claims)) throw new Error('custom_claims must be an object');
  const attributes = { ip_address: b.ip_address || '203.0.113.1', user_agent: b.user_agent || 'stytch-emulator' };
  if (b.attributes !== undefined) Object.assign(attributes, checkAttributes(b.attributes));
  if (b.email !== undefined && (typeof b.email !== 'string' || !b.email.includes('@'))) throw new Error('email must be an address');
  const env = project.env;
  const f = {
    type, roles: b.roles || [type === 'b2b' ? 'stytch_member' : 'stytch_user'], omit_roles: b.omit_roles,
    custom_claims: b.custom_claims, attributes, factors: b.factors, duration_ms: duration * 60000,
  };
  if (type === 'b2b') {
    f.subject = b.member_id || newId(env, 'member');
    f.email = b.email || 'member@example.com';
    f.email_id = newId(env, 'email');
    f.organization_id = b.organization_id || newId(env, 'organization');
    getOrg(project, f.organization_id, b.organization_slug, now);
  } else {
    const userId = b.user_id || newId(env, 'user');
    const u = project.users.get(userId) || addUser(st, project, userId, b.email || 'user@example.com', true, now);
    f.subject = userId;
    f.email = b.email || u.email;
    f.email_id = f.email === u.email ? u.email_id : newId(env, 'email');
  }
  return newSession(st, project, f, now);
}

function revokeSession(st, project, s) {
  s.revoked = true;
  s.version++;
  project.tokens.delete(s.token);
  stateChanged(st);
}

// ---------------------------------------------------------------- --state

function serialiseProject(p) {
  return {
    project_id: p.project_id,
    secret: p.secret,
    public_token: p.public_token,
    vertical: p.vertical,
    builtin: p.builtin,
    custom_domain: p.custom_domain,
    jwt_lifetime: p.jwt_lifetime,
    m2m_lifetime: p.m2m_lifetime,
    redirect_url: p.redirect_url,
    m2m_clients: [...p.m2mClients.values()],
    rate_limit: p.rate_limit,
    signing: p.keySet.signingKid,
    keys: tokens.saveKeySet(p.keySet),
    sessions: [...p.sessions.values()].map((s) => {
      const { jwtCache, ...rest } = s; // eslint-disable-line no-unused-vars
      return rest;
    }),
    organizations: [...p.orgs.values()],
    users: [...p.users.values()],
    policy: p.policy.consumer,
    b2b_policy: p.policy.b2b,
    org_policies: Object.fromEntries(p.orgPolicies),
  };
}

function serialiseState(st) {
  return { version: 2, default_project_id: st.defaultProjectId, b2b_project_id: st.b2bProjectId,
    projects: [...st.projects.values()].map(serialiseProject) };
}

function loadProject(p, saved) {
  p.keySet = tokens.loadKeySet(p.env, saved.keys, saved.signing);
  if (typeof saved.public_token === 'string') p.public_token = saved.public_token;
  p.custom_domain = saved.custom_domain || null;
  p.rate_limit = saved.rate_limit || {};
  p.jwt_lifetime = saved.jwt_lifetime || 300;
  p.m2m_lifetime = saved.m2m_lifetime || 3600;
  for (const c of saved.m2m_clients || []) p.m2mClients.set(c.client_id, c);
  if (saved.redirect_url) p.redirect_url = saved.redirect_url;
  for (const s of saved.sessions || []) {
    s.jwtCache = null;
    s.version = s.version || 0;
    if (!Array.isArray(s.factors)) s.factors = factors.defaultFactors(p.env, s, s.started_at);
    p.sessions.set(s.session_id, s);
    if (!s.revoked) p.tokens.set(s.token, s.session_id);
  }
  for (const o of saved.organizations || []) p.orgs.set(o.organization_id, o);
  for (const u of saved.users || []) {
    p.users.set(u.user_id, u);
    if (!p.usersByEmail.has(u.email.toLowerCase())) p.usersByEmail.set(u.email.toLowerCase(), u.user_id);
  }
  setPolicy(p, 'consumer', saved.policy || defaultConsumerPolicy());
  setPolicy(p, 'b2b', saved.b2b_policy || defaultB2BPolicy());
  p.orgPolicies = new Map(Object.entries(saved.org_policies || {}));
}

// Version 1 files hold the default project only.  Built-in projects keep
// the ids and secrets of the command line.
function loadState(st, file) {
  const saved = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (saved.version !== 2) { loadProject(defaultProject(st), saved); return; }
  for (const sp of saved.projects || []) {
    let p = st.projects.get(sp.project_id);
    if (sp.builtin && !p && sp.project_id === saved.default_project_id) p = defaultProject(st);
    if (sp.builtin && !p && sp.project_id === saved.b2b_project_id) p = b2bProject(st);
    if (sp.builtin && !p) continue;
    if (p && p.vertical !== sp.vertical) continue;
    if (!p) p = addProject(st, { project_id: sp.project_id, secret: sp.secret, vertical: sp.vertical });
    loadProject(p, sp);
  }
}

function saveState(st) {
  const file = st.opts.stateFile;
  if (!file) return;
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(serialiseState(st), null, 1));
  fs.renameSync(tmp, file);
}

// Saves are debounced: a burst of changes costs one write.
function stateChanged(st) {
  if (!st.opts.stateFile || st.saveTimer) return;
  st.saveTimer = setTimeout(() => {
    st.saveTimer = null;
    try { saveState(st); } catch (e) { process.stderr.write(`stytch-emulator: saving state: ${e.message}\n`); }
  }, 200);
}

module.exports = {
  createState, createProject, applySettings, deleteProject, defaultProject, b2bProject,
  projectById, projectByPublicToken, findSession,
  resetWorld, setPolicy,
  createSession, newSession, checkAttributes, addUser, userByEmail, revokeSession, mergeClaims, getOrg, serialiseState, loadState, saveState, stateChanged,
};
