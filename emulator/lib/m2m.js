'use strict';
// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// Machine-to-machine: M2M clients of a project (create, get, search,
// update, delete, secret rotation: stytch-node lib/b2c/m2m_clients.ts and
// m2m_clients_secrets.ts) and the client_credentials grant of the token
// endpoint (lib/b2c/m2m.ts token(); the endpoint is connected-apps.js's),
// whose access tokens are RS256 JWTs signed with the project's key set.  Both verticals have them (stytch-node's
// B2BClient uses the same M2M class).

const { newId, requestId, isObj, isStrList, secretToken, send, sendJson } = require('./util.js');
const { OAuthError, NO_STORE, sameSecret } = require('./oauth2.js');
const { ApiError } = require('./errors.js');
const store = require('./store.js');
const tokens = require('./tokens.js');
const api = require('./api.js');

// ---------------------------------------------------------------- clients

const CLIENT_ID_RE = /^[A-Za-z0-9_.-]{1,128}$/;

// The client as the API shows it; the secrets only where Stytch shows
// them: at creation (client_secret) and at rotate/start (next_client_secret).
function clientView(c, show) {
  const v = {
    client_id: c.client_id,
    client_name: c.client_name,
    client_description: c.client_description,
    status: c.status,
    scopes: [...c.scopes],
    client_secret_last_four: c.client_secret.slice(-4),
    trusted_metadata: { ...c.trusted_metadata },
    next_client_secret_last_four: c.next_client_secret ? c.next_client_secret.slice(-4) : null,
  };
  if (show === 'secret') v.client_secret = c.client_secret;
  if (show === 'next') v.next_client_secret = c.next_client_secret;
  return v;
}

function checkScopes(v) {
  if (!isStrList(v) || v.some((x) => x === '' || /\s/.test(x))) {
    throw new ApiError('bad_request', 'scopes must be a list of strings without spaces.');
  }
  return [...v];
}

function checkText(b, name) {
  if (b[name] === undefined || b[name] === null) return '';
  if (typeof b[name] !== 'string') throw new ApiError('bad_request', `${name} must be a string.`);
  return b[name];
}

function checkMetadata(v) {
  if (v === undefined || v === null) return {};
  if (!isObj(v)) throw new ApiError('bad_request', 'trusted_metadata must be an object.');
  return JSON.parse(JSON.stringify(v));
}

// Stytch asks for at least 8 characters "and entropy"; the emulator asks
// for 8 characters, not all the same.
function checkSecret(v) {
  if (typeof v !== 'string' || v.length < 8 || v.length > 256 || new Set(v).size < 4) {
    throw new ApiError('invalid_client_secret');
  }
  return v;
}

// body as POST /v1/m2m/clients; customClaims only from the control API.
function createClient(st, project, b, customClaims) {
  if (b.scopes === undefined) throw new ApiError('bad_request', 'scopes is required.');
  const c = {
    client_id: b.client_id === undefined ? newId(project.env, 'm2m-client') : b.client_id,
    client_secret: b.client_secret === undefined ? secretToken() : checkSecret(b.client_secret),
    next_client_secret: null,
    client_name: checkText(b, 'client_name'),
    client_description: checkText(b, 'client_description'),
    status: 'active',
    scopes: checkScopes(b.scopes),
    trusted_metadata: checkMetadata(b.trusted_metadata),
    custom_claims: customClaims ? { ...customClaims } : {},
  };
  if (typeof c.client_id !== 'string' || !CLIENT_ID_RE.test(c.client_id)) throw new ApiError('invalid_client_id');
  if (project.m2mClients.has(c.client_id)) throw new ApiError('duplicate_client_id');
  project.m2mClients.set(c.client_id, c);
  store.stateChanged(st);
  return c;
}

function clientOf(project, id) {
  const c = project.m2mClients.get(id);
  if (!c) throw new ApiError('m2m_client_not_found');
  return c;
}

const answer = (project, c, show, status = 200) => ({
  request_id: requestId(project.env), status_code: status, m2m_client: clientView(c, show),
});

function handleCreate(st, c) {
  const client = createClient(st, c.project, api.parseBody(c.raw));
  // Stytch's M2M overview shows the creation answering 201.
  sendJson(c.res, 201, answer(c.project, client, 'secret', 201));
}

function handleGet(st, c) {
  sendJson(c.res, 200, answer(c.project, clientOf(c.project, c.params[0])));
}

function handleUpdate(st, c) {
  const client = clientOf(c.project, c.params[0]);
  const b = api.parseBody(c.raw);
  const next = {};
  if (b.client_name !== undefined && b.client_name !== null) next.client_name = checkText(b, 'client_name');
  if (b.client_description !== undefined && b.client_description !== null) {
    next.client_description = checkText(b, 'client_description');
  }
  if (b.status !== undefined && b.status !== null) {
    if (b.status !== 'active' && b.status !== 'inactive') throw new ApiError('bad_request', 'status must be active or inactive.');
    next.status = b.status;
  }
  if (b.scopes !== undefined && b.scopes !== null) next.scopes = checkScopes(b.scopes);
  if (b.trusted_metadata !== undefined && b.trusted_metadata !== null) next.trusted_metadata = checkMetadata(b.trusted_metadata);
  Object.assign(client, next);
  store.stateChanged(st);
  sendJson(c.res, 200, answer(c.project, client));
}

function handleDelete(st, c) {
  const client = clientOf(c.project, c.params[0]);
  c.project.m2mClients.delete(client.client_id);
  store.stateChanged(st);
  sendJson(c.res, 200, { request_id: requestId(c.project.env), status_code: 200, client_id: client.client_id });
}

