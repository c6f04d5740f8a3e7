'use strict';
// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// Connected Apps: a project as an OAuth 2.1 / OpenID Connect authorization
// server, as Stytch's Connected Apps API reference describes it.  The
// discovery documents (RFC 8414, OpenID Connect Discovery), the JWKS at
// /.well-known/jwks.json, dynamic client registration (RFC 7591), an
// authorization endpoint with PKCE (S256) and the emulator's own consent,
// the token endpoint of every grant (authorization_code, refresh_token;
// client_credentials is m2m.js's), introspection (RFC 7662), revocation
// (RFC 7009), userinfo; and the control calls that make Connected Apps,
// sign users in, revoke grants and mint access tokens.
//
// Each endpoint is served at the project's domain (the emulator's root:
// the project whose custom domain's host the Host header names, else the
// default project) and at Stytch's backwards-compatible
// /v1/public/<project_id>/... path.  Access tokens are RS256 JWTs signed
// with the project's key set, as session JWTs are.

const crypto = require('node:crypto');
const { newId, requestId, isObj, isStrList, secretToken, send, sendJson } = require('./util.js');
const { OAuthError, NO_STORE, sendOAuthError, params, clientCredentials, sameSecret } = require('./oauth2.js');
const store = require('./store.js');
const tokens = require('./tokens.js');
const api = require('./api.js');
const m2m = require('./m2m.js');

// Stytch supports the standard OpenID scopes, and the custom scopes of the
// project's RBAC policy.
const STANDARD_SCOPES = ['openid', 'profile', 'email', 'phone', 'offline_access'];
const CODE_LIFETIME = 600;
const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'none'];
const GRANT_TYPES = ['authorization_code', 'refresh_token'];
const PKCE_RE = /^[A-Za-z0-9._~-]{43,128}$/;

// ---------------------------------------------------------------- state

// A project's Connected Apps world, made on first use (store.js's
// resetProjectWorld drops it).
function world(project) {
  if (!project.oauth) {
    project.oauth = {
      apps: new Map(), // client_id -> Connected App
      dedup: new Map(), // registered public metadata -> client_id
      codes: new Map(), // authorization code -> what it grants
      grants: new Map(), // grant_id -> {client_id, user, scopes, revoked}
      refresh: new Map(), // refresh token -> {grant_id, client_id, scopes, resource, access_jti}
      issued: new Map(), // access token jti -> grant_id
      revokedJti: new Set(),
      consents: [], // the signed-in users' consents, newest last
      members: new Map(), // organization_id + email -> member_id
      settings: { resource_audience: false, access_token_lifetime: 3600, dynamic_registration: true },
    };
  }
  return project.oauth;
}

function supportedScopes(project) {
  const policy = project.policy[project.vertical] || {};
  const custom = (policy.scopes || []).map((s) => (isObj(s) ? s.scope : s)).filter((s) => typeof s === 'string');
  return [...new Set([...STANDARD_SCOPES, ...custom])];
}

const splitScope = (s) => [...new Set(String(s || '').trim().split(/\s+/).filter(Boolean))];

function checkRedirectUris(v, ErrorOf) {
  if (!isStrList(v) || v.length === 0) throw ErrorOf('redirect_uris must be a non-empty list of URLs.');
  for (const u of v) {
    let url;
    try { url = new URL(u); } catch { throw ErrorOf(`redirect_uri ${u} is not an absolute URL.`); }
    if (url.hash || !/^[a-z][a-z0-9+.-]*:$/.test(url.protocol) || /^(javascript|data):$/.test(url.protocol)) {
      throw ErrorOf(`redirect_uri ${u} is not allowed.`);
    }
  }
  return [...v];
}

// spec: {client_id?, client_secret?, client_name?, client_description?,
// client_type: first_party | first_party_public | third_party |
// third_party_public, redirect_uris, scopes?, token_endpoint_auth_method?,
// created_via}.
function createApp(st, project, spec) {
  const w = world(project);
  const isPublic = /_public$/.test(spec.client_type);
  const app = {
    client_id: spec.client_id || newId(project.env, 'connected-app'),
    client_secret: isPublic ? null : (spec.client_secret || secretToken()),
    client_name: spec.client_name || '',
    client_description: spec.client_description || '',
    client_type: spec.client_type,
    public: isPublic,
    redirect_uris: spec.redirect_uris,
    scopes: spec.scopes || supportedScopes(project),
    token_endpoint_auth_method: isPublic ? 'none' : (spec.token_endpoint_auth_method || 'client_secret_basic'),
    grant_types: spec.grant_types || GRANT_TYPES,
    client_uri: spec.client_uri,
    created_at: Math.floor(Date.now() / 1000),
    created_via: spec.created_via,
  };
  if (w.apps.has(app.client_id) || project.m2mClients.has(app.client_id)) {
    throw new Error(`client_id ${app.client_id} exists`);
  }
  w.apps.set(app.client_id, app);
  store.stateChanged(st);
  return app;
}

