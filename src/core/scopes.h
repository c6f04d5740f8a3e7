// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// The scope check of M2M access tokens, as Stytch's SDKs make it
// (stytch-node lib/b2c/m2m_local.ts, performAuthorizationCheck).

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

// kOk when the session is an M2M token whose scopes meet `required`, or
// when nothing is required; otherwise kScopeMissing.  Session tokens have
// no scopes: their "scope" claim, if any, is a custom claim.
Status CheckScopes(const Session& session, std::string_view required);

}  // namespace stytch

#endif  // STYTCH_CORE_SCOPES_H_