// query {operator: AND|OR, operands: [{filter_name: client_id|client_name|
// scopes, filter_value: [...]}]}; the cursor is where the next page starts.
function handleSearch(st, c) {
  const b = api.parseBody(c.raw);
  const limit = b.limit === undefined || b.limit === null ? 100 : b.limit;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new ApiError('bad_request', 'limit must be in 1..1000.');
  let start = 0;
  if (api.given(b.cursor)) {
    start = Number(Buffer.from(String(b.cursor), 'base64url').toString());
    if (!Number.isInteger(start) || start < 0) throw new ApiError('bad_request', 'cursor is invalid.');
  }
  let match = () => true;
  if (b.query !== undefined && b.query !== null) {
    const q = b.query;
    const ops = isObj(q) && Array.isArray(q.operands) ? q.operands : null;
    if (!ops || !['AND', 'OR'].includes(q.operator) || ops.some((o) => !isObj(o) || !isStrList(o.filter_value) ||
      !['client_id', 'client_name', 'scopes'].includes(o.filter_name))) {
      throw new ApiError('bad_request', 'query must be {operator: AND|OR, operands: [{filter_name, filter_value: [...]}]}.');
    }
    const test = (cl, o) => (o.filter_name === 'scopes'
      ? o.filter_value.some((v) => cl.scopes.includes(v)) : o.filter_value.includes(cl[o.filter_name]));
    match = q.operator === 'AND' ? (cl) => ops.every((o) => test(cl, o)) : (cl) => ops.some((o) => test(cl, o));
  }
  const all = [...c.project.m2mClients.values()].filter(match);
  const page = all.slice(start, start + limit);
  const more = start + limit < all.length;
  sendJson(c.res, 200, {
    request_id: requestId(c.project.env), status_code: 200, m2m_clients: page.map((x) => clientView(x)),
    results_metadata: { total: all.length, next_cursor: more ? Buffer.from(String(start + limit)).toString('base64url') : null },
  });
}

// During a rotation both secrets work: rotate makes the next one the only
// one, cancel drops it.
function handleRotate(st, c, step) {
  const client = clientOf(c.project, c.params[0]);
  if (step === 'start') client.next_client_secret = secretToken();
  else if (step === 'cancel') client.next_client_secret = null;
  else {
    if (!client.next_client_secret) throw new ApiError('next_client_secret_not_found');
    client.client_secret = client.next_client_secret;
    client.next_client_secret = null;
  }
  store.stateChanged(st);
  sendJson(c.res, 200, answer(c.project, client, step === 'start' ? 'next' : undefined));
}

// ---------------------------------------------------------------- client credentials

// The client_credentials grant of the token endpoint (connected-apps.js
// owns the endpoint): p its parameters, cred the client's credentials.
function clientCredentialsGrant(st, c, p, cred) {
  const { project, res } = c;
  if (!cred.id || !cred.secret) throw new OAuthError('invalid_request', 'client_id and client_secret are required.');
  const client = project.m2mClients.get(cred.id);
  if (!client || client.status !== 'active' ||
      !(sameSecret(cred.secret, client.client_secret) || sameSecret(cred.secret, client.next_client_secret))) {
    throw new OAuthError('invalid_client', 'The client could not be authenticated.');
  }
  let scopes = client.scopes;
  if (p.scope !== undefined && p.scope.trim() !== '') {
    scopes = [...new Set(p.scope.trim().split(/\s+/))];
    const extra = scopes.filter((x) => !client.scopes.includes(x));
    if (extra.length) throw new OAuthError('invalid_scope', `The client does not have the scopes ${extra.join(' ')}.`);
  }
  const iat = Math.floor(c.now / 1000);
  const jwt = tokens.m2mAccessToken(project, client.client_id, scopes, client.custom_claims, iat, project.m2m_lifetime);
  send(res, 200, JSON.stringify({ status_code: 200, request_id: requestId(project.env), access_token: jwt,
    token_type: 'bearer', expires_in: project.m2m_lifetime }), NO_STORE);
}

const ROUTES = [
  api.route('/v1/m2m/clients', 'm2m_clients', null, 'POST', 'basic', handleCreate),
  api.route('/v1/m2m/clients/search', 'm2m_clients', null, 'POST', 'basic', handleSearch),
  api.route(/^\/v1\/m2m\/clients\/([^/]+)$/, 'm2m_clients', null, 'GET', 'basic', handleGet),
  api.route(/^\/v1\/m2m\/clients\/([^/]+)$/, 'm2m_clients', null, 'PUT', 'basic', handleUpdate),
  api.route(/^\/v1\/m2m\/clients\/([^/]+)$/, 'm2m_clients', null, 'DELETE', 'basic', handleDelete),
  api.route(/^\/v1\/m2m\/clients\/([^/]+)\/secrets\/rotate\/start$/, 'm2m_clients', null, 'POST', 'basic',
    (st, c) => handleRotate(st, c, 'start')),
  api.route(/^\/v1\/m2m\/clients\/([^/]+)\/secrets\/rotate\/cancel$/, 'm2m_clients', null, 'POST', 'basic',
    (st, c) => handleRotate(st, c, 'cancel')),
  api.route(/^\/v1\/m2m\/clients\/([^/]+)\/secrets\/rotate$/, 'm2m_clients', null, 'POST', 'basic',
    (st, c) => handleRotate(st, c, 'rotate')),
];

module.exports = { ROUTES, createClient, clientView, clientCredentialsGrant };