// The Connected App the request's credentials name and prove: a public
// client by its client_id alone, a confidential one with its secret (HTTP
// Basic or in the body).
function authenticateApp(project, cred) {
  const app = cred.id ? world(project).apps.get(cred.id) : undefined;
  if (!app) throw new OAuthError('invalid_client', 'The client could not be authenticated.');
  if (app.public) {
    if (cred.secret !== undefined) throw new OAuthError('invalid_client', 'A public client has no client_secret.');
    return app;
  }
  if (!sameSecret(cred.secret, app.client_secret)) {
    throw new OAuthError('invalid_client', 'The client could not be authenticated.');
  }
  return app;
}

// ---------------------------------------------------------------- users

// Who signs in at the authorization endpoint: a consumer user (user_id or
// email; an unknown email becomes a verified user) or a B2B member
// (organization_id and member_id or email).  -> {sub, email,
// organization_id}.
function userOf(st, project, b) {
  if (project.vertical === 'b2b') {
    if (typeof b.organization_id !== 'string' || !b.organization_id) {
      throw new Error('a B2B project needs organization_id (and member_id or email)');
    }
    let sub = b.member_id;
    if (sub === undefined) {
      if (typeof b.email !== 'string') throw new Error('member_id or email is required');
      const key = `${b.organization_id} ${b.email.toLowerCase()}`;
      const w = world(project);
      if (!w.members.has(key)) w.members.set(key, newId(project.env, 'member'));
      sub = w.members.get(key);
    }
    if (typeof sub !== 'string' || !sub) throw new Error('member_id must be a string');
    store.getOrg(project, b.organization_id, undefined, Date.now());
    return { sub, email: typeof b.email === 'string' ? b.email : null, organization_id: b.organization_id };
  }
  let u;
  if (b.user_id !== undefined) {
    u = project.users.get(b.user_id);
    if (!u) throw Object.assign(new Error(`unknown user ${b.user_id}`), { httpStatus: 404 });
  } else if (typeof b.email === 'string' && b.email.includes('@')) {
    u = store.userByEmail(project, b.email) ||
      store.addUser(st, project, newId(project.env, 'user'), b.email, true, Date.now());
  } else {
    throw new Error('user_id or email is required');
  }
  return { sub: u.user_id, email: u.email, email_verified: u.verified, organization_id: null };
}

// ---------------------------------------------------------------- tokens

function accessPayload(project, w, g, scopes, resource, iat, lifetime, jti) {
  const aud = [project.project_id];
  if (resource && w.settings.resource_audience) aud.push(resource);
  const p = { iss: tokens.mintIssuer(project), sub: g.user.sub, aud, client_id: g.client_id,
    exp: iat + lifetime, nbf: iat, iat, jti, scope: scopes.join(' ') };
  if (g.user.organization_id) {
    const o = project.orgs.get(g.user.organization_id);
    p[tokens.ORG_CLAIM] = { organization_id: g.user.organization_id, slug: o ? o.slug : '' };
  }
  return p;
}

function sign(project, payload) {
  const key = project.keySet.keys.get(project.keySet.signingKid);
  return tokens.signJwt({ alg: 'RS256', kid: key.kid, typ: 'JWT' }, payload, key);
}

// The answer of the token endpoint: an access token always, a refresh
// token when offline_access is granted, an ID token when openid is.
function issue(st, project, g, scopes, resource, nonce, now) {
  const w = world(project);
  const iat = Math.floor(now / 1000);
  const life = w.settings.access_token_lifetime;
  const jti = secretToken();
  const out = { access_token: sign(project, accessPayload(project, w, g, scopes, resource, iat, life, jti)),
    token_type: 'bearer', expires_in: life, scope: scopes.join(' ') };
  w.issued.set(jti, g.grant_id);
  if (scopes.includes('offline_access')) {
    out.refresh_token = secretToken();
    w.refresh.set(out.refresh_token, { grant_id: g.grant_id, client_id: g.client_id, scopes, resource,
      access_jti: jti, iat });
  }
  if (scopes.includes('openid')) {
    const id = { iss: tokens.mintIssuer(project), sub: g.user.sub, aud: [g.client_id], exp: iat + life, nbf: iat,
      iat, auth_time: g.auth_time };
    if (nonce) id.nonce = nonce;
    if (scopes.includes('email') && g.user.email) {
      id.email = g.user.email;
      id.email_verified = g.user.email_verified !== false;
    }
    out.id_token = sign(project, id);
  }
  store.stateChanged(st);
  return out;
}

