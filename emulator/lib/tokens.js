'use strict';
// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// A project's key set (RS256 signing keys, the JWKS document, retired keys)
// and the JWTs signed with it: session JWTs and M2M access tokens as Stytch
// mints them, session JWT verification for the API, and hand-made JWTs for
// negative tests.

const crypto = require('node:crypto');
const x509 = require('./x509.js');
const { uuid, b64url, b64urlPadded, isObj } = require('./util.js');
const { ApiError } = require('./errors.js');
const views = require('./views.js');

const SESSION_CLAIM = 'https://stytch.com/session';
const ORG_CLAIM = 'https://stytch.com/organization';

function makeKeyRecord(privateKey, kid) {
  const publicKey = crypto.createPublicKey(privateKey);
  const jwk = publicKey.export({ format: 'jwk' });
  const der = x509.selfSigned({
    privateKey, publicKey, subject: [[x509.OID.organization, 'Stytch']], days: 3650,
  });
  return {
    kid, privateKey, publicKey, served: true,
    jwk: {
      kty: 'RSA', use: 'sig', key_ops: ['verify'], alg: 'RS256', kid,
      x5c: [der.toString('base64')],
      x5tS256: b64urlPadded(crypto.createHash('sha256').update(der).digest()),
      n: jwk.n, e: jwk.e,
    },
  };
}

function newKey(env) {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return makeKeyRecord(privateKey, `jwk-${env}-${uuid()}`);
}

// The JWKS body is pre-serialised up to its request_id, and the cache of
// verified JWTs dies with any change: a retired key must stop verifying.
function rebuildJwks(ks) {
  const served = [...ks.keys.values()].filter((k) => k.served).map((k) => k.jwk);
  ks.jwksHead = `{"keys":${JSON.stringify(served)},"status_code":200,"request_id":"`;
  ks.verified.clear();
}

function createKeySet(env) {
  const ks = { keys: new Map(), signingKid: null, jwksHead: '', verified: new Map() };
  const k = newKey(env);
  ks.keys.set(k.kid, k);
  ks.signingKid = k.kid;
  rebuildJwks(ks);
  return ks;
}

// Key records from --state: [{kid, served, private_key}].
function loadKeySet(env, list, signing) {
  const ks = { keys: new Map(), signingKid: null, jwksHead: '', verified: new Map() };
  for (const k of list || []) {
    const rec = makeKeyRecord(crypto.createPrivateKey(k.private_key), k.kid);
    rec.served = k.served !== false;
    ks.keys.set(k.kid, rec);
  }
  if (!ks.keys.size) { const k = newKey(env); ks.keys.set(k.kid, k); }
  ks.signingKid = ks.keys.has(signing) ? signing : [...ks.keys.keys()][0];
  ks.keys.get(ks.signingKid).served = true;
  rebuildJwks(ks);
  return ks;
}

function saveKeySet(ks) {
  return [...ks.keys.values()].map((k) => ({
    kid: k.kid, served: k.served, private_key: k.privateKey.export({ type: 'pkcs8', format: 'pem' }),
  }));
}

function rotateKeys(ks, env) {
  const previous = ks.signingKid;
  const k = newKey(env);
  ks.keys.set(k.kid, k);
  ks.signingKid = k.kid;
  rebuildJwks(ks);
  return { kid: k.kid, previous };
}

function retireKey(ks, kid) {
  const k = ks.keys.get(kid);
  if (!k) throw Object.assign(new Error('unknown kid'), { httpStatus: 404 });
  if (k.kid === ks.signingKid) throw new Error('cannot retire the signing key; rotate first');
  k.served = false;
  rebuildJwks(ks);
}

function keysInfo(ks) {
  const all = [...ks.keys.values()];
  return { signing: ks.signingKid, served: all.filter((k) => k.served).map((k) => k.kid),
    retired: all.filter((k) => !k.served).map((k) => k.kid) };
}

function signJwt(header, payload, key, noSignature) {
  const input = b64url(JSON.stringify(header)) + '.' + b64url(JSON.stringify(payload));
  if (noSignature) return input + '.';
  return input + '.' + crypto.sign('sha256', Buffer.from(input), key.privateKey).toString('base64url');
}

// The issuer a project's JWTs carry: its custom domain when it has one, as
// Stytch's frontend SDK on a custom domain (CNAME) mints them (stytch-node
// lib/shared/sessions.ts: the CNAME issuer follows the OIDC form).
const mintIssuer = (project) => project.custom_domain || project.issuer;

// Claims in the order of a real Stytch JWT: custom claims, then the
// registered ones and Stytch's.
function sessionPayload(project, s, iat, lifetime) {
  const p = { ...s.custom_claims };
  p.aud = [project.project_id];
  p.exp = iat + lifetime;
  p[SESSION_CLAIM] = views.sessionClaim(s);
  if (s.type === 'b2b') {
    const o = project.orgs.get(s.organization_id);
    p[ORG_CLAIM] = { organization_id: s.organization_id, slug: o ? o.slug : '' };
  }
  p.iat = iat;
  p.iss = mintIssuer(project);
  p.nbf = iat;
  p.sub = s.subject;
  return p;
}

