// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// RBAC policy documents, then checks of a fixed B2B session and a fixed
// B2B Connected Apps token.

#include <cstdint>
#include <string>
#include <string_view>

#include "jwt.h"
#include "rbac.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view doc(reinterpret_cast<const char*>(data), size);
  // The same bytes as a project policy and as an org policy.
  stytch::Policy policy;
  if (stytch::Policy::Parse(doc, &policy) != stytch::Status::kOk) {
    stytch::Policy::Parse(R"({"policy":{"roles":[]}})", &policy);
  }
  policy.AddOrg(doc);

  std::unique_ptr<stytch::JwtPayload> p;
  stytch::ParseJwtPayloadJson(
      R"({"sub":"m","https://stytch.com/session":{"id":"s",)"
      R"("roles":["admin","editor"]},"https://stytch.com/organization":)"
      R"({"organization_id":"o"}})",
      &p);
  stytch::Ref<stytch::Session> s;
  if (stytch::SessionFromJwtPayload(std::move(p), 1, &s) !=
      stytch::Status::kOk) {
    __builtin_trap();
  }
  const std::string_view org = "o";
  policy.Check(*s, "documents", "read", &org);
  policy.Check(*s, "documents", "delete", nullptr);

  // A B2B Connected Apps token: its scopes go through the policy's.
  stytch::ParseJwtPayloadJson(
      R"({"sub":"m","client_id":"c","scope":" read:documents admin  ",)"
      R"("https://stytch.com/organization":{"organization_id":"o"}})",
      &p);
  if (stytch::SessionFromJwtPayload(std::move(p), 1, &s) !=
          stytch::Status::kOk ||
      !s->is_oauth()) {
    __builtin_trap();
  }
  policy.Check(*s, "documents", "read", &org);
  policy.Check(*s, "documents", "delete", nullptr);
  return 0;
}