// The claims of an access token of the project that is active now, or
// null: signed by a served key, the project's issuer and audience, in its
// lifetime, not revoked, its grant not revoked.
function activeAccessToken(st, project, token, now) {
  if (typeof token !== 'string' || token.split('.').length !== 3) return null;
  let payload;
  try {
    payload = verifySignature(project, token);
  } catch { return null; }
  const w = world(project);
  const t = now / 1000;
  const aud = payload.aud;
  if (!api.issuersOf(st, project).includes(payload.iss)) return null;
  if (!(aud === project.project_id || (Array.isArray(aud) && aud.includes(project.project_id)))) return null;
  if (typeof payload.client_id !== 'string' || typeof payload.sub !== 'string') return null;
  if (typeof payload.exp !== 'number' || payload.exp <= t) return null;
  if (typeof payload.nbf === 'number' && payload.nbf > t) return null;
  if (w.revokedJti.has(payload.jti)) return null;
  const g = w.grants.get(w.issued.get(payload.jti));
  if (g && g.revoked) return null;
  return payload;
}

function verifySignature(project, jwt) {
  const [h, p, s] = jwt.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url').toString());
  const key = header.alg === 'RS256' ? project.keySet.keys.get(header.kid) : undefined;
  if (!key || !key.served || !s) throw new Error('no key');
  if (!crypto.verify('sha256', Buffer.from(`${h}.${p}`), key.publicKey, Buffer.from(s, 'base64url'))) {
    throw new Error('bad signature');
  }
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
  if (!isObj(payload)) throw new Error('no payload');
  return payload;
}

function activeRefreshToken(project, token) {
  const w = world(project);
  const r = typeof token === 'string' ? w.refresh.get(token) : undefined;
  if (!r) return null;
  const g = w.grants.get(r.grant_id);
  return g && !g.revoked ? { r, g } : null;
}

// ---------------------------------------------------------------- discovery

// The project a request to the emulator's root is for: the one whose
// custom domain the Host header names, else the default project.
function rootProject(st, req) {
  const host = String(req.headers.host || '').toLowerCase();
  for (const p of st.projects.values()) {
    if (p.custom_domain && new URL(p.custom_domain).host.toLowerCase() === host) return p;
  }
  return store.defaultProject(st);
}

// Where the project's endpoints are: at its root (the custom domain when
// the request came for it) or under /v1/public/<project_id>.
function endpoints(st, c) {
  const { project, req } = c;
  const atRoot = !c.params.length;
  let base = st.baseUrl;
  if (atRoot && project.custom_domain &&
      new URL(project.custom_domain).host.toLowerCase() === String(req.headers.host || '').toLowerCase()) {
    base = project.custom_domain;
  }
  const v1 = atRoot ? `${base}/v1/oauth2` : `${base}/v1/public/${project.project_id}/oauth2`;
  const wk = atRoot ? `${base}/.well-known` : `${base}/v1/public/${project.project_id}/.well-known`;
  return {
    authorization_endpoint: `${base}/v1/public/${project.project_id}/oauth2/authorize`,
    token_endpoint: `${v1}/token`,
    registration_endpoint: `${v1}/register`,
    introspection_endpoint: `${v1}/introspect`,
    revocation_endpoint: `${v1}/revoke`,
    userinfo_endpoint: `${v1}/userinfo`,
    jwks_uri: `${wk}/jwks.json`,
  };
}

