'use strict';
// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// What Stytch's OAuth 2 endpoints (M2M and Connected Apps) share: RFC 6749
// section 5.2 errors in Stytch's body, the no-store headers, reading a
// form or JSON request, the client's credentials (RFC 6749 section 2.3.1).

const crypto = require('node:crypto');
const { requestId, isObj, send } = require('./util.js');

const OAUTH_ERRORS = {
  invalid_request: 400, invalid_client: 401, invalid_grant: 400, unauthorized_client: 400,
  unsupported_grant_type: 400, invalid_scope: 400, invalid_token: 401,
  invalid_target: 400, invalid_redirect_uri: 400, invalid_client_metadata: 400,
};

class OAuthError extends Error {
  constructor(error, description) {
    super(description);
    this.error = error;
    this.status = OAUTH_ERRORS[error];
  }
}

const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

// The error body of Stytch's OAuth endpoints (stytch-node
// lib/shared/errors.ts OAuth2ErrorJSON).
function oauthBody(env, status, error, description) {
  return JSON.stringify({ status_code: status, request_id: requestId(env), error, error_description: description,
    error_uri: `https://stytch.com/docs/api/errors/${status}#${error}` });
}

function sendOAuthError(res, env, e) {
  const h = { ...NO_STORE };
  // RFC 6749 section 5.2: a client that tried Basic gets the challenge.
  if (e.status === 401) h['WWW-Authenticate'] = e.error === 'invalid_token'
    ? `Bearer error="invalid_token", error_description="${e.message.replace(/["\\]/g, '')}"` : 'Basic realm="stytch"';
  send(res, e.status, oauthBody(env, e.status, e.error, e.message), h);
}

// A request's parameters: a form (what OAuth clients and stytch-node send)
// or JSON (Stytch's docs examples).  Every value a string, none twice.
function params(req, raw) {
  const type = String(req.headers['content-type'] || '').split(';')[0].trim().toLowerCase();
  const text = raw || '';
  if (type === 'application/json' || (type === '' && text.trim().startsWith('{'))) {
    let v;
    try {
      v = JSON.parse(text || '{}');
    } catch { throw new OAuthError('invalid_request', 'The request body is not valid JSON.'); }
    if (!isObj(v)) throw new OAuthError('invalid_request', 'The request body must be a JSON object.');
    const out = {};
    for (const [k, x] of Object.entries(v)) {
      if (typeof x !== 'string') throw new OAuthError('invalid_request', `${k} must be a string.`);
      out[k] = x;
    }
    return out;
  }
  const out = {};
  for (const [k, x] of new URLSearchParams(text)) {
    if (k in out) throw new OAuthError('invalid_request', `${k} is given more than once.`);
    out[k] = x;
  }
  return out;
}

// The client's credentials: in the body, or as HTTP Basic with each part
// form-encoded; not both.  -> {id, secret (undefined for a public
// client, which sends its client_id alone), basic}.
function clientCredentials(req, p) {
  const h = req.headers.authorization;
  let basic = null;
  if (typeof h === 'string') {
    const m = /^basic\s+(\S+)\s*$/i.exec(h);
    if (!m) throw new OAuthError('invalid_client', 'The Authorization header is not HTTP Basic.');
    const pair = Buffer.from(m[1], 'base64').toString();
    const i = pair.indexOf(':');
    if (i < 0) throw new OAuthError('invalid_client', 'The Basic credentials have no ":".');
    try {
      const dec = (x) => decodeURIComponent(x.replace(/\+/g, ' '));
      basic = { id: dec(pair.slice(0, i)), secret: dec(pair.slice(i + 1)), basic: true };
    } catch { throw new OAuthError('invalid_client', 'The Basic credentials are not form-encoded.'); }
  }
  const inBody = p.client_id !== undefined || p.client_secret !== undefined;
  if (basic && inBody) {
    // A client_id in the body equal to the Basic one is tolerated (RFC
    // 6749 allows it to be repeated for public clients' sake); a secret is not.
    if (p.client_secret !== undefined || p.client_id !== basic.id) {
      throw new OAuthError('invalid_request', 'Give the client credentials once: in the body or as HTTP Basic.');
    }
  }
  if (basic) return basic;
  return { id: p.client_id || undefined, secret: p.client_secret || undefined, basic: false };
}

const sameSecret = (a, b) => typeof a === 'string' && typeof b === 'string' && a.length === b.length &&
  crypto.timingSafeEqual(Buffer.from(a), Buffer.from(b));

module.exports = { OAuthError, NO_STORE, oauthBody, sendOAuthError, params, clientCredentials, sameSecret };