// An M2M access token's claims (Stytch's M2M docs and stytch-node
// lib/b2c/m2m.ts): the client's custom claims at the top level, then sub =
// the client id, iss and aud as session JWTs, scope space-separated; no
// session claim.
const M2M_RESERVED = new Set(['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'scope']);
function m2mPayload(project, clientId, scopes, customClaims, iat, lifetime) {
  const p = {};
  for (const [k, v] of Object.entries(customClaims || {})) if (!M2M_RESERVED.has(k)) p[k] = v;
  p.sub = clientId;
  p.iss = mintIssuer(project);
  p.aud = [project.project_id];
  p.scope = scopes.join(' ');
  p.iat = iat;
  p.nbf = iat;
  p.exp = iat + lifetime;
  return p;
}

function m2mAccessToken(project, clientId, scopes, customClaims, iat, lifetime) {
  const key = project.keySet.keys.get(project.keySet.signingKid);
  return signJwt({ alg: 'RS256', kid: key.kid, typ: 'JWT' },
    m2mPayload(project, clientId, scopes, customClaims, iat, lifetime), key);
}

// The JWT for a session, living the project's jwt_lifetime (Stytch's is
// 300 s), reused while minted in the current second with the current key
// and settings and the session unchanged (RSA signing costs about 1 ms).
function sessionJwt(project, s, nowMs) {
  const sec = Math.floor(nowMs / 1000) + (project.clock_offset || 0);
  const ks = project.keySet;
  const iss = mintIssuer(project);
  const life = project.jwt_lifetime;
  const c = s.jwtCache;
  if (c && c.sec === sec && c.version === s.version && c.kid === ks.signingKid && c.iss === iss && c.life === life) {
    return c.jwt;
  }
  const key = ks.keys.get(ks.signingKid);
  const jwt = signJwt({ alg: 'RS256', kid: key.kid, typ: 'JWT' }, sessionPayload(project, s, sec, life), key);
  s.jwtCache = { sec, version: s.version, kid: ks.signingKid, iss, life, jwt };
  return jwt;
}

const B64URL = /^[A-Za-z0-9_-]*$/;

function decodeSegment(seg) {
  if (!seg || !B64URL.test(seg)) return null;
  try {
    const v = JSON.parse(Buffer.from(seg, 'base64url').toString('utf8'));
    return isObj(v) ? v : null;
  } catch { return null; }
}

// The payload of a session JWT signed by a served key of the project with
// an accepted issuer and the project as audience.  exp is deliberately not
// checked: Stytch refreshes expired JWTs of live sessions.  What cannot be
// read or verified is unable_to_parse_session_jwt; a verified JWT with the
// wrong iss, aud or session claim is jwt_invalid_issuer, _audience or
// _claims.
function verifySessionJwt(project, jwt, issuers) {
  const ks = project.keySet;
  const hit = ks.verified.get(jwt);
  if (hit) return hit;
  const unparsable = (why) => new ApiError('unable_to_parse_session_jwt', why);
  if (typeof jwt !== 'string' || jwt.length > 65536) throw unparsable();
  const parts = jwt.split('.');
  if (parts.length !== 3 || !B64URL.test(parts[2])) throw unparsable();
  const header = decodeSegment(parts[0]);
  const payload = decodeSegment(parts[1]);
  if (!header || !payload) throw unparsable();
  if (header.alg !== 'RS256') throw unparsable('The session_jwt must be signed with RS256.');
  const key = typeof header.kid === 'string' ? ks.keys.get(header.kid) : undefined;
  if (!key || !key.served) throw unparsable('The session_jwt was not signed by a key of this project.');
  const ok = parts[2].length > 0 && crypto.verify('sha256', Buffer.from(parts[0] + '.' + parts[1]),
    key.publicKey, Buffer.from(parts[2], 'base64url'));
  if (!ok) throw unparsable('The signature of the session_jwt could not be verified.');
  if (!issuers.includes(payload.iss)) throw new ApiError('jwt_invalid_issuer');
  const aud = payload.aud;
  const pid = project.project_id;
  if (!(aud === pid || (Array.isArray(aud) && aud.includes(pid)))) throw new ApiError('jwt_invalid_audience');
  const claim = payload[SESSION_CLAIM];
  if (!isObj(claim) || typeof claim.id !== 'string' || typeof payload.sub !== 'string') {
    throw new ApiError('jwt_invalid_claims', 'The JWT has no https://stytch.com/session claim with an id, or no sub.');
  }
  if (ks.verified.size >= 50000) ks.verified.clear();
  ks.verified.set(jwt, payload);
  return payload;
}

// Which key a hand-made JWT is signed with: "current", "rogue" (a key no
// key set serves) or a kid of the project, retired ones too.
function pickKey(st, project, which) {
  const ks = project.keySet;
  if (which === undefined || which === 'current') return ks.keys.get(ks.signingKid);
  if (which === 'rogue') {
    if (!st.rogueKey) st.rogueKey = newKey(project.env);
    return st.rogueKey;
  }
  const key = ks.keys.get(which);
  if (!key) throw new Error(`unknown key ${which}`);
  return key;
}

// Merges {name: value} into target; a null value removes the name.
function mergeInto(target, changes) {
  if (!isObj(changes)) return;
  for (const [k, v] of Object.entries(changes)) {
    if (v === null) delete target[k];
    else target[k] = v;
  }
}

function handMadeJwt(st, project, payload, b) {
  const key = pickKey(st, project, b.key);
  const header = { alg: 'RS256', kid: key.kid, typ: 'JWT' };
  mergeInto(header, b.header);
  mergeInto(payload, b.claims);
  return signJwt(header, payload, key, b.signature === 'none');
}

module.exports = {
  SESSION_CLAIM, ORG_CLAIM, mintIssuer, createKeySet, loadKeySet, saveKeySet, rotateKeys, retireKey, keysInfo,
  signJwt, sessionPayload, sessionJwt, verifySessionJwt, handMadeJwt, m2mPayload, m2mAccessToken,
};