function handleMetadata(st, c, oidc) {
  const { project } = c;
  const w = world(project);
  const e = endpoints(st, c);
  const doc = {
    issuer: tokens.mintIssuer(project),
    authorization_endpoint: e.authorization_endpoint,
    token_endpoint: e.token_endpoint,
    jwks_uri: e.jwks_uri,
    userinfo_endpoint: e.userinfo_endpoint,
    introspection_endpoint: e.introspection_endpoint,
    revocation_endpoint: e.revocation_endpoint,
    scopes_supported: supportedScopes(project),
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: GRANT_TYPES,
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: AUTH_METHODS,
    introspection_endpoint_auth_methods_supported: AUTH_METHODS,
    revocation_endpoint_auth_methods_supported: AUTH_METHODS,
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    claims_supported: ['iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'auth_time', 'nonce', 'email', 'email_verified'],
  };
  if (w.settings.dynamic_registration) doc.registration_endpoint = e.registration_endpoint;
  if (!oidc) delete doc.subject_types_supported;
  doc.request_id = requestId(project.env);
  doc.status_code = 200;
  send(c.res, 200, JSON.stringify(doc), { 'Cache-Control': 'public, max-age=300' });
}

function handleJwks(st, c) {
  const { project } = c;
  send(c.res, 200, project.keySet.jwksHead + requestId(project.env) + '"}', { 'Cache-Control': 'public, max-age=900' });
}

// ---------------------------------------------------------------- registration

// RFC 7591.  Stytch makes a third-party public client for
// token_endpoint_auth_method "none" (its default) and a third-party
// confidential one otherwise; public clients with identical metadata get
// the same client_id.
function handleRegister(st, c) {
  const { project, res } = c;
  const bad = (d) => new OAuthError('invalid_client_metadata', d);
  try {
    const w = world(project);
    if (!w.settings.dynamic_registration) throw bad('Dynamic Client Registration is not enabled for this project.');
    let b;
    try { b = JSON.parse(c.raw || ''); } catch { throw bad('The request body is not JSON.'); }
    if (!isObj(b)) throw bad('The request body must be a JSON object.');
    const redirects = checkRedirectUris(b.redirect_uris, (d) => new OAuthError('invalid_redirect_uri', d));
    const method = b.token_endpoint_auth_method === undefined ? 'none' : b.token_endpoint_auth_method;
    if (!AUTH_METHODS.includes(method)) throw bad(`token_endpoint_auth_method ${method} is not supported.`);
    const grants = b.grant_types === undefined ? GRANT_TYPES : b.grant_types;
    if (!isStrList(grants) || !grants.includes('authorization_code') || grants.some((g) => !GRANT_TYPES.includes(g))) {
      throw bad('grant_types must be authorization_code and refresh_token.');
    }
    const types = b.response_types === undefined ? ['code'] : b.response_types;
    if (!isStrList(types) || types.length !== 1 || types[0] !== 'code') throw bad('response_types must be ["code"].');
    for (const k of ['client_name', 'client_uri', 'scope']) {
      if (b[k] !== undefined && typeof b[k] !== 'string') throw bad(`${k} must be a string.`);
    }
    const supported = supportedScopes(project);
    let scopes = supported;
    if (b.scope !== undefined && b.scope.trim() !== '') {
      scopes = splitScope(b.scope);
      const extra = scopes.filter((s) => !supported.includes(s));
      if (extra.length) throw bad(`The scopes ${extra.join(' ')} are not supported.`);
    }
    const spec = { client_name: b.client_name, client_uri: b.client_uri, redirect_uris: redirects, scopes,
      token_endpoint_auth_method: method === 'none' ? undefined : method, grant_types: grants,
      client_type: method === 'none' ? 'third_party_public' : 'third_party', created_via: 'dynamic_registration' };
    let app;
    const key = JSON.stringify([spec.client_name, spec.client_uri, redirects, scopes, grants]);
    if (method === 'none' && w.dedup.has(key)) app = w.apps.get(w.dedup.get(key));
    if (!app) {
      app = createApp(st, project, spec);
      if (method === 'none') w.dedup.set(key, app.client_id);
    }
    sendJson(res, 201, registrationView(app));
  } catch (e) {
    if (!(e instanceof OAuthError)) throw e;
    sendOAuthError(res, project.env, e);
  }
}

function registrationView(app) {
  const v = {
    client_id: app.client_id,
    client_id_issued_at: app.created_at,
    client_name: app.client_name,
    redirect_uris: [...app.redirect_uris],
    grant_types: [...app.grant_types],
    response_types: ['code'],
    token_endpoint_auth_method: app.token_endpoint_auth_method,
    scope: app.scopes.join(' '),
  };
  if (app.client_uri) v.client_uri = app.client_uri;
  if (app.client_secret) {
    v.client_secret = app.client_secret;
    v.client_secret_expires_at = 0;
  }
  return v;
}

// ---------------------------------------------------------------- authorization

// The consent that lets user_hint (or the signed-in user) grant app the
// requested scopes: -> {user, scopes} or null.
function consentFor(st, project, app, requested, userHint) {
  if (userHint) {
    const b = project.vertical === 'b2b'
      ? { organization_id: userHint.organization_id, member_id: userHint.member_id, email: userHint.email }
      : (userHint.id.includes('@') ? { email: userHint.id } : { user_id: userHint.id });
    if (project.vertical === 'b2b' && b.member_id === undefined && b.email === undefined) {
      if (userHint.id.includes('@')) b.email = userHint.id; else b.member_id = userHint.id;
    }
    return { user: userOf(st, project, b), scopes: requested };
  }
  const list = world(project).consents;
  for (let i = list.length - 1; i >= 0; i--) {
    const k = list[i];
    if (k.client_id !== null && k.client_id !== app.client_id) continue;
    const scopes = k.scopes === null ? requested : requested.filter((s) => k.scopes.includes(s));
    return scopes.length ? { user: k.user, scopes } : null;
  }
  return null;
}

// GET: RFC 6749 section 4.1.1 with PKCE (RFC 7636, S256 only) and RFC
// 8707's resource.  An unknown client or redirect URI is answered here;
// every other outcome goes back to the client's redirect URI.
function handleAuthorize(st, c) {
  const { project, req, res } = c;
  const q = new URL(req.url, 'http://emulator').searchParams;
  const w = world(project);
  const direct = (error, d) => sendOAuthError(res, project.env, Object.assign(new OAuthError(error, d), { status: 400 }));
  const app = w.apps.get(q.get('client_id') || '');
  if (!app) return direct('invalid_request', 'client_id does not name a Connected App of this project.');
  let redirect = q.get('redirect_uri');
  if (redirect === null && app.redirect_uris.length === 1) [redirect] = app.redirect_uris;
  if (redirect === null || !app.redirect_uris.includes(redirect)) {
    return direct('invalid_request', 'redirect_uri is not one of the Connected App\'s redirect URIs.');
  }
  const back = (params) => {
    const u = new URL(redirect);
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) u.searchParams.set(k, v);
    if (q.get('state') !== null) u.searchParams.set('state', q.get('state'));
    res.writeHead(302, { Location: u.href, 'Cache-Control': 'no-store', 'Content-Length': 0 });
    res.end();
  };
  const fail = (error, d) => back({ error, error_description: d });
  if (q.get('response_type') !== 'code') return fail('unsupported_response_type', 'response_type must be code.');
  const challenge = q.get('code_challenge');
  if (!challenge) return fail('invalid_request', 'code_challenge is required (PKCE).');
  if (q.get('code_challenge_method') !== 'S256') return fail('invalid_request', 'code_challenge_method must be S256.');
  if (!/^[A-Za-z0-9_-]{43}$/.test(challenge)) return fail('invalid_request', 'code_challenge is not an S256 challenge.');
  let requested = splitScope(q.get('scope'));
  if (!requested.length) requested = app.scopes;
  const extra = requested.filter((s) => !app.scopes.includes(s));
  if (extra.length) return fail('invalid_scope', `The Connected App may not ask for ${extra.join(' ')}.`);
  const resource = q.get('resource');
  if (resource !== null) {
    let ok = false;
    try { ok = !new URL(resource).hash; } catch { /* not a URL */ }
    if (!ok) return fail('invalid_target', 'resource must be an absolute URI without a fragment.');
  }
  const hint = q.get('emulator_user');
  let consent;
  try {
    consent = consentFor(st, project, app, requested,
      hint ? { id: hint, organization_id: q.get('emulator_organization_id') } : null);
  } catch (e) {
    return fail('access_denied', e.message);
  }
  if (!consent) {
    return fail(q.get('prompt') === 'none' ? 'login_required' : 'access_denied',
      'No emulator user has consented: POST /emulator/oauth/consent, or emulator_user= on this URL.');
  }
  const code = secretToken();
  w.codes.set(code, { client_id: app.client_id, redirect_uri: redirect, challenge, scopes: consent.scopes,
    user: consent.user, nonce: q.get('nonce'), resource, exp: c.now + CODE_LIFETIME * 1000, used: false,
    grant_id: null });
  return back({ code });
}

