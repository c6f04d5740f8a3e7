'use strict';
// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// Authentication factors: what a session records of how its subject signed
// in, in Stytch's shapes (stytch-node lib/b2c/sessions.ts
// AuthenticationFactor and its *Factor types, shared by lib/b2b), and the
// control API's short way of describing one.
//
// A factor record holds times in ms; views turn it into the API's factor
// (with created_at, updated_at) or the JWT's (without them, as in a real
// Stytch session JWT).

const crypto = require('node:crypto');
const { newId, iso, isObj, parseTime } = require('./util.js');

// provider -> the name of its factor object (Stytch's spelling).
const OAUTH_FIELD = {
  google: 'google_oauth_factor', microsoft: 'microsoft_oauth_factor', apple: 'apple_oauth_factor',
  github: 'github_oauth_factor', gitlab: 'git_lab_oauth_factor', facebook: 'facebook_oauth_factor',
  amazon: 'amazon_oauth_factor', bitbucket: 'bitbucket_oauth_factor', coinbase: 'coinbase_oauth_factor',
  discord: 'discord_oauth_factor', figma: 'figma_oauth_factor', instagram: 'instagram_oauth_factor',
  linkedin: 'linked_in_oauth_factor', salesforce: 'salesforce_oauth_factor', shopify: 'shopify_oauth_factor',
  slack: 'slack_oauth_factor', snapchat: 'snapchat_oauth_factor', spotify: 'spotify_oauth_factor',
  steam: 'steam_oauth_factor', tiktok: 'tik_tok_oauth_factor', twitch: 'twitch_oauth_factor',
  twitter: 'twitter_oauth_factor', yahoo: 'yahoo_oauth_factor', hubspot: 'hubspot_oauth_factor',
};

// An email factor of the session's subject: its own email keeps its
// email_id, another address gets one of its own.
function emailFactor(env, s, email) {
  if (email === undefined || email === s.email) return { email_id: s.email_id, email_address: s.email };
  if (typeof email !== 'string' || !email.includes('@')) throw new Error('a factor email must be an address');
  return { email_id: newId(env, 'email'), email_address: email };
}

function str(v, what, fallback) {
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || v === '') throw new Error(`${what} must be a non-empty string`);
  return v;
}

// One factor from its description {type, ...}:
//   magic_link {email?}
//   otp {delivery_method?: email|sms, email?, phone_number?}: a consumer
//     email OTP is type otp; a B2B one is email_otp (stytch-node's
//     AuthenticationFactor: "email_otp - Only email", "otp - Only sms")
//   email_otp {email?}
//   oauth {provider: google|microsoft|github|..., provider_subject?, email?}
//   sso {protocol: saml|oidc, connection_id?, external_id?, registration_id?}
//   password {}
// each with last_authenticated_at? (RFC 3339 or epoch seconds; default now).
function makeFactor(env, s, spec, now) {
  if (!isObj(spec)) throw new Error('each factor must be an object');
  const at = spec.last_authenticated_at === undefined ? now
    : parseTime(spec.last_authenticated_at, 'last_authenticated_at');
  const f = { last_authenticated_at: at, created_at: at, updated_at: at };
  switch (spec.type) {
    case 'magic_link':
      return { type: 'magic_link', delivery_method: 'email', ...f, email_factor: emailFactor(env, s, spec.email) };
    case 'email_otp':
      return { type: 'email_otp', delivery_method: 'email', ...f, email_factor: emailFactor(env, s, spec.email) };
    case 'otp': {
      const dm = spec.delivery_method === undefined ? 'email' : spec.delivery_method;
      if (dm === 'email') {
        return { type: s.type === 'b2b' ? 'email_otp' : 'otp', delivery_method: 'email', ...f,
          email_factor: emailFactor(env, s, spec.email) };
      }
      if (dm === 'sms') {
        return { type: 'otp', delivery_method: 'sms', ...f, phone_number_factor: {
          phone_id: newId(env, 'phone-number'), phone_number: str(spec.phone_number, 'phone_number', '+15005550006') } };
      }
      throw new Error('an otp factor is delivered by email or sms');
    }
    case 'oauth': {
      const field = OAUTH_FIELD[spec.provider];
      if (!field) throw new Error(`oauth provider must be one of ${Object.keys(OAUTH_FIELD).join(', ')}`);
      const subject = '1' + Array.from({ length: 20 }, () => crypto.randomInt(10)).join('');
      const o = { id: newId(env, 'oauth-user'), provider_subject: str(spec.provider_subject, 'provider_subject', subject) };
      o.email_id = emailFactor(env, s, spec.email).email_id;
      return { type: 'oauth', delivery_method: `oauth_${spec.provider}`, ...f, [field]: o };
    }
    case 'sso': {
      if (spec.protocol !== 'saml' && spec.protocol !== 'oidc') throw new Error('an sso factor has protocol saml or oidc');
      const p = spec.protocol;
      return { type: 'sso', delivery_method: `sso_${p}`, ...f, [`${p}_sso_factor`]: {
        id: str(spec.registration_id, 'registration_id', newId(env, 'member-registration')),
        provider_id: str(spec.connection_id, 'connection_id', newId(env, `${p}-connection`)),
        external_id: str(spec.external_id, 'external_id', s.email),
      } };
    }
    case 'password':
      return { type: 'password', delivery_method: 'knowledge', ...f };
    default:
      throw new Error('factor type must be magic_link, otp, email_otp, oauth, sso or password');
  }
}

// What a session signed in with when nobody said: an email OTP for a
// consumer (as in a real Stytch JWT), an email magic link for a member.
function defaultFactors(env, s, at) {
  return [makeFactor(env, s, { type: s.type === 'b2b' ? 'magic_link' : 'otp' }, at)];
}

function factorsFrom(env, s, specs, now) {
  if (specs === undefined) return defaultFactors(env, s, now);
  if (!Array.isArray(specs) || specs.length === 0) throw new Error('factors must be a non-empty list');
  return specs.map((spec) => makeFactor(env, s, spec, now));
}

// The API's factor, or the JWT's (inJwt: no created_at / updated_at).
function factorView(f, inJwt) {
  const out = { type: f.type, delivery_method: f.delivery_method, last_authenticated_at: iso(f.last_authenticated_at) };
  if (!inJwt) { out.created_at = iso(f.created_at); out.updated_at = iso(f.updated_at); }
  for (const [k, v] of Object.entries(f)) if (k.endsWith('_factor')) out[k] = { ...v };
  return out;
}

module.exports = { makeFactor, factorsFrom, defaultFactors, factorView };
