'use strict';
// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// The JSON shapes Stytch answers with, built from the store's records: the
// session claim of a JWT (its factors without created_at and updated_at, as
// in a real Stytch session JWT), consumer Session and User, B2B MemberSession,
// Member and Organization (field names from stytch-node lib/b2c/sessions.ts,
// lib/b2c/users.ts, lib/b2b/sessions.ts, lib/b2b/organizations.ts; the
// fields stytch-python's pydantic models require are all present).

const { iso } = require('./util.js');
const { factorView } = require('./factors.js');

const factors = (s, inJwt) => s.factors.map((f) => factorView(f, inJwt));

function sessionClaim(s) {
  const c = {
    id: s.session_id,
    started_at: iso(s.started_at),
    last_accessed_at: iso(s.last_accessed_at),
    expires_at: iso(s.expires_at),
  };
  // The B2B MemberSession has no attributes (stytch-node lib/b2b/sessions.ts).
  if (s.type === 'consumer') c.attributes = { ...s.attributes };
  c.authentication_factors = factors(s, true);
  if (!s.omit_roles) c.roles = [...s.roles];
  return c;
}

function consumerSession(s) {
  return {
    session_id: s.session_id,
    user_id: s.subject,
    started_at: iso(s.started_at),
    last_accessed_at: iso(s.last_accessed_at),
    expires_at: iso(s.expires_at),
    attributes: { ...s.attributes },
    authentication_factors: factors(s),
    roles: [...s.roles],
    custom_claims: { ...s.custom_claims },
  };
}

function memberSession(project, s) {
  const o = project.orgs.get(s.organization_id);
  return {
    member_session_id: s.session_id,
    member_id: s.subject,
    organization_id: s.organization_id,
    organization_slug: o ? o.slug : '',
    started_at: iso(s.started_at),
    last_accessed_at: iso(s.last_accessed_at),
    expires_at: iso(s.expires_at),
    authentication_factors: factors(s),
    roles: [...s.roles],
    custom_claims: { ...s.custom_claims },
  };
}

const sessionView = (project, s) => (s.type === 'b2b' ? memberSession(project, s) : consumerSession(s));

// A consumer User: its record when the project has one (sign-ins, control
// sessions), else what the session knows; roles are the session's.
function userObject(project, s, u) {
  const user = u || project.users.get(s.subject) ||
    { user_id: s.subject, email: s.email, email_id: s.email_id, verified: true, created_at: s.created_at };
  const at = iso(user.created_at);
  return {
    user_id: user.user_id,
    emails: [{ email_id: user.email_id, email: user.email, verified: user.verified }],
    name: { first_name: '', middle_name: '', last_name: '' },
    status: 'active',
    phone_numbers: [], webauthn_registrations: [], providers: [], totps: [],
    crypto_wallets: [], biometric_registrations: [],
    is_locked: false,
    roles: s ? [...s.roles] : ['stytch_user'],
    password: null,
    trusted_metadata: {}, untrusted_metadata: {},
    external_id: '',
    created_at: at,
  };
}

function memberObject(s) {
  const at = iso(s.created_at);
  return {
    organization_id: s.organization_id,
    member_id: s.subject,
    email_address: s.email,
    status: 'active',
    name: '',
    sso_registrations: [],
    is_breakglass: false,
    member_password_id: '',
    oauth_registrations: [],
    email_address_verified: true,
    mfa_phone_number_verified: false,
    is_admin: s.roles.includes('stytch_admin'),
    totp_registration_id: '',
    retired_email_addresses: [],
    is_locked: false,
    mfa_enrolled: false,
    mfa_phone_number: '',
    default_mfa_method: '',
    roles: s.roles.map((r) => ({ role_id: r, sources: [{ type: 'direct_assignment', details: {} }] })),
    trusted_metadata: {}, untrusted_metadata: {},
    created_at: at, updated_at: at,
  };
}

function organizationObject(o) {
  const at = iso(o.created_at);
  return {
    organization_id: o.organization_id,
    organization_name: o.name,
    organization_logo_url: '',
    organization_slug: o.slug,
    sso_jit_provisioning: 'ALL_ALLOWED',
    sso_jit_provisioning_allowed_connections: [],
    sso_active_connections: [],
    email_allowed_domains: [],
    email_jit_provisioning: 'NOT_ALLOWED',
    email_invites: 'ALL_ALLOWED',
    auth_methods: 'ALL_ALLOWED',
    allowed_auth_methods: [],
    mfa_policy: 'OPTIONAL',
    rbac_email_implicit_role_assignments: [],
    mfa_methods: 'ALL_ALLOWED',
    allowed_mfa_methods: [],
    oauth_tenant_jit_provisioning: 'NOT_ALLOWED',
    claimed_email_domains: [],
    first_party_connected_apps_allowed_type: 'ALL_ALLOWED',
    allowed_first_party_connected_apps: [],
    third_party_connected_apps_allowed_type: 'ALL_ALLOWED',
    allowed_third_party_connected_apps: [],
    custom_roles: [],
    trusted_metadata: {},
    created_at: at, updated_at: at,
  };
}

module.exports = {
  sessionClaim, consumerSession, memberSession, sessionView, userObject, memberObject, organizationObject,
};