// ---------------------------------------------------------------- token

function codeGrant(st, c, p, app) {
  const { project } = c;
  const w = world(project);
  for (const k of ['code', 'redirect_uri', 'code_verifier']) {
    if (!p[k]) throw new OAuthError('invalid_request', `${k} is required.`);
  }
  const rec = w.codes.get(p.code);
  if (!rec || rec.client_id !== app.client_id) throw new OAuthError('invalid_grant', 'The authorization code is invalid.');
  if (rec.used) {
    // RFC 6749 section 4.1.2: what a reused code got is revoked.
    const g = w.grants.get(rec.grant_id);
    if (g) g.revoked = true;
    throw new OAuthError('invalid_grant', 'The authorization code was already used.');
  }
  if (c.now >= rec.exp) throw new OAuthError('invalid_grant', 'The authorization code has expired.');
  if (p.redirect_uri !== rec.redirect_uri) {
    throw new OAuthError('invalid_grant', 'redirect_uri does not match the authorization request.');
  }
  if (!PKCE_RE.test(p.code_verifier) ||
      crypto.createHash('sha256').update(p.code_verifier).digest('base64url') !== rec.challenge) {
    throw new OAuthError('invalid_grant', 'The code_verifier does not match the code_challenge.');
  }
  if (p.resource !== undefined && rec.resource !== null && p.resource !== rec.resource) {
    throw new OAuthError('invalid_target', 'resource differs from the authorization request.');
  }
  rec.used = true;
  const g = { grant_id: newId(project.env, 'grant'), client_id: app.client_id, user: rec.user, scopes: rec.scopes,
    revoked: false, auth_time: Math.floor(c.now / 1000) };
  w.grants.set(g.grant_id, g);
  rec.grant_id = g.grant_id;
  return issue(st, project, g, rec.scopes, rec.resource || p.resource, rec.nonce, c.now);
}

// The refresh token is rotated: the one used stops working.
function refreshGrant(st, c, p, app) {
  const { project } = c;
  if (!p.refresh_token) throw new OAuthError('invalid_request', 'refresh_token is required.');
  const found = activeRefreshToken(project, p.refresh_token);
  if (!found || found.r.client_id !== app.client_id) throw new OAuthError('invalid_grant', 'The refresh token is invalid.');
  let scopes = found.r.scopes;
  if (p.scope !== undefined && p.scope.trim() !== '') {
    scopes = splitScope(p.scope);
    const extra = scopes.filter((s) => !found.r.scopes.includes(s));
    if (extra.length) throw new OAuthError('invalid_scope', `The refresh token does not grant ${extra.join(' ')}.`);
    // A narrower token keeps the right to refresh the grant's scopes.
    if (!scopes.includes('offline_access')) scopes.push('offline_access');
  }
  world(project).refresh.delete(p.refresh_token);
  const out = issue(st, project, found.g, scopes, found.r.resource || p.resource, null, c.now);
  // The refresh token keeps the grant's scopes.
  world(project).refresh.get(out.refresh_token).scopes = found.r.scopes;
  return out;
}

