// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause

#include "rbac.h"

#include "json.h"
#include "stytch_core.h"

namespace stytch {

namespace {

// JavaScript's String.prototype.trim, of the ASCII whitespace it removes.
std::string_view TrimSpace(std::string_view s) {
  constexpr std::string_view kSpace = " \t\n\v\f\r";
  const size_t first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return std::string_view();
  return s.substr(first, s.find_last_not_of(kSpace) - first + 1);
}

}  // namespace

bool Policy::ReadRoles(const json_t* roles, RoleMap* out, const char* id_key) {
  if (!json_is_array(roles)) return false;
  size_t i;
  const json_t* role;
  json_array_foreach(roles, i, role) {
    const auto role_id = JsonGetString(role, id_key);
    if (!json_is_object(role) || !role_id) return false;
    // A role without permissions grants nothing but is still a role.
    const json_t* perms = json_object_get(role, "permissions");
    if (perms != nullptr && !json_is_array(perms)) return false;

    // A role_id seen twice (project and org policy both define it) gets
    // the union of its permissions, as appending role lists does in the
    // SDKs.
    auto& list = (*out)[std::string(*role_id)];
    size_t j;
    const json_t* perm;
    json_array_foreach(perms, j, perm) {
      const auto resource = JsonGetString(perm, "resource_id");
      const json_t* actions = JsonGetArray(perm, "actions");
      if (!resource || actions == nullptr) return false;
      Permission p;
      p.resource_id.assign(resource->data(), resource->size());
      size_t k;
      const json_t* action;
      json_array_foreach(actions, k, action) {
        if (!json_is_string(action)) return false;
        p.actions.emplace_back(JsonStringView(action));
      }
      list.push_back(std::move(p));
    }
  }
  return true;
}

Status Policy::Parse(std::string_view json, Policy* out) {
  JsonPtr root = JsonParse(json, STYTCH_MAX_POLICY_SIZE);
  const json_t* policy = JsonGetObject(root.get(), "policy");
  if (policy == nullptr) return Status::kPolicyInvalid;
  RoleMap roles;
  if (!ReadRoles(json_object_get(policy, "roles"), &roles)) {
    return Status::kPolicyInvalid;
  }
  // Policies of projects without Connected Apps may have no scopes.
  RoleMap scopes;
  const json_t* scope_list = json_object_get(policy, "scopes");
  if (scope_list != nullptr && !json_is_null(scope_list) &&
      !ReadRoles(scope_list, &scopes, "scope")) {
    return Status::kPolicyInvalid;
  }
  out->roles_ = std::move(roles);
  out->scopes_ = std::move(scopes);
  return Status::kOk;
}

Status Policy::AddOrg(std::string_view json) {
  JsonPtr root = JsonParse(json, STYTCH_MAX_POLICY_SIZE);
  const json_t* org = JsonGetObject(root.get(), "org_policy");
  if (org == nullptr) return Status::kPolicyInvalid;
  const json_t* roles = json_object_get(org, "roles");
  if (roles == nullptr || json_is_null(roles)) return Status::kOk;
  RoleMap merged = roles_;
  if (!ReadRoles(roles, &merged)) return Status::kPolicyInvalid;
  roles_ = std::move(merged);
  return Status::kOk;
}

Status Policy::Check(const Session& session, std::string_view resource,
                     std::string_view action,
                     const std::string_view* organization_id) const {
  // A session with no organization belongs to none, even to "".
  if (organization_id != nullptr &&
      (session.organization_id().empty() ||
       session.organization_id() != *organization_id)) {
    return Status::kTenancyMismatch;
  }
  if (session.is_oauth()) {
    std::string_view rest = TrimSpace(session.scopes());
    while (!rest.empty()) {
      const size_t space = rest.find(' ');
      auto it = scopes_.find(rest.substr(0, space));
      if (it != scopes_.end() && Grants(it->second, resource, action)) {
        return Status::kOk;
      }
      if (space == std::string_view::npos) break;
      rest.remove_prefix(space + 1);
    }
    return Status::kPermissionDenied;
  }
  for (std::string_view role : session.roles()) {
    auto it = roles_.find(role);
    if (it != roles_.end() && Grants(it->second, resource, action)) {
      return Status::kOk;
    }
  }
  return Status::kPermissionDenied;
}

bool Policy::Grants(const std::vector<Permission>& perms,
                    std::string_view resource, std::string_view action) {
  for (const Permission& perm : perms) {
    if (perm.resource_id != resource) continue;
    for (const std::string& a : perm.actions) {
      if (a == action || a == "*") return true;
    }
  }
  return false;
}

}  // namespace stytch
