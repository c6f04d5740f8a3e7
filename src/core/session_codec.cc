// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause
//
// A session as compact JSON, for NGINX's shared API-result cache: what the
// variables need, and never the session_jwt or session_token, which are
// credentials.

#include <new>
#include <string>

#include "json.h"
#include "session.h"
#include "stytch_core.h"

namespace stytch {
namespace {

constexpr size_t kMaxSerializedSession = 64 * 1024;

void SetString(json_t* obj, const char* key, std::string_view v) {
  if (json_object_set_new(
          obj, key, json_stringn(v.empty() ? "" : v.data(), v.size())) != 0) {
    throw std::bad_alloc();
  }
}

std::string Serialize(const Session& s) {
  JsonPtr obj(json_object());
  if (!obj) throw std::bad_alloc();

  SetString(obj.get(), "sub", s.Field(STYTCH_FIELD_SUBJECT));
  SetString(obj.get(), "session_id", s.Field(STYTCH_FIELD_SESSION_ID));
  SetString(obj.get(), "started_at", s.Field(STYTCH_FIELD_STARTED_AT));
  SetString(obj.get(), "last_accessed_at",
            s.Field(STYTCH_FIELD_LAST_ACCESSED_AT));
  SetString(obj.get(), "expires_at", s.Field(STYTCH_FIELD_EXPIRES_AT));
  SetString(obj.get(), "organization_id",
            s.Field(STYTCH_FIELD_ORGANIZATION_ID));
  SetString(obj.get(), "organization_slug",
            s.Field(STYTCH_FIELD_ORGANIZATION_SLUG));
  SetString(obj.get(), "iss", s.Field(STYTCH_FIELD_ISSUER));
  SetString(obj.get(), "scope", s.scopes());
  if (s.is_oauth()) {
    SetString(obj.get(), "client_id", s.Field(STYTCH_FIELD_CLIENT_ID));
  }

  JsonPtr roles(json_array());
  if (!roles) throw std::bad_alloc();
  for (std::string_view r : s.roles()) {
    if (json_array_append_new(roles.get(), json_stringn(r.data(), r.size())) !=
        0) {
      throw std::bad_alloc();
    }
  }
  json_object_set(obj.get(), "roles", roles.get());

  // Its own text, so it parses; a size that the whole cannot keep is
  // refused below rather than losing the claims here.
  JsonPtr claims =
      JsonParse(s.Field(STYTCH_FIELD_CUSTOM_CLAIMS), STYTCH_MAX_RESPONSE_SIZE);
  if (!claims) claims.reset(json_object());
  json_object_set(obj.get(), "custom_claims", claims.get());

  // The details, as the session object holds them, minus all but the two
  // attributes the variables show.
  const json_t* session = s.SessionObject();
  if (const json_t* factors = JsonGetArray(session, "authentication_factors")) {
    json_object_set(obj.get(), "authentication_factors",
                    const_cast<json_t*>(factors));
  }
  JsonPtr attributes(json_object());
  if (!attributes) throw std::bad_alloc();
  if (s.Field(STYTCH_FIELD_IP_ADDRESS).size() > 0) {
    SetString(attributes.get(), "ip_address", s.Field(STYTCH_FIELD_IP_ADDRESS));
  }
  if (s.Field(STYTCH_FIELD_USER_AGENT).size() > 0) {
    SetString(attributes.get(), "user_agent", s.Field(STYTCH_FIELD_USER_AGENT));
  }
  json_object_set(obj.get(), "attributes", attributes.get());

  json_object_set_new(obj.get(), "expires_at_epoch",
                      json_integer(s.expires_at()));
  json_object_set_new(obj.get(), "jwt_exp", json_integer(s.jwt_exp()));
  json_object_set_new(obj.get(), "b2b", json_boolean(s.is_b2b()));
  json_object_set_new(obj.get(), "m2m", json_boolean(s.is_m2m()));
  json_object_set_new(obj.get(), "kind", json_integer(s.kind()));

  return JsonDumpCompact(obj.get());
}

Status Deserialize(std::string_view text, Ref<Session>* out) {
  JsonPtr root = JsonParse(text, kMaxSerializedSession);
  if (!root || !json_is_object(root.get())) return Status::kInternalError;

  Session::Parts p;
  auto str = [&](const char* key) {
    return JsonGetString(root.get(), key).value_or(std::string_view());
  };
  p.subject = str("sub");
  p.session_id = str("session_id");
  p.started_at = str("started_at");
  p.last_accessed_at = str("last_accessed_at");
  p.expires_at = str("expires_at");
  p.organization_id = str("organization_id");
  p.organization_slug = str("organization_slug");
  p.issuer = str("iss");
  p.scopes = str("scope");
  if (!ReadRoles(json_object_get(root.get(), "roles"), &p.roles)) {
    return Status::kInternalError;
  }
  p.custom_claims = json_object_get(root.get(), "custom_claims");
  p.session_object = root.get();
  p.claims_at_top_level = false;
  p.expires_at_epoch =
      json_integer_value(json_object_get(root.get(), "expires_at_epoch"));
  p.jwt_exp = json_integer_value(json_object_get(root.get(), "jwt_exp"));
  p.b2b = json_is_true(json_object_get(root.get(), "b2b"));
  p.client_id = str("client_id");
  // Entries written before "kind" say "m2m" only.
  const json_int_t kind =
      json_integer_value(json_object_get(root.get(), "kind"));
  if (kind == STYTCH_KIND_M2M || kind == STYTCH_KIND_OAUTH) {
    p.kind = static_cast<int>(kind);
  } else if (json_is_true(json_object_get(root.get(), "m2m"))) {
    p.kind = STYTCH_KIND_M2M;
  }
  p.root = std::move(root);

  *out = MakeRef<Session>(std::move(p));
  return Status::kOk;
}

}  // namespace
}  // namespace stytch

extern "C" {

size_t stytch_session_serialize(const stytch_session_t* session, char* buf,
                                size_t size) {
  try {
    if (session == nullptr) return 0;
    std::string text =
        stytch::Serialize(*reinterpret_cast<const stytch::Session*>(session));
    // What could not be read back is not written.
    if (text.size() > stytch::kMaxSerializedSession) return 0;
    if (buf != nullptr && size >= text.size()) {
      text.copy(buf, text.size());
    }
    return text.size();
  } catch (...) {
    return 0;
  }
}

stytch_status_t stytch_session_deserialize(const char* buf, size_t len,
                                           stytch_session_t** session) {
  if (session == nullptr) return STYTCH_INTERNAL_ERROR;
  *session = nullptr;
  try {
    stytch::Ref<stytch::Session> s;
    stytch::Status st =
        stytch::Deserialize(std::string_view(buf, buf ? len : 0), &s);
    if (st != stytch::Status::kOk) return stytch::ToC(st);
    *session = reinterpret_cast<stytch_session_t*>(s.Leak());
    return STYTCH_OK;
  } catch (const std::bad_alloc&) {
    return STYTCH_NO_MEMORY;
  } catch (...) {
    return STYTCH_INTERNAL_ERROR;
  }
}

}  // extern "C"