function handleToken(st, c) {
  const { project, req, res } = c;
  try {
    const p = params(req, c.raw);
    const cred = clientCredentials(req, p);
    if (!p.grant_type) throw new OAuthError('invalid_request', 'grant_type is required.');
    if (p.grant_type === 'client_credentials') return m2m.clientCredentialsGrant(st, c, p, cred);
    if (!GRANT_TYPES.includes(p.grant_type)) {
      throw new OAuthError('unsupported_grant_type', `The grant_type ${p.grant_type} is not supported.`);
    }
    if (!cred.id) throw new OAuthError('invalid_request', 'client_id is required.');
    const app = authenticateApp(project, cred);
    const out = p.grant_type === 'authorization_code' ? codeGrant(st, c, p, app) : refreshGrant(st, c, p, app);
    send(res, 200, JSON.stringify({ ...out, request_id: requestId(project.env), status_code: 200 }), NO_STORE);
  } catch (e) {
    if (!(e instanceof OAuthError)) throw e;
    sendOAuthError(res, project.env, e);
  }
  return undefined;
}

// ---------------------------------------------------------------- introspection, revocation, userinfo

// RFC 7662: a token of another client, unknown, expired or revoked is
// {active: false}.
function handleIntrospect(st, c) {
  const { project, req, res } = c;
  try {
    const p = params(req, c.raw);
    const app = authenticateApp(project, clientCredentials(req, p));
    if (!p.token) throw new OAuthError('invalid_request', 'token is required.');
    const base = { request_id: requestId(project.env), status_code: 200 };
    let out = { active: false };
    const a = p.token_type_hint === 'refresh_token' ? null : activeAccessToken(st, project, p.token, c.now);
    if (a && a.client_id === app.client_id) {
      out = { active: true, ...a, token_type: 'access_token' };
    } else {
      const r = activeRefreshToken(project, p.token);
      if (r && r.r.client_id === app.client_id) {
        out = { active: true, iss: tokens.mintIssuer(project), sub: r.g.user.sub, aud: [project.project_id],
          client_id: app.client_id, iat: r.r.iat, scope: r.r.scopes.join(' '), token_type: 'refresh_token' };
      }
    }
    send(res, 200, JSON.stringify({ ...out, ...base }), NO_STORE);
  } catch (e) {
    if (!(e instanceof OAuthError)) throw e;
    sendOAuthError(res, project.env, e);
  }
}

// RFC 7009: 200 whatever the token was; a refresh token takes the access
// token issued with it along.
function handleRevoke(st, c) {
  const { project, req, res } = c;
  try {
    const p = params(req, c.raw);
    const app = authenticateApp(project, clientCredentials(req, p));
    if (!p.token) throw new OAuthError('invalid_request', 'token is required.');
    revokeToken(st, project, p.token, app.client_id, c.now);
    send(res, 200, JSON.stringify({ request_id: requestId(project.env), status_code: 200 }), NO_STORE);
  } catch (e) {
    if (!(e instanceof OAuthError)) throw e;
    sendOAuthError(res, project.env, e);
  }
}

// clientId: only that client's tokens (null: any).  -> whether it revoked.
function revokeToken(st, project, token, clientId, now) {
  const w = world(project);
  const r = w.refresh.get(token);
  if (r && (clientId === null || r.client_id === clientId)) {
    w.refresh.delete(token);
    w.revokedJti.add(r.access_jti);
    store.stateChanged(st);
    return true;
  }
  const a = activeAccessToken(st, project, token, now);
  if (a && (clientId === null || a.client_id === clientId)) {
    w.revokedJti.add(a.jti);
    store.stateChanged(st);
    return true;
  }
  return false;
}

// OpenID Connect Core 5.3: the Bearer access token (with openid) says who.
function handleUserinfo(st, c) {
  const { project, req, res } = c;
  try {
    const m = /^bearer\s+(\S+)\s*$/i.exec(String(req.headers.authorization || ''));
    const a = m ? activeAccessToken(st, project, m[1], c.now) : null;
    if (!a) throw new OAuthError('invalid_token', 'The access token is missing, invalid, expired or revoked.');
    const scopes = splitScope(a.scope);
    if (!scopes.includes('openid')) throw new OAuthError('invalid_token', 'The access token was not granted openid.');
    const out = { sub: a.sub };
    const g = world(project).grants.get(world(project).issued.get(a.jti));
    if (scopes.includes('email') && g && g.user.email) {
      out.email = g.user.email;
      out.email_verified = g.user.email_verified !== false;
    }
    send(res, 200, JSON.stringify({ ...out, request_id: requestId(project.env), status_code: 200 }), NO_STORE);
  } catch (e) {
    if (!(e instanceof OAuthError)) throw e;
    sendOAuthError(res, project.env, e);
  }
}

