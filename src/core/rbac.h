// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// Stytch RBAC policies and the local authorization check the SDKs run
// (identical in all of Stytch's backend SDKs).

#ifndef STYTCH_CORE_RBAC_H_
#define STYTCH_CORE_RBAC_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "session.h"
#include "status.h"

namespace stytch {

class Policy {
 public:
  // GET /v1[/b2b]/rbac/policy: {"policy": {"roles": [...], "scopes":
  // [...], ...}}.  Every role needs a string role_id, every scope a string
  // scope, and both permissions of string resource_id and string actions;
  // "scopes" may be absent or null.  A malformed document is refused whole
  // (kPolicyInvalid): half a policy could deny or grant by accident.
  static Status Parse(std::string_view json, Policy* out);

  // GET /v1/b2b/rbac/organizations/{id}: {"org_policy": {"roles": [...]}}.
  // Its roles are added to the project's; scopes come from the project
  // policy only, as in the SDKs.  On failure nothing changes.
  Status AddOrg(std::string_view json);

  // kTenancyMismatch when organization_id is given (B2B) and differs from
  // the session's, checked first as in every SDK; then kOk when any policy
  // role named in the session's roles has a permission whose resource_id
  // equals `resource` exactly and whose actions hold `action` or "*";
  // otherwise kPermissionDenied.  No resource wildcards, no inheritance.
  // An OAuth token has no roles: its scopes (the scope claim trimmed and
  // split on each space, as stytch-node's idp.ts splits it) name policy
  // scopes, compared exactly, whose permissions grant by the same rule
  // (rbac_local.ts, performScopeAuthorizationCheck).  An M2M token is
  // granted nothing (its SDK checks scopes only).
  Status Check(const Session& session, std::string_view resource,
               std::string_view action,
               const std::string_view* organization_id) const;

  size_t role_count() const { return roles_.size(); }
  size_t scope_count() const { return scopes_.size(); }

 private:
  struct Permission {
    std::string resource_id;
    std::vector<std::string> actions;
  };
  using RoleMap = std::map<std::string, std::vector<Permission>, std::less<>>;

  // Roles and scopes alike: objects named by the string member `id_key`,
  // each with its permissions.
  static bool ReadRoles(const json_t* roles, RoleMap* out,
                        const char* id_key = "role_id");
  static bool Grants(const std::vector<Permission>& perms,
                     std::string_view resource, std::string_view action);

  RoleMap roles_;
  RoleMap scopes_;
};

}  // namespace stytch

#endif  // STYTCH_CORE_RBAC_H_
