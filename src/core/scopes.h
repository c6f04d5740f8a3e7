// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// The scope check of access tokens, as Stytch's SDKs make it: M2M tokens
// as stytch-node's lib/b2c/m2m_local.ts (performAuthorizationCheck),
// Connected Apps (OAuth) tokens as its idp.ts and rbac_local.ts compare
// their scopes, string for string.

#ifndef STYTCH_CORE_SCOPES_H_
#define STYTCH_CORE_SCOPES_H_

#include <string_view>

#include "session.h"
#include "status.h"

namespace stytch {

// Whether the scopes `has` (a token's scope claim: split on each space, as
// the SDK splits it) meet every scope of `required` (space-separated; runs
// of spaces separate, so an empty list requires nothing).  A scope is
// "action" or "action:resource": a bare action has resource "-", and of
// more colons only the first two parts count, as JavaScript's
// split(":") destructured into [action, resource] has it.  A required
// scope is met by one with the same action whose resource is the same or
// "*".  "*" is never an action, and a required "*" resource is met only by
// "*".  Strings compare exactly.
bool ScopesGrant(std::string_view has, std::string_view required);

// Whether every scope of `required` (space-separated, empty elements
// ignored) is one of the scopes of `has` (split on each space), compared
// exactly.  Connected Apps scopes are opaque strings: stytch-node matches
// an OAuth token's scopes with the policy's by equality (rbac_local.ts,
// performScopeAuthorizationCheck), with no action:resource reading.
bool ScopesInclude(std::string_view has, std::string_view required);

// kOk when nothing is required, or when the session is an M2M token whose
// scopes meet `required` (ScopesGrant) or an OAuth token whose scopes
// include it (ScopesInclude); otherwise kScopeMissing.  Session tokens
// have no scopes: their "scope" claim, if any, is a custom claim.
Status CheckScopes(const Session& session, std::string_view required);

}  // namespace stytch

#endif  // STYTCH_CORE_SCOPES_H_