// ---------------------------------------------------------------- routes

const pub = (rest) => new RegExp(`^\\/v1\\/public\\/([^/]+)\\/${rest}$`);
const atRoot = (st, req) => rootProject(st, req);
const ROUTES = [];
for (const [method, root, rest, handler] of [
  ['GET', '/.well-known/oauth-authorization-server', '\\.well-known\\/oauth-authorization-server',
    (st, c) => handleMetadata(st, c, false)],
  ['GET', '/.well-known/openid-configuration', '\\.well-known\\/openid-configuration',
    (st, c) => handleMetadata(st, c, true)],
  ['GET', '/.well-known/jwks.json', '\\.well-known\\/jwks\\.json', handleJwks],
  ['POST', '/v1/oauth2/register', 'oauth2\\/register', handleRegister],
  ['GET', null, 'oauth2\\/authorize', handleAuthorize],
  ['POST', '/v1/oauth2/token', 'oauth2\\/token', handleToken],
  ['POST', '/v1/oauth2/introspect', 'oauth2\\/introspect', handleIntrospect],
  ['POST', '/v1/oauth2/revoke', 'oauth2\\/revoke', handleRevoke],
  ['GET', '/v1/oauth2/userinfo', 'oauth2\\/userinfo', handleUserinfo],
  ['POST', '/v1/oauth2/userinfo', 'oauth2\\/userinfo', handleUserinfo],
]) {
  // The token endpoint keeps the M2M name it has always been counted by.
  const endpoint = handler === handleToken ? 'm2m_token' : 'connected_apps';
  if (root) ROUTES.push(api.route(root, endpoint, null, method, atRoot, handler));
  ROUTES.push(api.route(pub(rest), endpoint, null, method, 'path', handler));
}

// ---------------------------------------------------------------- control API

function controlProject(st, c) {
  const id = c.body.project_id !== undefined ? c.body.project_id : (c.query.get('project_id') || undefined);
  return store.projectById(st, id, c.body.type === 'b2b');
}

function appOf(st, c, clientId) {
  const id = c.body.project_id !== undefined ? c.body.project_id : (c.query.get('project_id') || undefined);
  const list = id === undefined ? [...st.projects.values()] : [store.projectById(st, id)];
  for (const project of list) {
    const app = world(project).apps.get(clientId);
    if (app) return { project, app };
  }
  throw Object.assign(new Error(`unknown Connected App ${clientId}`), { httpStatus: 404 });
}

const CLIENT_TYPES = ['first_party', 'first_party_public', 'third_party', 'third_party_public'];

function controlView(project, app) {
  return { ...registrationView(app), client_type: app.client_type, scopes: [...app.scopes],
    project_id: project.project_id };
}

function controlCreate(st, c) {
  const b = c.body;
  const project = controlProject(st, c);
  let type = b.client_type === undefined ? 'first_party' : b.client_type;
  if (type === 'public') type = 'first_party_public';
  if (type === 'confidential') type = 'first_party';
  if (!CLIENT_TYPES.includes(type)) {
    throw new Error(`client_type must be public, confidential or one of ${CLIENT_TYPES.join(', ')}`);
  }
  const redirects = checkRedirectUris(b.redirect_uris !== undefined ? b.redirect_uris : b.redirect_urls,
    (d) => new Error(d));
  let scopes;
  if (b.scopes !== undefined) {
    scopes = typeof b.scopes === 'string' ? splitScope(b.scopes) : b.scopes;
    if (!isStrList(scopes) || scopes.some((s) => !s || /\s/.test(s))) throw new Error('scopes must be a list of scopes');
  }
  if (b.token_endpoint_auth_method !== undefined && !AUTH_METHODS.includes(b.token_endpoint_auth_method)) {
    throw new Error(`token_endpoint_auth_method must be one of ${AUTH_METHODS.join(', ')}`);
  }
  for (const k of ['client_id', 'client_secret', 'client_name', 'client_description']) {
    if (b[k] !== undefined && (typeof b[k] !== 'string' || !b[k])) throw new Error(`${k} must be a non-empty string`);
  }
  const app = createApp(st, project, { client_id: b.client_id, client_secret: b.client_secret,
    client_name: b.client_name, client_description: b.client_description, client_type: type,
    redirect_uris: redirects, scopes, token_endpoint_auth_method: b.token_endpoint_auth_method,
    created_via: 'control' });
  return controlView(project, app);
}

