// Copyright (C) 2026 The ngx_http_stytch_module authors
// SPDX-License-Identifier: BSD-2-Clause

#include "api.h"

#include <cstring>
#include <new>
#include <optional>

#include "base64url.h"
#include "json.h"
#include "jwt.h"
#include "rfc3339.h"
#include "verify.h"

namespace stytch {
namespace {

// The error's text goes into logs: what HeaderSafe refuses (control
// bytes, C1 controls, U+2028 and U+2029) becomes '?' byte for byte, so
// that an answer cannot write lines of its own.
void CopyTruncated(char* dst, size_t cap, std::string_view src) {
  const size_t n = src.size() < cap - 1 ? src.size() : cap - 1;
  auto at = [&](size_t i) {
    return i < n ? static_cast<unsigned char>(src[i]) : 0;
  };
  for (size_t i = 0; i < n; ++i) {
    const unsigned char c = at(i);
    size_t bad = 0;
    if (c < 0x20 || c == 0x7f) {
      bad = 1;
    } else if (c == 0xc2 && at(i + 1) >= 0x80 && at(i + 1) <= 0x9f) {
      bad = 2;
    } else if (c == 0xe2 && at(i + 1) == 0x80 &&
               (at(i + 2) == 0xa8 || at(i + 2) == 0xa9)) {
      bad = 3;
    }
    if (bad == 0) {
      dst[i] = src[i];
      continue;
    }
    for (size_t k = 0; k < bad; ++k) dst[i + k] = '?';
    i += bad - 1;
  }
  dst[n] = '\0';
}

// An optional string member: absent or null is empty; other types fail.
bool OptString(const json_t* obj, const char* key, std::string_view* out) {
  const json_t* v = json_object_get(obj, key);
  if (v == nullptr || json_is_null(v)) return true;
  if (!json_is_string(v)) return false;
  *out = JsonStringView(v);
  return true;
}

bool ReqString(const json_t* obj, const char* key, std::string_view* out) {
  const auto v = JsonGetString(obj, key);
  if (!v || v->empty()) return false;
  *out = *v;
  return true;
}

// The members the consumer Session and the B2B MemberSession share.
bool ReadCommon(const json_t* s, Session::Parts* p) {
  if (!OptString(s, "started_at", &p->started_at) ||
      !OptString(s, "last_accessed_at", &p->last_accessed_at) ||
      !OptString(s, "expires_at", &p->expires_at) ||
      !ReadRoles(json_object_get(s, "roles"), &p->roles)) {
    return false;
  }
  const json_t* custom = json_object_get(s, "custom_claims");
  if (custom != nullptr && !json_is_null(custom) && !json_is_object(custom)) {
    return false;
  }
  p->custom_claims = json_is_object(custom) ? custom : nullptr;
  // The session may end later than any JWT; a bad timestamp is Stytch's
  // problem, not a reason to refuse a valid session, so it stays 0.
  if (!p->expires_at.empty() &&
      !ParseRfc3339(p->expires_at, &p->expires_at_epoch)) {
    p->expires_at_epoch = 0;
  }
  return true;
}

Status ParseSuccess(std::string_view body, Ref<Session>* out) {
  JsonPtr root = JsonParse(body, STYTCH_MAX_RESPONSE_SIZE);
  if (!json_is_object(root.get())) return Status::kApiResponseInvalid;

  Session::Parts p;
  const json_t* r = root.get();
  const json_t* consumer = JsonGetObject(r, "session");
  const json_t* member = JsonGetObject(r, "member_session");
  // Both shapes at once cannot come from Stytch; refuse to guess.
  if ((consumer == nullptr) == (member == nullptr)) {
    return Status::kApiResponseInvalid;
  }
  if (consumer != nullptr) {
    if (!ReqString(consumer, "session_id", &p.session_id) ||
        !ReadCommon(consumer, &p)) {
      return Status::kApiResponseInvalid;
    }
    if (!ReqString(consumer, "user_id", &p.subject) &&
        !ReqString(r, "user_id", &p.subject)) {
      return Status::kApiResponseInvalid;
    }
  } else {
    if (!ReqString(member, "member_session_id", &p.session_id) ||
        !ReadCommon(member, &p)) {
      return Status::kApiResponseInvalid;
    }
    if (!ReqString(member, "member_id", &p.subject) &&
        !ReqString(r, "member_id", &p.subject)) {
      return Status::kApiResponseInvalid;
    }
    if (!ReqString(member, "organization_id", &p.organization_id) &&
        !ReqString(r, "organization_id", &p.organization_id)) {
      return Status::kApiResponseInvalid;
    }
    if (const json_t* org = JsonGetObject(r, "organization")) {
      if (!OptString(org, "organization_slug", &p.organization_slug)) {
        return Status::kApiResponseInvalid;
      }
    }
    p.b2b = true;
  }
  p.session_object = consumer != nullptr ? consumer : member;
  if (!OptString(r, "session_jwt", &p.session_jwt) ||
      !OptString(r, "session_token", &p.session_token)) {
    return Status::kApiResponseInvalid;
  }
  p.jwt_exp = UnverifiedJwtExp(p.session_jwt);
  p.root = std::move(root);
  *out = MakeRef<Session>(std::move(p));
  return Status::kOk;
}

// Members of an introspection answer that are not custom claims: the
// registered claims, RFC 7662's own and Stytch's envelope, as the SDKs
// leave them out (stytch-ruby's IDP lists exactly these; stytch-node's
// idp.ts the same, less jti).  "https://stytch.com/" claims are reserved
// everywhere (IsReservedClaim).
bool IsIntrospectionMember(std::string_view name) {
  static constexpr std::string_view kMembers[] = {"active",      "client_id",
                                                  "request_id",  "scope",
                                                  "status_code", "token_type"};
  if (IsReservedClaim(name)) return true;
  for (std::string_view m : kMembers) {
    if (name == m) return true;
  }
  return false;
}

// A string member of at most what a token could carry.  Absent or null is
// empty unless `required`; a required one must not be empty either.
bool IntrospectionString(const json_t* obj, const char* key, bool required,
                         std::string_view* out) {
  const json_t* v = json_object_get(obj, key);
  if (v == nullptr || json_is_null(v)) return !required;
  if (!json_is_string(v) || json_string_length(v) > STYTCH_MAX_TOKEN_SIZE) {
    return false;
  }
  *out = JsonStringView(v);
  return !required || !out->empty();
}

// An integer date: absent is 0 unless `required`.  Stytch writes integers
// (the JWT's own claims); a real or a string is no answer of Stytch's.
bool IntrospectionDate(const json_t* obj, const char* key, bool required,
                       int64_t* out) {
  const json_t* v = json_object_get(obj, key);
  if (v == nullptr) return !required;
  if (!json_is_integer(v)) return false;
  *out = static_cast<int64_t>(json_integer_value(v));
  return true;
}

// aud: absent, a string, or an array of strings.
bool IntrospectionAudience(const json_t* obj) {
  const json_t* aud = json_object_get(obj, "aud");
  if (aud == nullptr || json_is_string(aud)) return true;
  if (!json_is_array(aud)) return false;
  size_t i;
  const json_t* v;
  json_array_foreach(aud, i, v) {
    if (!json_is_string(v)) return false;
  }
  return true;
}

Status ParseIntrospectionSuccess(std::string_view body, Ref<Session>* out) {
  JsonPtr root = JsonParse(body, STYTCH_MAX_RESPONSE_SIZE);
  const json_t* r = root.get();
  if (!json_is_object(r)) return Status::kApiResponseInvalid;
  const json_t* active = json_object_get(r, "active");
  if (!json_is_boolean(active)) return Status::kApiResponseInvalid;
  if (!json_is_true(active)) return Status::kApiTokenInactive;

  Session::Parts p;
  p.kind = STYTCH_KIND_OAUTH;
  std::string_view token_type;
  int64_t exp = 0, iat = 0, nbf = 0;
  if (!IntrospectionString(r, "token_type", false, &token_type)) {
    return Status::kApiResponseInvalid;
  }
  // The endpoint answers for refresh tokens too: one is no credential for
  // a resource, whatever it grants.
  if (!token_type.empty() && token_type != "access_token") {
    return Status::kApiTokenInactive;
  }
  if (!IntrospectionString(r, "sub", true, &p.subject) ||
      !IntrospectionString(r, "client_id", true, &p.client_id) ||
      !IntrospectionString(r, "iss", false, &p.issuer) ||
      !IntrospectionDate(r, "exp", true, &exp) ||
      !IntrospectionDate(r, "iat", false, &iat) ||
      !IntrospectionDate(r, "nbf", false, &nbf) || !IntrospectionAudience(r) ||
      !ReadOrganizationClaim(r, &p) ||
      p.organization_id.size() > STYTCH_MAX_TOKEN_SIZE ||
      p.organization_slug.size() > STYTCH_MAX_TOKEN_SIZE) {
    return Status::kApiResponseInvalid;
  }
  // scope is required: every SDK reads it as a string.
  const json_t* scope = json_object_get(r, "scope");
  if (!json_is_string(scope) ||
      json_string_length(scope) > STYTCH_MAX_TOKEN_SIZE) {
    return Status::kApiResponseInvalid;
  }
  p.scopes = JsonStringView(scope);
  if (exp <= 0) return Status::kApiResponseInvalid;
  p.jwt_exp = exp;
  p.expires_at_epoch = exp;
  p.expires_at_from_exp = FormatRfc3339(exp);

  JsonPtr claims(json_object());
  if (!claims) throw std::bad_alloc();
  const char* key;
  json_t* value;
  json_object_foreach(const_cast<json_t*>(r), key, value) {
    if (!IsIntrospectionMember(key) &&
        json_object_set(claims.get(), key, value) != 0) {
      throw std::bad_alloc();
    }
  }
  p.custom_claims = claims.get();
  p.claims = std::move(claims);
  p.root = std::move(root);
  Ref<Session> s = MakeRef<Session>(std::move(p));
  // What names the user or the app goes into headers whole, or not at all.
  if (!s->IdentitySafe()) return Status::kIdentityInvalid;
  *out = std::move(s);
  return Status::kOk;
}

// The error_type values Stytch's SDKs list (stytch-browser's
// StytchAPIErrorType) that say more than their status does.
struct KnownError {
  const char* type;
  Status status;
  const char* directive;  // for our misconfigurations
};

constexpr const char kCredentials[] = "stytch_project_id\" and \"stytch_secret";
constexpr const char kProjectAndUrl[] =
    "stytch_project_id\" and \"stytch_api_url";
constexpr const char kUrlAndLocation[] =
    "stytch_api_url\" and \"stytch_api_location";

constexpr KnownError kKnownErrors[] = {
    // The project's configuration.  Credentials...
    {"unauthorized_credentials", Status::kApiUnauthorized, kCredentials},
    // ... the URL: plain http, or a path that is no route of the API ...
    {"use_https", Status::kApiMisconfigured, "stytch_api_url"},
    {"route_not_found", Status::kApiMisconfigured, kUrlAndLocation},
    {"method_not_allowed", Status::kApiMisconfigured, kUrlAndLocation},
    // ... the project: a test id on the live API or the reverse, an id
    // that is none ...
    {"unauthorized_project_id_test", Status::kApiMisconfigured, kProjectAndUrl},
    {"unauthorized_project_id_live", Status::kApiMisconfigured, kProjectAndUrl},
    {"invalid_project_id", Status::kApiMisconfigured, "stytch_project_id"},
    {"project_not_found", Status::kApiMisconfigured, "stytch_project_id"},
    // ... its vertical: a project is consumer or B2B, never both ...
    {"invalid_b2b_endpoint", Status::kApiMisconfigured, "stytch_b2b"},
    {"invalid_consumer_endpoint", Status::kApiMisconfigured, "stytch_b2b"},
    // ... and the body: the module sends one valid session argument, so
    // Stytch seeing anything else means the API location changed the
    // request on its way (proxy_set_body, proxy_pass_request_body off).
    {"invalid_request_body", Status::kApiMisconfigured, "stytch_api_location"},
    {"too_many_session_arguments", Status::kApiMisconfigured,
     "stytch_api_location"},
    {"no_session_arguments", Status::kApiMisconfigured, "stytch_api_location"},

    // The client's token or session: not signed in.
    {"session_not_found", Status::kApiSessionNotFound, nullptr},
    {"invalid_session_token", Status::kApiSessionNotFound, nullptr},
    {"invalid_session_id", Status::kApiSessionNotFound, nullptr},
    {"unable_to_parse_session_jwt", Status::kApiSessionNotFound, nullptr},
    {"jwt_invalid_issuer", Status::kApiSessionNotFound, nullptr},
    {"jwt_invalid_audience", Status::kApiSessionNotFound, nullptr},
    {"jwt_invalid_claims", Status::kApiSessionNotFound, nullptr},
    {"invalid_token", Status::kApiSessionNotFound, nullptr},
    {"intermediate_session_not_found", Status::kApiSessionNotFound, nullptr},
    {"incompatible_session_type", Status::kApiSessionNotFound, nullptr},
    {"session_must_have_at_least_one_active_factor",
     Status::kApiSessionNotFound, nullptr},
    {"invalid_session_missing_primary_factor", Status::kApiSessionNotFound,
     nullptr},
    {"user_not_found", Status::kApiSessionNotFound, nullptr},
    {"member_not_found", Status::kApiSessionNotFound, nullptr},

    // authorization_check denied, or not one the API could grant.
    {"session_authorization_error", Status::kApiForbidden, nullptr},
    {"unauthorized_action", Status::kApiForbidden, nullptr},
    {"invalid_authorization_check", Status::kApiForbidden, nullptr},
    {"session_authorization_tenancy_error", Status::kApiForbidden, nullptr},
    {"consumer_session_authorization_error", Status::kApiForbidden, nullptr},

    {"too_many_requests", Status::kApiRateLimited, nullptr},
    {"internal_server_error", Status::kApiUnavailable, nullptr},
};

const KnownError* FindKnownError(std::string_view type) {
  for (const KnownError& e : kKnownErrors) {
    if (type == e.type) return &e;
  }
  return nullptr;
}

// The error_type of a Stytch error body, or of its OAuth2 form.
std::optional<std::string_view> ErrorField(const json_t* root, const char* name,
                                           const char* oauth2_name) {
  if (const auto v = JsonGetString(root, name)) return v;
  return JsonGetString(root, oauth2_name);
}

}  // namespace

Status ApiErrorStatus(int http_status, std::string_view error_type) {
  if (http_status == 200) return Status::kOk;
  // Busy or down, whatever answered: the status says it all.
  if (http_status == 429) return Status::kApiRateLimited;
  if (http_status >= 500 && http_status <= 599) return Status::kApiUnavailable;
  // Every Stytch error names its type.  Without one, something else
  // answered (a CDN, a proxy, another service): api_url is wrong.
  if (error_type.empty()) return Status::kApiMisconfigured;
  if (const KnownError* known = FindKnownError(error_type)) {
    return known->status;
  }
  if (http_status == 403) return Status::kApiForbidden;
  // Stytch's SDKs hand any 4xx to their caller as a failed authentication.
  // The one part of our request that varies is the client's token, so an
  // error we do not know is about it: the client is not signed in (401),
  // and a client cannot make us answer 500 or log errors at will.
  if (http_status >= 400 && http_status <= 499) {
    return Status::kApiSessionNotFound;
  }
  return Status::kApiResponseInvalid;
}

const char* ApiErrorDirective(int http_status, std::string_view error_type) {
  const Status st = ApiErrorStatus(http_status, error_type);
  if (st != Status::kApiMisconfigured && st != Status::kApiUnauthorized) {
    return nullptr;
  }
  const KnownError* known = FindKnownError(error_type);
  return known != nullptr ? known->directive : "stytch_api_url";
}

Status ParseApiError(int http_status, std::string_view body,
                     stytch_api_error_t* error) {
  stytch_api_error_t local;
  stytch_api_error_t* e = error != nullptr ? error : &local;
  memset(e, 0, sizeof(*e));
  e->status_code = http_status;
  if (http_status == 200) return Status::kOk;  // no error to read
  // An oversized body is no Stytch error: its type stays empty.
  if (body.size() <= STYTCH_MAX_RESPONSE_SIZE) {
    JsonPtr root = JsonParse(body, STYTCH_MAX_RESPONSE_SIZE);
    if (json_is_object(root.get())) {
      std::string_view type;
      if (const auto t = ErrorField(root.get(), "error_type", "error")) {
        type = *t;
        CopyTruncated(e->error_type, sizeof(e->error_type), *t);
      }
      if (const auto m =
              ErrorField(root.get(), "error_message", "error_description")) {
        CopyTruncated(e->error_message, sizeof(e->error_message), *m);
      }
      // While root still holds the text `type` views.
      return ApiErrorStatus(http_status, type);
    }
  }
  return ApiErrorStatus(http_status, std::string_view());
}

Status ParseAuthenticateResponse(int http_status, std::string_view body,
                                 Ref<Session>* out, stytch_api_error_t* error) {
  if (http_status != 200) return ParseApiError(http_status, body, error);
  if (error != nullptr) {
    memset(error, 0, sizeof(*error));
    error->status_code = http_status;
  }
  // An oversized success cannot be read.
  if (body.size() > STYTCH_MAX_RESPONSE_SIZE) {
    return Status::kApiResponseInvalid;
  }
  return ParseSuccess(body, out);
}

Status ParseIntrospectionResponse(int http_status, std::string_view body,
                                  Ref<Session>* out,
                                  stytch_api_error_t* error) {
  if (http_status != 200) return ParseApiError(http_status, body, error);
  if (error != nullptr) {
    memset(error, 0, sizeof(*error));
    error->status_code = http_status;
  }
  if (body.size() > STYTCH_MAX_RESPONSE_SIZE) {
    return Status::kApiResponseInvalid;
  }
  return ParseIntrospectionSuccess(body, out);
}

int64_t UnverifiedJwtExp(std::string_view jwt) {
  JwsSegments seg;
  if (SplitJws(jwt, &seg) != Status::kOk) return 0;
  std::unique_ptr<JwtPayload> payload;
  if (ParseJwtPayload(seg.payload, &payload) != Status::kOk) return 0;
  const JNode* exp = payload->doc.Get(payload->root(), "exp");
  return exp != nullptr && exp->type == JType::kInteger ? exp->integer : 0;
}

Status DocumentDigest(std::string_view text, size_t max_size,
                      unsigned char out[kSha256Size]) {
  JsonPtr root = JsonParse(text, max_size);
  if (!root || !json_is_object(root.get())) return Status::kApiResponseInvalid;
  json_object_del(root.get(), "request_id");
  json_object_del(root.get(), "status_code");
  const std::string canonical = JsonDumpCompact(root.get());
  return Sha256(canonical, out) ? Status::kOk : Status::kInternalError;
}

}  // namespace stytch