// Signs a user in at the authorization endpoint and records their consent:
// for client_id (any client when none) and scopes (whatever is asked when
// none).
function controlConsent(st, c) {
  const b = c.body;
  const project = controlProject(st, c);
  const user = userOf(st, project, b);
  if (b.client_id !== undefined) appOf(st, { ...c, body: { project_id: project.project_id } }, b.client_id);
  let scopes = null;
  if (b.scopes !== undefined) {
    scopes = typeof b.scopes === 'string' ? splitScope(b.scopes) : b.scopes;
    if (!isStrList(scopes)) throw new Error('scopes must be a list or a space-separated string');
  }
  world(project).consents.push({ user, client_id: b.client_id === undefined ? null : b.client_id, scopes });
  const b2b = project.vertical === 'b2b';
  return { ok: true, project_id: project.project_id, sub: user.sub, user_id: b2b ? undefined : user.sub,
    member_id: b2b ? user.sub : undefined, organization_id: user.organization_id || undefined,
    client_id: b.client_id, scopes };
}

// {token} revokes that token; {client_id and/or user_id|member_id}
// revokes the grants (every token) and the consents they match.
function controlRevoke(st, c) {
  const b = c.body;
  const project = controlProject(st, c);
  const w = world(project);
  if (b.token !== undefined) return { ok: true, revoked: revokeToken(st, project, b.token, null, c.now) ? 1 : 0 };
  const sub = b.user_id !== undefined ? b.user_id : b.member_id;
  if (sub === undefined && b.client_id === undefined) throw new Error('give token, or client_id and/or user_id (member_id)');
  const match = (clientId, s) => (b.client_id === undefined || clientId === b.client_id) && (sub === undefined || s === sub);
  let n = 0;
  for (const g of w.grants.values()) {
    if (!g.revoked && match(g.client_id, g.user.sub)) { g.revoked = true; n++; }
  }
  for (const [t, r] of w.refresh) if (w.grants.get(r.grant_id).revoked) w.refresh.delete(t);
  w.consents = w.consents.filter((k) => !match(k.client_id === null ? b.client_id : k.client_id, k.user.sub));
  store.stateChanged(st);
  return { ok: true, revoked: n };
}

// A hand-made Connected Apps access token: sub, client_id, scope(s), aud,
// iat, lifetime, and tokens.handMadeJwt's claims/header/key/signature.
function controlMint(st, c) {
  const b = c.body;
  const project = controlProject(st, c);
  const w = world(project);
  let scopes = [];
  if (b.scopes !== undefined || b.scope !== undefined) {
    const v = b.scopes !== undefined ? b.scopes : b.scope;
    scopes = typeof v === 'string' ? splitScope(v) : v;
    if (!isStrList(scopes)) throw new Error('scopes must be a list or a space-separated string');
  }
  const iat = b.iat !== undefined ? Number(b.iat) : Math.floor(c.now / 1000);
  const lifetime = b.lifetime !== undefined ? Number(b.lifetime) : w.settings.access_token_lifetime;
  if (!Number.isFinite(iat) || !Number.isFinite(lifetime)) throw new Error('iat and lifetime must be numbers');
  const b2b = project.vertical === 'b2b';
  const g = { client_id: b.client_id || newId(project.env, 'connected-app'),
    user: { sub: b.sub || newId(project.env, b2b ? 'member' : 'user'),
      organization_id: b2b ? (b.organization_id || newId(project.env, 'organization')) : null } };
  if (b2b) store.getOrg(project, g.user.organization_id, undefined, c.now);
  const jti = secretToken();
  const payload = accessPayload(project, w, g, scopes, null, iat, lifetime, jti);
  if (b.aud !== undefined) payload.aud = b.aud;
  const token = tokens.handMadeJwt(st, project, payload, b);
  return { access_token: token, client_id: g.client_id, sub: g.user.sub, jti, project_id: project.project_id };
}

function controlSettings(st, c) {
  const b = c.body;
  const w = world(controlProject(st, c));
  const next = { ...w.settings };
  for (const k of ['resource_audience', 'dynamic_registration']) {
    if (b[k] === undefined) continue;
    if (typeof b[k] !== 'boolean') throw new Error(`${k} must be true or false`);
    next[k] = b[k];
  }
  if (b.access_token_lifetime !== undefined) {
    if (!Number.isInteger(b.access_token_lifetime) || b.access_token_lifetime < 1) {
      throw new Error('access_token_lifetime must be a positive number of seconds');
    }
    next.access_token_lifetime = b.access_token_lifetime;
  }
  w.settings = next;
  return { ok: true, ...next };
}

// [method, pattern, handler] as control.js's ROUTES.
const CONTROL_ROUTES = [
  ['POST', /^\/connected-apps$/, controlCreate],
  ['GET', /^\/connected-apps\/([^/]+)$/, (st, c) => {
    const { project, app } = appOf(st, c, c.params[0]);
    return controlView(project, app);
  }],
  ['POST', /^\/oauth\/consent$/, controlConsent],
  ['DELETE', /^\/oauth\/consent$/, (st, c) => {
    world(controlProject(st, c)).consents = [];
    return { ok: true };
  }],
  ['POST', /^\/oauth\/revoke$/, controlRevoke],
  ['POST', /^\/oauth\/token$/, controlMint],
  ['POST', /^\/oauth\/settings$/, controlSettings],
];

module.exports = { ROUTES, CONTROL_ROUTES };
